/* test_delivery.c - the delivery an HTTP thread and the webhook actor share:
 * the first answer counts, a wait without one ends in 503, answers are JSON. */
#include "actors/webhook/delivery.h"
#include "runtime/core/clock.h"

#include "support.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_first_answer_counts)
{
    sw_delivery *d = sw_delivery_new();
    sw_delivery_answer(d, 202, "{\"status\":\"accepted\"}");
    sw_delivery_answer(d, 503, "{\"status\":\"error\"}");
    sw_delivery_await(d, sw_clock_mono_ms() + 1000);
    ck_assert_int_eq(sw_delivery_status(d), 202);
    ck_assert_str_eq(sw_delivery_body(d), "{\"status\":\"accepted\"}");
    sw_delivery_unref(d);
}
END_TEST

START_TEST(test_no_answer_by_the_deadline_is_503)
{
    sw_delivery *d = sw_delivery_new();
    int64_t t0 = sw_clock_mono_ms();
    sw_delivery_await(d, t0 + 100);
    ck_assert_int_ge(sw_clock_mono_ms() - t0, 100);
    ck_assert_int_eq(sw_delivery_status(d), 503);
    /* a late answer changes nothing */
    sw_delivery_answer(d, 202, "{}");
    ck_assert_int_eq(sw_delivery_status(d), 503);
    sw_delivery_unref(d);
}
END_TEST

static void *answer_later(void *arg)
{
    sw_delivery *d = arg;
    sw_delivery_answer(d, 202, "{\"status\":\"accepted\"}");
    sw_delivery_unref(d);
    return NULL;
}

START_TEST(test_answer_from_another_thread_wakes_the_waiter)
{
    sw_delivery *d = sw_delivery_new();
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, answer_later, sw_delivery_ref(d)), 0);
    sw_delivery_await(d, sw_clock_mono_ms() + 10000);
    ck_assert_int_eq(sw_delivery_status(d), 202);
    pthread_join(t, NULL);
    sw_delivery_unref(d); /* the last reference: frees */
}
END_TEST

START_TEST(test_json_answers_are_valid_json)
{
    char *json = sw_delivery_json("error", "error", "content type 'a\xff\"b\n' refused", "skip",
                                  NULL, "build", "abc", NULL);
    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    ck_assert_msg(o != NULL, "%s: %s", json, err.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")),
                     "content type 'a?\"b?' refused");
    ck_assert_str_eq(json_string_value(json_object_get(o, "build")), "abc");
    ck_assert_ptr_null(json_object_get(o, "skip"));
    json_decref(o);
    free(json);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delivery");
    TCase *tc = tcase_create("delivery");
    tcase_add_test(tc, test_first_answer_counts);
    tcase_add_test(tc, test_no_answer_by_the_deadline_is_503);
    tcase_add_test(tc, test_answer_from_another_thread_wakes_the_waiter);
    tcase_add_test(tc, test_json_answers_are_valid_json);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
