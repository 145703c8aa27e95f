/* test_logsink.c - the log archive: chunks keyed by (build, attempt, seq), read back in
 * order; written in batches; a superseded attempt's late chunks fenced off. */
#include "actors/logsink/archive.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static sw_archive *archive;

static void setup(void)
{
    dir = sw_test_tmpdir("sw-archive");
    ck_assert_msg(sw_archive_open(&archive, dir) == 0, "%s", sw_error_last());
}

static void teardown(void)
{
    sw_archive_destroy(&archive);
    sw_test_rmtree(dir);
    free(dir);
    dir = NULL;
}

/* Stores a chunk of build with one line of text, packed as the logsink receives it. */
static void put(const char *build, uint32_t attempt, uint64_t seq, const char *text)
{
    Slipway__LogLine line = SLIPWAY__LOG_LINE__INIT;
    Slipway__LogLine *lines[] = {&line};
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    size_t len;
    line.stream = SLIPWAY__LOG_STREAM__STDOUT;
    line.text = (char *)text;
    chunk.build_id = (char *)build;
    chunk.tenant = "acme";
    chunk.attempt = attempt;
    chunk.seq = seq;
    chunk.lines = lines;
    chunk.n_lines = 1;
    void *packed = sw_wire_pack(&chunk.base, &len);
    ck_assert_msg(sw_archive_put(archive, &chunk, packed, len) == 0, "%s", sw_error_last());
    free(packed);
}

typedef struct page {
    Slipway__LogChunk **chunks;
    size_t n;
    bool more;
} page;

static page read_page(const char *build, uint32_t after_attempt, uint64_t after_seq,
                      size_t max_bytes)
{
    page p = {0};
    ck_assert_msg(sw_archive_read(archive, build, after_attempt, after_seq, max_bytes, &p.chunks,
                                  &p.n, &p.more) == 0,
                  "%s", sw_error_last());
    return p;
}

/* Asserts the page holds exactly the chunks "attempt.seq" listed in want, in that order. */
static void assert_page(const page *p, const char *build, const char *const *want, size_t nwant)
{
    ck_assert_msg(p->n == nwant, "expected %zu chunks, got %zu", nwant, p->n);
    for (size_t i = 0; i < nwant; i++) {
        char got[64];
        snprintf(got, sizeof(got), "%u.%llu", p->chunks[i]->attempt,
                 (unsigned long long)p->chunks[i]->seq);
        ck_assert_str_eq(got, want[i]);
        ck_assert_str_eq(p->chunks[i]->build_id, build);
    }
}

static void free_page(page *p)
{
    sw_archive_free(p->chunks, p->n);
    p->chunks = NULL;
    p->n = 0;
}

/* Two builds, two attempts each, stored out of order. */
static void put_mixed(void)
{
    put("bbbb", 2, 1, "b 2.1");
    put("aaaa", 2, 2, "a 2.2");
    put("aaaa", 1, 3, "a 1.3");
    put("bbbb", 1, 1, "b 1.1");
    put("aaaa", 1, 1, "a 1.1");
    put("aaaa", 2, 1, "a 2.1");
    put("aaaa", 1, 2, "a 1.2");
    put("bbbb", 1, 2, "b 1.2");
}

START_TEST(test_read_returns_one_build_in_order)
{
    static const char *const want_a[] = {"1.1", "1.2", "1.3", "2.1", "2.2"};
    static const char *const want_b[] = {"1.1", "1.2", "2.1"};
    put_mixed();
    page a = read_page("aaaa", 0, 0, 1 << 20);
    assert_page(&a, "aaaa", want_a, 5);
    ck_assert(!a.more);
    ck_assert_str_eq(a.chunks[0]->lines[0]->text, "a 1.1");
    ck_assert_str_eq(a.chunks[4]->lines[0]->text, "a 2.2");
    free_page(&a);
    page b = read_page("bbbb", 0, 0, 1 << 20);
    assert_page(&b, "bbbb", want_b, 3);
    free_page(&b);
}
END_TEST

START_TEST(test_read_after_a_position)
{
    static const char *const after_1_1[] = {"1.2", "1.3", "2.1", "2.2"};
    static const char *const after_1_3[] = {"2.1", "2.2"};
    static const char *const after_2_1[] = {"2.2"};
    put_mixed();
    page p = read_page("aaaa", 1, 1, 1 << 20);
    assert_page(&p, "aaaa", after_1_1, 4);
    free_page(&p);
    /* after the last chunk of attempt 1 comes attempt 2 */
    p = read_page("aaaa", 1, 3, 1 << 20);
    assert_page(&p, "aaaa", after_1_3, 2);
    free_page(&p);
    p = read_page("aaaa", 2, 1, 1 << 20);
    assert_page(&p, "aaaa", after_2_1, 1);
    free_page(&p);
    /* after the very last chunk: nothing, and nothing more */
    p = read_page("aaaa", 2, 2, 1 << 20);
    ck_assert_uint_eq(p.n, 0);
    ck_assert(!p.more);
    free_page(&p);
}
END_TEST

START_TEST(test_max_bytes_pages_the_log)
{
    char text[200];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (uint64_t seq = 1; seq <= 10; seq++) {
        put("aaaa", 1, seq, text);
    }
    /* each chunk packs to a little over 200 bytes: 500 bytes hold two of them */
    page p = read_page("aaaa", 0, 0, 500);
    ck_assert_uint_eq(p.n, 2);
    ck_assert(p.more);
    ck_assert_uint_eq(p.chunks[1]->seq, 2);

    /* page through the rest, calling again after the last chunk */
    uint64_t next = 3, pages = 1;
    while (p.more) {
        uint32_t last_attempt = p.chunks[p.n - 1]->attempt;
        uint64_t last_seq = p.chunks[p.n - 1]->seq;
        free_page(&p);
        p = read_page("aaaa", last_attempt, last_seq, 500);
        ck_assert_uint_gt(p.n, 0);
        for (size_t i = 0; i < p.n; i++) {
            ck_assert_uint_eq(p.chunks[i]->seq, next++);
        }
        pages++;
    }
    ck_assert_uint_eq(next, 11);
    ck_assert_uint_eq(pages, 5);
    free_page(&p);
}
END_TEST

START_TEST(test_a_page_holds_at_least_one_chunk)
{
    put("aaaa", 1, 1, "longer than one byte");
    put("aaaa", 1, 2, "another");
    page p = read_page("aaaa", 0, 0, 1);
    ck_assert_uint_eq(p.n, 1);
    ck_assert(p.more);
    free_page(&p);
}
END_TEST

START_TEST(test_put_again_replaces)
{
    static const char *const want[] = {"1.1", "1.2"};
    put("aaaa", 1, 1, "first");
    put("aaaa", 1, 2, "second");
    put("aaaa", 1, 1, "first, again");
    page p = read_page("aaaa", 0, 0, 1 << 20);
    assert_page(&p, "aaaa", want, 2);
    ck_assert_str_eq(p.chunks[0]->lines[0]->text, "first, again");
    free_page(&p);
}
END_TEST

START_TEST(test_ids_sharing_a_prefix_do_not_mix)
{
    static const char *const want_abc[] = {"1.1", "1.2"};
    static const char *const want_abcd[] = {"1.1"};
    put("abcd", 1, 1, "abcd 1");
    put("abc", 1, 2, "abc 2");
    put("abc", 1, 1, "abc 1");
    put("ab", 1, 1, "ab 1");
    page p = read_page("abc", 0, 0, 1 << 20);
    assert_page(&p, "abc", want_abc, 2);
    ck_assert(!p.more);
    free_page(&p);
    p = read_page("abcd", 0, 0, 1 << 20);
    assert_page(&p, "abcd", want_abcd, 1);
    free_page(&p);
    /* reading past the end of "abc" does not run into "abcd" */
    p = read_page("abc", 1, 2, 1 << 20);
    ck_assert_uint_eq(p.n, 0);
    free_page(&p);
}
END_TEST

START_TEST(test_unknown_build_reads_empty)
{
    put("aaaa", 1, 1, "x");
    page p = read_page("zzzz", 0, 0, 1 << 20);
    ck_assert_uint_eq(p.n, 0);
    ck_assert(!p.more);
    free_page(&p);
}
END_TEST

START_TEST(test_bad_build_id_is_refused)
{
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    char long_id[100];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    chunk.attempt = 1;
    chunk.seq = 1;
    ck_assert_int_eq(sw_archive_put(archive, &chunk, "", 0), SW_EINVALID); /* empty id */
    chunk.build_id = long_id;
    ck_assert_int_eq(sw_archive_put(archive, &chunk, "", 0), SW_EINVALID);
    Slipway__LogChunk **chunks = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(sw_archive_read(archive, "", 0, 0, 100, &chunks, &n, &more), SW_EINVALID);
}
END_TEST

START_TEST(test_chunks_survive_reopen)
{
    static const char *const want[] = {"1.1", "1.2"};
    put("aaaa", 1, 2, "two");
    put("aaaa", 1, 1, "one");
    sw_archive_destroy(&archive);
    ck_assert_ptr_null(archive);
    ck_assert_msg(sw_archive_open(&archive, dir) == 0, "%s", sw_error_last());
    page p = read_page("aaaa", 0, 0, 1 << 20);
    assert_page(&p, "aaaa", want, 2);
    free_page(&p);
}
END_TEST

/* A chunk as it comes from LOGS: build, attempt, seq, at stream sequence ss. */
typedef struct pulled {
    const char *build;
    uint32_t attempt;
    uint64_t seq, ss;
} pulled;

/* Stores the chunks in one batch; returns how many were stale, and sets
 * stale[i] (when not NULL). */
static size_t put_pulled(const pulled *p, size_t n, bool *stale)
{
    sw_archive_entry *e = calloc(n, sizeof(*e));
    void **packed = calloc(n, sizeof(*packed));
    size_t nstale = 0;
    for (size_t i = 0; i < n; i++) {
        Slipway__LogLine line = SLIPWAY__LOG_LINE__INIT;
        Slipway__LogLine *lines[] = {&line};
        Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
        char text[64];
        snprintf(text, sizeof(text), "%s %u.%llu", p[i].build, p[i].attempt,
                 (unsigned long long)p[i].seq);
        line.text = text;
        chunk.build_id = (char *)p[i].build;
        chunk.attempt = p[i].attempt;
        chunk.seq = p[i].seq;
        chunk.lines = lines;
        chunk.n_lines = 1;
        packed[i] = sw_wire_pack(&chunk.base, &e[i].len);
        e[i].build_id = p[i].build;
        e[i].attempt = p[i].attempt;
        e[i].seq = p[i].seq;
        e[i].stream_seq = p[i].ss;
        e[i].packed = packed[i];
    }
    ck_assert_msg(sw_archive_put_batch(archive, e, n) == 0, "%s", sw_error_last());
    for (size_t i = 0; i < n; i++) {
        nstale += e[i].stale;
        if (stale != NULL) {
            stale[i] = e[i].stale;
        }
        free(packed[i]);
    }
    free(packed);
    free(e);
    return nstale;
}

static void assert_log(const char *build, const char *const *want, size_t nwant)
{
    page p = read_page(build, 0, 0, 1 << 20);
    assert_page(&p, build, want, nwant);
    ck_assert(!p.more);
    free_page(&p);
}

START_TEST(test_a_chunk_reads_back_with_its_stream_seq)
{
    /* 1, 127, 128 and 2^40: one- and many-byte varints; 0: not from the stream */
    const pulled batch[] = {
        {"aaaa", 1, 1, 1}, {"aaaa", 1, 2, 127}, {"aaaa", 1, 3, 128}, {"aaaa", 1, 4, 1ull << 40},
        {"bbbb", 1, 1, 0},
    };
    const uint64_t want[] = {1, 127, 128, 1ull << 40};
    ck_assert_uint_eq(put_pulled(batch, 5, NULL), 0);
    page p = read_page("aaaa", 0, 0, 1 << 20);
    ck_assert_uint_eq(p.n, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(p.chunks[i]->stream_seq, want[i]);
        ck_assert_uint_eq(p.chunks[i]->seq, i + 1); /* the rest of the chunk as it came */
        ck_assert_uint_eq(p.chunks[i]->n_lines, 1);
    }
    free_page(&p);
    p = read_page("bbbb", 0, 0, 1 << 20);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_uint_eq(p.chunks[0]->stream_seq, 0);
    free_page(&p);
}
END_TEST

START_TEST(test_a_batch_is_stored_in_one_commit)
{
    static const char *const want[] = {"1.1", "1.2", "1.3", "2.1"};
    const pulled batch[] = {
        {"aaaa", 1, 1, 1}, {"aaaa", 1, 2, 2}, {"bbbb", 1, 1, 3}, {"aaaa", 1, 3, 4},
        {"aaaa", 2, 1, 5},
    };
    ck_assert_uint_eq(put_pulled(batch, 5, NULL), 0);
    assert_log("aaaa", want, 4);
    sw_archive_destroy(&archive); /* committed: survives a reopen */
    ck_assert_msg(sw_archive_open(&archive, dir) == 0, "%s", sw_error_last());
    assert_log("aaaa", want, 4);
}
END_TEST

START_TEST(test_a_batch_with_a_bad_id_stores_nothing)
{
    sw_archive_entry e[2] = {
        {.build_id = "aaaa", .attempt = 1, .seq = 1, .stream_seq = 1, .packed = "", .len = 0},
        {.build_id = "", .attempt = 1, .seq = 2, .stream_seq = 2, .packed = "", .len = 0},
    };
    ck_assert_int_eq(sw_archive_put_batch(archive, e, 2), SW_EINVALID);
    page p = read_page("aaaa", 0, 0, 1 << 20);
    ck_assert_uint_eq(p.n, 0);
    free_page(&p);
}
END_TEST

/* Attempt 1's builder lost the job but keeps writing after attempt 2 began. */
START_TEST(test_late_chunks_of_a_superseded_attempt_are_stale)
{
    static const char *const want[] = {"1.1", "1.2", "2.1", "2.2"};
    const pulled before[] = {{"aaaa", 1, 1, 10}, {"aaaa", 1, 2, 11}, {"aaaa", 2, 1, 12}};
    const pulled after[] = {{"aaaa", 1, 3, 13}, {"aaaa", 2, 2, 14}, {"aaaa", 1, 4, 15}};
    bool stale[3];
    ck_assert_uint_eq(put_pulled(before, 3, NULL), 0);
    ck_assert_uint_eq(put_pulled(after, 3, stale), 2);
    ck_assert(stale[0] && !stale[1] && stale[2]);
    assert_log("aaaa", want, 4);
}
END_TEST

START_TEST(test_a_fence_holds_within_one_batch)
{
    static const char *const want[] = {"1.1", "2.1"};
    const pulled batch[] = {{"aaaa", 1, 1, 1}, {"aaaa", 2, 1, 2}, {"aaaa", 1, 2, 3}};
    bool stale[3];
    ck_assert_uint_eq(put_pulled(batch, 3, stale), 1);
    ck_assert(stale[2]);
    assert_log("aaaa", want, 2);
}
END_TEST

/* A redelivery keeps its stream sequence: sent before attempt 2, it is not stale. */
START_TEST(test_a_redelivered_chunk_sent_before_the_next_attempt_is_kept)
{
    static const char *const want[] = {"1.1", "1.2", "2.1"};
    const pulled first[] = {{"aaaa", 1, 1, 1}, {"aaaa", 2, 1, 5}};
    const pulled redelivered[] = {{"aaaa", 1, 2, 2}};
    ck_assert_uint_eq(put_pulled(first, 2, NULL), 0);
    ck_assert_uint_eq(put_pulled(redelivered, 1, NULL), 0);
    assert_log("aaaa", want, 3);
}
END_TEST

/* "gave up after 3 attempts": the verdict fences attempt 3 and reads back last. */
START_TEST(test_the_verdict_fences_every_attempt_and_comes_last)
{
    static const char *const want[] = {"3.1", "4294967295.1"};
    const pulled batch[] = {
        {"aaaa", 3, 1, 20}, {"aaaa", SW_ATTEMPT_VERDICT, 1, 21}, {"aaaa", 3, 2, 22},
        {"aaaa", 1, 9, 23},
    };
    bool stale[4];
    ck_assert_uint_eq(put_pulled(batch, 4, stale), 2);
    ck_assert(!stale[1] && stale[2] && stale[3]);
    assert_log("aaaa", want, 2);
    /* after the verdict there is nothing */
    page p = read_page("aaaa", SW_ATTEMPT_VERDICT, UINT64_MAX, 1 << 20);
    ck_assert_uint_eq(p.n, 0);
    free_page(&p);
}
END_TEST

START_TEST(test_fences_survive_reopen_and_are_per_build)
{
    static const char *const want_a[] = {"2.1"};
    static const char *const want_ab[] = {"1.1"};
    const pulled first[] = {{"aaaa", 2, 1, 5}};
    const pulled later[] = {{"aaaa", 1, 1, 6}, {"aaab", 1, 1, 7}};
    bool stale[2];
    ck_assert_uint_eq(put_pulled(first, 1, NULL), 0);
    sw_archive_destroy(&archive);
    ck_assert_msg(sw_archive_open(&archive, dir) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(put_pulled(later, 2, stale), 1);
    ck_assert(stale[0] && !stale[1]);
    assert_log("aaaa", want_a, 1);
    assert_log("aaab", want_ab, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("logsink");
    TCase *tc = tcase_create("archive");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_read_returns_one_build_in_order);
    tcase_add_test(tc, test_read_after_a_position);
    tcase_add_test(tc, test_max_bytes_pages_the_log);
    tcase_add_test(tc, test_a_page_holds_at_least_one_chunk);
    tcase_add_test(tc, test_put_again_replaces);
    tcase_add_test(tc, test_ids_sharing_a_prefix_do_not_mix);
    tcase_add_test(tc, test_unknown_build_reads_empty);
    tcase_add_test(tc, test_bad_build_id_is_refused);
    tcase_add_test(tc, test_chunks_survive_reopen);
    tcase_add_test(tc, test_a_batch_is_stored_in_one_commit);
    tcase_add_test(tc, test_a_batch_with_a_bad_id_stores_nothing);
    tcase_add_test(tc, test_late_chunks_of_a_superseded_attempt_are_stale);
    tcase_add_test(tc, test_a_fence_holds_within_one_batch);
    tcase_add_test(tc, test_a_redelivered_chunk_sent_before_the_next_attempt_is_kept);
    tcase_add_test(tc, test_the_verdict_fences_every_attempt_and_comes_last);
    tcase_add_test(tc, test_fences_survive_reopen_and_are_per_build);
    tcase_add_test(tc, test_a_chunk_reads_back_with_its_stream_seq);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
