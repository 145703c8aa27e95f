/*
 * test_pageauth.c - who may see a build's page: a tenant's read token opens
 * its own builds only, the operator's every build, a signed link its one
 * build until it expires; nothing else opens anything.
 */
#include "runtime/pageauth.h"
#include "runtime/buildlink.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ACME "acme-read-token-0123456789"
#define DEMO "demo-read-token-0123456789"
#define CONTROL "operator-control-token-0123"
#define ACME_CONTROL "acme-control-token-0123456"
#define OPERATOR "operator-token-0123456789"
#define LINK_KEY "link-key-0123456789abcdef"
#define NOW 1700000000

static sw_config *cfg;

static void setup(void)
{
    static const char text[] = "data_dir: /tmp/sw\n"
                               "web:\n"
                               "  read_token: " OPERATOR "\n"
                               "  control_token: " CONTROL "\n"
                               "  link_key: " LINK_KEY "\n"
                               "tiers:\n  - name: free\n"
                               "tenants:\n"
                               "  - {name: acme, tier: free, read_token: " ACME
                               ", control_token: " ACME_CONTROL "}\n"
                               "  - {name: demo, tier: free, read_token: " DEMO "}\n"
                               "  - {name: bare, tier: free}\n"
                               "clusters:\n  - name: c\n    tier: free\n";
    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), "t.yaml") == 0, "%s",
                  sw_error_last());
}

static void teardown(void)
{
    sw_config_destroy(&cfg);
}

static bool opens(const sw_page_key *k, const char *tenant)
{
    return sw_pageauth_allows(cfg, k, "abcdefgh2345", tenant, NOW);
}

START_TEST(test_no_key_is_no_key)
{
    sw_page_key none = {0};
    ck_assert(!sw_pageauth_presented(&none));
    ck_assert(!opens(&none, "acme"));
    ck_assert(!opens(&none, "bare")); /* a tenant without a token is not open */
    sw_page_key wrong = {.authorization = "Bearer nope"};
    ck_assert(sw_pageauth_presented(&wrong));
    ck_assert(!opens(&wrong, "acme"));
}
END_TEST

START_TEST(test_tenant_token_opens_its_own_builds_only)
{
    sw_page_key header = {.authorization = "Bearer " ACME};
    sw_page_key lower = {.authorization = "bearer " ACME};
    sw_page_key query = {.token = ACME};
    ck_assert(opens(&header, "acme"));
    ck_assert(opens(&lower, "acme"));
    ck_assert(opens(&query, "acme"));
    ck_assert(!opens(&header, "demo"));
    ck_assert(!opens(&query, "bare"));
    ck_assert(!opens(&header, NULL)); /* before the record is read: not yet */
    sw_page_key prefix = {.token = "acme-read-token-012345678"};
    sw_page_key longer = {.token = ACME "0"};
    sw_page_key basic = {.authorization = "Basic " ACME};
    ck_assert(!opens(&prefix, "acme"));
    ck_assert(!opens(&longer, "acme"));
    ck_assert(!opens(&basic, "acme"));
}
END_TEST

START_TEST(test_operator_token_opens_every_build)
{
    sw_page_key k = {.authorization = "Bearer " OPERATOR};
    ck_assert(opens(&k, "acme"));
    ck_assert(opens(&k, "bare"));
    ck_assert(opens(&k, NULL));
}
END_TEST

START_TEST(test_signed_link_opens_its_build_until_it_expires)
{
    char sig[SW_BUILDLINK_SIG_LEN + 1];
    sw_buildlink_sign(sig, LINK_KEY, "abcdefgh2345", NOW + 60);
    sw_page_key k = {.exp = "1700000060", .sig = sig};
    ck_assert(opens(&k, NULL));
    ck_assert(opens(&k, "bare"));
    ck_assert(!sw_pageauth_allows(cfg, &k, "abcdefgh2346", "acme", NOW));
    ck_assert(!sw_pageauth_allows(cfg, &k, "abcdefgh2345", "acme", NOW + 61));
    /* a link signed with another key */
    sw_buildlink_sign(sig, "another-key-0123456789", "abcdefgh2345", NOW + 60);
    ck_assert(!opens(&k, "acme"));
}
END_TEST

START_TEST(test_short_tokens_are_refused)
{
    static const char text[] = "data_dir: /tmp/sw\n"
                               "tiers:\n  - name: free\n"
                               "tenants:\n  - {name: acme, tier: free, read_token: short}\n"
                               "clusters:\n  - name: c\n    tier: free\n";
    sw_config *c = NULL;
    ck_assert_int_eq(sw_config_parse(&c, text, strlen(text), "t.yaml"), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "t.yaml:5:") != NULL &&
                      strstr(sw_error_last(), "at least 16") != NULL,
                  "%s", sw_error_last());
}
END_TEST

START_TEST(test_cookies_scopes_and_control)
{
    const char *tenant = NULL;
    sw_page_key cookie = {.cookie = ACME};
    ck_assert(sw_pageauth_presented(&cookie));
    ck_assert(opens(&cookie, "acme") && !opens(&cookie, "demo"));
    ck_assert_int_eq(sw_pageauth_scope(cfg, &cookie, &tenant), SW_PAGE_SCOPE_TENANT);
    ck_assert_str_eq(tenant, "acme");
    ck_assert(!sw_pageauth_controls(cfg, &cookie, "acme")); /* reads only */

    sw_page_key control = {.authorization = "Bearer " ACME_CONTROL};
    ck_assert(opens(&control, "acme") && !opens(&control, "demo"));
    ck_assert(sw_pageauth_controls(cfg, &control, "acme"));
    ck_assert(!sw_pageauth_controls(cfg, &control, "demo"));

    sw_page_key op = {.token = CONTROL};
    ck_assert_int_eq(sw_pageauth_scope(cfg, &op, &tenant), SW_PAGE_SCOPE_ALL);
    ck_assert(sw_pageauth_controls(cfg, &op, "demo") && opens(&op, "bare"));
    sw_page_key reader = {.token = OPERATOR};
    ck_assert_int_eq(sw_pageauth_scope(cfg, &reader, &tenant), SW_PAGE_SCOPE_ALL);
    ck_assert(!sw_pageauth_controls(cfg, &reader, "demo"));

    sw_page_key wrong = {.cookie = "not-a-token-at-all-0123"};
    ck_assert_int_eq(sw_pageauth_scope(cfg, &wrong, &tenant), SW_PAGE_SCOPE_NONE);
    ck_assert_ptr_null(tenant);
}
END_TEST

START_TEST(test_web_listen_moves_the_default_public_url)
{
    static const char text[] = "data_dir: /tmp/sw\n"
                               "web: {listen: '127.0.0.1:8081'}\n"
                               "tiers:\n  - name: free\n"
                               "tenants:\n  - {name: acme, tier: free}\n"
                               "clusters:\n  - name: c\n    tier: free\n";
    sw_config *c = NULL;
    ck_assert_msg(sw_config_parse(&c, text, strlen(text), "t.yaml") == 0, "%s", sw_error_last());
    ck_assert_str_eq(c->web_listen, "127.0.0.1:8081");
    ck_assert_str_eq(c->public_url, "http://127.0.0.1:8081");
    ck_assert_ptr_null(c->web_link_key);
    ck_assert_uint_eq(c->web_link_ttl_ms, 7ull * 24 * 3600 * 1000);
    sw_config_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pageauth");
    TCase *tc = tcase_create("access");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_key_is_no_key);
    tcase_add_test(tc, test_tenant_token_opens_its_own_builds_only);
    tcase_add_test(tc, test_operator_token_opens_every_build);
    tcase_add_test(tc, test_signed_link_opens_its_build_until_it_expires);
    tcase_add_test(tc, test_short_tokens_are_refused);
    tcase_add_test(tc, test_web_listen_moves_the_default_public_url);
    tcase_add_test(tc, test_cookies_scopes_and_control);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
