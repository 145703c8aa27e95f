/* test_deliveries.c - the gateway's delivery record: remembered across a
 * reopen, first time kept, pruned oldest first and only when old. */
#include "actors/webhook/deliveries.h"
#include "runtime/core/error.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_remembered_across_reopen)
{
    char *dir = sw_test_tmpdir("deliveries");
    sw_deliveries *d = NULL;
    int64_t at = 0;

    ck_assert_int_eq(sw_deliveries_open(&d, dir), 0);
    ck_assert_int_eq(sw_deliveries_seen(d, "github:abc", NULL), 0);
    ck_assert_int_eq(sw_deliveries_remember(d, "github:abc", 1000), 0);
    ck_assert_int_eq(sw_deliveries_remember(d, "github:abc", 5000), 0); /* again: first kept */
    sw_deliveries_close(&d);
    ck_assert_ptr_null(d);

    ck_assert_int_eq(sw_deliveries_open(&d, dir), 0);
    ck_assert_int_eq(sw_deliveries_seen(d, "github:abc", &at), 1);
    ck_assert_int_eq(at, 1000);
    ck_assert_int_eq(sw_deliveries_seen(d, "gitlab:abc", NULL), 0);
    ck_assert_uint_eq(sw_deliveries_count(d), 1);
    sw_deliveries_close(&d);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_prune_takes_the_oldest_first)
{
    char *dir = sw_test_tmpdir("deliveries");
    sw_deliveries *d = NULL;
    char id[32];

    ck_assert_int_eq(sw_deliveries_open(&d, dir), 0);
    /* inserted out of time order on purpose */
    for (int i = 9; i >= 0; i--) {
        snprintf(id, sizeof(id), "gitea:%d", i);
        ck_assert_int_eq(sw_deliveries_remember(d, id, 1000 + i * 100), 0);
    }
    ck_assert_int_eq(sw_deliveries_prune(d, 1350, 2), 2); /* bounded by max */
    ck_assert_int_eq(sw_deliveries_seen(d, "gitea:0", NULL), 0);
    ck_assert_int_eq(sw_deliveries_seen(d, "gitea:1", NULL), 0);
    ck_assert_int_eq(sw_deliveries_seen(d, "gitea:2", NULL), 1);
    ck_assert_int_eq(sw_deliveries_prune(d, 1350, 100), 2); /* 1200 and 1300 */
    ck_assert_int_eq(sw_deliveries_seen(d, "gitea:3", NULL), 0);
    ck_assert_int_eq(sw_deliveries_seen(d, "gitea:4", NULL), 1);
    ck_assert_int_eq(sw_deliveries_prune(d, 1350, 100), 0);
    ck_assert_uint_eq(sw_deliveries_count(d), 6);
    ck_assert_int_eq(sw_deliveries_prune(d, 1 << 30, 100), 6);
    ck_assert_uint_eq(sw_deliveries_count(d), 0);
    sw_deliveries_close(&d);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_bad_ids_are_refused)
{
    char *dir = sw_test_tmpdir("deliveries");
    sw_deliveries *d = NULL;
    char big[400];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(sw_deliveries_open(&d, dir), 0);
    ck_assert_int_eq(sw_deliveries_remember(d, "", 1), SW_EINVALID);
    ck_assert_int_eq(sw_deliveries_remember(d, big, 1), SW_EINVALID);
    ck_assert_int_eq(sw_deliveries_seen(d, big, NULL), SW_EINVALID);
    ck_assert_uint_eq(sw_deliveries_count(d), 0);
    sw_deliveries_close(&d);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("deliveries");
    TCase *tc = tcase_create("deliveries");
    tcase_add_test(tc, test_remembered_across_reopen);
    tcase_add_test(tc, test_prune_takes_the_oldest_first);
    tcase_add_test(tc, test_bad_ids_are_refused);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
