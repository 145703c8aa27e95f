/*
 * test_secretref.c - secrets given as file: and env: references, in
 * slipway.yaml and on their own, and the start-up warning for a readable
 * config that holds secrets inline.
 */
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/secretref.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static void setup(void)
{
    dir = sw_test_tmpdir("secretref");
}

static void teardown(void)
{
    sw_test_rmtree(dir);
    free(dir);
    unsetenv("SW_TEST_SECRET");
}

/* A file in dir holding text; returns its path (owned). */
static char *file_with(const char *name, const char *text)
{
    char *path = sw_asprintf("%s/%s", dir, name);
    sw_test_write_file(path, text);
    return path;
}

START_TEST(test_inline_value_is_itself)
{
    char *v = NULL;
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", "s3cret value\n"), 0);
    ck_assert_str_eq(v, "s3cret value\n");
    ck_assert(!sw_secretref_is_ref("s3cret"));
    ck_assert(!sw_secretref_is_ref("files:/x"));
    ck_assert(sw_secretref_is_ref("file:/x"));
    ck_assert(sw_secretref_is_ref("env:X"));
    free(v);
}
END_TEST

START_TEST(test_file_reference_strips_one_trailing_newline)
{
    char *one = file_with("one", "hunter2hunter2\n");
    char *two = file_with("two", "line1\nline2\n\n");
    char *crlf = file_with("crlf", "abcd\r\n");
    char *ref = sw_asprintf("file:%s", one), *v = NULL;

    ck_assert_int_eq(sw_secretref_resolve(&v, "k", ref), 0);
    ck_assert_str_eq(v, "hunter2hunter2");
    free(v);
    free(ref);
    ref = sw_asprintf("file:%s", two);
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", ref), 0);
    ck_assert_str_eq(v, "line1\nline2\n");
    free(v);
    free(ref);
    ref = sw_asprintf("file:%s", crlf);
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", ref), 0);
    ck_assert_str_eq(v, "abcd");
    free(v);
    free(ref);
    free(one);
    free(two);
    free(crlf);
}
END_TEST

START_TEST(test_unreadable_file_names_the_key_and_the_path)
{
    char *missing = sw_asprintf("file:%s/nope", dir), *v = NULL;
    ck_assert_int_eq(sw_secretref_resolve(&v, "forge.token", missing), SW_EIO);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "forge.token"));
    ck_assert_ptr_nonnull(strstr(sw_error_last(), missing));
    ck_assert_int_eq(sw_secretref_resolve(&v, "forge.token", "file:relative/path"), SW_EINVALID);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "absolute"));
    ck_assert_int_eq(sw_secretref_resolve(&v, "forge.token", "file:"), SW_EINVALID);
    free(missing);
}
END_TEST

START_TEST(test_env_reference)
{
    char *v = NULL;
    setenv("SW_TEST_SECRET", "from the environment", 1);
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", "env:SW_TEST_SECRET"), 0);
    ck_assert_str_eq(v, "from the environment");
    free(v);
    v = NULL;
    unsetenv("SW_TEST_SECRET");
    ck_assert_int_eq(sw_secretref_resolve(&v, "git_token", "env:SW_TEST_SECRET"), SW_EINVALID);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "git_token"));
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "SW_TEST_SECRET"));
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", "env:1BAD"), SW_EINVALID);
    ck_assert_int_eq(sw_secretref_resolve(&v, "k", "env:"), SW_EINVALID);
}
END_TEST

/* --- in slipway.yaml ------------------------------------------------------ */

/* A config whose demo project's secrets are the four values given. */
static char *config_text(const char *webhook_secret, const char *token, const char *git_token,
                         const char *deploy)
{
    return sw_asprintf("data_dir: /tmp/sw\n"
                       "tiers:\n  - name: free\n"
                       "tenants:\n  - name: demo\n    tier: free\n"
                       "projects:\n"
                       "  - name: demo\n"
                       "    tenant: demo\n"
                       "    repository: https://example.com/demo.git\n"
                       "    git_token: \"%s\"\n"
                       "    forge:\n"
                       "      type: github\n"
                       "      repo: acme/demo\n"
                       "      secret: \"%s\"\n"
                       "      token: \"%s\"\n"
                       "    secrets:\n"
                       "      DEPLOY_TOKEN: \"%s\"\n"
                       "clusters:\n  - name: c\n    tier: free\n",
                       git_token, webhook_secret, token, deploy);
}

START_TEST(test_config_resolves_references)
{
    char *hook = file_with("hook", "webhook-secret\n");
    char *deploy = file_with("deploy", "deploy-secret\n");
    char *hook_ref = sw_asprintf("file:%s", hook), *deploy_ref = sw_asprintf("file:%s", deploy);
    setenv("SW_TEST_SECRET", "api-token", 1);
    char *text = config_text(hook_ref, "env:SW_TEST_SECRET", "inline-git-token", deploy_ref);
    sw_config *cfg = NULL;

    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), "t.yaml") == 0, "%s",
                  sw_error_last());
    const sw_project *p = sw_config_project(cfg, "demo");
    ck_assert_str_eq(p->forge.secret, "webhook-secret");
    ck_assert_str_eq(p->forge.token, "api-token");
    ck_assert_str_eq(p->git_token, "inline-git-token");
    ck_assert_str_eq(p->secrets[0].value, "deploy-secret");
    /* the one inline secret is listed for the warning */
    ck_assert_str_eq(cfg->inline_secrets, "projects[demo].git_token");
    sw_config_destroy(&cfg);
    free(text);
    free(hook_ref);
    free(deploy_ref);
    free(hook);
    free(deploy);
}
END_TEST

START_TEST(test_config_reference_errors_are_positioned)
{
    char *text = config_text("env:SW_TEST_SECRET", "x", "x", "abcd");
    sw_config *cfg = NULL;
    ck_assert_int_eq(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), SW_EINVALID);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(sw_error_last(), "t.yaml:15:") != NULL, "%s", sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), "forge.secret") != NULL, "%s", sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), "SW_TEST_SECRET") != NULL, "%s", sw_error_last());
    free(text);

    /* a referenced secret is checked like an inline one: too short */
    char *shortf = file_with("short", "abc\n"), *ref = sw_asprintf("file:%s", shortf);
    text = config_text("x", "x", "x", ref);
    ck_assert_int_eq(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "at least 4") != NULL, "%s", sw_error_last());
    free(text);
    free(ref);
    free(shortf);
}
END_TEST

/* Loads text written to a file of the given mode; returns the warning. */
static char *warning_for(const char *text, mode_t mode)
{
    char *path = sw_asprintf("%s/slipway.yaml", dir);
    sw_config *cfg = NULL;
    sw_test_write_file(path, text);
    ck_assert_int_eq(chmod(path, mode), 0);
    ck_assert_msg(sw_config_load(&cfg, path) == 0, "%s", sw_error_last());
    char *w = sw_config_exposure_warning(cfg);
    sw_config_destroy(&cfg);
    free(path);
    return w;
}

START_TEST(test_readable_config_with_inline_secrets_warns)
{
    char *text = config_text("hook-secret", "api-token", "env:HOME", "deploy-secret");
    char *w = warning_for(text, 0644);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(strstr(w, "projects[demo].forge.secret, projects[demo].forge.token, "
                            "projects[demo].secrets.DEPLOY_TOKEN") != NULL,
                  "%s", w);
    ck_assert_msg(strstr(w, "git_token") == NULL, "%s", w); /* a reference */
    ck_assert_msg(strstr(w, "chmod 600") != NULL && strstr(w, "0644") != NULL, "%s", w);
    ck_assert_msg(strstr(w, "everyone") != NULL, "%s", w);
    free(w);
    w = warning_for(text, 0640);
    ck_assert_msg(w != NULL && strstr(w, "its group") != NULL, "%s", w ? w : "(none)");
    free(w);
    /* only its owner may read it: nothing to say */
    ck_assert_ptr_null(warning_for(text, 0600));
    free(text);
}
END_TEST

START_TEST(test_readable_config_with_only_references_is_quiet)
{
    char *f = file_with("s", "a-secret-value\n"), *ref = sw_asprintf("file:%s", f);
    char *text = config_text(ref, ref, ref, ref);
    ck_assert_ptr_null(warning_for(text, 0644));
    free(text);
    /* and one without any secret at all */
    ck_assert_ptr_null(warning_for("data_dir: /tmp/sw\ntiers:\n  - name: free\n"
                                   "tenants:\n  - name: demo\n    tier: free\n"
                                   "clusters:\n  - name: c\n    tier: free\n",
                                   0644));
    free(ref);
    free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secretref");
    TCase *tc = tcase_create("refs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_inline_value_is_itself);
    tcase_add_test(tc, test_file_reference_strips_one_trailing_newline);
    tcase_add_test(tc, test_unreadable_file_names_the_key_and_the_path);
    tcase_add_test(tc, test_env_reference);
    tcase_add_test(tc, test_config_resolves_references);
    tcase_add_test(tc, test_config_reference_errors_are_positioned);
    tcase_add_test(tc, test_readable_config_with_inline_secrets_warns);
    tcase_add_test(tc, test_readable_config_with_only_references_is_quiet);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
