/* test_mask.c - secrets masked as *** in streamed output: pieces of a line, two
 * streams, overlapping and multi-line secrets, against a plain reference. */
#include "actors/builder/mask.h"

#include "support.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ----------------------------------------------------------------------- */

static sw_mask *mask_of(const char *a, const char *b, const char *c)
{
    const char *values[3];
    size_t n = 0;
    if (a) {
        values[n++] = a;
    }
    if (b) {
        values[n++] = b;
    }
    if (c) {
        values[n++] = c;
    }
    return sw_mask_create(values, n);
}

/* Feeds one piece and checks what comes out now: want NULL means nothing (the
 * piece is held back), otherwise exactly want. */
static void feed_expect(sw_mask_stream *s, const char *piece, bool line_ends, const char *want)
{
    const char *out = NULL;
    size_t n = 99;
    bool give = sw_mask_stream_feed(s, piece, strlen(piece), line_ends, &out, &n);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(strlen(out), n); /* NUL-terminated, no NUL inside */
    if (want == NULL) {
        ck_assert_msg(!give, "piece '%s': expected nothing, got '%s'", piece, out);
        ck_assert_uint_eq(n, 0);
    } else {
        ck_assert_msg(give, "piece '%s': expected '%s', got nothing", piece, want);
        ck_assert_msg(strcmp(out, want) == 0, "piece '%s': expected '%s', got '%s'", piece, want,
                      out);
    }
}

/* One whole line through a fresh stream. Caller frees. */
static char *mask_line(const sw_mask *m, const char *line)
{
    sw_mask_stream *s = sw_mask_stream_create(m);
    const char *out;
    size_t n;
    ck_assert(sw_mask_stream_feed(s, line, strlen(line), true, &out, &n));
    char *copy = strdup(out);
    sw_mask_stream_destroy(&s);
    ck_assert_ptr_null(s);
    return copy;
}

static void assert_masked(const sw_mask *m, const char *line, const char *want)
{
    char *got = mask_line(m, line);
    ck_assert_msg(strcmp(got, want) == 0, "'%s': expected '%s', got '%s'", line, want, got);
    free(got);
}

/* ---- the reference: the plain definition, for the randomized test ------------------- */

typedef struct ref_patterns {
    char *p[256];
    size_t len[256];
    size_t n;
} ref_patterns;

/* The lines of each value, without a trailing '\r', 4 characters or more. */
static void ref_add(ref_patterns *r, const char *value)
{
    while (*value) {
        size_t n = strcspn(value, "\n");
        size_t len = n > 0 && value[n - 1] == '\r' ? n - 1 : n;
        if (len >= 4) {
            ck_assert_uint_lt(r->n, 256);
            r->p[r->n] = strndup(value, len);
            r->len[r->n++] = len;
        }
        value += n + (value[n] == '\n');
    }
}

static void ref_free(ref_patterns *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->p[i]);
    }
}

/* The longest pattern at text[p, len), 0 if none. *open: a pattern is longer than
 * what is left and starts with all of it (more text could still make it a match). */
static size_t ref_longest_at(const ref_patterns *r, const char *text, size_t len, size_t p,
                             bool *open)
{
    size_t best = 0;
    *open = false;
    for (size_t i = 0; i < r->n; i++) {
        size_t left = len - p;
        if (r->len[i] <= left) {
            if (memcmp(text + p, r->p[i], r->len[i]) == 0 && r->len[i] > best) {
                best = r->len[i];
            }
        } else if (memcmp(text + p, r->p[i], left) == 0) {
            *open = true;
        }
    }
    return best;
}

/* text masked left to right, longest pattern first. Unless whole, stops at the first
 * position where a pattern could still start: what a stream may hand over so far. */
static char *ref_mask(const ref_patterns *r, const char *text, size_t len, bool whole)
{
    char *out = malloc(len + 1);
    size_t p = 0, o = 0;
    while (p < len) {
        bool open;
        size_t n = ref_longest_at(r, text, len, p, &open);
        if (open && !whole) {
            break;
        }
        if (n > 0) {
            memcpy(out + o, "***", 3);
            o += 3;
            p += n;
        } else {
            out[o++] = text[p++];
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- cases ------------------------------------------------------------------------- */

START_TEST(test_whole_secret_in_a_line)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    ck_assert_uint_eq(sw_mask_count(m), 1);
    assert_masked(m, "token=s3cr3t-value end", "token=*** end");
    assert_masked(m, "nothing to hide here", "nothing to hide here");
    assert_masked(m, "s3cr3t-values3cr3t-value", "******");
    assert_masked(m, "", "");
    sw_mask_destroy(&m);
    ck_assert_ptr_null(m);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_two_secrets_in_one_line)
{
    sw_mask *m = mask_of("DEPLOY-abcdef", "npm_0123456789", NULL);
    ck_assert_uint_eq(sw_mask_count(m), 2);
    assert_masked(m, "curl -u DEPLOY-abcdef && npm login npm_0123456789.",
                  "curl -u *** && npm login ***.");
    assert_masked(m, "npm_0123456789DEPLOY-abcdef", "******");
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_secret_split_across_two_pieces)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    sw_mask_stream *s = sw_mask_stream_create(m);
    /* only what could start the secret is held back */
    feed_expect(s, "export TOKEN=s3cr", false, "export TOKEN=");
    feed_expect(s, "3t-value!", true, "***!");
    /* the next line starts afresh */
    feed_expect(s, "plain", true, "plain");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_secret_split_across_three_pieces)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    sw_mask_stream *s = sw_mask_stream_create(m);
    feed_expect(s, "xx s3c", false, "xx ");
    feed_expect(s, "r3t-va", false, NULL); /* all of it could still be the secret */
    feed_expect(s, "lue yy", true, "*** yy");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_partial_match_that_is_not_a_secret)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    sw_mask_stream *s = sw_mask_stream_create(m);
    /* held back, then given back unchanged and in order once it cannot be the secret */
    feed_expect(s, "abc s3cr3t-val", false, "abc ");
    feed_expect(s, "ve and more", false, "s3cr3t-valve and more");
    feed_expect(s, "", true, NULL); /* the line ends with nothing left: no empty line */
    /* a partial match, then the secret starting inside what was held back */
    feed_expect(s, "s3cr3", false, NULL);
    feed_expect(s, "s3cr3t-value", true, "s3cr3***");
    /* a partial match cut short by the line's end comes out as it was */
    feed_expect(s, "s3cr3t-valu", false, NULL);
    feed_expect(s, "", true, "s3cr3t-valu");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_secret_at_the_start_and_the_end)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    assert_masked(m, "s3cr3t-value tail", "*** tail");
    assert_masked(m, "head s3cr3t-value", "head ***");
    assert_masked(m, "s3cr3t-value", "***");
    sw_mask_stream *s = sw_mask_stream_create(m);
    /* a whole secret ending a piece cannot grow: masked at once, not held */
    feed_expect(s, "head s3cr3t-value", false, "head ***");
    feed_expect(s, "s3cr3t-value", false, "***");
    feed_expect(s, " tail", true, " tail");
    /* an empty line is still a line */
    feed_expect(s, "", true, "");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_overlapping_secrets_longest_wins)
{
    sw_mask *m = mask_of("abcd1234", "abcd1234efgh", "1234efgh-tail");
    ck_assert_uint_eq(sw_mask_count(m), 3);
    assert_masked(m, "x abcd1234efgh y abcd1234 z", "x *** y *** z");
    assert_masked(m, "abcd1234efg", "***efg");
    /* leftmost first: the secret starting inside one already masked is not */
    assert_masked(m, "abcd1234efgh-tail", "***-tail");
    assert_masked(m, "zz1234efgh-tail", "zz***");
    /* a secret inside the beginning of a longer one that does not go on to match */
    sw_mask *inner = mask_of("abcdefgh", "cdef", NULL);
    assert_masked(inner, "abcdefXX", "ab***XX");
    sw_mask_destroy(&inner);

    sw_mask_stream *s = sw_mask_stream_create(m);
    /* the shorter secret is whole, but the longer one may still come: held */
    feed_expect(s, "x abcd1234", false, "x ");
    feed_expect(s, "efgh", false, "***");
    feed_expect(s, "abcd1234", false, NULL);
    feed_expect(s, "efXX", true, "***efXX");
    sw_mask_stream_destroy(&s);

    /* a match that jumps over a possible start decides what it covers: only what
     * could still start a secret is held back (here "1", which follows "yz1"
     * under the ***, is not) */
    sw_mask *m2 = mask_of("wxyz", "yz1234", NULL);
    s = sw_mask_stream_create(m2);
    feed_expect(s, "wxyz1", false, "***1");
    feed_expect(s, "234", true, "234");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m2);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_multi_line_secret)
{
    const char *pem = "-----BEGIN KEY-----\r\n"
                      "MIIEpAIBAAKCAQEA7x\r\n"
                      "abc\r\n" /* too short to mask: it would hit ordinary text */
                      "q9ZzL+w==\r\n"
                      "-----END KEY-----\r\n";
    sw_mask *m = mask_of(pem, NULL, NULL);
    ck_assert_uint_eq(sw_mask_count(m), 4);
    /* each line masked on its own, whether the output ends lines in \n or \r\n */
    assert_masked(m, "-----BEGIN KEY-----", "***");
    assert_masked(m, "MIIEpAIBAAKCAQEA7x\r", "***\r");
    assert_masked(m, "abc", "abc");
    assert_masked(m, "key: q9ZzL+w==;", "key: ***;");
    assert_masked(m, "-----END KEY-----", "***");
    /* not the whole value in one line either */
    char text[] = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA7x\nabc\n";
    ck_assert_str_eq(sw_mask_text(m, text), "***\n***\nabc\n");
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_stdout_and_stderr_interleaved)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    sw_mask_stream *out = sw_mask_stream_create(m);
    sw_mask_stream *err = sw_mask_stream_create(m);
    feed_expect(out, "out: s3cr", false, "out: ");
    feed_expect(err, "err: 3t-value", true, "err: 3t-value"); /* not stdout's rest */
    feed_expect(err, "err: s3cr3t", false, "err: ");
    feed_expect(out, "3t-value", true, "***");
    feed_expect(err, "-value", true, "***");
    sw_mask_stream_destroy(&out);
    sw_mask_stream_destroy(&err);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_no_secrets_nothing_changes_nothing_waits)
{
    const char *too_short[] = {"abc", "x\ny\nzz"};
    sw_mask *none = sw_mask_create(NULL, 0);
    sw_mask *short_ones = sw_mask_create(too_short, 2);
    sw_mask *masks[] = {none, short_ones};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(sw_mask_count(masks[i]), 0);
        sw_mask_stream *s = sw_mask_stream_create(masks[i]);
        feed_expect(s, "abc s3cr", false, "abc s3cr");
        feed_expect(s, "x", false, "x");
        feed_expect(s, "", true, NULL);
        feed_expect(s, "", true, "");
        feed_expect(s, "abc", true, "abc");
        sw_mask_stream_destroy(&s);
        char text[] = "abc\nzz";
        ck_assert_str_eq(sw_mask_text(masks[i], text), "abc\nzz");
    }
    sw_mask_destroy(&none);
    sw_mask_destroy(&short_ones);
}
END_TEST

START_TEST(test_flush_hands_over_what_is_held)
{
    sw_mask *m = mask_of("s3cr3t-value", NULL, NULL);
    sw_mask_stream *s = sw_mask_stream_create(m);
    const char *out;
    size_t n;
    /* the step's output ended in the middle of a line */
    feed_expect(s, "tail s3cr3t-va", false, "tail ");
    ck_assert(sw_mask_stream_flush(s, &out, &n));
    ck_assert_str_eq(out, "s3cr3t-va");
    ck_assert(!sw_mask_stream_flush(s, &out, &n));
    ck_assert_uint_eq(n, 0);
    /* nothing held: no made-up empty line */
    feed_expect(s, "whole", false, "whole");
    ck_assert(!sw_mask_stream_flush(s, &out, &n));
    /* and the stream goes on afresh */
    feed_expect(s, "s3cr3t-value", true, "***");
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

START_TEST(test_mask_text_one_off_strings)
{
    sw_mask *m = mask_of("s3cr3t-value", "npm_0123456789", NULL);
    char reason[] = "step deploy failed: curl -H 'Authorization: s3cr3t-value' exited 22";
    ck_assert_ptr_eq(sw_mask_text(m, reason), reason);
    ck_assert_str_eq(reason, "step deploy failed: curl -H 'Authorization: ***' exited 22");
    char env[] = "NPM_TOKEN=npm_0123456789\nDEPLOY=s3cr3t-value\nHOME=/w";
    ck_assert_str_eq(sw_mask_text(m, env), "NPM_TOKEN=***\nDEPLOY=***\nHOME=/w");
    char empty[] = "";
    ck_assert_str_eq(sw_mask_text(m, empty), "");
    sw_mask_destroy(&m);
}
END_TEST

/* A tiny alphabet makes partial matches, overlaps and nested secrets common. */
static const char alphabet[] = "ab01-";

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void random_word(char *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[i] = alphabet[rnd(sizeof(alphabet) - 1)];
    }
    out[len] = '\0';
}

typedef struct rstream {
    sw_mask_stream *s;
    char line[4096]; /* the line being fed, as fed so far */
    size_t len;
    char got[4096]; /* what came out for it so far */
    size_t got_len;
    size_t pieces; /* handed over for it so far */
} rstream;

/* Feeds the next piece of a stream's current line and checks that what came out so
 * far is exactly what the reference can decide so far (at a line's end: all of it). */
static void rfeed(rstream *rs, const ref_patterns *ref, const char *piece, size_t len,
                  bool line_ends, unsigned seed)
{
    const char *out;
    size_t n;
    bool give = sw_mask_stream_feed(rs->s, piece, len, line_ends, &out, &n);
    ck_assert_uint_lt(rs->len + len, sizeof(rs->line));
    memcpy(rs->line + rs->len, piece, len);
    rs->len += len;
    ck_assert_uint_eq(give, n > 0 || (line_ends && rs->pieces == 0));
    memcpy(rs->got + rs->got_len, out, n);
    rs->got_len += n;
    rs->got[rs->got_len] = '\0';
    rs->pieces += give;
    char *want = ref_mask(ref, rs->line, rs->len, line_ends);
    rs->line[rs->len] = '\0';
    ck_assert_msg(strcmp(rs->got, want) == 0, "seed %u, line '%s'%s: expected '%s', got '%s'", seed,
                  rs->line, line_ends ? " (ended)" : " (so far)", want, rs->got);
    free(want);
    if (line_ends) {
        rs->len = rs->got_len = rs->pieces = 0;
    }
}

START_TEST(test_random_pieces_match_the_reference)
{
    for (unsigned seed = 1; seed <= 400; seed++) {
        char secrets[8][32];
        const char *values[8];
        size_t nsecrets = 1 + seed % 8;
        ref_patterns ref = {0};

        rng_state = 0x9E3779B97F4A7C15ull * seed;
        for (size_t i = 0; i < nsecrets; i++) {
            /* some secrets extend or cut an earlier one: overlaps and nesting */
            if (i > 0 && rnd(3) == 0) {
                const char *prev = secrets[rnd((uint32_t)i)];
                size_t plen = strlen(prev);
                if (rnd(2) == 0 && plen > 5) {
                    snprintf(secrets[i], sizeof(secrets[i]), "%.*s", (int)(plen - 1), prev + 1);
                } else {
                    char tail[8];
                    random_word(tail, 1 + rnd(4));
                    snprintf(secrets[i], sizeof(secrets[i]), "%s%s", prev, tail);
                }
            } else {
                random_word(secrets[i], 3 + rnd(8)); /* 3: too short, not a secret */
            }
            values[i] = secrets[i];
            ref_add(&ref, secrets[i]);
        }
        sw_mask *m = sw_mask_create(values, nsecrets);
        ck_assert_uint_le(sw_mask_count(m), ref.n); /* the same line twice counts once */

        rstream rs[2] = {{.s = sw_mask_stream_create(m)}, {.s = sw_mask_stream_create(m)}};
        for (int lines = 0; lines < 30; lines++) {
            /* a line of random text with secrets inserted at random places */
            char line[1024];
            size_t len = 0;
            while (len < 200 && rnd(12) != 0) {
                if (rnd(3) == 0) {
                    const char *sec = secrets[rnd((uint32_t)nsecrets)];
                    size_t n = strlen(sec) - (rnd(4) == 0 ? rnd((uint32_t)strlen(sec)) : 0);
                    memcpy(line + len, sec, n); /* sometimes cut short */
                    len += n;
                } else {
                    random_word(line + len, 1 + rnd(6));
                    len += strlen(line + len);
                }
            }
            /* cut into random pieces (empty ones too), fed to either stream */
            rstream *r = &rs[rnd(2)];
            size_t at = 0;
            while (at < len) {
                size_t n = rnd(3) == 0 ? 0 : 1 + rnd(12);
                n = n > len - at ? len - at : n;
                rfeed(r, &ref, line + at, n, false, seed);
                at += n;
                /* meanwhile, the other stream's line moves on */
                if (rnd(4) == 0) {
                    rstream *o = &rs[r == &rs[0]];
                    char w[8];
                    random_word(w, rnd(6));
                    rfeed(o, &ref, w, strlen(w), rnd(3) == 0, seed);
                }
            }
            rfeed(r, &ref, "", 0, true, seed);
        }
        for (int i = 0; i < 2; i++) {
            rfeed(&rs[i], &ref, "", 0, true, seed);
            sw_mask_stream_destroy(&rs[i].s);
        }
        sw_mask_destroy(&m);
        ref_free(&ref);
    }
}
END_TEST

/* Prints the masker's speed on ordinary log output; asserts nothing about it. */
START_TEST(bench_throughput)
{
    const char *env = getenv("SLIPWAY_MASK_BENCH_MB");
    size_t total = (size_t)(env ? atoi(env) : 100) << 20;
    char secrets[10][48];
    const char *values[10];
    static char text[1 << 20];
    const char *out;
    size_t n, masked = 0;

    rng_state = 42;
    for (int i = 0; i < 10; i++) {
        static const char chars[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int j = 0; j < 40; j++) {
            secrets[i][j] = chars[rnd(sizeof(chars) - 1)];
        }
        secrets[i][40] = '\0';
        values[i] = secrets[i];
    }
    /* lines of 20 to 140 characters of log-like text, a secret now and then */
    for (size_t i = 0; i < sizeof(text); i++) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789 ./-_:=";
        text[i] = chars[rnd(sizeof(chars) - 1)];
    }
    for (size_t i = 0; i + 200 < sizeof(text); i += 20 + rnd(120)) {
        text[i] = '\n';
        if (rnd(50) == 0) {
            memcpy(text + i + 1, secrets[rnd(10)], 40);
        }
    }

    sw_mask *m = sw_mask_create(values, 10);
    sw_mask_stream *s = sw_mask_stream_create(m);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t done = 0; done < total; done += sizeof(text)) {
        /* lines as the sandbox hands them over */
        const char *p = text, *end = text + sizeof(text);
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            sw_mask_stream_feed(s, p, len, nl != NULL, &out, &n);
            masked += n;
            p += len + (nl != NULL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("mask: %zu MB of lines with 10 secrets in %.2f s: %.0f MB/s\n", total >> 20, secs,
           (double)(total >> 20) / secs);

    /* the same as 16 KiB pieces of one endless line */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t done = 0; done < total; done += sizeof(text)) {
        for (size_t at = 0; at < sizeof(text); at += 16384) {
            sw_mask_stream_feed(s, text + at, 16384, false, &out, &n);
            masked += n;
        }
    }
    sw_mask_stream_flush(s, &out, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("mask: %zu MB of 16 KiB pieces with 10 secrets in %.2f s: %.0f MB/s\n", total >> 20,
           secs, (double)(total >> 20) / secs);
    ck_assert_uint_gt(masked, 0);
    sw_mask_stream_destroy(&s);
    sw_mask_destroy(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mask");
    TCase *tc = tcase_create("mask");
    tcase_add_test(tc, test_whole_secret_in_a_line);
    tcase_add_test(tc, test_two_secrets_in_one_line);
    tcase_add_test(tc, test_secret_split_across_two_pieces);
    tcase_add_test(tc, test_secret_split_across_three_pieces);
    tcase_add_test(tc, test_partial_match_that_is_not_a_secret);
    tcase_add_test(tc, test_secret_at_the_start_and_the_end);
    tcase_add_test(tc, test_overlapping_secrets_longest_wins);
    tcase_add_test(tc, test_multi_line_secret);
    tcase_add_test(tc, test_stdout_and_stderr_interleaved);
    tcase_add_test(tc, test_no_secrets_nothing_changes_nothing_waits);
    tcase_add_test(tc, test_flush_hands_over_what_is_held);
    tcase_add_test(tc, test_mask_text_one_off_strings);
    tcase_add_test(tc, test_random_pieces_match_the_reference);
    suite_add_tcase(s, tc);
    TCase *bench = tcase_create("bench");
    tcase_add_test(bench, bench_throughput);
    suite_add_tcase(s, bench);
    return sw_test_run(s);
}
