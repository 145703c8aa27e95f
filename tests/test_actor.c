/* test_actor.c - the actor host without NATS: init, mail, ticks, wake, stop, payload ownership. */
#include "runtime/actor.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "support.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Waits until *v reaches at least want, polling, for at most timeout_ms. */
static bool await_at_least(atomic_int *v, int want, int timeout_ms)
{
    int64_t deadline = sw_clock_mono_ms() + timeout_ms;
    while (atomic_load(v) < want) {
        if (sw_clock_mono_ms() > deadline) {
            return false;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* ---- an actor whose init fails ---- */

static atomic_int failing_stops;

static int failing_init(sw_actor *self, void **state_out, void *arg)
{
    return sw_error_set(SW_EIO, "cannot open /nonexistent/view");
}

static void failing_handle(sw_actor *self, void *state, const sw_mail *mail)
{
}

static void failing_stop(sw_actor *self, void *state)
{
    atomic_fetch_add(&failing_stops, 1);
}

static const sw_actor_impl failing_impl = {
    .kind = "failing", .init = failing_init, .handle = failing_handle, .stop = failing_stop};

START_TEST(test_failed_init_fails_start)
{
    sw_actor *actor = NULL;
    sw_error_clear();
    ck_assert_int_eq(sw_actor_start(&actor, &failing_impl, "view-1", NULL, NULL), SW_EIO);
    ck_assert_ptr_null(actor);
    ck_assert_msg(strstr(sw_error_last(), "cannot open /nonexistent/view") != NULL, "%s",
                  sw_error_last());
    ck_assert_int_eq(sw_error_last_code(), SW_EIO);
    /* stop frees what init made: there is nothing when init failed */
    ck_assert_int_eq(atomic_load(&failing_stops), 0);
}
END_TEST

/* ---- an actor that records the mail it handles ---- */

enum { POSTERS = 4, PER_POSTER = 400 };

typedef struct recorder {
    atomic_int inside;      /* 1 while a handler runs */
    atomic_int overlaps;    /* handlers that found another one running */
    atomic_int handled;
    atomic_int out_of_order;
    int next[POSTERS];      /* per poster: the index expected next (actor thread only) */
    pthread_t init_thread, stop_thread;
    atomic_int init_done;
    atomic_int stops;
    atomic_int ticks;
    int64_t tick_at[64];
    int64_t tick_ms;        /* what tick returns */
    int post_on_stop;       /* mail stop posts to itself (a worker's late result) */
} recorder;

typedef struct item {
    int poster, index;
    atomic_int handled, freed;
    atomic_int freed_before_handled;
} item;

static void item_free(void *p)
{
    item *it = p;
    atomic_fetch_add(&it->freed, 1);
}

static int recorder_init(sw_actor *self, void **state_out, void *arg)
{
    recorder *r = arg;
    r->init_thread = pthread_self();
    atomic_store(&r->init_done, 1);
    *state_out = r;
    return 0;
}

static void recorder_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    recorder *r = state;
    item *it = mail->payload;
    if (atomic_exchange(&r->inside, 1) != 0) {
        atomic_fetch_add(&r->overlaps, 1);
    }
    if (atomic_load(&it->freed) != 0) {
        atomic_fetch_add(&it->freed_before_handled, 1);
    }
    if (mail->tag != 7 || mail->msg != NULL || mail->pb != NULL) {
        atomic_fetch_add(&r->out_of_order, 1);
    }
    if (it->poster >= 0 && it->poster < POSTERS) {
        if (it->index != r->next[it->poster]) {
            atomic_fetch_add(&r->out_of_order, 1);
        }
        r->next[it->poster] = it->index + 1;
    }
    for (volatile int spin = 0; spin < 200; spin++) {
        /* widen the window in which an overlapping handler would be seen */
    }
    atomic_fetch_add(&it->handled, 1);
    atomic_fetch_add(&r->handled, 1);
    atomic_store(&r->inside, 0);
}

static int64_t recorder_tick(sw_actor *self, void *state)
{
    recorder *r = state;
    int n = atomic_load(&r->ticks);
    if (n < 64) {
        r->tick_at[n] = sw_clock_mono_ms();
    }
    atomic_store(&r->ticks, n + 1);
    return r->tick_ms;
}

static item late_items[3];

static void recorder_stop(sw_actor *self, void *state)
{
    recorder *r = state;
    r->stop_thread = pthread_self();
    for (int i = 0; i < r->post_on_stop && i < 3; i++) {
        late_items[i].poster = -1;
        sw_actor_post(self, 7, &late_items[i], item_free);
    }
    atomic_fetch_add(&r->stops, 1);
}

static const sw_actor_impl recorder_impl = {
    .kind = "recorder", .init = recorder_init, .handle = recorder_handle, .stop = recorder_stop};

static const sw_actor_impl ticking_impl = {.kind = "ticker",
                                           .init = recorder_init,
                                           .handle = recorder_handle,
                                           .tick = recorder_tick,
                                           .stop = recorder_stop};

static recorder *recorder_new(void)
{
    recorder *r = calloc(1, sizeof(*r));
    ck_assert_ptr_nonnull(r);
    return r;
}

typedef struct poster_arg {
    sw_actor *actor;
    item *items;
    int poster;
} poster_arg;

static void *poster_main(void *p)
{
    poster_arg *a = p;
    for (int i = 0; i < PER_POSTER; i++) {
        item *it = &a->items[a->poster * PER_POSTER + i];
        it->poster = a->poster;
        it->index = i;
        sw_actor_post(a->actor, 7, it, item_free);
    }
    return NULL;
}

START_TEST(test_mail_is_handled_one_at_a_time_in_order)
{
    recorder *r = recorder_new();
    item *items = calloc(POSTERS * PER_POSTER, sizeof(*items));
    sw_actor *actor = NULL;
    pthread_t threads[POSTERS];
    poster_arg args[POSTERS];
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);

    for (int p = 0; p < POSTERS; p++) {
        args[p] = (poster_arg){.actor = actor, .items = items, .poster = p};
        ck_assert_int_eq(pthread_create(&threads[p], NULL, poster_main, &args[p]), 0);
    }
    for (int p = 0; p < POSTERS; p++) {
        pthread_join(threads[p], NULL);
    }
    ck_assert_msg(await_at_least(&r->handled, POSTERS * PER_POSTER, 10000), "handled %d of %d",
                  atomic_load(&r->handled), POSTERS * PER_POSTER);
    sw_actor_destroy(&actor);

    ck_assert_int_eq(atomic_load(&r->overlaps), 0);
    ck_assert_int_eq(atomic_load(&r->out_of_order), 0);
    for (int p = 0; p < POSTERS; p++) {
        ck_assert_int_eq(r->next[p], PER_POSTER);
    }
    for (int i = 0; i < POSTERS * PER_POSTER; i++) {
        ck_assert_int_eq(atomic_load(&items[i].handled), 1);
    }
    free(items);
    free(r);
}
END_TEST

START_TEST(test_payload_freed_after_handling)
{
    recorder *r = recorder_new();
    item items[5];
    sw_actor *actor = NULL;
    memset(items, 0, sizeof(items));
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);
    for (int i = 0; i < 5; i++) {
        items[i].poster = 0;
        items[i].index = i;
        sw_actor_post(actor, 7, &items[i], item_free);
    }
    ck_assert(await_at_least(&r->handled, 5, 5000));
    sw_actor_destroy(&actor);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(atomic_load(&items[i].handled), 1);
        ck_assert_int_eq(atomic_load(&items[i].freed), 1);
        ck_assert_int_eq(atomic_load(&items[i].freed_before_handled), 0);
    }
    free(r);
}
END_TEST

START_TEST(test_payload_of_mail_queued_at_stop_is_freed)
{
    /* stop posts three mails, as a worker finishing while its actor stops would: they
     * are never handled, and destroy frees their payloads */
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    memset(late_items, 0, sizeof(late_items));
    r->post_on_stop = 3;
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);
    sw_actor_destroy(&actor);
    ck_assert_int_eq(atomic_load(&r->stops), 1);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(atomic_load(&late_items[i].handled), 0);
        ck_assert_int_eq(atomic_load(&late_items[i].freed), 1);
    }
    free(r);
}
END_TEST

START_TEST(test_post_without_payload_free)
{
    recorder *r = recorder_new();
    item it;
    sw_actor *actor = NULL;
    memset(&it, 0, sizeof(it));
    it.poster = -1;
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);
    sw_actor_post(actor, 7, &it, NULL); /* the caller keeps the payload */
    ck_assert(await_at_least(&r->handled, 1, 5000));
    sw_actor_destroy(&actor);
    ck_assert_int_eq(atomic_load(&it.handled), 1);
    ck_assert_int_eq(atomic_load(&it.freed), 0);
    free(r);
}
END_TEST

START_TEST(test_tick_repeats_at_its_interval)
{
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    r->tick_ms = 50;
    ck_assert_int_eq(sw_actor_start(&actor, &ticking_impl, "ticker", NULL, r), 0);
    ck_assert_msg(await_at_least(&r->ticks, 6, 5000), "%d ticks", atomic_load(&r->ticks));
    sw_actor_destroy(&actor);
    int n = atomic_load(&r->ticks);
    if (n > 64) {
        n = 64;
    }
    int64_t total = r->tick_at[n - 1] - r->tick_at[0];
    for (int i = 1; i < n; i++) {
        int64_t gap = r->tick_at[i] - r->tick_at[i - 1];
        ck_assert_msg(gap >= 45, "tick %d came %lld ms after the one before", i, (long long)gap);
    }
    /* on average close to the interval (generous: sanitizers and loaded machines) */
    ck_assert_msg(total / (n - 1) < 150, "average gap %lld ms", (long long)(total / (n - 1)));
    free(r);
}
END_TEST

START_TEST(test_wake_runs_tick_early)
{
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    r->tick_ms = 60000;
    ck_assert_int_eq(sw_actor_start(&actor, &ticking_impl, "ticker", NULL, r), 0);
    /* the first tick is due at once; the next one a minute later */
    ck_assert(await_at_least(&r->ticks, 1, 5000));
    int64_t woken_at = sw_clock_mono_ms();
    sw_actor_wake(actor);
    ck_assert(await_at_least(&r->ticks, 2, 5000));
    ck_assert_msg(r->tick_at[1] - woken_at < 1000, "woke after %lld ms",
                  (long long)(r->tick_at[1] - woken_at));
    sw_actor_destroy(&actor);
    ck_assert_int_eq(atomic_load(&r->ticks), 2);
    free(r);
}
END_TEST

START_TEST(test_wake_runs_an_idle_tick)
{
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    r->tick_ms = -1; /* idle: no tick until woken */
    ck_assert_int_eq(sw_actor_start(&actor, &ticking_impl, "ticker", NULL, r), 0);
    ck_assert(await_at_least(&r->ticks, 1, 5000));
    sw_actor_wake(actor);
    ck_assert(await_at_least(&r->ticks, 2, 5000));
    sw_actor_destroy(&actor);
    free(r);
}
END_TEST

START_TEST(test_init_and_stop_run_on_the_actor_thread)
{
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, NULL, NULL, r), 0);
    /* start returns once init has run */
    ck_assert_int_eq(atomic_load(&r->init_done), 1);
    ck_assert_str_eq(sw_actor_name(actor), "recorder"); /* no name: the kind */
    ck_assert_ptr_null(sw_actor_bus(actor));
    ck_assert_int_eq(atomic_load(&r->stops), 0);
    sw_actor_destroy(&actor);
    ck_assert_ptr_null(actor);
    ck_assert_int_eq(atomic_load(&r->stops), 1);
    ck_assert(pthread_equal(r->init_thread, r->stop_thread));
    ck_assert(!pthread_equal(r->stop_thread, pthread_self()));
    free(r);
}
END_TEST

START_TEST(test_actor_name)
{
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "dispatcher:free", NULL, r), 0);
    ck_assert_str_eq(sw_actor_name(actor), "dispatcher:free");
    sw_actor_destroy(&actor);
    free(r);
}
END_TEST

START_TEST(test_destroy_null_is_safe)
{
    sw_actor *actor = NULL;
    sw_actor_destroy(&actor);
    ck_assert_ptr_null(actor);
    sw_actor_destroy(NULL);

    recorder *r = recorder_new();
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);
    sw_actor_destroy(&actor);
    sw_actor_destroy(&actor); /* twice: the pointer was nulled */
    ck_assert_int_eq(atomic_load(&r->stops), 1);
    free(r);
}
END_TEST

/* ---- reconfigure: on the actor's thread, retained while queued ---- */

typedef struct holder {
    const sw_config *cfg; /* retained */
    pthread_t thread;     /* init's */
} holder;

static atomic_int reconfigured_elsewhere; /* reconfigure calls off the actor's thread */

static int holder_init(sw_actor *self, void **state_out, void *arg)
{
    holder *h = calloc(1, sizeof(*h));
    h->cfg = sw_config_retain(arg);
    h->thread = pthread_self();
    *state_out = h;
    return 0;
}

static void holder_handle(sw_actor *self, void *state, const sw_mail *mail)
{
}

static void holder_stop(sw_actor *self, void *state)
{
    holder *h = state;
    sw_config_release(&h->cfg);
    free(h);
}

/* Takes a config with a tenant named acme; keeps its own otherwise. */
static int holder_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    holder *h = state;
    if (!pthread_equal(h->thread, pthread_self())) {
        atomic_fetch_add(&reconfigured_elsewhere, 1);
    }
    if (sw_config_tenant(cfg, "acme") == NULL) {
        return sw_error_set(SW_EINVALID, "no tenant acme in %s", cfg->path);
    }
    sw_config_release(&h->cfg);
    h->cfg = sw_config_retain(cfg);
    return 0;
}

static const sw_actor_impl holder_impl = {.kind = "holder",
                                          .init = holder_init,
                                          .handle = holder_handle,
                                          .stop = holder_stop,
                                          .reconfigure = holder_reconfigure};

static sw_config *config_with_tenant(const char *tenant, const char *name)
{
    char text[320];
    sw_config *cfg = NULL;
    snprintf(text, sizeof(text),
             "data_dir: /d\ntiers:\n  - name: free\ntenants:\n  - name: %s\n    tier: free\n"
             "clusters:\n  - name: c1\n    tier: free\n",
             tenant);
    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), name) == 0, "%s", sw_error_last());
    return cfg;
}

START_TEST(test_reconfigure_runs_on_the_actor_thread_and_can_be_refused)
{
    sw_config *first = config_with_tenant("acme", "first.yaml");
    sw_config *second = config_with_tenant("acme", "second.yaml");
    sw_config *wrong = config_with_tenant("other", "wrong.yaml");
    sw_actor *actor = NULL;
    ck_assert_int_eq(sw_actor_start(&actor, &holder_impl, "holder", NULL, first), 0);
    sw_config_destroy(&first); /* the actor holds its own reference */

    ck_assert_int_eq(sw_actor_reconfigure(actor, second, 5000), 0);
    sw_config_destroy(&second);
    ck_assert_int_eq(sw_actor_reconfigure(actor, wrong, 5000), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "no tenant acme in wrong.yaml") != NULL, "%s",
                  sw_error_last());
    sw_config_destroy(&wrong);
    /* the actor still has second (freed at stop: the sanitizer pass sees any leak) */
    sw_actor_destroy(&actor);
    ck_assert_int_eq(atomic_load(&reconfigured_elsewhere), 0);
}
END_TEST

START_TEST(test_reconfigure_of_an_actor_without_it_takes_nothing)
{
    sw_config *cfg = config_with_tenant("acme", "c.yaml");
    recorder *r = recorder_new();
    sw_actor *actor = NULL;
    ck_assert_int_eq(sw_actor_start(&actor, &recorder_impl, "rec", NULL, r), 0);
    ck_assert_int_eq(sw_actor_reconfigure(actor, cfg, 5000), 0);
    sw_actor_destroy(&actor);
    sw_config_destroy(&cfg);
    free(r);
}
END_TEST


/* ---- idle: called when the mailbox has just become empty ---- */

typedef struct gated {
    atomic_int open;      /* the first mail's handler waits for it */
    atomic_int handled;
    atomic_int idles;
    atomic_int handled_at_idle; /* handled when idle last ran */
} gated;

static int gated_init(sw_actor *self, void **state_out, void *arg)
{
    *state_out = arg;
    return 0;
}

static void gated_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    gated *g = state;
    int64_t deadline = sw_clock_mono_ms() + 10000;
    while (atomic_load(&g->open) == 0 && sw_clock_mono_ms() < deadline) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&g->handled, 1);
}

static void gated_idle(sw_actor *self, void *state)
{
    gated *g = state;
    atomic_store(&g->handled_at_idle, atomic_load(&g->handled));
    atomic_fetch_add(&g->idles, 1);
}

static void gated_stop(sw_actor *self, void *state)
{
}

static const sw_actor_impl gated_impl = {.kind = "gated",
                                         .init = gated_init,
                                         .handle = gated_handle,
                                         .stop = gated_stop,
                                         .idle = gated_idle};

START_TEST(test_idle_runs_once_a_burst_is_handled)
{
    gated g;
    sw_actor *actor = NULL;
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(sw_actor_start(&actor, &gated_impl, "gated", NULL, &g), 0);
    /* the first mail holds the actor while nine more queue behind it */
    for (int i = 0; i < 10; i++) {
        sw_actor_post(actor, 1, NULL, NULL);
    }
    atomic_store(&g.open, 1);
    ck_assert_msg(await_at_least(&g.idles, 1, 10000), "idle never ran (%d mails handled)",
                  atomic_load(&g.handled));
    ck_assert_int_eq(atomic_load(&g.handled), 10);
    ck_assert_int_eq(atomic_load(&g.handled_at_idle), 10);
    ck_assert_int_eq(atomic_load(&g.idles), 1);
    /* one more mail: one more idle */
    sw_actor_post(actor, 1, NULL, NULL);
    ck_assert_msg(await_at_least(&g.idles, 2, 10000), "idle did not run after the next mail");
    ck_assert_int_eq(atomic_load(&g.handled_at_idle), 11);
    sw_actor_destroy(&actor);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("actor");
    TCase *life = tcase_create("life");
    tcase_add_test(life, test_failed_init_fails_start);
    tcase_add_test(life, test_init_and_stop_run_on_the_actor_thread);
    tcase_add_test(life, test_actor_name);
    tcase_add_test(life, test_destroy_null_is_safe);
    suite_add_tcase(s, life);
    TCase *mail = tcase_create("mail");
    tcase_add_test(mail, test_mail_is_handled_one_at_a_time_in_order);
    tcase_add_test(mail, test_payload_freed_after_handling);
    tcase_add_test(mail, test_payload_of_mail_queued_at_stop_is_freed);
    tcase_add_test(mail, test_post_without_payload_free);
    tcase_add_test(mail, test_idle_runs_once_a_burst_is_handled);
    suite_add_tcase(s, mail);
    TCase *tick = tcase_create("tick");
    tcase_add_test(tick, test_tick_repeats_at_its_interval);
    tcase_add_test(tick, test_wake_runs_tick_early);
    tcase_add_test(tick, test_wake_runs_an_idle_tick);
    suite_add_tcase(s, tick);
    TCase *reconf = tcase_create("reconfigure");
    tcase_add_test(reconf, test_reconfigure_runs_on_the_actor_thread_and_can_be_refused);
    tcase_add_test(reconf, test_reconfigure_of_an_actor_without_it_takes_nothing);
    suite_add_tcase(s, reconf);
    return sw_test_run(s);
}
