/* test_dispatcher.c - which cluster a job of a tier in a region goes to (sw_dispatcher_pick). */
#include "actors/dispatcher/dispatcher.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Tier free has two clusters in eu and one in us; tier pro has one in eu. */
static const char config_yaml[] = "data_dir: /d\n"
                                  "tiers:\n"
                                  "  - name: free\n"
                                  "  - name: pro\n"
                                  "tenants:\n"
                                  "  - name: acme\n"
                                  "    tier: free\n"
                                  "clusters:\n"
                                  "  - name: eu-free-1\n"
                                  "    tier: free\n"
                                  "    region: eu\n"
                                  "  - name: eu-pro\n"
                                  "    tier: pro\n"
                                  "    region: eu\n"
                                  "  - name: us-free\n"
                                  "    tier: free\n"
                                  "    region: us\n"
                                  "  - name: eu-free-2\n"
                                  "    tier: free\n"
                                  "    region: eu\n"
                                  "  - name: local\n"
                                  "    tier: free\n";

static sw_config *cfg;

static void setup(void)
{
    ck_assert_msg(sw_config_parse(&cfg, config_yaml, strlen(config_yaml), "d.yaml") == 0, "%s",
                  sw_error_last());
}

static void teardown(void)
{
    sw_config_destroy(&cfg);
}

static const char *pick(const char *tier, const char *region, unsigned turn)
{
    const sw_cluster *c = sw_dispatcher_pick(cfg, tier, region, turn);
    return c ? c->name : NULL;
}

START_TEST(test_picks_only_the_tier_in_the_region)
{
    for (unsigned turn = 0; turn < 6; turn++) {
        const sw_cluster *c = sw_dispatcher_pick(cfg, "free", "eu", turn);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(c->tier, "free");
        ck_assert_str_eq(c->region, "eu");
        ck_assert_str_eq(pick("pro", "eu", turn), "eu-pro");
        ck_assert_str_eq(pick("free", "us", turn), "us-free");
    }
}
END_TEST

START_TEST(test_rotates_by_turn)
{
    ck_assert_str_eq(pick("free", "eu", 0), "eu-free-1");
    ck_assert_str_eq(pick("free", "eu", 1), "eu-free-2");
    ck_assert_str_eq(pick("free", "eu", 2), "eu-free-1");
    ck_assert_str_eq(pick("free", "eu", 3), "eu-free-2");
    /* the turn counter may wrap */
    ck_assert_str_eq(pick("free", "eu", 0xffffffffu), "eu-free-2");
}
END_TEST

START_TEST(test_turns_share_jobs_evenly)
{
    unsigned one = 0, two = 0;
    for (unsigned turn = 100; turn < 200; turn++) {
        const char *name = pick("free", "eu", turn);
        one += strcmp(name, "eu-free-1") == 0;
        two += strcmp(name, "eu-free-2") == 0;
    }
    ck_assert_uint_eq(one, 50);
    ck_assert_uint_eq(two, 50);
}
END_TEST

START_TEST(test_cluster_without_region_serves_default)
{
    ck_assert_str_eq(pick("free", "default", 0), "local");
    ck_assert_str_eq(pick("free", "default", 7), "local");
}
END_TEST

START_TEST(test_no_cluster_serves_the_region)
{
    ck_assert_ptr_null(pick("free", "ap", 0));
    ck_assert_ptr_null(pick("pro", "us", 0));    /* the tier exists, not in that region */
    ck_assert_ptr_null(pick("gold", "eu", 0));   /* no such tier */
    ck_assert_ptr_null(pick("pro", "default", 3));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dispatcher");
    TCase *tc = tcase_create("pick");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_picks_only_the_tier_in_the_region);
    tcase_add_test(tc, test_rotates_by_turn);
    tcase_add_test(tc, test_turns_share_jobs_evenly);
    tcase_add_test(tc, test_cluster_without_region_serves_default);
    tcase_add_test(tc, test_no_cluster_serves_the_region);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
