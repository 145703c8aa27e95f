/* test_logmerge.c - a build's log from two sources, each chunk once
 * (runtime/logmerge.h), and the record helpers the pages share
 * (runtime/buildstate.h: trigger, ref display, build ids, retries). */
#include "runtime/buildstate.h"
#include "runtime/logmerge.h"
#include "runtime/wire.h"
#include "support.h"

#include <check.h>
#include <string.h>

static Slipway__LogChunk chunk(uint32_t attempt, uint64_t seq, bool eof)
{
    Slipway__LogChunk c = SLIPWAY__LOG_CHUNK__INIT;
    c.build_id = "b";
    c.attempt = attempt;
    c.seq = seq;
    c.eof = eof;
    return c;
}

START_TEST(test_each_chunk_is_taken_once_whichever_source_brings_it)
{
    sw_logmerge m;
    sw_logmerge_init(&m);
    Slipway__LogChunk c1 = chunk(1, 1, false), c2 = chunk(1, 2, false), c3 = chunk(1, 3, true);
    ck_assert(sw_logmerge_take(&m, &c1));
    ck_assert(sw_logmerge_take(&m, &c2));
    ck_assert(!sw_logmerge_take(&m, &c1)); /* the archive, then the stream again */
    ck_assert(!sw_logmerge_take(&m, &c2));
    ck_assert(!sw_logmerge_complete(&m, 1));
    ck_assert(sw_logmerge_continues(&m, &c3));
    ck_assert(sw_logmerge_take(&m, &c3));
    ck_assert(sw_logmerge_complete(&m, 1));
}
END_TEST

START_TEST(test_a_gap_is_seen_and_a_superseded_attempt_is_fenced)
{
    sw_logmerge m;
    sw_logmerge_init(&m);
    Slipway__LogChunk a1 = chunk(1, 1, false), a1_late = chunk(1, 2, false);
    Slipway__LogChunk b1 = chunk(2, 1, false), b3 = chunk(2, 3, false);
    ck_assert(sw_logmerge_take(&m, &a1));
    ck_assert(sw_logmerge_continues(&m, &b1)); /* a new attempt starts at 1 */
    ck_assert(sw_logmerge_take(&m, &b1));
    ck_assert(!sw_logmerge_continues(&m, &b3)); /* 2 is missing */
    ck_assert(!sw_logmerge_take(&m, &a1_late)); /* attempt 1's builder lost the job */
    ck_assert(!sw_logmerge_complete(&m, 2));
}
END_TEST

START_TEST(test_the_verdict_is_always_taken_and_completes_the_log)
{
    sw_logmerge m;
    sw_logmerge_init(&m);
    Slipway__LogChunk a = chunk(3, 1, false), v = chunk(SW_ATTEMPT_VERDICT, 1, true);
    ck_assert(sw_logmerge_take(&m, &a));
    ck_assert(sw_logmerge_take(&m, &v));
    ck_assert(sw_logmerge_complete(&m, 3)); /* attempt 3 never sent its eof */
    ck_assert(sw_logmerge_complete(&m, 0)); /* never started: nothing to wait for */
}
END_TEST

START_TEST(test_trigger_ref_and_ids)
{
    Slipway__BuildRecord r = SLIPWAY__BUILD_RECORD__INIT;
    r.ref = "refs/heads/main";
    r.forge = "github";
    ck_assert_str_eq(sw_build_trigger(&r), "push");
    r.forge = "cli";
    ck_assert_str_eq(sw_build_trigger(&r), "cli");
    r.ref = "refs/tags/v1";
    ck_assert_str_eq(sw_build_trigger(&r), "tag");
    r.ref = "refs/pull/2/head";
    ck_assert_str_eq(sw_build_trigger(&r), "pr");
    r.retry_of = "abc";
    ck_assert_str_eq(sw_build_trigger(&r), "retry");

    ck_assert_str_eq(sw_ref_display("refs/heads/main"), "main");
    ck_assert_str_eq(sw_ref_display("main"), "main");
    ck_assert_str_eq(sw_ref_display("refs/tags/v1.2"), "v1.2");
    ck_assert_str_eq(sw_ref_display("refs/pull/2/head"), "refs/pull/2/head");
    ck_assert_str_eq(sw_ref_display("refs/heads/"), "refs/heads/");
    ck_assert_str_eq(sw_ref_display(NULL), "");

    ck_assert(sw_build_id_valid("abc123"));
    ck_assert(!sw_build_id_valid(""));
    ck_assert(!sw_build_id_valid("a.b"));
    ck_assert(!sw_build_id_valid("A"));
    ck_assert(!sw_build_id_valid("../x"));
    char long_id[70];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    ck_assert(!sw_build_id_valid(long_id));

    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    r.build_id = "abc";
    r.tenant = "acme";
    r.project = "web";
    r.sha = "0123";
    sw_build_retry_request(&br, &r);
    ck_assert_str_eq(br.retry_of, "abc");
    ck_assert_str_eq(br.sha, "0123");
    ck_assert_str_eq(br.tenant, "acme");
    ck_assert_str_eq(br.ref, "refs/pull/2/head");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("logmerge");
    TCase *tc = tcase_create("logmerge");
    tcase_add_test(tc, test_each_chunk_is_taken_once_whichever_source_brings_it);
    tcase_add_test(tc, test_a_gap_is_seen_and_a_superseded_attempt_is_fenced);
    tcase_add_test(tc, test_the_verdict_is_always_taken_and_completes_the_log);
    tcase_add_test(tc, test_trigger_ref_and_ids);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
