/* witness.c - an independent count of results on the bus (see witness.h). */
#include "witness.h"

#include "harness.h"

#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SEEN 65536

typedef struct seen {
    char build_id[16];
    char msg_id[96];
    uint32_t attempt;
} seen;

struct sw_witness {
    sw_bus *bus;
    sw_sub *events;
    pthread_mutex_t lock;
    seen *finished; /* MAX_SEEN each */
    int nfinished;
    seen *started;
    int nstarted;
    struct hsearch_data ids; /* msg-id of each seen -> "" (the duplicates' check) */
    long long last_event_ms;
};

static void on_event(sw_msg *msg, void *closure)
{
    sw_witness *w = closure;
    Slipway__BuildEvent *ev =
        slipway__build_event__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    const char *id = sw_msg_header(msg, "Nats-Msg-Id");

    pthread_mutex_lock(&w->lock);
    w->last_event_ms = sw_harness_now_ms();
    if (ev != NULL && (ev->kind == SLIPWAY__EVENT_KIND__FINISHED ||
                       ev->kind == SLIPWAY__EVENT_KIND__STARTED)) {
        bool fin = ev->kind == SLIPWAY__EVENT_KIND__FINISHED, dup = false;
        seen *list = fin ? w->finished : w->started;
        int *n = fin ? &w->nfinished : &w->nstarted;
        ENTRY want = {(char *)id, NULL}, *found = NULL;
        dup = id != NULL && hsearch_r(want, FIND, &found, &w->ids) != 0;
        if (!dup && *n < MAX_SEEN) {
            seen *s = &list[(*n)++];
            snprintf(s->build_id, sizeof(s->build_id), "%s", ev->build_id);
            snprintf(s->msg_id, sizeof(s->msg_id), "%s", id ? id : "(none)");
            s->attempt = ev->attempt;
            ENTRY e = {s->msg_id, ""}, *added = NULL;
            if (id != NULL) {
                ck_assert_msg(hsearch_r(e, ENTER, &added, &w->ids) != 0, "witness: index full");
            }
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (ev != NULL) {
        slipway__build_event__free_unpacked(ev, NULL);
    }
    sw_msg_release(&msg);
}

sw_witness *sw_witness_create(const char *url)
{
    sw_witness *w = calloc(1, sizeof(*w));
    sw_bus_options o = {.url = url, .name = "test-witness", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_ptr_nonnull(w);
    w->finished = calloc(MAX_SEEN, sizeof(*w->finished));
    w->started = calloc(MAX_SEEN, sizeof(*w->started));
    ck_assert(w->finished != NULL && w->started != NULL);
    ck_assert(hcreate_r(4 * MAX_SEEN, &w->ids) != 0);
    pthread_mutex_init(&w->lock, NULL);
    ck_assert_msg(sw_bus_connect(&w->bus, &o) == 0, "witness cannot connect to %s", url);
    ck_assert_msg(sw_bus_follow(&w->events, w->bus, SW_STREAM_EVENTS, "sw.events.>", 1,
                                on_event, w) == 0,
                  "witness cannot follow EVENTS");
    return w;
}

void sw_witness_destroy(sw_witness **w_p)
{
    sw_witness *w = *w_p;
    if (w == NULL) {
        return;
    }
    sw_sub_destroy(&w->events);
    sw_bus_destroy(&w->bus);
    pthread_mutex_destroy(&w->lock);
    hdestroy_r(&w->ids);
    free(w->finished);
    free(w->started);
    free(w);
    *w_p = NULL;
}

static int count_seen(sw_witness *w, const char *build_id, int settle_ms, bool fin);

int sw_witness_finished(sw_witness *w, const char *build_id, int settle_ms)
{
    return count_seen(w, build_id, settle_ms, true);
}

int sw_witness_started(sw_witness *w, const char *build_id, int settle_ms)
{
    return count_seen(w, build_id, settle_ms, false);
}

static int count_seen(sw_witness *w, const char *build_id, int settle_ms, bool fin)
{
    /* let the follow go quiet for a moment: events still on their way count */
    long long deadline = sw_harness_now_ms() + settle_ms;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        long long quiet = sw_harness_now_ms() - w->last_event_ms;
        pthread_mutex_unlock(&w->lock);
        if (quiet >= 500 || sw_harness_now_ms() >= deadline) {
            break;
        }
        usleep(50 * 1000);
    }
    int n = 0;
    pthread_mutex_lock(&w->lock);
    const seen *list = fin ? w->finished : w->started;
    int total = fin ? w->nfinished : w->nstarted;
    for (int i = 0; i < total; i++) {
        n += strcmp(list[i].build_id, build_id) == 0;
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

uint32_t sw_witness_finished_attempt(sw_witness *w, const char *build_id)
{
    uint32_t attempt = 0;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nfinished && attempt == 0; i++) {
        if (strcmp(w->finished[i].build_id, build_id) == 0) {
            attempt = w->finished[i].attempt;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return attempt;
}

uint64_t sw_witness_stream_count(sw_witness *w, const char *stream)
{
    uint64_t n = 0;
    ck_assert_msg(sw_bus_stream_count(w->bus, stream, &n) == 0, "cannot count %s", stream);
    return n;
}

uint64_t sw_witness_await_count(sw_witness *w, const char *stream, uint64_t n, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    uint64_t count;
    while ((count = sw_witness_stream_count(w, stream)) != n && sw_harness_now_ms() < deadline) {
        usleep(100 * 1000);
    }
    return count;
}

static sw_bus *connect_to(sw_harness *h)
{
    sw_bus *bus = NULL;
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s", sw_error_last());
    return bus;
}

uint64_t sw_witness_messages(sw_harness *h, const char *stream)
{
    sw_bus *bus = connect_to(h);
    uint64_t n = 0;
    ck_assert_msg(sw_bus_stream_count(bus, stream, &n) == 0, "%s", sw_error_last());
    sw_bus_destroy(&bus);
    return n;
}

void sw_witness_expect_messages(sw_harness *h, const char *stream, uint64_t want, int ms)
{
    long long deadline = sw_harness_now_ms() + ms;
    uint64_t n;
    while ((n = sw_witness_messages(h, stream)) != want) {
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "%s holds %llu messages after %d ms, not %llu", stream,
                      (unsigned long long)n, ms, (unsigned long long)want);
        usleep(100 * 1000);
    }
}

void sw_witness_each_event(sw_harness *h, const char *build,
                           void (*fn)(const Slipway__BuildEvent *ev, void *ud), void *ud)
{
    sw_bus *bus = connect_to(h);
    uint64_t n = 0;
    ck_assert_msg(sw_bus_stream_count(bus, SW_STREAM_EVENTS, &n) == 0, "%s", sw_error_last());
    for (uint64_t seq = 1; seq <= n; seq++) {
        sw_msg *m = NULL;
        ck_assert_msg(sw_bus_stream_get(bus, SW_STREAM_EVENTS, seq, &m) == 0, "%s",
                      sw_error_last());
        Slipway__BuildEvent *ev =
            slipway__build_event__unpack(NULL, sw_msg_len(m), sw_msg_data(m));
        ck_assert_ptr_nonnull(ev);
        if (strcmp(ev->build_id, build) == 0) {
            fn(ev, ud);
        }
        slipway__build_event__free_unpacked(ev, NULL);
        sw_msg_release(&m);
    }
    sw_bus_destroy(&bus);
}

static void count_finished(const Slipway__BuildEvent *ev, void *ud)
{
    *(int *)ud += ev->kind == SLIPWAY__EVENT_KIND__FINISHED;
}

int sw_witness_finished_in_events(sw_harness *h, const char *build)
{
    int finished = 0;
    sw_witness_each_event(h, build, count_finished, &finished);
    return finished;
}

void sw_witness_each_decision(sw_harness *h,
                              void (*fn)(const Slipway__ScaleDecision *d, void *ud), void *ud)
{
    sw_bus *bus = connect_to(h);
    uint64_t n = 0;
    ck_assert_msg(sw_bus_stream_count(bus, SW_STREAM_SCALING, &n) == 0, "%s", sw_error_last());
    for (uint64_t seq = 1; seq <= n; seq++) {
        sw_msg *m = NULL;
        if (sw_bus_stream_get(bus, SW_STREAM_SCALING, seq, &m) < 0) {
            continue; /* past a cluster's last 1000 */
        }
        Slipway__ScaleDecision *d =
            slipway__scale_decision__unpack(NULL, sw_msg_len(m), sw_msg_data(m));
        ck_assert_ptr_nonnull(d);
        fn(d, ud);
        slipway__scale_decision__free_unpacked(d, NULL);
        sw_msg_release(&m);
    }
    sw_bus_destroy(&bus);
}

/* ---- a tally of EVENTS by sequence ------------------------------------------- */

#define TALLY_MAX_ATTEMPTS 8

typedef struct tally_build {
    char id[16];
    int finished, started;
    uint32_t finished_attempt;
    int finished_state; /* the state of its first FINISHED */
    uint32_t attempts[TALLY_MAX_ATTEMPTS]; /* distinct attempts of its STARTED events */
    int nattempts;
} tally_build;

struct sw_witness_tally {
    sw_bus *bus;
    uint64_t next_seq;
    tally_build *builds;
    int nbuilds, cap;
};

sw_witness_tally *sw_witness_tally_create(sw_harness *h)
{
    sw_witness_tally *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    t->bus = connect_to(h);
    t->next_seq = 1;
    return t;
}

void sw_witness_tally_destroy(sw_witness_tally **t_p)
{
    sw_witness_tally *t = *t_p;
    if (t == NULL) {
        return;
    }
    sw_bus_destroy(&t->bus);
    free(t->builds);
    free(t);
    *t_p = NULL;
}

static const tally_build *tally_find(const sw_witness_tally *t, const char *build)
{
    for (int i = 0; i < t->nbuilds; i++) {
        if (strcmp(t->builds[i].id, build) == 0) {
            return &t->builds[i];
        }
    }
    return NULL;
}

static tally_build *tally_get(sw_witness_tally *t, const char *build)
{
    tally_build *b = (tally_build *)tally_find(t, build);
    if (b != NULL) {
        return b;
    }
    if (t->nbuilds == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->builds = realloc(t->builds, (size_t)t->cap * sizeof(*t->builds));
        ck_assert_ptr_nonnull(t->builds);
    }
    b = &t->builds[t->nbuilds++];
    memset(b, 0, sizeof(*b));
    snprintf(b->id, sizeof(b->id), "%s", build);
    return b;
}

static void tally_event(sw_witness_tally *t, const Slipway__BuildEvent *ev)
{
    if (ev->kind != SLIPWAY__EVENT_KIND__FINISHED && ev->kind != SLIPWAY__EVENT_KIND__STARTED) {
        return;
    }
    tally_build *b = tally_get(t, ev->build_id);
    if (ev->kind == SLIPWAY__EVENT_KIND__FINISHED) {
        if (b->finished++ == 0) {
            b->finished_attempt = ev->attempt;
            b->finished_state = (int)ev->state;
        }
        return;
    }
    b->started++;
    for (int i = 0; i < b->nattempts; i++) {
        if (b->attempts[i] == ev->attempt) {
            return;
        }
    }
    if (b->nattempts < TALLY_MAX_ATTEMPTS) {
        b->attempts[b->nattempts++] = ev->attempt;
    }
}

int sw_witness_tally_update(sw_witness_tally *t)
{
    uint64_t n = 0;
    if (sw_bus_stream_count(t->bus, SW_STREAM_EVENTS, &n) < 0) {
        return -1;
    }
    for (; t->next_seq <= n; t->next_seq++) {
        sw_msg *m = NULL;
        if (sw_bus_stream_get(t->bus, SW_STREAM_EVENTS, t->next_seq, &m) < 0) {
            return -1;
        }
        Slipway__BuildEvent *ev =
            slipway__build_event__unpack(NULL, sw_msg_len(m), sw_msg_data(m));
        ck_assert_msg(ev != NULL, "EVENTS %llu is no BuildEvent", (unsigned long long)t->next_seq);
        tally_event(t, ev);
        slipway__build_event__free_unpacked(ev, NULL);
        sw_msg_release(&m);
    }
    return 0;
}

int sw_witness_tally_finished(const sw_witness_tally *t, const char *build)
{
    const tally_build *b = tally_find(t, build);
    return b ? b->finished : 0;
}

int sw_witness_tally_started(const sw_witness_tally *t, const char *build)
{
    const tally_build *b = tally_find(t, build);
    return b ? b->started : 0;
}

int sw_witness_tally_attempts(const sw_witness_tally *t, const char *build)
{
    const tally_build *b = tally_find(t, build);
    return b ? b->nattempts : 0;
}

uint32_t sw_witness_tally_finished_attempt(const sw_witness_tally *t, const char *build)
{
    const tally_build *b = tally_find(t, build);
    return b ? b->finished_attempt : 0;
}

int sw_witness_tally_finished_state(const sw_witness_tally *t, const char *build)
{
    const tally_build *b = tally_find(t, build);
    return b ? b->finished_state : 0;
}

uint64_t sw_witness_tally_next_seq(const sw_witness_tally *t)
{
    return t->next_seq;
}
