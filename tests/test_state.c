/* test_state.c - a build's life as a fold over its events (runtime/buildstate.h). */
#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILD "abcdefgh2345"

/* An event of BUILD; strings point at literals (events are borrowed by sw_build_apply). */
static Slipway__BuildEvent event(int kind, unsigned attempt)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = BUILD;
    ev.tenant = "acme";
    ev.kind = kind;
    ev.attempt = attempt;
    ev.at_ms = 1000 + attempt;
    return ev;
}

static int apply_created(Slipway__BuildRecord *rec)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__CREATED, 0);
    job.build_id = BUILD;
    job.tenant = "acme";
    job.project = "web";
    job.tier = "free";
    job.region = "eu";
    job.ref = "refs/heads/main";
    req.request_id = "github:77";
    req.tenant = "acme";
    req.project = "web";
    req.author = "Ada";
    req.message = "Fix the widget";
    ev.job = &job;
    ev.request = &req;
    ev.at_ms = 500;
    return sw_build_apply(rec, &ev);
}

static int apply_kind(Slipway__BuildRecord *rec, int kind, unsigned attempt)
{
    Slipway__BuildEvent ev = event(kind, attempt);
    return sw_build_apply(rec, &ev);
}

static int apply_started(Slipway__BuildRecord *rec, unsigned attempt, const char *builder)
{
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__STARTED, attempt);
    ev.builder = (char *)builder;
    ev.cluster = "eu-free";
    return sw_build_apply(rec, &ev);
}

static int apply_step(Slipway__BuildRecord *rec, int kind, unsigned attempt, const char *step)
{
    Slipway__BuildEvent ev = event(kind, attempt);
    ev.step = (char *)step;
    return sw_build_apply(rec, &ev);
}

static int apply_finished(Slipway__BuildRecord *rec, unsigned attempt, int state, int exit_code,
                          const char *reason)
{
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__FINISHED, attempt);
    ev.state = state;
    ev.exit_code = exit_code;
    ev.reason = (char *)reason;
    ev.sha = "0123456789abcdef0123456789abcdef01234567";
    ev.at_ms = 9000 + attempt;
    return sw_build_apply(rec, &ev);
}

static int apply_lost(Slipway__BuildRecord *rec, unsigned attempt)
{
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__LOST, attempt);
    ev.reason = "builder b1 went silent";
    return sw_build_apply(rec, &ev);
}

/* A record of BUILD that is running attempt on builder "b<attempt>". */
static void running(Slipway__BuildRecord *rec, unsigned attempt)
{
    ck_assert_int_eq(apply_created(rec), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_kind(rec, SLIPWAY__EVENT_KIND__PLACED, 0), SW_APPLY_CHANGED);
    for (unsigned a = 1; a <= attempt; a++) {
        char builder[16];
        snprintf(builder, sizeof(builder), "b%u", a);
        ck_assert_int_eq(apply_started(rec, a, builder), SW_APPLY_CHANGED);
        if (a < attempt) {
            ck_assert_int_eq(apply_lost(rec, a), SW_APPLY_CHANGED);
        }
    }
    ck_assert_int_eq(rec->state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(rec->attempt, attempt);
}

START_TEST(test_created_is_queued)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    ck_assert_int_eq(apply_created(&rec), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__QUEUED);
    ck_assert_str_eq(rec.build_id, BUILD);
    ck_assert_str_eq(rec.tenant, "acme");
    ck_assert_str_eq(rec.project, "web");
    ck_assert_str_eq(rec.tier, "free");
    ck_assert_str_eq(rec.ref, "refs/heads/main");
    ck_assert_str_eq(rec.request_id, "github:77");
    ck_assert_str_eq(rec.author, "Ada");
    ck_assert_str_eq(rec.message, "Fix the widget");
    ck_assert_int_eq(rec.created_ms, 500);
    ck_assert_uint_eq(rec.attempt, 0);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_placed_is_dispatched)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildEvent placed = event(SLIPWAY__EVENT_KIND__PLACED, 0);
    placed.cluster = "eu-free";
    apply_created(&rec);
    ck_assert_int_eq(sw_build_apply(&rec, &placed), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__DISPATCHED);
    ck_assert_str_eq(rec.cluster, "eu-free");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_started_is_running)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    apply_created(&rec);
    apply_kind(&rec, SLIPWAY__EVENT_KIND__PLACED, 0);
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(rec.attempt, 1);
    ck_assert_str_eq(rec.builder, "b1");
    ck_assert_str_eq(rec.cluster, "eu-free");
    ck_assert_int_eq(rec.started_ms, 1001);
    /* the same STARTED again changes nothing */
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_APPLY_IGNORED);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_step_events_update_step)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_str_eq(rec.step, "");
    ck_assert_int_eq(apply_step(&rec, SLIPWAY__EVENT_KIND__STEP_STARTED, 1, "build"),
                     SW_APPLY_CHANGED);
    ck_assert_str_eq(rec.step, "build");
    ck_assert_int_eq(apply_step(&rec, SLIPWAY__EVENT_KIND__STEP_STARTED, 1, "build"),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(apply_step(&rec, SLIPWAY__EVENT_KIND__STEP_STARTED, 1, "test"),
                     SW_APPLY_CHANGED);
    ck_assert_str_eq(rec.step, "test");
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_finished_failed_records_result)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__FAILED, 1,
                                    "step test exited 1"),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_int_eq(rec.exit_code, 1);
    ck_assert_str_eq(rec.reason, "step test exited 1");
    ck_assert_str_eq(rec.sha, "0123456789abcdef0123456789abcdef01234567");
    ck_assert_int_eq(rec.finished_ms, 9001);
    ck_assert_uint_eq(rec.attempt, 1);
    ck_assert_str_eq(rec.builder, "b1");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_finished_records_the_pushed_image)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__FINISHED, 1);
    ev.state = SLIPWAY__BUILD_STATE__SUCCEEDED;
    ev.image = "127.0.0.1:5000/demo/demo:0123456";
    ev.digest = "sha256:aaaabbbb";
    ck_assert_int_eq(sw_build_apply(&rec, &ev), SW_APPLY_CHANGED);
    ck_assert_str_eq(rec.image, "127.0.0.1:5000/demo/demo:0123456");
    ck_assert_str_eq(rec.digest, "sha256:aaaabbbb");
    Slipway__BuildRecord copy;
    sw_build_record_copy(&copy, &rec);
    ck_assert_ptr_ne(copy.digest, rec.digest); /* its own strings */
    ck_assert_str_eq(copy.digest, "sha256:aaaabbbb");
    ck_assert_str_eq(copy.image, rec.image);
    sw_build_record_clear(&copy);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_first_result_counts)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__FAILED, 1, "step test exited 1");
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, ""),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(apply_finished(&rec, 0, SLIPWAY__BUILD_STATE__ERRORED, 0, "late verdict"),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_int_eq(rec.exit_code, 1);
    ck_assert_str_eq(rec.reason, "step test exited 1");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_events_of_a_superseded_attempt_are_ignored)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 2);
    ck_assert_int_eq(apply_step(&rec, SLIPWAY__EVENT_KIND__STEP_STARTED, 1, "old-step"),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_APPLY_IGNORED);
    ck_assert_int_eq(apply_lost(&rec, 1), SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(rec.attempt, 2);
    ck_assert_str_eq(rec.builder, "b2");
    ck_assert_str_eq(rec.step, "");
    sw_build_record_clear(&rec);
}
END_TEST

static int apply_checked_out(Slipway__BuildRecord *rec, unsigned attempt, const char *sha)
{
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__CHECKED_OUT, attempt);
    ev.sha = (char *)sha;
    return sw_build_apply(rec, &ev);
}

START_TEST(test_checked_out_records_the_sha)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_str_eq(rec.sha, ""); /* a branch: the commit is not known yet */
    ck_assert_int_eq(apply_checked_out(&rec, 1, "0123456789abcdef0123456789abcdef01234567"),
                     SW_APPLY_CHANGED);
    ck_assert_str_eq(rec.sha, "0123456789abcdef0123456789abcdef01234567");
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    /* a redelivery changes nothing */
    ck_assert_int_eq(apply_checked_out(&rec, 1, "0123456789abcdef0123456789abcdef01234567"),
                     SW_APPLY_IGNORED);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_checked_out_of_a_superseded_attempt_is_ignored)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 2);
    ck_assert_int_eq(apply_checked_out(&rec, 2, "2222222222222222222222222222222222222222"),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_checked_out(&rec, 1, "1111111111111111111111111111111111111111"),
                     SW_APPLY_IGNORED);
    ck_assert_str_eq(rec.sha, "2222222222222222222222222222222222222222");
    /* once final, nothing moves it */
    ck_assert_int_eq(apply_finished(&rec, 2, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, ""),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_checked_out(&rec, 2, "3333333333333333333333333333333333333333"),
                     SW_APPLY_IGNORED);
    ck_assert_str_eq(rec.sha, "0123456789abcdef0123456789abcdef01234567"); /* FINISHED's */
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_checked_out_before_started_is_ignored)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    ck_assert_int_eq(apply_created(&rec), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_checked_out(&rec, 1, "1111111111111111111111111111111111111111"),
                     SW_APPLY_IGNORED);
    ck_assert_str_eq(rec.sha, "");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_started_with_a_sha_records_it)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__STARTED, 1);
    ck_assert_int_eq(apply_created(&rec), SW_APPLY_CHANGED);
    ev.builder = "b1";
    ev.sha = "4444444444444444444444444444444444444444";
    ck_assert_int_eq(sw_build_apply(&rec, &ev), SW_APPLY_CHANGED);
    ck_assert_str_eq(rec.sha, "4444444444444444444444444444444444444444");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_late_finished_of_a_superseded_attempt_is_ignored)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 2);
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, ""),
                     SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    /* the current attempt's result still counts */
    ck_assert_int_eq(apply_finished(&rec, 2, SLIPWAY__BUILD_STATE__FAILED, 2, "exit 2"),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_int_eq(rec.exit_code, 2);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_lost_then_next_attempt_runs)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_int_eq(apply_lost(&rec, 1), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RESCHEDULING);
    ck_assert_str_eq(rec.reason, "builder b1 went silent");
    ck_assert_int_eq(apply_started(&rec, 2, "b2"), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(rec.attempt, 2);
    ck_assert_str_eq(rec.builder, "b2");
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_duplicate_started_after_lost_is_ignored)
{
    /* attempt n is over once it is lost: a redelivered STARTED(n) must not revive it */
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    apply_lost(&rec, 1);
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RESCHEDULING);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_duplicate_created_is_ignored)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_int_eq(apply_created(&rec), SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_uint_eq(rec.attempt, 1);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_placed_after_started_is_ignored)
{
    /* the builder's STARTED can overtake the dispatcher's PLACED */
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    apply_created(&rec);
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_APPLY_CHANGED);
    ck_assert_int_eq(apply_kind(&rec, SLIPWAY__EVENT_KIND__PLACED, 0), SW_APPLY_IGNORED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    /* ... but where and why it was placed are kept, once, the cluster the builder's */
    Slipway__BuildEvent placed = event(SLIPWAY__EVENT_KIND__PLACED, 0);
    placed.cluster = "other";
    placed.region = "overseas";
    placed.reason = "region overseas: 3 of 3 sources";
    ck_assert_int_eq(sw_build_apply(&rec, &placed), SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_str_eq(rec.cluster, "eu-free");
    ck_assert_str_eq(rec.region, "overseas");
    ck_assert_str_eq(rec.placement, "region overseas: 3 of 3 sources");
    ck_assert_int_eq(sw_build_apply(&rec, &placed), SW_APPLY_IGNORED);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_event_before_created_is_illegal)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    ck_assert_int_eq(apply_started(&rec, 1, "b1"), SW_EINVALID);
    ck_assert_int_eq(apply_kind(&rec, SLIPWAY__EVENT_KIND__PLACED, 0), SW_EINVALID);
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, ""),
                     SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), BUILD) != NULL, "%s", sw_error_last());
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__UNKNOWN);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_finished_with_non_final_state_is_illegal)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 1);
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__RUNNING, 0, ""), SW_EINVALID);
    ck_assert_int_eq(apply_finished(&rec, 1, SLIPWAY__BUILD_STATE__UNKNOWN, 0, ""), SW_EINVALID);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_event_of_another_build_is_illegal)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildEvent other = event(SLIPWAY__EVENT_KIND__STARTED, 1);
    other.build_id = "zzzzzzzzzzzz";
    apply_created(&rec);
    ck_assert_int_eq(sw_build_apply(&rec, &other), SW_EINVALID);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__QUEUED);
    ck_assert_str_eq(rec.build_id, BUILD);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_event_without_build_id_is_illegal)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__CREATED, 0);
    ev.build_id = (char *)protobuf_c_empty_string; /* what unpacking an absent field gives */
    ck_assert_int_eq(sw_build_apply(&rec, &ev), SW_EINVALID);
    ev.build_id = NULL;
    ck_assert_int_eq(sw_build_apply(&rec, &ev), SW_EINVALID);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__UNKNOWN);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_started_without_attempt_is_illegal)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    apply_created(&rec);
    ck_assert_int_eq(apply_started(&rec, 0, "b1"), SW_EINVALID);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__QUEUED);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_scheduler_verdict_applies)
{
    /* attempt 0 is the scheduler speaking for the build as a whole */
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    running(&rec, 2);
    ck_assert_int_eq(apply_finished(&rec, 0, SLIPWAY__BUILD_STATE__ERRORED, 0, "gave up"),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_str_eq(rec.reason, "gave up");
    ck_assert_uint_eq(rec.attempt, 2);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_scheduler_verdict_on_a_queued_build)
{
    /* the dispatcher finds no cluster for the region: the build never runs */
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    apply_created(&rec);
    ck_assert_int_eq(apply_finished(&rec, 0, SLIPWAY__BUILD_STATE__ERRORED, 0, "no cluster"),
                     SW_APPLY_CHANGED);
    ck_assert_int_eq(rec.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_uint_eq(rec.attempt, 0);
    sw_build_record_clear(&rec);
}
END_TEST

START_TEST(test_copy_is_deep)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT, copy;
    running(&rec, 1);
    sw_build_record_copy(&copy, &rec);
    sw_build_record_clear(&rec);
    ck_assert_str_eq(copy.build_id, BUILD);
    ck_assert_str_eq(copy.builder, "b1");
    ck_assert_int_eq(copy.state, SLIPWAY__BUILD_STATE__RUNNING);
    sw_build_record_clear(&copy);
    ck_assert_int_eq(copy.state, SLIPWAY__BUILD_STATE__UNKNOWN);
    ck_assert_str_eq(copy.build_id, "");
}
END_TEST

START_TEST(test_created_keeps_what_retry_and_superseding_need)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT, copy;
    Slipway__BuildEvent ev = event(SLIPWAY__EVENT_KIND__CREATED, 0);
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    Slipway__Job job = SLIPWAY__JOB__INIT;
    job.project = "p";
    job.ref = "refs/heads/feature";
    req.request_id = "r1";
    req.retry_of = "oldbuild1234";
    req.branch = "feature";
    req.pr_number = 0;
    ev.job = &job;
    ev.request = &req;
    ck_assert_int_eq(sw_build_apply(&rec, &ev), SW_APPLY_CHANGED);
    sw_build_record_copy(&copy, &rec);
    sw_build_record_clear(&rec);
    ck_assert_str_eq(copy.retry_of, "oldbuild1234");
    ck_assert_str_eq(copy.branch, "feature");
    sw_build_record_clear(&copy);
}
END_TEST

START_TEST(test_lanes)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    char lane[64];
    rec.ref = "refs/heads/main";
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "branch:main");
    rec.branch = "dev"; /* the forge's word wins over the ref */
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "branch:dev");
    rec.pr_number = 7;
    rec.ref = "refs/pull/7/head";
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "pr:7");
    rec.pr_number = 0;
    rec.branch = "";
    rec.ref = "refs/tags/v1";
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), ""); /* never a tag */
    rec.ref = "refs/heads/main";
    rec.tag = "v1";
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "");
    rec.tag = "";
    rec.ref = "main"; /* a bare name may be a branch or a tag: no lane */
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "");
    rec.ref = "refs/heads/";
    ck_assert_str_eq(sw_build_lane(lane, sizeof(lane), &rec), "");
}
END_TEST

START_TEST(test_cancel_reasons)
{
    char buf[128];
    ck_assert_str_eq(sw_cancel_reason(buf, sizeof(buf), "ann@h", "wrong commit"),
                     "cancelled by ann@h: wrong commit");
    ck_assert_str_eq(sw_cancel_reason(buf, sizeof(buf), "ann@h", ""), "cancelled by ann@h");
    ck_assert_str_eq(sw_cancel_reason(buf, sizeof(buf), "", "superseded by build x"),
                     "cancelled: superseded by build x");
    ck_assert_str_eq(sw_cancel_reason(buf, sizeof(buf), NULL, NULL),
                     "cancelled: no reason given");
}
END_TEST

static const int all_states[] = {
    SLIPWAY__BUILD_STATE__UNKNOWN,      SLIPWAY__BUILD_STATE__RECEIVED,
    SLIPWAY__BUILD_STATE__QUEUED,       SLIPWAY__BUILD_STATE__DISPATCHED,
    SLIPWAY__BUILD_STATE__RUNNING,      SLIPWAY__BUILD_STATE__RESCHEDULING,
    SLIPWAY__BUILD_STATE__SUCCEEDED,    SLIPWAY__BUILD_STATE__FAILED,
    SLIPWAY__BUILD_STATE__ERRORED,      SLIPWAY__BUILD_STATE__CANCELLED,
    SLIPWAY__BUILD_STATE__TIMED_OUT,
};
#define NSTATES (sizeof(all_states) / sizeof(all_states[0]))

START_TEST(test_state_names_round_trip)
{
    for (size_t i = 0; i < NSTATES; i++) {
        const char *name = sw_state_name(all_states[i]);
        ck_assert_ptr_nonnull(name);
        ck_assert_int_eq(sw_state_parse(name), all_states[i]);
    }
    ck_assert_str_eq(sw_state_name(SLIPWAY__BUILD_STATE__TIMED_OUT), "timed_out");
    ck_assert_str_eq(sw_state_name(SLIPWAY__BUILD_STATE__QUEUED), "queued");
    ck_assert_str_eq(sw_state_name(99), "unknown");
    ck_assert_str_eq(sw_state_name(-1), "unknown");
    ck_assert_int_eq(sw_state_parse("Running"), SLIPWAY__BUILD_STATE__UNKNOWN);
    ck_assert_int_eq(sw_state_parse(""), SLIPWAY__BUILD_STATE__UNKNOWN);
    ck_assert_int_eq(sw_state_parse(NULL), SLIPWAY__BUILD_STATE__UNKNOWN);
}
END_TEST

START_TEST(test_state_names_are_distinct)
{
    for (size_t i = 0; i < NSTATES; i++) {
        for (size_t j = i + 1; j < NSTATES; j++) {
            ck_assert_str_ne(sw_state_name(all_states[i]), sw_state_name(all_states[j]));
        }
    }
}
END_TEST

START_TEST(test_final_states)
{
    for (size_t i = 0; i < NSTATES; i++) {
        int s = all_states[i];
        bool expect = s == SLIPWAY__BUILD_STATE__SUCCEEDED || s == SLIPWAY__BUILD_STATE__FAILED ||
                      s == SLIPWAY__BUILD_STATE__ERRORED || s == SLIPWAY__BUILD_STATE__CANCELLED ||
                      s == SLIPWAY__BUILD_STATE__TIMED_OUT;
        ck_assert_msg(sw_state_is_final(s) == expect, "%s", sw_state_name(s));
    }
}
END_TEST

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(sw_state_exit_code(SLIPWAY__BUILD_STATE__SUCCEEDED), 0);
    ck_assert_int_eq(sw_state_exit_code(SLIPWAY__BUILD_STATE__FAILED), 1);
    ck_assert_int_eq(sw_state_exit_code(SLIPWAY__BUILD_STATE__ERRORED), 3);
    ck_assert_int_eq(sw_state_exit_code(SLIPWAY__BUILD_STATE__TIMED_OUT), 4);
    ck_assert_int_eq(sw_state_exit_code(SLIPWAY__BUILD_STATE__CANCELLED), 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *life = tcase_create("life");
    tcase_add_test(life, test_created_is_queued);
    tcase_add_test(life, test_placed_is_dispatched);
    tcase_add_test(life, test_started_is_running);
    tcase_add_test(life, test_step_events_update_step);
    tcase_add_test(life, test_finished_failed_records_result);
    tcase_add_test(life, test_finished_records_the_pushed_image);
    tcase_add_test(life, test_first_result_counts);
    tcase_add_test(life, test_events_of_a_superseded_attempt_are_ignored);
    tcase_add_test(life, test_late_finished_of_a_superseded_attempt_is_ignored);
    tcase_add_test(life, test_lost_then_next_attempt_runs);
    tcase_add_test(life, test_checked_out_records_the_sha);
    tcase_add_test(life, test_checked_out_of_a_superseded_attempt_is_ignored);
    tcase_add_test(life, test_checked_out_before_started_is_ignored);
    tcase_add_test(life, test_started_with_a_sha_records_it);
    tcase_add_test(life, test_duplicate_started_after_lost_is_ignored);
    tcase_add_test(life, test_duplicate_created_is_ignored);
    tcase_add_test(life, test_placed_after_started_is_ignored);
    tcase_add_test(life, test_scheduler_verdict_applies);
    tcase_add_test(life, test_scheduler_verdict_on_a_queued_build);
    tcase_add_test(life, test_copy_is_deep);
    tcase_add_test(life, test_created_keeps_what_retry_and_superseding_need);
    tcase_add_test(life, test_lanes);
    tcase_add_test(life, test_cancel_reasons);
    suite_add_tcase(s, life);
    TCase *illegal = tcase_create("illegal");
    tcase_add_test(illegal, test_event_before_created_is_illegal);
    tcase_add_test(illegal, test_finished_with_non_final_state_is_illegal);
    tcase_add_test(illegal, test_event_of_another_build_is_illegal);
    tcase_add_test(illegal, test_event_without_build_id_is_illegal);
    tcase_add_test(illegal, test_started_without_attempt_is_illegal);
    suite_add_tcase(s, illegal);
    TCase *names = tcase_create("names");
    tcase_add_test(names, test_state_names_round_trip);
    tcase_add_test(names, test_state_names_are_distinct);
    tcase_add_test(names, test_final_states);
    tcase_add_test(names, test_exit_codes);
    suite_add_tcase(s, names);
    return sw_test_run(s);
}
