/*
 * test_metrics.c - the metrics registry (runtime/metrics.h): its render
 * parses with the strict parser (tests/support/promtext.h) and says the
 * values given, label values are escaped, a family holds at most its bound
 * of series, and a report (runtime/metrics_wire.h) merges back to the same.
 */
#include "runtime/metrics.h"
#include "runtime/metrics_wire.h"

#include "promtext.h"
#include "support.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders m, parses it strictly (failing the test when it does not parse). */
static void render_parsed(sw_metrics *m, promtext *p)
{
    char *text = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(sw_metrics_render(m, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_msg(promtext_parse(p, text, len, err, sizeof(err)) == 0, "%s in:\n%s", err, text);
    free(text);
}

START_TEST(test_counters_gauges_histograms_render_their_values)
{
    sw_metrics *m = NULL;
    promtext p;
    sw_metrics_create(&m, 16);
    sw_metric *c = sw_metrics_counter(m, "t_deliveries_total", "Deliveries.",
                                      (const char *[]){"forge", "code", NULL});
    sw_metric *g = sw_metrics_gauge(m, "t_builds", "Builds now.", (const char *[]){"state", NULL});
    sw_metric *h = sw_metrics_histogram(m, "t_wait_seconds", "Waits.", NULL,
                                        sw_metrics_seconds_buckets, sw_metrics_seconds_nbuckets);
    sw_metric *none = sw_metrics_counter(m, "t_nothing_total", "Never counted.", NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(none);
    sw_metric_add(c, (const char *[]){"github", "202"}, 1);
    sw_metric_add(c, (const char *[]){"github", "202"}, 2);
    sw_metric_add(c, (const char *[]){"gitlab", "401"}, 1);
    sw_metric_add(c, (const char *[]){"gitlab", "401"}, -5); /* refused: counters only grow */
    sw_metric_add(g, (const char *[]){"running"}, 3);
    sw_metric_add(g, (const char *[]){"running"}, -1);
    sw_metric_set(g, (const char *[]){"queued"}, 7);
    sw_metric_observe(h, NULL, 0.05);
    sw_metric_observe(h, NULL, 0.1); /* le is inclusive */
    sw_metric_observe(h, NULL, 42);
    sw_metric_observe(h, NULL, 1e6);

    render_parsed(m, &p);
    ck_assert_str_eq(promtext_type(&p, "t_deliveries_total"), "counter");
    ck_assert_str_eq(promtext_type(&p, "t_nothing_total"), "counter");
    ck_assert_double_eq(promtext_sum(&p, "t_deliveries_total", "forge=github,code=202", NULL), 3);
    ck_assert_double_eq(promtext_sum(&p, "t_deliveries_total", "code=401", NULL), 1);
    ck_assert_double_eq(promtext_sum(&p, "t_builds", "state=running", NULL), 2);
    ck_assert_double_eq(promtext_sum(&p, "t_builds", "state=queued", NULL), 7);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_bucket", "le=0.1", NULL), 2);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_bucket", "le=60", NULL), 3);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_bucket", "le=10800", NULL), 3);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_bucket", "le=+Inf", NULL), 4);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_count", NULL, NULL), 4);
    ck_assert_double_eq(promtext_sum(&p, "t_wait_seconds_sum", NULL, NULL), 0.15 + 42 + 1e6);
    ck_assert_double_eq(sw_metric_value(h, NULL), 4);
    promtext_finish(&p);
    sw_metrics_destroy(&m);
    ck_assert_ptr_null(m);
    sw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_label_values_are_escaped)
{
    sw_metrics *m = NULL;
    promtext p;
    const char *odd = "a\"b\\c\nd,e=f}";
    sw_metrics_create(&m, 16);
    sw_metric *c = sw_metrics_counter(m, "t_odd_total", "Help with \\ and\nnewline.",
                                      (const char *[]){"v", NULL});
    sw_metric_add(c, (const char *[]){odd}, 1);
    sw_metric_add(c, (const char *[]){""}, 1);
    render_parsed(m, &p);
    ck_assert_uint_eq(p.nsamples, 2);
    ck_assert_str_eq(p.samples[0].value_of[0], odd);
    ck_assert_str_eq(p.samples[1].value_of[0], "");
    promtext_finish(&p);
    sw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_a_family_holds_at_most_its_bound_of_series)
{
    sw_metrics *m = NULL;
    promtext p;
    char v[16];
    sw_metrics_create(&m, 4);
    sw_metric *c = sw_metrics_counter(m, "t_many_total", "Many.", (const char *[]){"n", NULL});
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "%d", i);
        sw_metric_add(c, (const char *[]){v}, 1);
    }
    sw_metric_add(c, (const char *[]){"0"}, 1); /* a known series still counts */
    render_parsed(m, &p);
    size_t n = 0;
    ck_assert_double_eq(promtext_sum(&p, "t_many_total", NULL, &n), 5);
    ck_assert_uint_eq(n, 4);
    ck_assert_double_eq(
        promtext_sum(&p, "slipway_metrics_series_dropped_total", "family=t_many_total", NULL), 6);
    promtext_finish(&p);
    sw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_bad_names_and_other_shapes_are_refused)
{
    sw_metrics *m = NULL;
    sw_metrics_create(&m, 4);
    ck_assert_ptr_null(sw_metrics_counter(m, "9lives", "x", NULL));
    ck_assert_ptr_null(sw_metrics_counter(m, "ok_total", "x", (const char *[]){"bad-label", NULL}));
    ck_assert_ptr_null(
        sw_metrics_histogram(m, "h", "x", (const char *[]){"le", NULL}, (const double[]){1}, 1));
    ck_assert_ptr_null(sw_metrics_histogram(m, "h2", "x", NULL, (const double[]){2, 1}, 2));
    sw_metric *a = sw_metrics_counter(m, "same_total", "x", (const char *[]){"k", NULL});
    ck_assert_ptr_eq(sw_metrics_counter(m, "same_total", "x", (const char *[]){"k", NULL}), a);
    ck_assert_ptr_null(sw_metrics_gauge(m, "same_total", "x", (const char *[]){"k", NULL}));
    ck_assert_ptr_null(sw_metrics_counter(m, "same_total", "x", NULL));
    sw_metric_add(NULL, NULL, 1);                   /* a family that did not register: nothing */
    sw_metric_observe(a, (const char *[]){"v"}, 1); /* wrong type: nothing */
    ck_assert_double_eq(sw_metric_value(a, (const char *[]){"v"}), 0);
    sw_metrics_destroy(&m);
}
END_TEST

static void *count_many(void *closure)
{
    sw_metric *c = closure;
    for (int i = 0; i < 10000; i++) {
        sw_metric_add(c, (const char *[]){i % 2 ? "odd" : "even"}, 1);
    }
    return NULL;
}

START_TEST(test_updates_from_many_threads_all_count)
{
    sw_metrics *m = NULL;
    pthread_t t[4];
    sw_metrics_create(&m, 4);
    sw_metric *c = sw_metrics_counter(m, "t_threads_total", "x", (const char *[]){"k", NULL});
    for (int i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, count_many, c);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    ck_assert_double_eq(sw_metric_value(c, (const char *[]){"odd"}), 20000);
    ck_assert_double_eq(sw_metric_value(c, (const char *[]){"even"}), 20000);
    sw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_a_report_merges_into_sums)
{
    sw_metrics *a = NULL, *sum = NULL;
    promtext p;
    sw_metrics_create(&a, 4);
    sw_metrics_create(&sum, 4);
    sw_metric *c = sw_metrics_counter(a, "t_c_total", "c", (const char *[]){"k", NULL});
    sw_metric *g = sw_metrics_gauge(a, "t_g", "g", NULL);
    sw_metric *h = sw_metrics_histogram(a, "t_h_seconds", "h", (const char *[]){"k", NULL},
                                        (const double[]){1, 10}, 2);
    sw_metric_add(c, (const char *[]){"x"}, 2);
    sw_metric_set(g, NULL, 5);
    sw_metric_observe(h, (const char *[]){"x"}, 0.5);
    sw_metric_observe(h, (const char *[]){"x"}, 50);

    Slipway__MetricsReport *r = sw_metrics_report(a, "host:1", 1000, false);
    size_t len = 0;
    uint8_t *packed = malloc(slipway__metrics_report__get_packed_size(r));
    len = slipway__metrics_report__pack(r, packed);
    sw_metrics_report_free(&r);
    Slipway__MetricsReport *back = slipway__metrics_report__unpack(NULL, len, packed);
    free(packed);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->instance, "host:1");
    sw_metrics_merge_report(sum, back, true);
    sw_metrics_merge_report(sum, back, false); /* twice: counters double, the gauge not */
    slipway__metrics_report__free_unpacked(back, NULL);

    render_parsed(sum, &p);
    ck_assert_double_eq(promtext_sum(&p, "t_c_total", "k=x", NULL), 4);
    ck_assert_double_eq(promtext_sum(&p, "t_g", NULL, NULL), 5);
    ck_assert_double_eq(promtext_sum(&p, "t_h_seconds_bucket", "k=x,le=1", NULL), 2);
    ck_assert_double_eq(promtext_sum(&p, "t_h_seconds_bucket", "k=x,le=10", NULL), 2);
    ck_assert_double_eq(promtext_sum(&p, "t_h_seconds_count", "k=x", NULL), 4);
    ck_assert_double_eq(promtext_sum(&p, "t_h_seconds_sum", "k=x", NULL), 101);
    promtext_finish(&p);
    sw_metrics_destroy(&a);
    sw_metrics_destroy(&sum);
}
END_TEST

START_TEST(test_a_report_of_a_bad_shape_is_left_out)
{
    sw_metrics *m = NULL;
    sw_metrics_create(&m, 4);
    Slipway__MetricSeries s = SLIPWAY__METRIC_SERIES__INIT;
    Slipway__MetricSeries *ss[] = {&s};
    Slipway__MetricFamily f = SLIPWAY__METRIC_FAMILY__INIT;
    Slipway__MetricFamily *fs[] = {&f};
    Slipway__MetricsReport r = SLIPWAY__METRICS_REPORT__INIT;
    char *labels[] = {"k"};
    f.name = "t_h";
    f.help = "";
    f.type = SW_METRIC_HISTOGRAM;
    f.n_labels = 1;
    f.labels = labels;
    f.n_series = 1;
    f.series = ss; /* no values, no buckets: left out */
    r.n_families = 1;
    r.families = fs;
    sw_metrics_merge_report(m, &r, true);
    f.type = 7; /* no such type */
    f.name = "t_x";
    sw_metrics_merge_report(m, &r, true);
    char *text = NULL;
    sw_metrics_render(m, &text, NULL);
    ck_assert_str_eq(text, "# HELP t_h \n# TYPE t_h histogram\n");
    free(text);
    sw_metrics_destroy(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_counters_gauges_histograms_render_their_values);
    tcase_add_test(tc, test_label_values_are_escaped);
    tcase_add_test(tc, test_a_family_holds_at_most_its_bound_of_series);
    tcase_add_test(tc, test_bad_names_and_other_shapes_are_refused);
    tcase_add_test(tc, test_updates_from_many_threads_all_count);
    tcase_add_test(tc, test_a_report_merges_into_sums);
    tcase_add_test(tc, test_a_report_of_a_bad_shape_is_left_out);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
