/*
 * test_tenancy.c - tenants kept apart on a nats-server running the
 * configuration slipway-admin nats-config wrote: a tenant's credentials see
 * its own builds, logs and events and nothing of another's; the server itself
 * refuses the subjects they do not cover; each actor role is held to its own
 * subjects; wrong credentials stop an actor at start with a clear message.
 */
#include "harness.h"
#include "support.h"

#include "bus/bus.h"
#include "runtime/creds.h"
#include "runtime/core/error.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUILD_TIMEOUT_MS 60000
#define REFUSAL_WAIT_MS 5000

#define TALK(project)                                                                      \
    "steps:\n"                                                                             \
    "  - name: talk\n"                                                                     \
    "    run: |\n"                                                                         \
    "      for i in 1 2 3 4 5 6; do echo \"LINE-$i of " project "\"; sleep 0.3; done\n"
static const char *const slow_pipeline = TALK("demo");

/* text with every `from` replaced by `to` (caller frees). */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to), n = 0;
    char *out = malloc(strlen(text) * (tlen > flen ? tlen : flen) / (flen ? flen : 1) + 2 +
                       strlen(text));
    ck_assert_ptr_nonnull(out);
    for (const char *s = text; *s;) {
        if (flen > 0 && strncmp(s, from, flen) == 0) {
            memcpy(out + n, to, tlen);
            n += tlen;
            s += flen;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return out;
}

/* Two tenants, each with one project: acme owns "rocket", beta owns "boat". */
static sw_harness *two_tenants(void)
{
    sw_harness_options o = {.tenants = "acme beta"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "rocket", TALK("rocket"));
    sw_harness_repo_pipeline(h, "boat", TALK("boat"));
    sw_harness_repo_tenant(h, "rocket", "acme");
    sw_harness_repo_tenant(h, "boat", "beta");
    sw_harness_start(h, NULL);
    return h;
}

/* Runs the CLI as a tenant; the caller finishes res. */
static void as_tenant(sw_harness *h, const char *tenant, sw_harness_result *res, ...)
{
    char who[64];
    snprintf(who, sizeof(who), "tenant:%s", tenant);
    char *creds = strdup(sw_harness_creds(h, who));
    const char *argv[8] = {NULL};
    va_list ap;
    va_start(ap, res);
    for (int i = 0; i < 7; i++) {
        argv[i] = va_arg(ap, const char *);
        if (argv[i] == NULL) {
            break;
        }
    }
    va_end(ap);
    sw_harness_cli_as(h, creds, res, BUILD_TIMEOUT_MS, argv[0], argv[1], argv[2], argv[3],
                      argv[4], argv[5], NULL);
    free(creds);
}

static char *submit_as(sw_harness *h, const char *tenant, const char *project)
{
    sw_harness_result res;
    as_tenant(h, tenant, &res, "submit", "--project", project, NULL);
    ck_assert_msg(res.status == 0, "%s: submit --project %s exited %d: %s", tenant, project,
                  res.status, res.err);
    res.out[strcspn(res.out, "\n")] = '\0';
    char *id = strdup(res.out);
    sw_harness_result_finish(&res);
    return id;
}

START_TEST(test_a_tenant_sees_its_own_builds_and_nothing_of_another)
{
    sw_harness *h = two_tenants();
    char *mine = submit_as(h, "acme", "rocket");
    char *theirs = submit_as(h, "beta", "boat");
    sw_harness_result res;

    /* live follow with the tenant's credentials: every line, in order, and
     * the build's result as the exit code */
    as_tenant(h, "acme", &res, "logs", "-f", mine, NULL);
    ck_assert_msg(res.status == 0, "acme: logs -f %s exited %d\nstdout:\n%s\nstderr:\n%s", mine,
                  res.status, res.out, res.err);
    const char *at = res.out;
    for (int i = 1; i <= 6; i++) {
        char line[64];
        snprintf(line, sizeof(line), "LINE-%d of rocket", i);
        const char *next = strstr(at, line);
        ck_assert_msg(next != NULL, "acme: logs -f %s lacks '%s' (or has it out of order):\n%s",
                      mine, line, res.out);
        at = next;
    }
    sw_harness_result_finish(&res);

    char *state = sw_harness_await_final(h, theirs, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    free(state);

    /* the list: its own build only, whatever --tenant says */
    as_tenant(h, "acme", &res, "builds", "--tenant", "beta", NULL);
    ck_assert_msg(res.status == 0, "acme: builds exited %d: %s", res.status, res.err);
    ck_assert_msg(strstr(res.out, mine) != NULL, "acme's builds lack its own %s:\n%s", mine,
                  res.out);
    ck_assert_msg(strstr(res.out, theirs) == NULL, "acme's builds show beta's %s:\n%s", theirs,
                  res.out);
    sw_harness_result_finish(&res);

    /* another tenant's build answers exactly as an unknown id */
    static const char *const cmds[] = {"show", "logs", "cancel"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        sw_harness_result other, unknown;
        as_tenant(h, "acme", &other, cmds[i], theirs, NULL);
        as_tenant(h, "acme", &unknown, cmds[i], "nosuchbuild1", NULL);
        ck_assert_msg(other.status == 6, "acme: %s of beta's build exited %d (want 6): %s%s",
                      cmds[i], other.status, other.out, other.err);
        ck_assert_int_eq(other.status, unknown.status);
        ck_assert_msg(strstr(other.out, "boat") == NULL && strstr(other.err, "boat") == NULL &&
                          strstr(other.out, "LINE-") == NULL,
                      "acme: %s of beta's build shows some of it:\n%s%s", cmds[i], other.out,
                      other.err);
        char *masked = replace(other.err, theirs, "nosuchbuild1");
        ck_assert_msg(strcmp(masked, unknown.err) == 0,
                      "acme: %s answers beta's build (%s) unlike an unknown one (%s)", cmds[i],
                      other.err, unknown.err);
        free(masked);
        sw_harness_result_finish(&other);
        sw_harness_result_finish(&unknown);
    }
    /* beta's build was not cancelled by acme's try */
    state = sw_harness_await_final(h, theirs, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    free(state);

    /* nor can acme build beta's project, or see the builders */
    as_tenant(h, "acme", &res, "submit", "--project", "boat", NULL);
    ck_assert_msg(res.status == 6, "acme: submit of beta's project exited %d: %s", res.status,
                  res.err);
    sw_harness_result_finish(&res);
    as_tenant(h, "acme", &res, "builders", NULL);
    ck_assert_msg(res.status == 11, "acme: builders exited %d (want 11): %s", res.status,
                  res.err);
    sw_harness_result_finish(&res);

    /* the operator sees both */
    sw_harness_cli(h, &res, BUILD_TIMEOUT_MS, "builds", NULL);
    ck_assert_msg(res.status == 0 && strstr(res.out, mine) && strstr(res.out, theirs),
                  "the operator's builds lack one of %s, %s:\n%s", mine, theirs, res.out);
    sw_harness_result_finish(&res);
    free(mine);
    free(theirs);
    sw_harness_destroy(&h);
}
END_TEST

static sw_bus *connect_as(sw_harness *h, const char *who)
{
    sw_creds c;
    sw_bus *bus = NULL;
    ck_assert_msg(sw_creds_load(&c, sw_harness_creds(h, who)) == 0, "%s", sw_error_last());
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000,
                        .user = c.user, .password = c.password, .inbox_prefix = c.inbox};
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s cannot connect: %s", who, sw_error_last());
    sw_creds_clear(&c);
    return bus;
}

static void ignore(sw_msg *msg, void *closure)
{
    (void)closure;
    sw_msg_release(&msg);
}

/* Waits for the server's refusal of `subject` (after `before` refusals). */
static void expect_refused(sw_bus *bus, unsigned before, const char *what, const char *subject)
{
    char text[256] = "";
    long long deadline = sw_harness_now_ms() + REFUSAL_WAIT_MS;
    while (sw_harness_now_ms() < deadline) {
        sw_bus_flush(bus, 1000);
        if (sw_bus_refusals(bus, text, sizeof(text)) > before) {
            break;
        }
        usleep(20 * 1000);
    }
    ck_assert_msg(strstr(text, "Permissions Violation") != NULL && strstr(text, what) != NULL &&
                      strstr(text, subject) != NULL,
                  "the server did not refuse the %s to %s within %d ms (last refusal: '%s')",
                  what, subject, REFUSAL_WAIT_MS, text);
}

static void expect_subscribe_refused(sw_bus *bus, const char *subject)
{
    sw_sub *sub = NULL;
    unsigned before = sw_bus_refusals(bus, NULL, 0);
    ck_assert_int_eq(sw_bus_subscribe(&sub, bus, subject, NULL, ignore, NULL), 0);
    expect_refused(bus, before, "Subscription", subject);
    sw_sub_destroy(&sub);
}

static void expect_publish_refused(sw_bus *bus, const char *subject)
{
    unsigned before = sw_bus_refusals(bus, NULL, 0);
    ck_assert_int_eq(sw_bus_publish(bus, subject, "{}", 2), 0);
    expect_refused(bus, before, "Publish", subject);
}

START_TEST(test_the_server_refuses_a_tenant_what_is_not_its_own)
{
    sw_harness *h = two_tenants();
    sw_harness_expect_refusals(h);
    sw_bus *acme = connect_as(h, "tenant:acme");

    /* its own live subjects: allowed (nothing refused after a round trip) */
    sw_sub *own = NULL;
    unsigned before = sw_bus_refusals(acme, NULL, 0);
    ck_assert_int_eq(sw_bus_subscribe(&own, acme, "sw.logs.acme.>", NULL, ignore, NULL), 0);
    ck_assert_int_eq(sw_bus_flush(acme, 2000), 0);
    ck_assert_uint_eq(sw_bus_refusals(acme, NULL, 0), before);
    sw_sub_destroy(&own);

    expect_subscribe_refused(acme, "sw.logs.beta.>");
    expect_subscribe_refused(acme, "sw.events.beta.>");
    expect_subscribe_refused(acme, "sw.jobs.>");
    expect_subscribe_refused(acme, "$JS.API.>");
    /* the legacy create form carries no filter: it would read everything */
    expect_publish_refused(acme, "$JS.API.CONSUMER.CREATE.LOGS");
    expect_publish_refused(acme, "$JS.API.CONSUMER.CREATE.EVENTS");
    expect_publish_refused(acme, "sw.req.beta");
    sw_bus_destroy(&acme);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_each_role_is_held_to_its_own_subjects)
{
    sw_harness *h = two_tenants();
    sw_harness_expect_refusals(h);
    sw_bus *builder = connect_as(h, "builder");
    expect_publish_refused(builder, "sw.req.acme");
    sw_bus_destroy(&builder);

    sw_bus *gateway = connect_as(h, "gateway");
    expect_publish_refused(gateway, "$JS.API.CONSUMER.MSG.NEXT.JOBS.cluster-local-free");
    expect_subscribe_refused(gateway, "sw.jobs.>");
    sw_bus_destroy(&gateway);

    sw_bus *notifier = connect_as(h, "notifier");
    expect_publish_refused(notifier, "sw.jobs.local-free");
    sw_bus_destroy(&notifier);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_an_actor_with_wrong_credentials_does_not_start)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "demo", slow_pipeline);
    /* a copy of the builder's credentials with another password */
    char *bad = NULL;
    ck_assert_int_ge(asprintf(&bad, "%s/bad-builder.creds", sw_harness_dir(h)), 0);
    sw_creds c;
    ck_assert_int_eq(sw_creds_load(&c, sw_harness_creds(h, "builder")), 0);
    free(c.password);
    c.password = strdup("not-the-password");
    ck_assert_int_eq(sw_creds_write(&c, bad, "test: a wrong password"), 0);
    sw_creds_clear(&c);

    sw_harness_proc *p = sw_harness_spawn_slipwayd(h, "--creds", bad, "builder", NULL);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, 30000);
    ck_assert_msg(res.status == 1, "slipwayd with wrong credentials exited %d (want 1):\n%s%s",
                  res.status, res.out, res.err);
    ck_assert_msg(strstr(res.out, "refused the credentials of user 'builder'") != NULL &&
                      strstr(res.out, "--creds") != NULL,
                  "slipwayd does not say what is wrong and what to check:\n%s", res.out);
    sw_harness_result_finish(&res);

    /* and a CLI with them: its own exit code */
    sw_harness_cli_as(h, bad, &res, 30000, "builds", NULL);
    ck_assert_msg(res.status == 11 && strstr(res.err, "refused the credentials") != NULL,
                  "slipway with wrong credentials exited %d: %s", res.status, res.err);
    sw_harness_result_finish(&res);
    free(bad);
    sw_harness_destroy(&h);
}
END_TEST

static void add_case(Suite *s, const char *name, int timeout_s, const TTest *test)
{
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, timeout_s);
    tcase_add_test(t, test);
    suite_add_tcase(s, t);
}

static Suite *tenancy_suite(void)
{
    Suite *s = suite_create("tenancy");
    add_case(s, "own", 180, test_a_tenant_sees_its_own_builds_and_nothing_of_another);
    add_case(s, "server", 120, test_the_server_refuses_a_tenant_what_is_not_its_own);
    add_case(s, "roles", 120, test_each_role_is_held_to_its_own_subjects);
    add_case(s, "creds", 120, test_an_actor_with_wrong_credentials_does_not_start);
    return s;
}

int main(void)
{
    return sw_test_run(tenancy_suite());
}
