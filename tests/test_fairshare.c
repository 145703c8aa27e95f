/* test_fairshare.c - which tenant's job goes next (sw_fair_next): round robin
 * across tenants with a job ready and under their max_running. */
#include "actors/dispatcher/fairshare.h"
#include "support.h"

#include <check.h>

/* Places n jobs from lanes (taking one ready job and adding one running each
 * time) and returns how many lane `who` got. */
static size_t place(sw_fair_lane *lanes, size_t nlanes, size_t *cursor, size_t n, size_t who)
{
    size_t got = 0;
    for (size_t k = 0; k < n; k++) {
        int i = sw_fair_next(lanes, nlanes, cursor);
        if (i < 0) {
            break;
        }
        lanes[i].ready--;
        lanes[i].running++;
        got += (size_t)i == who;
    }
    return got;
}

START_TEST(test_one_job_waits_for_one_of_each_other)
{
    /* A has 1000 queued; B comes with one: B goes within two placements,
     * wherever the cursor stood */
    for (size_t start = 0; start < 4; start++) {
        sw_fair_lane lanes[2] = {{.ready = 1000}, {.ready = 1}};
        size_t cursor = start;
        ck_assert_uint_eq(place(lanes, 2, &cursor, 2, 1), 1);
        ck_assert_uint_eq(lanes[1].ready, 0);
        ck_assert_uint_eq(lanes[0].ready, 999);
    }
}
END_TEST

START_TEST(test_alternates_between_busy_tenants)
{
    sw_fair_lane lanes[3] = {{.ready = 10}, {.ready = 10}, {.ready = 10}};
    size_t cursor = 0, last = 99;
    for (int k = 0; k < 30; k++) {
        int i = sw_fair_next(lanes, 3, &cursor);
        ck_assert_int_eq(i, k % 3); /* A B C A B C ... */
        ck_assert_uint_ne((size_t)i, last);
        last = (size_t)i;
        lanes[i].ready--;
    }
    ck_assert_int_eq(sw_fair_next(lanes, 3, &cursor), -1);
}
END_TEST

START_TEST(test_skips_lanes_with_nothing_ready)
{
    sw_fair_lane lanes[4] = {{.ready = 0}, {.ready = 2}, {.ready = 0}, {.ready = 0}};
    size_t cursor = 2;
    ck_assert_int_eq(sw_fair_next(lanes, 4, &cursor), 1); /* wraps around to it */
    ck_assert_uint_eq(cursor, 2);
    lanes[1].ready = 0;
    ck_assert_int_eq(sw_fair_next(lanes, 4, &cursor), -1);
    ck_assert_int_eq(sw_fair_next(NULL, 0, &cursor), -1);
}
END_TEST

START_TEST(test_max_running_holds_a_tenant_back)
{
    /* A may run 2; B has no bound: after A's 2, only B goes */
    sw_fair_lane lanes[2] = {{.ready = 50, .max_running = 2}, {.ready = 50}};
    size_t cursor = 0;
    ck_assert_uint_eq(place(lanes, 2, &cursor, 10, 0), 2);
    ck_assert_uint_eq(lanes[0].running, 2);
    ck_assert_uint_eq(lanes[1].running, 8);
    /* one of A's ends: A goes again, at its turn */
    lanes[0].running = 1;
    ck_assert_uint_eq(place(lanes, 2, &cursor, 2, 0), 1);
    /* at the bound and alone: nothing goes */
    lanes[1].ready = 0;
    ck_assert_int_eq(sw_fair_next(lanes, 2, &cursor), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fairshare");
    TCase *tc = tcase_create("next");
    tcase_add_test(tc, test_one_job_waits_for_one_of_each_other);
    tcase_add_test(tc, test_alternates_between_busy_tenants);
    tcase_add_test(tc, test_skips_lanes_with_nothing_ready);
    tcase_add_test(tc, test_max_running_holds_a_tenant_back);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
