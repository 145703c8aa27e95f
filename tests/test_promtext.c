/*
 * test_promtext.c - the strict text format parser of the tests
 * (tests/support/promtext.h): what it accepts, and the malformed texts it
 * must refuse, each for its own reason.
 */
#include "promtext.h"

#include "support.h"

#include <check.h>
#include <string.h>

static int parse(const char *text, char *err, size_t n)
{
    promtext p;
    int r = promtext_parse(&p, text, strlen(text), err, n);
    if (r == 0) {
        promtext_finish(&p);
    }
    return r;
}

#define HIST                                                                                       \
    "# HELP h_seconds Waits.\n"                                                                    \
    "# TYPE h_seconds histogram\n"                                                                 \
    "h_seconds_bucket{tier=\"free\",le=\"0.5\"} 1\n"                                               \
    "h_seconds_bucket{tier=\"free\",le=\"1\"} 3\n"                                                 \
    "h_seconds_bucket{tier=\"free\",le=\"+Inf\"} 4\n"                                              \
    "h_seconds_sum{tier=\"free\"} 7.5\n"                                                           \
    "h_seconds_count{tier=\"free\"} 4\n"

START_TEST(test_accepts_a_good_text)
{
    const char *text = "# HELP a_total Things, with a \\\\ and a \\n.\n"
                       "# TYPE a_total counter\n"
                       "a_total{forge=\"github\",code=\"202\"} 3\n"
                       "a_total{code=\"404\",forge=\"git\\\"\\\\\\nlab\",} 1 1700000000000\n"
                       "\n"
                       "# a comment\n"
                       "# TYPE g gauge\n"
                       "g -1.5e3\n"
                       "untyped_one{v=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2\"} NaN\n" HIST;
    promtext p;
    char err[256];
    ck_assert_msg(promtext_parse(&p, text, strlen(text), err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(p.nsamples, 9);
    ck_assert_double_eq(promtext_sum(&p, "a_total", NULL, NULL), 4);
    ck_assert_double_eq(promtext_sum(&p, "a_total", "forge=git\"\\\nlab", NULL), 1);
    ck_assert_double_eq(promtext_sum(&p, "g", "", NULL), -1500);
    ck_assert_double_eq(promtext_sum(&p, "h_seconds_count", "tier=free", NULL), 4);
    ck_assert_str_eq(promtext_type(&p, "h_seconds"), "histogram");
    ck_assert_ptr_null(promtext_type(&p, "untyped_one"));
    promtext_finish(&p);
}
END_TEST

START_TEST(test_refuses_malformed_texts)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"a 1", "newline"},
        {"9a 1\n", "metric name"},
        {"a-b 1\n", "blank before"},
        {"a{9x=\"1\"} 1\n", "label name"},
        {"a{x=1} 1\n", "expected =\""},
        {"a{x=\"1\"y=\"2\"} 1\n", "expected , or }"},
        {"a{x=\"\\t\"} 1\n", "bad escape"},
        {"a{x=\"1\",x=\"2\"} 1\n", "twice"},
        {"a{x=\"1} 1\n", "unterminated"},
        {"a one\n", "bad value"},
        {"a 0x10\n", "bad value"},
        {"a 1 12.5\n", "timestamp"},
        {"a 1 \n", "blank at the end"},
        {"# HELP a x\n# HELP a y\na 1\n", "second HELP"},
        {"# HELP a bad \\t escape\na 1\n", "escape in HELP"},
        {"# TYPE a counter\n# TYPE a gauge\na 1\n", "second TYPE"},
        {"a 1\n# TYPE a gauge\n", "after its samples"},
        {"# TYPE a meter\na 1\n", "unknown TYPE"},
        {"# TYPE a counter\na -1\n", "counter"},
        {"a{x=\"1\"} 1\nb 2\na{x=\"2\"} 1\n", "two groups"},
        {"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 3\n", "duplicate"},
        {"a\r 1\n", "CR"},
        {"a{x=\"\xff\"} 1\n", "UTF-8"},
        {"a{x=\"\xc0\xaf\"} 1\n", "UTF-8"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"
         "h_count 1\n",
         "cumulative"},
        {"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
         "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
         "ascending"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "_count"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "no _sum"},
        {"# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n", "le"},
        {"# TYPE h histogram\nh_bucket{le=\"x\"} 2\nh_sum 1\nh_count 2\n", "le"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum{le=\"1\"} 1\nh_count 1\n",
         "with an le"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256];
        ck_assert_msg(parse(bad[i].text, err, sizeof(err)) < 0, "accepted: %s", bad[i].text);
        ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: refused for '%s', not '%s'",
                      bad[i].text, err, bad[i].why);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("promtext");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_accepts_a_good_text);
    tcase_add_test(tc, test_refuses_malformed_texts);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
