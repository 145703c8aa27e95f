/*
 * test_cluster.c - Slipway on a three-node NATS cluster (the harness's
 * nats_nodes = 3): slipwayd and the CLI are given all three URLs, every stream
 * is made with three replicas (nats.replicas: 3), and a build runs end to end.
 * The monitoring ports (/jsz) are the server's own word on the replicas.
 */
#include "harness.h"
#include "natsd.h"
#include "pushes.h"
#include "support.h"
#include "witness.h"

#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include "slipway.pb-c.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUILD_TIMEOUT_MS 90000

static const char pipeline[] = "steps:\n"
                               "  - name: hello\n"
                               "    run: echo hello from a cluster\n";

static const char slow_pipeline[] = "steps:\n"
                                    "  - name: slow\n"
                                    "    run: sleep 3; echo done\n";

/* The num_replicas of stream in a /jsz?streams=true&config=true answer; -1 if
 * the stream is not in it. */
static int replicas_of(const char *jsz, const char *stream)
{
    char key[64];
    snprintf(key, sizeof(key), "\"name\": \"%s\"", stream);
    const char *at = strstr(jsz, key);
    if (at == NULL || (at = strstr(at, "\"num_replicas\":")) == NULL) {
        return -1;
    }
    return atoi(at + strlen("\"num_replicas\":"));
}

/* The server name leading stream (from /jsz of node 0), copied into out. */
static void leader_of(sw_harness *h, int node, const char *stream, char *out, size_t n)
{
    char *jsz = NULL;
    char key[64];
    out[0] = '\0';
    if (sw_natsd_monitor(sw_harness_nats_http_port(h, node),
                         "/jsz?accounts=true&streams=true", &jsz) < 0) {
        return;
    }
    snprintf(key, sizeof(key), "\"name\": \"%s\"", stream);
    const char *at = strstr(jsz, key);
    if (at != NULL && (at = strstr(at, "\"leader\": \"")) != NULL) {
        at += strlen("\"leader\": \"");
        snprintf(out, n, "%.*s", (int)strcspn(at, "\""), at);
    }
    free(jsz);
}

START_TEST(test_build_runs_on_a_cluster_with_r3_streams)
{
    sw_harness_options o = {.nats_nodes = 3};
    sw_harness *h = sw_harness_create(&o);
    ck_assert_int_eq(sw_harness_nats_nodes(h), 3);
    ck_assert_msg(strchr(sw_harness_nats_url(h), ',') != NULL, "one URL: %s",
                  sw_harness_nats_url(h));
    sw_harness_repo_pipeline(h, "app", pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_msg(state != NULL && strcmp(state, "succeeded") == 0, "build %s ended %s", id,
                  state ? state : "(not at all)");

    static const char *const streams[] = {SW_STREAM_REQUESTS, SW_STREAM_SCHED, SW_STREAM_JOBS,
                                          SW_STREAM_EVENTS,   SW_STREAM_LOGS,  SW_STREAM_CLAIMS,
                                          SW_STREAM_ADVISORIES};
    for (int node = 0; node < 3; node++) {
        char *jsz = NULL;
        ck_assert_msg(sw_natsd_monitor(sw_harness_nats_http_port(h, node),
                                       "/jsz?accounts=true&streams=true&config=true",
                                       &jsz) == 0,
                      "%s", sw_error_last());
        for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
            ck_assert_msg(replicas_of(jsz, streams[i]) == 3,
                          "n%d: stream %s has %d replicas", node + 1, streams[i],
                          replicas_of(jsz, streams[i]));
        }
        free(jsz);
    }
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* A stream made with one replica is given three in place when the
 * configuration asks for them (as after nats.replicas went from 1 to 3). */
START_TEST(test_an_r1_stream_becomes_r3)
{
    sw_harness_options o = {.nats_nodes = 3};
    sw_harness *h = sw_harness_create(&o);
    static const char *const subjects[] = {"t.>"};
    sw_stream_config sc = {.name = "T", .subjects = subjects, .nsubjects = 1,
                           .retention = SW_RETAIN_LIMITS};
    sw_bus_options bo = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_bus *bus = NULL;
    char *jsz = NULL;

    sw_harness_as_operator(&bo);
    ck_assert_msg(sw_bus_connect(&bus, &bo) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_stream_ensure(bus, &sc) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_js_publish(bus, "t.one", "x", 1, NULL, NULL, NULL) == 0, "%s",
                  sw_error_last());
    sc.replicas = 3;
    ck_assert_msg(sw_bus_stream_ensure(bus, &sc) == 0, "%s", sw_error_last());
    uint64_t count = 0;
    ck_assert_int_eq(sw_bus_stream_count(bus, "T", &count), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(sw_natsd_monitor(sw_harness_nats_http_port(h, 0),
                                      "/jsz?accounts=true&streams=true&config=true", &jsz),
                     0);
    ck_assert_int_eq(replicas_of(jsz, "T"), 3);
    free(jsz);
    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

/* kill -9 the node leading JOBS while builds run: the others elect a new
 * leader, slipwayd reconnects to one of them, and every build ends exactly once. */
START_TEST(test_builds_end_once_when_the_jobs_leader_is_killed)
{
    enum { NBUILDS = 4 };
    sw_harness_options o = {.nats_nodes = 3, .slots = 2};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "slow", slow_pipeline);
    sw_harness_start(h, NULL);
    char *ids[NBUILDS];
    for (int i = 0; i < NBUILDS; i++) {
        ids[i] = sw_harness_submit(h, "slow", NULL);
    }
    char leader[64];
    leader_of(h, 0, SW_STREAM_JOBS, leader, sizeof(leader));
    ck_assert_msg(strlen(leader) == 2 && leader[0] == 'n', "no leader of JOBS: '%s'", leader);
    int victim = leader[1] - '1', other = (victim + 1) % 3;
    long long t0 = sw_harness_now_ms();
    sw_harness_nats_kill_node(h, victim);

    /* how long until JOBS has a leader again (seen from a live node) */
    char now[64] = "";
    while (sw_harness_now_ms() - t0 < 30000) {
        leader_of(h, other, SW_STREAM_JOBS, now, sizeof(now));
        if (now[0] != '\0' && strcmp(now, leader) != 0) {
            break;
        }
        usleep(20 * 1000);
    }
    fprintf(stderr, "cluster: JOBS leader %s killed; %s leads after %lld ms\n", leader,
            now[0] ? now : "(none)", sw_harness_now_ms() - t0);
    ck_assert_msg(now[0] != '\0' && strcmp(now, leader) != 0, "JOBS got no new leader");

    for (int i = 0; i < NBUILDS; i++) {
        char *state = sw_harness_await_final(h, ids[i], BUILD_TIMEOUT_MS);
        ck_assert_msg(state != NULL && strcmp(state, "succeeded") == 0, "build %s ended %s",
                      ids[i], state ? state : "(not at all)");
        free(state);
    }
    fprintf(stderr, "cluster: %d builds ended %lld ms after the kill\n", NBUILDS,
            sw_harness_now_ms() - t0);
    /* Exactly once: one FINISHED event of each build in EVENTS, read by
     * sequence after the fact (a live follower of EVENTS connected to the
     * killed node can itself miss events while its consumer is remade). */
    for (int i = 0; i < NBUILDS; i++) {
        ck_assert_int_eq(sw_witness_finished_in_events(h, ids[i]), 1);
        free(ids[i]);
    }
    sw_harness_nats_restart_node(h, victim);
    sw_harness_destroy(&h);
}
END_TEST

/* ---- a JOBS leader killed under load, webhooks arriving all the while --------- */

#define LOAD_PROJECT "load"
#define LOAD_BUILDS 500 /* in flight when the leader dies */
#define LATE_BUILDS 50  /* sent while it is down, one every LATE_GAP_MS */
#define LATE_GAP_MS 200
#define DOWN_MS 10000     /* how long the killed node stays down */
#define HOOK_TIMEOUT_MS 10000 /* GitHub's own bound on an answer */
#define LOAD_END_MS 120000    /* for every accepted build to end once the node is back */

static const char nap_pipeline[] = "steps:\n"
                                   "  - name: nap\n"
                                   "    run: sleep 0.2\n";

/* kill -9 of the node leading JOBS with LOAD_BUILDS builds in flight, 4
 * builders x 8 slots, LATE_BUILDS more webhooks while it is down, its restart
 * after DOWN_MS. Every webhook is answered 202 or 503 within GitHub's 10 s;
 * every 202's build ends with exactly one FINISHED (EVENTS read by sequence
 * after the fact), however many attempts it took. */
START_TEST(test_webhooks_and_builds_survive_a_jobs_leader_kill_under_load)
{
    sw_harness_options o = {.nats_nodes = 3, .builders = 4, .slots = 8,
                            .cluster_extra = "    pressure: {cpu: off, memory: off, io: off}\n"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, LOAD_PROJECT, nap_pipeline);
    sw_harness_start(h, NULL);
    char *url = sw_asprintf("%s/hooks/github/" LOAD_PROJECT, sw_harness_webhook_url(h));
    char *sha = sw_harness_repo_sha(h, LOAD_PROJECT, "main");
    enum { NHOOKS = LOAD_BUILDS + LATE_BUILDS };
    sw_push *hooks = sw_calloc(NHOOKS, sizeof(*hooks));
    long long run = (long long)sw_clock_wall_ms();
    for (int i = 0; i < NHOOKS; i++) {
        snprintf(hooks[i].delivery, sizeof(hooks[i].delivery), "kill-%lld-%d-%d", run,
                 (int)getpid(), i);
    }

    long long t_start = sw_harness_now_ms();
    sw_push_send(hooks, LOAD_BUILDS, url, LOAD_PROJECT, sha, 16, HOOK_TIMEOUT_MS);
    long long t_sent = sw_harness_now_ms();

    char leader[64];
    leader_of(h, 0, SW_STREAM_JOBS, leader, sizeof(leader));
    ck_assert_msg(strlen(leader) == 2 && leader[0] == 'n', "no leader of JOBS: '%s'", leader);
    int victim = leader[1] - '1', other = (victim + 1) % 3;
    long long t_kill = sw_harness_now_ms();
    sw_harness_nats_kill_node(h, victim);

    /* webhooks while the node is down, one at a time; between them, whether
     * JOBS has a leader again (seen from a live node) */
    long long t_leader = -1, t_first_202 = -1;
    char now[64] = "";
    for (int i = LOAD_BUILDS; i < NHOOKS; i++) {
        long long due = t_kill + (long long)(i - LOAD_BUILDS) * LATE_GAP_MS;
        while (sw_harness_now_ms() < due) {
            usleep(5 * 1000);
        }
        sw_push_send(&hooks[i], 1, url, LOAD_PROJECT, sha, 1, HOOK_TIMEOUT_MS);
        if (hooks[i].status == 202 && t_first_202 < 0) {
            t_first_202 = sw_harness_now_ms();
        }
        if (t_leader < 0) {
            leader_of(h, other, SW_STREAM_JOBS, now, sizeof(now));
            if (now[0] != '\0' && strcmp(now, leader) != 0) {
                t_leader = sw_harness_now_ms();
            }
        }
    }
    /* bounded: the new leader within the 10 s the node stays down */
    while (t_leader < 0 && sw_harness_now_ms() - t_kill < DOWN_MS) {
        leader_of(h, other, SW_STREAM_JOBS, now, sizeof(now));
        if (now[0] != '\0' && strcmp(now, leader) != 0) {
            t_leader = sw_harness_now_ms();
        }
        usleep(20 * 1000);
    }
    while (sw_harness_now_ms() - t_kill < DOWN_MS) {
        usleep(10 * 1000);
    }
    sw_harness_nats_restart_node(h, victim);
    long long t_restart = sw_harness_now_ms();

    int accepted = 0, refused = 0, other_answers = 0;
    for (int i = 0; i < NHOOKS; i++) {
        if (hooks[i].status == 202) {
            accepted++;
        } else if (hooks[i].status == 503) {
            refused++;
        } else if (other_answers++ < 5) {
            fprintf(stderr, "cluster: delivery %s (%s): HTTP %ld %s\n", hooks[i].delivery,
                    i < LOAD_BUILDS ? "before the kill" : "while down", hooks[i].status,
                    hooks[i].answer);
        }
    }

    /* every accepted build ends: EVENTS read by sequence, bounded */
    sw_witness_tally *t = sw_witness_tally_create(h);
    int ended = 0;
    long long t_end = -1;
    while (sw_harness_now_ms() - t_restart < LOAD_END_MS) {
        if (sw_witness_tally_update(t) == 0) {
            ended = 0;
            for (int i = 0; i < NHOOKS; i++) {
                ended += hooks[i].status == 202 && sw_witness_tally_finished(t, hooks[i].build) > 0;
            }
            if (ended == accepted) {
                t_end = sw_harness_now_ms();
                break;
            }
        }
        usleep(250 * 1000);
    }
    /* late duplicates would come within a few seconds: look again after them */
    usleep(3000 * 1000);
    long long t_settled = sw_harness_now_ms();
    while (sw_witness_tally_update(t) < 0 && sw_harness_now_ms() - t_settled < 10000) {
        usleep(250 * 1000);
    }

    int lost = 0, doubled = 0, retried = 0, restarted_attempt = 0, refused_but_ran = 0;
    int max_attempts = 0, not_succeeded = 0;
    for (int i = 0; i < NHOOKS; i++) {
        int fin = sw_witness_tally_finished(t, hooks[i].build);
        int started = sw_witness_tally_started(t, hooks[i].build);
        int attempts = sw_witness_tally_attempts(t, hooks[i].build);
        if (hooks[i].status != 202) {
            refused_but_ran += fin > 0;
            doubled += fin > 1;
            continue;
        }
        if (fin == 0 && lost++ < 5) {
            fprintf(stderr, "cluster: build %s (delivery %s, %s) never ended; %d STARTED\n",
                    hooks[i].build, hooks[i].delivery,
                    i < LOAD_BUILDS ? "before the kill" : "while down", started);
        }
        if (fin > 1 && doubled++ < 5) {
            fprintf(stderr, "cluster: build %s has %d FINISHED events\n", hooks[i].build, fin);
        }
        if (fin > 0 &&
            sw_witness_tally_finished_state(t, hooks[i].build) != SLIPWAY__BUILD_STATE__SUCCEEDED &&
            not_succeeded++ < 5) {
            fprintf(stderr, "cluster: build %s ended %s (attempt %u)\n", hooks[i].build,
                    sw_state_name(sw_witness_tally_finished_state(t, hooks[i].build)),
                    sw_witness_tally_finished_attempt(t, hooks[i].build));
        }
        retried += attempts > 1;
        restarted_attempt += started > attempts; /* one attempt STARTED twice */
        max_attempts = attempts > max_attempts ? attempts : max_attempts;
    }
    fprintf(stderr,
            "cluster: kill -9 of JOBS leader %s with %d builds in flight (sent in %lld ms), "
            "4 builders x 8 slots\n",
            leader, LOAD_BUILDS, t_sent - t_start);
    fprintf(stderr, "cluster: webhooks: %d answered 202, %d 503, %d otherwise (of %d)\n",
            accepted, refused, other_answers, NHOOKS);
    fprintf(stderr, "cluster: new JOBS leader %s seen %lld ms after the kill; first 202 after "
                    "the kill at %lld ms\n",
            t_leader >= 0 ? now : "(none)", t_leader >= 0 ? t_leader - t_kill : -1,
            t_first_202 >= 0 ? t_first_202 - t_kill : -1);
    fprintf(stderr,
            "cluster: lost %d, doubled %d, needed a second attempt %d (most attempts %d), "
            "an attempt started twice %d; not succeeded %d; 503'd deliveries whose build ran "
            "anyway %d\n",
            lost, doubled, retried, max_attempts, restarted_attempt, not_succeeded,
            refused_but_ran);
    fprintf(stderr, "cluster: all %d accepted builds ended %lld ms after the kill; total %lld ms "
                    "(EVENTS read up to seq %llu)\n",
            ended, t_end >= 0 ? t_end - t_kill : -1, sw_harness_now_ms() - t_start,
            (unsigned long long)sw_witness_tally_next_seq(t) - 1);

    /* what slipwayd's follows of EVENTS said about themselves (bus/sub.c) */
    char *log = sw_harness_slipwayd_log(h);
    int gaps = 0, replays = 0;
    for (const char *at = log; (at = strstr(at, "never came")) != NULL; at++) {
        gaps++;
    }
    for (const char *at = log; (at = strstr(at, "remade ordered consumer went back")) != NULL;
         at++) {
        replays++;
    }
    free(log);
    fprintf(stderr, "cluster: slipwayd's follows: %d gaps logged, %d replays left out\n", gaps,
            replays);
    ck_assert_msg(gaps == 0, "slipwayd's follows of EVENTS saw %d gaps", gaps);

    ck_assert_msg(other_answers == 0, "%d webhooks were answered neither 202 nor 503",
                  other_answers);
    ck_assert_msg(t_leader >= 0, "JOBS got no new leader within %d ms", DOWN_MS);
    ck_assert_msg(t_first_202 >= 0, "no webhook was accepted while n%d was down", victim + 1);
    ck_assert_msg(lost == 0, "%d accepted builds never ended (%d of %d did within %d ms)", lost,
                  ended, accepted, LOAD_END_MS);
    ck_assert_msg(doubled == 0, "%d builds ended more than once", doubled);
    ck_assert_msg(restarted_attempt == 0, "%d builds started one attempt twice",
                  restarted_attempt);

    sw_witness_tally_destroy(&t);
    free(hooks);
    free(sha);
    free(url);
    sw_harness_destroy(&h);
}
END_TEST

/* ---- a live follower across the death of its node ----------------------------- */

#define FOLLOW_MSGS 1500     /* published in all, one every FOLLOW_GAP_US */
#define FOLLOW_GAP_US 4000
#define FOLLOW_KILL_AT 300   /* the node dies after this many */
#define FOLLOW_DOWN_MS 6000
#define FOLLOW_END_MS 60000  /* for the followers to have seen every message */

typedef struct follower {
    pthread_mutex_t lock;
    int seen[FOLLOW_MSGS + 1]; /* deliveries of message n (its payload) */
    int last;                  /* the last n delivered */
    int out_of_order, count;
    int from; /* its start sequence: message n is stream sequence n */
} follower;

static void on_followed(sw_msg *msg, void *closure)
{
    follower *f = closure;
    char text[16];
    size_t len = sw_msg_len(msg) < sizeof(text) - 1 ? sw_msg_len(msg) : sizeof(text) - 1;
    memcpy(text, sw_msg_data(msg), len);
    text[len] = '\0';
    int n = atoi(text);
    pthread_mutex_lock(&f->lock);
    if (n >= 1 && n <= FOLLOW_MSGS) {
        f->seen[n]++;
        f->out_of_order += n <= f->last;
        f->last = n;
        f->count++;
    }
    pthread_mutex_unlock(&f->lock);
    sw_msg_release(&msg);
}

/* Distinct messages the follower has seen. */
static int follower_distinct(follower *f)
{
    int n = 0;
    pthread_mutex_lock(&f->lock);
    for (int i = 1; i <= FOLLOW_MSGS; i++) {
        n += f->seen[i] > 0;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* The URL of node i alone (the harness's list is n1,n2,n3), copied into out. */
static void node_url(sw_harness *h, int node, char *out, size_t n)
{
    const char *at = sw_harness_nats_url(h);
    for (int i = 0; i < node && at != NULL; i++) {
        at = strchr(at, ',');
        at = at ? at + 1 : NULL;
    }
    ck_assert_ptr_nonnull(at);
    snprintf(out, n, "%.*s", (int)strcspn(at, ","), at);
}

static sw_bus *connect_named(const char *url, const char *name)
{
    sw_bus_options bo = {.url = url, .name = name, .connect_wait_ms = 5000};
    sw_bus *bus = NULL;
    sw_harness_as_operator(&bo);
    ck_assert_msg(sw_bus_connect(&bus, &bo) == 0, "%s: %s", name, sw_error_last());
    return bus;
}

/* Three followers of an R3 stream while its leader is killed with SIGKILL and
 * messages go on being published: one connected to the leader and one to
 * another node, both from the first message, and one connected to the leader
 * from the first message published after the kill (nothing delivered yet when
 * its node dies: cnats 3.4.1 remakes such an ordered consumer from sequence 1).
 * Each sees every message from its start exactly once, in order, and nothing
 * before its start (the ordered consumers resume at the last message
 * delivered + 1). */
START_TEST(test_followers_miss_nothing_when_the_stream_leader_is_killed)
{
    sw_harness_options o = {.nats_nodes = 3};
    sw_harness *h = sw_harness_create(&o);
    static const char *const subjects[] = {"f.>"};
    sw_stream_config sc = {.name = "F", .subjects = subjects, .nsubjects = 1,
                           .retention = SW_RETAIN_LIMITS, .replicas = 3};
    sw_bus *pub = connect_named(sw_harness_nats_url(h), "test-publisher");
    ck_assert_msg(sw_bus_stream_ensure(pub, &sc) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_js_publish(pub, "f.1", "1", 1, "f-1", NULL, NULL) == 0, "%s",
                  sw_error_last());
    char leader[64], url[128];
    leader_of(h, 0, "F", leader, sizeof(leader));
    ck_assert_msg(strlen(leader) == 2 && leader[0] == 'n', "no leader of F: '%s'", leader);
    int victim = leader[1] - '1';

    enum { NFOLLOWERS = 3 };
    static const char *const names[NFOLLOWERS] = {"on the killed leader", "on another node",
                                                  "on the killed leader, from the kill"};
    static follower fs[NFOLLOWERS];
    sw_bus *buses[NFOLLOWERS];
    sw_sub *subs[NFOLLOWERS];
    for (int i = 0; i < NFOLLOWERS; i++) {
        memset(&fs[i], 0, sizeof(fs[i]));
        pthread_mutex_init(&fs[i].lock, NULL);
        fs[i].from = i == 2 ? FOLLOW_KILL_AT : 1;
        node_url(h, i == 1 ? (victim + 1) % 3 : victim, url, sizeof(url));
        buses[i] = connect_named(url, "test-follower");
        ck_assert_msg(sw_bus_follow(&subs[i], buses[i], "F", "f.>", (uint64_t)fs[i].from,
                                    on_followed, &fs[i]) == 0,
                      "%s", sw_error_last());
    }

    long long t_kill = -1;
    int retried = 0;
    for (int n = 2; n <= FOLLOW_MSGS; n++) {
        char subject[32], text[16], id[32];
        snprintf(subject, sizeof(subject), "f.%d", n);
        snprintf(text, sizeof(text), "%d", n);
        snprintf(id, sizeof(id), "f-%d", n);
        if (n == FOLLOW_KILL_AT) {
            sw_harness_nats_kill_node(h, victim);
            t_kill = sw_harness_now_ms();
        }
        /* the same id again until stored: at most once in the stream */
        long long until = sw_harness_now_ms() + 30000;
        while (sw_bus_js_publish(pub, subject, text, strlen(text), id, NULL, NULL) < 0) {
            ck_assert_msg(sw_harness_now_ms() < until, "message %d not stored in 30 s: %s", n,
                          sw_error_last());
            retried++;
            usleep(100 * 1000);
        }
        if (t_kill >= 0 && sw_harness_now_ms() - t_kill >= FOLLOW_DOWN_MS) {
            sw_harness_nats_restart_node(h, victim);
            t_kill = -2; /* restarted */
        }
        usleep(FOLLOW_GAP_US);
    }
    if (t_kill >= 0) {
        while (sw_harness_now_ms() - t_kill < FOLLOW_DOWN_MS) {
            usleep(10 * 1000);
        }
        sw_harness_nats_restart_node(h, victim);
    }
    ck_assert_int_eq(sw_witness_messages(h, "F"), FOLLOW_MSGS);

    long long t0 = sw_harness_now_ms();
    for (int i = 0; i < NFOLLOWERS; i++) {
        while (follower_distinct(&fs[i]) < FOLLOW_MSGS - fs[i].from + 1 &&
               sw_harness_now_ms() - t0 < FOLLOW_END_MS) {
            usleep(50 * 1000);
        }
    }
    usleep(1000 * 1000); /* duplicates still on their way count */
    for (int i = 0; i < NFOLLOWERS; i++) {
        sw_sub_destroy(&subs[i]);
        int missed = 0, doubled = 0, first_missed = 0, before = 0;
        for (int n = 1; n <= FOLLOW_MSGS; n++) {
            if (n < fs[i].from) {
                before += fs[i].seen[n];
                continue;
            }
            if (fs[i].seen[n] == 0 && missed++ == 0) {
                first_missed = n;
            }
            doubled += fs[i].seen[n] > 1;
        }
        fprintf(stderr,
                "cluster: follower %s: %d deliveries of %d messages from %d; missed %d "
                "(first %d), doubled %d, before its start %d, out of order %d (publishes "
                "retried %d)\n",
                names[i], fs[i].count, FOLLOW_MSGS - fs[i].from + 1, fs[i].from, missed,
                first_missed, doubled, before, fs[i].out_of_order, retried);
        ck_assert_msg(missed == 0, "follower %s missed %d messages (first %d)", names[i],
                      missed, first_missed);
        ck_assert_msg(doubled == 0 && before == 0 && fs[i].out_of_order == 0,
                      "follower %s: %d doubled, %d before its start, %d out of order",
                      names[i], doubled, before, fs[i].out_of_order);
        sw_bus_destroy(&buses[i]);
        pthread_mutex_destroy(&fs[i].lock);
    }
    sw_bus_destroy(&pub);
    sw_harness_destroy(&h);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("r3");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_build_runs_on_a_cluster_with_r3_streams);
    tcase_add_test(tc, test_an_r1_stream_becomes_r3);
    suite_add_tcase(s, tc);
    tc = tcase_create("leader_killed");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_builds_end_once_when_the_jobs_leader_is_killed);
    suite_add_tcase(s, tc);
    tc = tcase_create("leader_killed_under_load");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_webhooks_and_builds_survive_a_jobs_leader_kill_under_load);
    suite_add_tcase(s, tc);
    tc = tcase_create("follower_node_killed");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_followers_miss_nothing_when_the_stream_leader_is_killed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(cluster_suite());
}
