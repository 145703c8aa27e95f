/* test_scheduler.c - the scheduler's LMDB view: a fold of EVENTS that remembers its sequence. */
#include "actors/scheduler/view.h"
#include "runtime/metrics.h"
#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static sw_view *view;

static void setup(void)
{
    dir = sw_test_tmpdir("sw-view");
    ck_assert_msg(sw_view_open(&view, dir) == 0, "%s", sw_error_last());
}

static void crash_teardown(void);

static void teardown(void)
{
    crash_teardown();
    sw_view_destroy(&view);
    sw_test_rmtree(dir);
    free(dir);
    dir = NULL;
}

static Slipway__BuildEvent event(const char *build, int kind, unsigned attempt)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.tenant = "acme";
    ev.kind = kind;
    ev.attempt = attempt;
    return ev;
}

static int apply_created(sw_view *v, const char *build, const char *tenant, int64_t at_ms,
                         uint64_t seq)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__CREATED, 0);
    job.build_id = (char *)build;
    job.tenant = (char *)tenant;
    job.project = "web";
    job.tier = "free";
    job.ref = "refs/heads/main";
    ev.tenant = (char *)tenant;
    ev.job = &job;
    ev.at_ms = at_ms;
    return sw_view_apply(v, &ev, seq);
}

static int apply_started(sw_view *v, const char *build, unsigned attempt, const char *builder,
                         uint64_t seq)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__STARTED, attempt);
    ev.builder = (char *)builder;
    ev.at_ms = 2000;
    return sw_view_apply(v, &ev, seq);
}

static int apply_finished(sw_view *v, const char *build, int state, int exit_code, uint64_t seq)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__FINISHED, 1);
    ev.state = state;
    ev.exit_code = exit_code;
    ev.reason = state == SLIPWAY__BUILD_STATE__SUCCEEDED ? "" : "step test exited 1";
    ev.at_ms = 3000;
    return sw_view_apply(v, &ev, seq);
}

static Slipway__BuildRecord *get(sw_view *v, const char *build)
{
    Slipway__BuildRecord *rec = NULL;
    ck_assert_msg(sw_view_get(v, build, &rec) == 0, "%s", sw_error_last());
    ck_assert_ptr_nonnull(rec);
    return rec;
}

START_TEST(test_get_returns_the_folded_record)
{
    ck_assert_int_eq(apply_created(view, "aaaa", "acme", 1000, 1), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_started(view, "aaaa", 1, "b1", 2), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__FAILED, 1, 3),
                     SW_APPLY_CHANGED);
    Slipway__BuildRecord *rec = get(view, "aaaa");
    ck_assert_str_eq(rec->build_id, "aaaa");
    ck_assert_str_eq(rec->tenant, "acme");
    ck_assert_str_eq(rec->project, "web");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_int_eq(rec->exit_code, 1);
    ck_assert_str_eq(rec->reason, "step test exited 1");
    ck_assert_uint_eq(rec->attempt, 1);
    ck_assert_str_eq(rec->builder, "b1");
    ck_assert_int_eq(rec->created_ms, 1000);
    ck_assert_int_eq(rec->started_ms, 2000);
    ck_assert_int_eq(rec->finished_ms, 3000);
    ck_assert_uint_eq(sw_view_seq(view), 3);
    slipway__build_record__free_unpacked(rec, NULL);
}
END_TEST

START_TEST(test_already_applied_seq_is_ignored)
{
    apply_created(view, "aaaa", "acme", 1000, 1);
    apply_started(view, "aaaa", 1, "b1", 2);
    /* a replay: the FINISHED says it was read at a sequence already applied */
    ck_assert_int_eq(apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 2),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 1),
                     SW_APPLY_IGNORED);
    Slipway__BuildRecord *rec = get(view, "aaaa");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__RUNNING);
    slipway__build_record__free_unpacked(rec, NULL);
    ck_assert_uint_eq(sw_view_seq(view), 2);
}
END_TEST

START_TEST(test_seq_advances_on_an_ignored_event)
{
    apply_created(view, "aaaa", "acme", 1000, 1);
    /* a duplicate CREATED changes nothing, but its sequence is consumed */
    ck_assert_int_eq(apply_created(view, "aaaa", "acme", 1000, 5), SW_APPLY_IGNORED);
    ck_assert_uint_eq(sw_view_seq(view), 5);
}
END_TEST

START_TEST(test_seq_survives_reopen)
{
    ck_assert_uint_eq(sw_view_seq(view), 0);
    apply_created(view, "aaaa", "acme", 1000, 7);
    apply_started(view, "aaaa", 1, "b1", 9);
    sw_view_destroy(&view);
    ck_assert_ptr_null(view);
    ck_assert_msg(sw_view_open(&view, dir) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(sw_view_seq(view), 9);
    Slipway__BuildRecord *rec = get(view, "aaaa");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__RUNNING);
    slipway__build_record__free_unpacked(rec, NULL);
    /* and a replay after the restart is still skipped */
    ck_assert_int_eq(apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 8),
                     SW_APPLY_IGNORED);
}
END_TEST

START_TEST(test_list_newest_first)
{
    apply_created(view, "mid", "acme", 2000, 1);
    apply_created(view, "old", "acme", 1000, 2);
    apply_created(view, "new", "acme", 3000, 3);
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    ck_assert_int_eq(sw_view_list(view, NULL, 10, &list, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[0]->build_id, "new");
    ck_assert_str_eq(list[1]->build_id, "mid");
    ck_assert_str_eq(list[2]->build_id, "old");
    sw_view_list_free(list, n);
}
END_TEST

START_TEST(test_list_honours_limit)
{
    apply_created(view, "b1", "acme", 1000, 1);
    apply_created(view, "b2", "acme", 2000, 2);
    apply_created(view, "b3", "acme", 3000, 3);
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    ck_assert_int_eq(sw_view_list(view, "", 2, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0]->build_id, "b3");
    ck_assert_str_eq(list[1]->build_id, "b2");
    sw_view_list_free(list, n);
}
END_TEST

START_TEST(test_list_filters_by_tenant)
{
    apply_created(view, "a1", "acme", 1000, 1);
    apply_created(view, "u1", "umbrella", 2000, 2);
    apply_created(view, "a2", "acme", 3000, 3);
    apply_created(view, "u2", "umbrella", 4000, 4);
    apply_created(view, "a3", "acme", 5000, 5);
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    /* the limit counts the tenant's builds, not the ones skipped */
    ck_assert_int_eq(sw_view_list(view, "umbrella", 2, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0]->build_id, "u2");
    ck_assert_str_eq(list[1]->build_id, "u1");
    sw_view_list_free(list, n);
    ck_assert_int_eq(sw_view_list(view, "nobody", 10, &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    sw_view_list_free(list, n);
}
END_TEST

START_TEST(test_find_pages_with_a_cursor)
{
    char ids[8][8];
    for (int i = 0; i < 7; i++) {
        snprintf(ids[i], sizeof(ids[i]), "b%d", i);
        apply_created(view, ids[i], "acme", 1000 + i, (uint64_t)i + 1);
    }
    sw_view_query q = {.limit = 3};
    char next[SW_VIEW_CURSOR_MAX];
    const char *want[] = {"b6", "b5", "b4", "b3", "b2", "b1", "b0"};
    char cursor[SW_VIEW_CURSOR_MAX];
    size_t seen = 0;
    for (int page = 0; page < 5; page++) {
        Slipway__BuildRecord **list = NULL;
        size_t n = 0;
        ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_lt(seen, 7);
            ck_assert_str_eq(list[i]->build_id, want[seen++]);
        }
        sw_view_list_free(list, n);
        if (next[0] == '\0') {
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", next);
        q.cursor = cursor;
    }
    ck_assert_uint_eq(seen, 7);
    ck_assert_str_eq(next, ""); /* the last page says there is no more */
}
END_TEST

START_TEST(test_find_filters_state_and_either_form_of_ref)
{
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    char next[SW_VIEW_CURSOR_MAX];
    apply_created(view, "q1", "acme", 1000, 1);
    apply_created(view, "q2", "acme", 2000, 2);
    ck_assert_int_eq(apply_finished(view, "q1", SLIPWAY__BUILD_STATE__FAILED, 1, 3),
                     SW_APPLY_CHANGED);
    sw_view_query q = {.limit = 10, .ref = "main", .state = SLIPWAY__BUILD_STATE__FAILED};
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0]->build_id, "q1");
    sw_view_list_free(list, n);
    q.ref = "refs/heads/main";
    q.state = 0;
    q.project = "web";
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
    ck_assert_uint_eq(n, 2);
    sw_view_list_free(list, n);
    q.ref = "refs/heads/other";
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
    ck_assert_uint_eq(n, 0);
    sw_view_list_free(list, n);
    q.cursor = "not a cursor";
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), SW_EINVALID);
}
END_TEST

START_TEST(test_find_stops_reading_with_a_cursor)
{
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    char next[SW_VIEW_CURSOR_MAX];
    apply_created(view, "old", "umbrella", 1000, 1);
    apply_created(view, "n1", "acme", 2000, 2);
    apply_created(view, "n2", "acme", 3000, 3);
    sw_view_query q = {.limit = 10, .tenant = "umbrella", .scan = 2};
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
    ck_assert_uint_eq(n, 0); /* two read, none matched: a cursor, not an end */
    ck_assert_str_ne(next, "");
    sw_view_list_free(list, n);
    char cursor[SW_VIEW_CURSOR_MAX];
    snprintf(cursor, sizeof(cursor), "%s", next);
    q.cursor = cursor;
    ck_assert_int_eq(sw_view_find(view, &q, &list, &n, next), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0]->build_id, "old");
    ck_assert_str_eq(next, "");
    sw_view_list_free(list, n);
}
END_TEST

START_TEST(test_get_unknown_is_not_found)
{
    Slipway__BuildRecord *rec = NULL;
    apply_created(view, "aaaa", "acme", 1000, 1);
    ck_assert_int_eq(sw_view_get(view, "zzzz", &rec), SW_ENOTFOUND);
    ck_assert_ptr_null(rec);
    /* a prefix of a stored id is another id */
    ck_assert_int_eq(sw_view_get(view, "aaa", &rec), SW_ENOTFOUND);
}
END_TEST

START_TEST(test_illegal_event_is_reported_and_consumed)
{
    /* a STARTED for a build never created: an error, but the stream moves on */
    ck_assert_int_eq(apply_started(view, "ghost", 1, "b1", 4), SW_EINVALID);
    ck_assert_uint_eq(sw_view_seq(view), 4);
    Slipway__BuildRecord *rec = NULL;
    ck_assert_int_eq(sw_view_get(view, "ghost", &rec), SW_ENOTFOUND);
}
END_TEST

/* One scheduler's worth of history: three builds, a lost attempt, a replayed event. */
static void apply_history(sw_view *v)
{
    Slipway__BuildEvent lost = event("bbbb", SLIPWAY__EVENT_KIND__LOST, 1);
    lost.reason = "builder b1 went silent";
    Slipway__BuildEvent step = event("aaaa", SLIPWAY__EVENT_KIND__STEP_STARTED, 1);
    step.step = "test";

    apply_created(v, "aaaa", "acme", 1000, 1);
    apply_created(v, "bbbb", "umbrella", 1100, 2);
    apply_started(v, "aaaa", 1, "b1", 3);
    apply_started(v, "bbbb", 1, "b1", 4);
    sw_view_apply(v, &step, 5);
    sw_view_apply(v, &lost, 6);
    apply_started(v, "bbbb", 2, "b2", 7);
    apply_finished(v, "aaaa", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 8);
    apply_created(v, "cccc", "acme", 1200, 9);
    apply_started(v, "aaaa", 1, "b1", 10); /* a late duplicate */
}

static void assert_same_record(sw_view *a, sw_view *b, const char *build)
{
    Slipway__BuildRecord *ra = get(a, build), *rb = get(b, build);
    size_t la, lb;
    void *pa = sw_wire_pack(&ra->base, &la), *pb = sw_wire_pack(&rb->base, &lb);
    ck_assert_msg(la == lb && memcmp(pa, pb, la) == 0, "records of %s differ", build);
    ck_assert_int_eq(ra->state, rb->state);
    ck_assert_uint_eq(ra->attempt, rb->attempt);
    ck_assert_str_eq(ra->builder, rb->builder);
    free(pa);
    free(pb);
    slipway__build_record__free_unpacked(ra, NULL);
    slipway__build_record__free_unpacked(rb, NULL);
}

START_TEST(test_rebuild_gives_identical_records)
{
    apply_history(view);
    /* the directory is lost: a fresh view folds EVENTS again from the start */
    char *fresh_dir = sw_test_tmpdir("sw-view-rebuilt");
    sw_view *fresh = NULL;
    ck_assert_msg(sw_view_open(&fresh, fresh_dir) == 0, "%s", sw_error_last());
    apply_history(fresh);

    ck_assert_uint_eq(sw_view_seq(fresh), sw_view_seq(view));
    assert_same_record(view, fresh, "aaaa");
    assert_same_record(view, fresh, "bbbb");
    assert_same_record(view, fresh, "cccc");
    Slipway__BuildRecord *bbbb = get(fresh, "bbbb");
    ck_assert_int_eq(bbbb->state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(bbbb->attempt, 2);
    slipway__build_record__free_unpacked(bbbb, NULL);

    Slipway__BuildRecord **la = NULL, **lb = NULL;
    size_t na = 0, nb = 0;
    ck_assert_int_eq(sw_view_list(view, NULL, 10, &la, &na), 0);
    ck_assert_int_eq(sw_view_list(fresh, NULL, 10, &lb, &nb), 0);
    ck_assert_uint_eq(na, 3);
    ck_assert_uint_eq(nb, na);
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(la[i]->build_id, lb[i]->build_id);
    }
    sw_view_list_free(la, na);
    sw_view_list_free(lb, nb);
    sw_view_destroy(&fresh);
    sw_test_rmtree(fresh_dir);
    free(fresh_dir);
}
END_TEST

START_TEST(test_lane_lists_the_builds_not_ended_oldest_first)
{
    Slipway__BuildRecord **list = NULL;
    size_t n = 0;
    ck_assert_int_eq(apply_created(view, "bbb", "acme", 2000, 1), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_created(view, "aaa", "acme", 1000, 2), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_created(view, "ccc", "acme", 1500, 3), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_started(view, "bbb", 1, "b1", 4), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_finished(view, "bbb", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 5),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(sw_view_lane(view, "web", "branch:main", &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0]->build_id, "aaa");
    ck_assert_str_eq(list[1]->build_id, "ccc");
    sw_view_list_free(list, n);
    ck_assert_int_eq(sw_view_lane(view, "web", "branch:other", &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    sw_view_list_free(list, n);
    ck_assert_int_eq(sw_view_lane(view, "we", "b", &list, &n), 0); /* no prefix match */
    ck_assert_uint_eq(n, 0);
    sw_view_list_free(list, n);
}
END_TEST

START_TEST(test_created_applied_early_then_from_the_stream)
{
    /* the scheduler applies its own CREATED at once (seq 0); the copy it then
     * reads from EVENTS changes nothing but the applied sequence */
    ck_assert_int_eq(apply_created(view, "early", "acme", 1000, 0), SW_APPLY_CHANGED);
    ck_assert_uint_eq(sw_view_seq(view), 0);
    ck_assert_int_eq(apply_created(view, "early", "acme", 1000, 7), SW_APPLY_IGNORED);
    ck_assert_uint_eq(sw_view_seq(view), 7);
    Slipway__BuildRecord *rec = get(view, "early");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__QUEUED);
    slipway__build_record__free_unpacked(rec, NULL);
}
END_TEST

/* A series of the view's figures in the process registry (buildmetrics.h):
 * looked up by registering the same family again, which returns it. */
static double builds_now(const char *state)
{
    sw_metric *f = sw_metrics_gauge(sw_metrics_process(), "slipway_builds", "",
                                    (const char *[]){"tier", "state", NULL});
    return sw_metric_value(f, (const char *[]){"free", state});
}

static double finished_total(const char *result)
{
    sw_metric *f = sw_metrics_counter(sw_metrics_process(), "slipway_builds_finished_total", "",
                                      (const char *[]){"tier", "result", NULL});
    return sw_metric_value(f, (const char *[]){"free", result});
}

static double waits_observed(void)
{
    sw_metric *f = sw_metrics_histogram(sw_metrics_process(), "slipway_queue_wait_seconds", "",
                                        (const char *[]){"tier", NULL},
                                        sw_metrics_seconds_buckets, sw_metrics_seconds_nbuckets);
    return sw_metric_value(f, (const char *[]){"free"});
}

START_TEST(test_metrics_count_a_build_once_and_the_gauge_follows_its_state)
{
    /* counters and histograms live as long as the process (CK_FORK=no runs every
     * case in one): deltas */
    double before = finished_total("failed"), before_ok = finished_total("succeeded");
    double waits = waits_observed();
    ck_assert_int_eq(apply_created(view, "aaaa", "acme", 1000, 1), SW_APPLY_CHANGED);
    ck_assert_double_eq(builds_now("queued") + builds_now("received"), 1);
    ck_assert_int_eq(apply_started(view, "aaaa", 1, "b1", 2), SW_APPLY_CHANGED);
    ck_assert_double_eq(builds_now("queued") + builds_now("received"), 0);
    ck_assert_double_eq(builds_now("running"), 1);
    ck_assert_int_eq(apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__FAILED, 1, 3),
                     SW_APPLY_CHANGED);
    ck_assert_double_eq(builds_now("running"), 0);
    ck_assert_double_eq(finished_total("failed"), before + 1);
    ck_assert_double_eq(waits_observed(), waits + 1);
    /* the same FINISHED again, at a new sequence (a redelivery): counted once */
    apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__FAILED, 1, 4);
    apply_finished(view, "aaaa", SLIPWAY__BUILD_STATE__SUCCEEDED, 0, 5);
    ck_assert_double_eq(finished_total("failed"), before + 1);
    ck_assert_double_eq(finished_total("succeeded"), before_ok);
    ck_assert_double_eq(waits_observed(), waits + 1);
}
END_TEST

START_TEST(test_metrics_count_nothing_of_a_refused_event)
{
    sw_metric *f = sw_metrics_gauge(sw_metrics_process(), "slipway_builds", "",
                                    (const char *[]){"tier", "state", NULL});
    /* a STARTED before its CREATED is refused (consumed): no build to count */
    ck_assert_int_lt(apply_started(view, "aaaa", 1, "b1", 1), 0);
    ck_assert_double_eq(builds_now("running"), 0);
    ck_assert_double_eq(sw_metric_value(f, (const char *[]){"none", "running"}), 0);
    apply_created(view, "aaaa", "acme", 1000, 2);
    ck_assert_double_eq(builds_now("queued") + builds_now("received"), 1);
    ck_assert_double_eq(builds_now("running"), 0);
}
END_TEST

START_TEST(test_metrics_gauge_is_counted_again_when_the_view_opens)
{
    apply_created(view, "aaaa", "acme", 1000, 1);
    apply_created(view, "bbbb", "acme", 1000, 2);
    apply_started(view, "bbbb", 1, "b1", 3);
    sw_view_destroy(&view);
    ck_assert_msg(sw_view_open(&view, dir) == 0, "%s", sw_error_last());
    ck_assert_double_eq(builds_now("queued") + builds_now("received"), 1);
    ck_assert_double_eq(builds_now("running"), 1);
}
END_TEST

START_TEST(test_long_build_id_does_not_overflow)
{
    /* build ids come off the bus: a long one is refused or stored, never overflows */
    char long_id[301];
    memset(long_id, 'x', 300);
    long_id[300] = '\0';
    int rc = apply_created(view, long_id, "acme", 1000, 1);
    ck_assert_msg(rc == SW_APPLY_CHANGED || rc == SW_EINVALID, "%d: %s", rc, sw_error_last());
}
END_TEST


/* ---- batches: applied into one open transaction, committed by flush ---- */

/* Runs fn in a child process on a view of its own in a directory of its own,
 * which then dies (_exit) without closing it: what was not committed is lost.
 * fn's answer must be 0. Returns that view opened again here (the fixture's
 * view is left alone); the directory goes at teardown. */
static char *crash_dir;

static sw_view *after_a_crash(int (*fn)(sw_view *v))
{
    sw_view *v = NULL;
    int status = 0;
    crash_dir = sw_test_tmpdir("sw-view-crash");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(sw_view_open(&v, crash_dir) < 0 ? 90 : fn(v));
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: status %d", status);
    ck_assert_msg(sw_view_open(&v, crash_dir) == 0, "%s", sw_error_last());
    return v;
}

static void crash_teardown(void)
{
    if (crash_dir != NULL) {
        sw_test_rmtree(crash_dir);
        free(crash_dir);
        crash_dir = NULL;
    }
}

static int created_flushed_then_started(sw_view *v)
{
    Slipway__BuildRecord *rec = NULL;
    if (apply_created(v, "aaaa", "acme", 1000, 1) != SW_APPLY_CHANGED || sw_view_flush(v) < 0 ||
        apply_started(v, "aaaa", 1, "b1", 2) != SW_APPLY_CHANGED) {
        return 91;
    }
    /* reads see the open batch */
    if (sw_view_get(v, "aaaa", &rec) < 0 || rec->state != SLIPWAY__BUILD_STATE__RUNNING ||
        sw_view_waiting(v, "acme") != 0) {
        return 92;
    }
    slipway__build_record__free_unpacked(rec, NULL);
    return 0;
}

START_TEST(test_a_crash_loses_only_the_open_batch)
{
    sw_view *v = after_a_crash(created_flushed_then_started);
    /* the flushed CREATED is there, the STARTED after it is not: EVENTS gives
     * it again from sequence 2 */
    ck_assert_uint_eq(sw_view_seq(v), 1);
    ck_assert_uint_eq(sw_view_waiting(v, "acme"), 1);
    Slipway__BuildRecord *rec = get(v, "aaaa");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__QUEUED);
    slipway__build_record__free_unpacked(rec, NULL);
    ck_assert_int_eq(apply_started(v, "aaaa", 1, "b1", 2), SW_APPLY_CHANGED);
    rec = get(v, "aaaa");
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__RUNNING);
    slipway__build_record__free_unpacked(rec, NULL);
    sw_view_destroy(&v);
}
END_TEST

static int many_created_never_flushed(sw_view *v)
{
    for (int i = 1; i <= 600; i++) {
        char id[16];
        snprintf(id, sizeof(id), "b%04d", i);
        if (apply_created(v, id, "acme", 1000 + i, (uint64_t)i) != SW_APPLY_CHANGED) {
            return 93;
        }
    }
    return 0;
}

START_TEST(test_a_batch_commits_by_itself_at_its_bound)
{
    sw_view *v = after_a_crash(many_created_never_flushed);
    /* 600 events never flushed: a full batch committed by itself, the rest lost */
    uint64_t seq = sw_view_seq(v);
    ck_assert_msg(seq > 0 && seq < 600, "committed up to %llu of 600", (unsigned long long)seq);
    ck_assert_uint_eq(sw_view_waiting(v, "acme"), seq);
    sw_view_destroy(&v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("view");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_get_returns_the_folded_record);
    tcase_add_test(tc, test_already_applied_seq_is_ignored);
    tcase_add_test(tc, test_seq_advances_on_an_ignored_event);
    tcase_add_test(tc, test_seq_survives_reopen);
    tcase_add_test(tc, test_list_newest_first);
    tcase_add_test(tc, test_find_pages_with_a_cursor);
    tcase_add_test(tc, test_find_filters_state_and_either_form_of_ref);
    tcase_add_test(tc, test_find_stops_reading_with_a_cursor);
    tcase_add_test(tc, test_list_honours_limit);
    tcase_add_test(tc, test_list_filters_by_tenant);
    tcase_add_test(tc, test_get_unknown_is_not_found);
    tcase_add_test(tc, test_illegal_event_is_reported_and_consumed);
    tcase_add_test(tc, test_rebuild_gives_identical_records);
    tcase_add_test(tc, test_lane_lists_the_builds_not_ended_oldest_first);
    tcase_add_test(tc, test_created_applied_early_then_from_the_stream);
    tcase_add_test(tc, test_a_crash_loses_only_the_open_batch);
    tcase_add_test(tc, test_a_batch_commits_by_itself_at_its_bound);
    tcase_add_test(tc, test_metrics_count_a_build_once_and_the_gauge_follows_its_state);
    tcase_add_test(tc, test_metrics_gauge_is_counted_again_when_the_view_opens);
    tcase_add_test(tc, test_metrics_count_nothing_of_a_refused_event);
    suite_add_tcase(s, tc);
    TCase *untrusted = tcase_create("untrusted");
    tcase_add_checked_fixture(untrusted, setup, teardown);
    tcase_add_test(untrusted, test_long_build_id_does_not_overflow);
    suite_add_tcase(s, untrusted);
    return sw_test_run(s);
}
