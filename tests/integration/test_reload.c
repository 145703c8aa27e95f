/*
 * test_reload.c - SIGHUP reloads slipway.yaml without a restart.
 *
 * A new project builds after the reload (and was refused before); a tier's
 * new memory limit is in the next build's job; a file with a YAML error or an
 * unknown tier is refused with file:line:col and the old projects go on
 * building; a build running across two reloads keeps the config it started
 * with (its second step still sees the old secret), attempt 1, one STARTED;
 * a new webhook secret is the one accepted; SIGUSR2 is logged and ignored.
 * Results are checked in EVENTS itself (a witness of the test's own), not
 * only through Slipway's view.
 */
#include "harness.h"
#include "witness.h"

#include "actors/webhook/signature.h"
#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include "support.h"

#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE "steps:\n  - name: hello\n    run: echo hello\n"
#define NEWP_PIPELINE "steps:\n  - name: hello\n    run: echo hello from newp\n"
#define RELOAD_MS 30000
#define BUILD_MS 90000

/* --- what EVENTS holds, read by sequence ------------------------------------- */

typedef struct events_seen {
    int started, finished;
    uint32_t finished_attempt;
    uint64_t job_memory; /* the CREATED event's job limits */
} events_seen;

static void tally(const Slipway__BuildEvent *ev, void *ud)
{
    events_seen *seen = ud;
    if (ev->kind == SLIPWAY__EVENT_KIND__STARTED) {
        seen->started++;
    } else if (ev->kind == SLIPWAY__EVENT_KIND__FINISHED) {
        seen->finished++;
        seen->finished_attempt = ev->attempt;
    } else if (ev->kind == SLIPWAY__EVENT_KIND__CREATED && ev->job != NULL &&
               ev->job->limits != NULL) {
        seen->job_memory = ev->job->limits->memory_bytes;
    }
}

static events_seen events_of(sw_harness *h, const char *build)
{
    events_seen seen = {0};
    sw_witness_each_event(h, build, tally, &seen);
    return seen;
}

/* Builds project once and checks, in EVENTS, that it succeeded once, at attempt 1. */
static char *build_ok(sw_harness *h, sw_witness *w, const char *project)
{
    char *id = sw_harness_submit(h, project, NULL);
    char *state = sw_harness_await_final(h, id, BUILD_MS);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s of %s: %s", id, project, state);
    free(state);
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);
    ck_assert_uint_eq(sw_witness_finished_attempt(w, id), 1);
    return id;
}

/* `slipway projects`' table (owned); fails the test unless it exits 0. */
static char *projects(sw_harness *h)
{
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "projects", NULL);
    ck_assert_msg(res.status == 0, "slipway projects exited %d: %s", res.status, res.err);
    char *out = sw_strdup(res.out);
    sw_harness_result_finish(&res);
    return out;
}

/* Whether the table has a row for project (its first column). */
static bool lists(const char *table, const char *project)
{
    size_t n = strlen(project);
    for (const char *line = table; line != NULL && *line; line = strchr(line, '\n')) {
        line += *line == '\n';
        if (strncmp(line, project, n) == 0 && line[n] == ' ') {
            return true;
        }
    }
    return false;
}

/* Sends SIGHUP and returns the log line that ends the reload (owned): the
 * summary, or the refusal of a file that does not load. */
static char *reload(sw_harness *h, bool good)
{
    size_t from = sw_harness_log_size(h);
    sw_harness_signal_slipwayd(h, SIGHUP);
    free(sw_harness_await_log(h, from, "SIGHUP: reloading ", RELOAD_MS));
    return sw_harness_await_log(h, from, good ? "reloaded " : "not reloaded", RELOAD_MS);
}

static char *config_path(sw_harness *h)
{
    return sw_asprintf("%s/slipway.yaml", sw_harness_dir(h));
}

/* The 1-based line of the first `what` in text. */
static int line_of(const char *text, const char *what)
{
    const char *at = strstr(text, what);
    int line = 1;
    ck_assert_ptr_nonnull(at);
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    return line;
}

/* --- tests -------------------------------------------------------------------- */

START_TEST(test_sighup_adds_a_project_and_a_tier_limit)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    char *table = projects(h);
    ck_assert_msg(lists(table, "app") && !lists(table, "newp"), "%s", table);
    ck_assert_msg(strstr(table, "github") != NULL, "no forge in:\n%s", table);
    free(table);
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "submit", "--project", "newp", NULL);
    ck_assert_msg(res.status == 6, "submit of an unknown project exited %d", res.status);
    sw_harness_result_finish(&res);
    char *before = build_ok(h, w, "app");
    ck_assert_uint_eq(events_of(h, before).job_memory, 256ull << 20);

    /* a new project, the tier's memory lowered, and a setting read only at start */
    sw_harness_repo_pipeline(h, "newp", NEWP_PIPELINE);
    sw_harness_options opts = {.tier_memory = "192M", .heartbeat_interval = "500ms"};
    sw_harness_write_config(h, &opts);
    size_t from = sw_harness_log_size(h);
    char *line = reload(h, true);
    ck_assert_msg(strstr(line, "2 projects (+newp)") != NULL && strstr(line, "tier (~free)"),
                  "%s", line);
    free(line);
    free(sw_harness_await_log(
        h, from, "timeouts.heartbeat_interval changed: takes effect at the next restart", 1000));

    table = projects(h);
    ck_assert_msg(lists(table, "app") && lists(table, "newp"), "%s", table);
    free(table);
    char *after = build_ok(h, w, "newp");
    ck_assert_uint_eq(events_of(h, after).job_memory, 192ull << 20);
    sw_harness_result logs;
    sw_harness_cli(h, &logs, 30000, "logs", after, NULL);
    ck_assert_msg(strstr(logs.out, "hello from newp") != NULL, "%s", logs.out);
    sw_harness_result_finish(&logs);

    free(before);
    free(after);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_a_bad_file_is_refused_and_the_old_one_serves)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *path = config_path(h);

    /* the next file would add a project, but each version has a mistake */
    sw_harness_repo_pipeline(h, "other", PIPELINE);
    sw_harness_write_config(h, NULL);
    char *good = sw_test_read_file(path, NULL);

    /* a YAML syntax error: an unclosed flow sequence at the end */
    char *broken = sw_asprintf("%sextra: [1, 2\n", good);
    sw_test_write_file(path, broken);
    char *line = reload(h, false);
    char *prefix = sw_asprintf("%s:", path);
    const char *at = strstr(line, prefix);
    int l = 0, c = 0;
    ck_assert_msg(at != NULL && sscanf(at + strlen(prefix), "%d:%d:", &l, &c) == 2 && l > 0 &&
                      c > 0,
                  "no %s<line>:<col> in: %s", path, line);
    ck_assert_msg(strstr(line, "the running configuration stays") != NULL, "%s", line);
    free(line);

    /* a semantic error: the tenant names a tier that does not exist */
    const char *tier = strstr(good, "    tier: free\n"); /* the tenant's: tiers come first */
    char *unknown = sw_asprintf("%.*s    tier: gold\n%s", (int)(tier - good), good,
                                tier + strlen("    tier: free\n"));
    sw_test_write_file(path, unknown);
    line = reload(h, false);
    char *where = sw_asprintf("%s:%d:11: no tier named 'gold'", path, line_of(unknown, "tier: gold"));
    ck_assert_msg(strstr(line, where) != NULL, "no '%s' in: %s", where, line);
    free(line);

    char *table = projects(h);
    ck_assert_msg(lists(table, "app") && !lists(table, "other"), "%s", table);
    free(table);
    free(build_ok(h, w, "app"));

    /* and the good file still loads */
    sw_test_write_file(path, good);
    line = reload(h, true);
    ck_assert_msg(strstr(line, "(+other)") != NULL, "%s", line);
    free(line);
    free(build_ok(h, w, "other"));

    free(where);
    free(unknown);
    free(prefix);
    free(broken);
    free(good);
    free(path);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

#define OLD_SECRET "old-token-1" /* 11 characters */
#define NEW_SECRET "a-much-longer-new-token-22"

/* Step one runs ~5 s, while the test reloads twice; step two, which starts
 * after both reloads, shows which secret it was given. */
#define SLOW_PIPELINE                                                                             \
    "steps:\n"                                                                                    \
    "  - name: slow\n"                                                                            \
    "    run: echo slow step begins; sleep 5; echo slow step ends\n"                              \
    "  - name: show\n"                                                                            \
    "    run: echo \"token=$DEPLOY_TOKEN length=${#DEPLOY_TOKEN}\"\n"

START_TEST(test_a_running_build_keeps_its_config)
{
    sw_harness_options opts = {.secret = OLD_SECRET};
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "app", SLOW_PIPELINE);
    sw_harness_start(h, NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *path = config_path(h);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(follow, "slow step begins", BUILD_MS),
                  "the slow step did not begin:\n%s", sw_harness_proc_output(follow));

    /* while it runs: a good reload that changes the project's secret, then a bad one */
    opts.secret = NEW_SECRET;
    sw_harness_write_config(h, &opts);
    char *line = reload(h, true);
    ck_assert_msg(strstr(line, "(~app)") != NULL, "%s", line);
    free(line);
    char *good = sw_test_read_file(path, NULL);
    char *bad = sw_asprintf("%sextra: [\n", good);
    sw_test_write_file(path, bad);
    free(reload(h, false));
    ck_assert_msg(strstr(sw_harness_proc_output(follow), "slow step ends") == NULL,
                  "the step ended before both reloads were done; make it slower:\n%s",
                  sw_harness_proc_output(follow));

    sw_harness_result res;
    sw_harness_proc_finish(&follow, &res, BUILD_MS);
    ck_assert_msg(res.status == 0, "logs -f exited %d:\n%s", res.status, res.out);
    /* the old secret, masked, of the old length: the config the build started with */
    ck_assert_msg(strstr(res.out, "token=*** length=11") != NULL, "%s", res.out);
    ck_assert_msg(strstr(res.out, NEW_SECRET) == NULL, "%s", res.out);
    sw_harness_result_finish(&res);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    ck_assert_str_eq(attempt, "1");
    free(attempt);
    events_seen seen = events_of(h, id);
    ck_assert_int_eq(seen.started, 1);
    ck_assert_int_eq(seen.finished, 1);
    ck_assert_uint_eq(seen.finished_attempt, 1);
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);

    /* the next build has the new secret */
    char *next = build_ok(h, w, "app");
    sw_harness_cli(h, &res, 30000, "logs", next, NULL);
    ck_assert_msg(strstr(res.out, "token=*** length=26") != NULL, "%s", res.out);
    sw_harness_result_finish(&res);

    free(next);
    free(bad);
    free(good);
    free(id);
    free(path);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* --- webhooks ----------------------------------------------------------------- */

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* POSTs a GitHub push of project's main signed with secret; returns the status. */
static long push(sw_harness *h, const char *project, const char *secret, const char *delivery)
{
    char *sha = sw_harness_repo_sha(h, project, "main");
    char *body = sw_asprintf("{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\","
                             "\"created\":false,\"deleted\":false,"
                             "\"repository\":{\"full_name\":\"demo/%s\"},"
                             "\"pusher\":{\"name\":\"tester\"},"
                             "\"head_commit\":{\"id\":\"%s\",\"message\":\"m\","
                             "\"author\":{\"name\":\"T\"}}}",
                             0, sha, project, sha);
    char sig[72];
    sw_signature_make(sig, secret, body, strlen(body), 1);
    char *url = sw_asprintf("%s/hooks/github/%s", sw_harness_webhook_url(h), project);
    char *h_sig = sw_asprintf("X-Hub-Signature-256: %s", sig);
    char *h_delivery = sw_asprintf("X-GitHub-Delivery: %s", delivery);
    struct curl_slist *hs = NULL;
    hs = curl_slist_append(hs, "Content-Type: application/json");
    hs = curl_slist_append(hs, "X-GitHub-Event: push");
    hs = curl_slist_append(hs, h_sig);
    hs = curl_slist_append(hs, h_delivery);
    hs = curl_slist_append(hs, "Expect:");
    CURL *c = curl_easy_init();
    long status = 0;
    ck_assert_ptr_nonnull(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "POST %s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    free(h_delivery);
    free(h_sig);
    free(url);
    free(body);
    free(sha);
    return status;
}

START_TEST(test_a_new_webhook_secret_takes_effect)
{
    static const char new_secret[] = "the webhook's new secret";
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);

    ck_assert_int_eq(push(h, "app", new_secret, "d-before-new"), 401);
    ck_assert_int_eq(push(h, "app", SW_HARNESS_SECRET, "d-before-old"), 202);

    sw_harness_options opts = {.webhook_secret = new_secret};
    sw_harness_write_config(h, &opts);
    char *line = reload(h, true);
    ck_assert_msg(strstr(line, "(~app)") != NULL, "%s", line);
    free(line);

    ck_assert_int_eq(push(h, "app", SW_HARNESS_SECRET, "d-after-old"), 401);
    ck_assert_int_eq(push(h, "app", new_secret, "d-after-new"), 202);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_sigusr2_is_ignored)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);

    size_t from = sw_harness_log_size(h);
    sw_harness_signal_slipwayd(h, SIGUSR2);
    free(sw_harness_await_log(h, from, "SIGUSR2: ignored", RELOAD_MS));
    ck_assert_int_eq(kill(sw_harness_slipwayd_pid(h), 0), 0);
    char *table = projects(h);
    ck_assert_msg(lists(table, "app"), "%s", table);
    free(table);
    sw_harness_destroy(&h); /* fails the test unless SIGTERM stops it cleanly (exit 0) */
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("reload");
    TCase *tc = tcase_create("reload");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sighup_adds_a_project_and_a_tier_limit);
    tcase_add_test(tc, test_a_bad_file_is_refused_and_the_old_one_serves);
    tcase_add_test(tc, test_a_running_build_keeps_its_config);
    tcase_add_test(tc, test_a_new_webhook_secret_takes_effect);
    tcase_add_test(tc, test_sigusr2_is_ignored);
    suite_add_tcase(s, tc);
    int failed = sw_test_run(s);
    curl_global_cleanup();
    return failed;
}
