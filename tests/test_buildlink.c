/*
 * test_buildlink.c - signed, expiring links to a build's page: the signature
 * (a known HMAC-SHA256 vector), what makes a link invalid, and the link the
 * notifier puts in commit statuses.
 */
#include "actors/notifier/status.h"
#include "runtime/buildlink.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define KEY "0123456789abcdef-link-key"
#define ID "abcdefgh2345"
/* printf 'abcdefgh2345\n1700000000' | openssl dgst -sha256 -hmac KEY */
#define SIG "1149507e49aa603d6758f87d925f87d485c319a931d666eaf616525766a58d61"

START_TEST(test_signature_is_hmac_sha256_of_id_and_expiry)
{
    char hex[SW_BUILDLINK_SIG_LEN + 1];
    sw_buildlink_sign(hex, KEY, ID, 1700000000);
    ck_assert_str_eq(hex, SIG);
    char *q = sw_buildlink_query(KEY, ID, 1700000000);
    ck_assert_str_eq(q, "exp=1700000000&sig=" SIG);
    free(q);
}
END_TEST

START_TEST(test_valid_until_it_expires)
{
    ck_assert(sw_buildlink_valid(KEY, ID, "1700000000", SIG, 1600000000));
    ck_assert(sw_buildlink_valid(KEY, ID, "1700000000", SIG, 1700000000));
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000000", SIG, 1700000001));
}
END_TEST

START_TEST(test_anything_changed_is_invalid)
{
    char sig[] = SIG;
    const int64_t now = 1600000000;
    ck_assert(!sw_buildlink_valid(KEY, "abcdefgh2346", "1700000000", SIG, now)); /* another build */
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000001", SIG, now));  /* a later expiry */
    ck_assert(!sw_buildlink_valid(KEY, ID, "01700000000", SIG, now)); /* the same, spelt longer */
    ck_assert(!sw_buildlink_valid(KEY, ID, "+1700000000", SIG, now));
    ck_assert(!sw_buildlink_valid(KEY, ID, "", SIG, now));
    ck_assert(!sw_buildlink_valid("another-key-of-16+", ID, "1700000000", SIG, now));
    sig[10] = sig[10] == '0' ? '1' : '0';
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000000", sig, now));
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000000", "1149507e", now)); /* short */
    char *upper = sw_strdup(SIG);
    for (char *c = upper; *c; c++) {
        *c = (*c >= 'a' && *c <= 'f') ? (char)(*c - 32) : *c;
    }
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000000", upper, now));
    free(upper);
    ck_assert(!sw_buildlink_valid(NULL, ID, "1700000000", SIG, now)); /* no key configured */
    ck_assert(!sw_buildlink_valid(KEY, ID, NULL, SIG, now));
    ck_assert(!sw_buildlink_valid(KEY, ID, "1700000000", NULL, now));
}
END_TEST

START_TEST(test_notifier_link_is_signed_when_a_key_is_set)
{
    char *url = sw_status_signed_url("https://ci.example", ID, KEY, 100000000ull * 1000,
                                     1600000000);
    ck_assert_str_eq(url, "https://ci.example/builds/" ID "?exp=1700000000&sig=" SIG);
    free(url);
    url = sw_status_signed_url("https://ci.example", ID, NULL, 1000, 1600000000);
    ck_assert_str_eq(url, "https://ci.example/builds/" ID);
    free(url);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buildlink");
    TCase *tc = tcase_create("links");
    tcase_add_test(tc, test_signature_is_hmac_sha256_of_id_and_expiry);
    tcase_add_test(tc, test_valid_until_it_expires);
    tcase_add_test(tc, test_anything_changed_is_invalid);
    tcase_add_test(tc, test_notifier_link_is_signed_when_a_key_is_set);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
