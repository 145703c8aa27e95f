/* test_signature.c - webhook signatures: GitHub's published vector, each
 * forge's header form, and every way a signature can be wrong. */
#include "actors/webhook/signature.h"
#include "runtime/core/error.h"

#include "support.h"

#include <check.h>
#include <string.h>

static const char secret[] = "It's a Secret to Everybody";
static const char body[] = "Hello, World!";
static const char vector[] =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

START_TEST(test_github_published_vector_is_accepted)
{
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, vector, body, strlen(body)), 0);
    ck_assert_str_eq(sw_signature_header(SW_FORGE_GITHUB), "X-Hub-Signature-256");
}
END_TEST

START_TEST(test_make_gives_the_vector)
{
    char sig[72];
    sw_signature_make(sig, secret, body, strlen(body), 1);
    ck_assert_str_eq(sig, vector);
    sw_signature_make(sig, secret, body, strlen(body), 0);
    ck_assert_str_eq(sig, vector + 7);
}
END_TEST

START_TEST(test_one_byte_changed_in_the_body)
{
    char changed[sizeof(body)];
    memcpy(changed, body, sizeof(body));
    changed[5] = ';';
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, vector, changed, strlen(changed)),
                     SW_EINVALID);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "does not match"));
    /* one byte fewer */
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, vector, body, strlen(body) - 1),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_one_digit_changed_in_the_signature)
{
    char sig[sizeof(vector)];
    memcpy(sig, vector, sizeof(vector));
    sig[sizeof(vector) - 2] = sig[sizeof(vector) - 2] == '7' ? '8' : '7';
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, sig, body, strlen(body)),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_wrong_secret)
{
    ck_assert_int_eq(
        sw_signature_check(SW_FORGE_GITHUB, "It's a secret to everybody", vector, body,
                           strlen(body)),
        SW_EINVALID);
}
END_TEST

START_TEST(test_missing_header)
{
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, NULL, body, strlen(body)),
                     SW_EINVALID);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "X-Hub-Signature-256"));
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, "", body, strlen(body)),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_sha1_only_is_refused)
{
    /* HMAC-SHA1 of the same vector, as GitHub's legacy X-Hub-Signature would be. */
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret,
                                        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", body,
                                        strlen(body)),
                     SW_EINVALID);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "sha1"));
}
END_TEST

START_TEST(test_non_hex_and_wrong_length)
{
    char sig[sizeof(vector)];
    memcpy(sig, vector, sizeof(vector));
    sig[10] = 'g';
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, sig, body, strlen(body)),
                     SW_EINVALID);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "hex"));
    memcpy(sig, vector, sizeof(vector));
    sig[sizeof(vector) - 2] = '\0'; /* 63 digits */
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, sig, body, strlen(body)),
                     SW_EINVALID);
    char longer[sizeof(vector) + 2];
    memcpy(longer, vector, sizeof(vector) - 1);
    memcpy(longer + sizeof(vector) - 1, "00", 3); /* 66 digits */
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, longer, body, strlen(body)),
                     SW_EINVALID);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, "sha256=", body, strlen(body)),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_uppercase_hex_is_the_same_signature)
{
    char sig[sizeof(vector)];
    memcpy(sig, vector, sizeof(vector));
    for (char *p = sig + 7; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, secret, sig, body, strlen(body)), 0);
}
END_TEST

START_TEST(test_gitea_is_bare_hex)
{
    ck_assert_str_eq(sw_signature_header(SW_FORGE_GITEA), "X-Gitea-Signature");
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITEA, secret, vector + 7, body, strlen(body)),
                     0);
    /* the prefixed form is not Gitea's */
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITEA, secret, vector, body, strlen(body)),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_bitbucket_is_prefixed)
{
    ck_assert_str_eq(sw_signature_header(SW_FORGE_BITBUCKET), "X-Hub-Signature");
    ck_assert_int_eq(sw_signature_check(SW_FORGE_BITBUCKET, secret, vector, body, strlen(body)),
                     0);
    ck_assert_int_eq(
        sw_signature_check(SW_FORGE_BITBUCKET_SERVER, secret, vector, body, strlen(body)), 0);
    ck_assert_int_eq(
        sw_signature_check(SW_FORGE_BITBUCKET, secret, vector + 7, body, strlen(body)),
        SW_EINVALID);
}
END_TEST

START_TEST(test_gitlab_token_is_the_secret)
{
    ck_assert_str_eq(sw_signature_header(SW_FORGE_GITLAB), "X-Gitlab-Token");
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITLAB, "s3cret", "s3cret", body, 3), 0);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITLAB, "s3cret", "s3cre", body, 3),
                     SW_EINVALID);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITLAB, "s3cret", "s3cret ", body, 3),
                     SW_EINVALID);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITLAB, "s3cret", "S3cret", body, 3),
                     SW_EINVALID);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITLAB, "s3cret", NULL, body, 3), SW_EINVALID);
}
END_TEST

START_TEST(test_empty_body_and_no_secret)
{
    char sig[72];
    sw_signature_make(sig, "k", "", 0, 1);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, "k", sig, "", 0), 0);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, "", sig, "", 0), SW_EINVALID);
    ck_assert_int_eq(sw_signature_check(SW_FORGE_GITHUB, NULL, sig, "", 0), SW_EINVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("signature");
    TCase *tc = tcase_create("signature");
    tcase_add_test(tc, test_github_published_vector_is_accepted);
    tcase_add_test(tc, test_make_gives_the_vector);
    tcase_add_test(tc, test_one_byte_changed_in_the_body);
    tcase_add_test(tc, test_one_digit_changed_in_the_signature);
    tcase_add_test(tc, test_wrong_secret);
    tcase_add_test(tc, test_missing_header);
    tcase_add_test(tc, test_sha1_only_is_refused);
    tcase_add_test(tc, test_non_hex_and_wrong_length);
    tcase_add_test(tc, test_uppercase_hex_is_the_same_signature);
    tcase_add_test(tc, test_gitea_is_bare_hex);
    tcase_add_test(tc, test_bitbucket_is_prefixed);
    tcase_add_test(tc, test_gitlab_token_is_the_secret);
    tcase_add_test(tc, test_empty_body_and_no_secret);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
