/*
 * test_routing.c - builds go where their sources are, end to end.
 *
 * Tier free has two clusters: local-free in region local (the default
 * region; the config's regions: puts the Aliyun mirrors there) and far-free
 * in region overseas, one builder each. Project app fetches from docker.io,
 * pypi.org and registry.npmjs.org (its .slipway.yml image, requirements.txt
 * and .npmrc). Its first build goes to the default region, its second to
 * overseas with the reason on PLACED; when its sources move to the mirrors it
 * comes back after enough builds (half-life 3: the third build after the
 * change, worked out in test_route.c's way). Project fixed, with the same
 * sources and region: local, never moves. The PLACED events are read from
 * EVENTS by the witness, not from Slipway's records only.
 *
 * A restart: the dispatcher runs in a slipwayd of its own; SIGKILLed and
 * started again it keeps what it learned, and with its store deleted it
 * learns it again from EVENTS.
 */
#include "harness.h"
#include "witness.h"

#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include "support.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPELINE_OVERSEAS "image: python:3.12\nsteps:\n  - name: test\n    run: echo testing\n"
#define PIPELINE_LOCAL                                                                           \
    "image: registry.cn-hangzhou.aliyuncs.com/library/python:3.12\nsteps:\n  - name: test\n"     \
    "    run: echo testing\n"

static const sw_harness_file overseas_files[] = {
    {".slipway.yml", PIPELINE_OVERSEAS},
    {"requirements.txt", "--index-url https://pypi.org/simple\nflask==3.0.0\n"},
    {".npmrc", "registry=https://registry.npmjs.org/\n"},
    {NULL, NULL},
};

static const sw_harness_file local_files[] = {
    {".slipway.yml", PIPELINE_LOCAL},
    {"requirements.txt", "-i https://mirrors.aliyun.com/pypi/simple\nflask==3.0.0\n"},
    {".npmrc", "registry=https://registry.npmmirror.com/\n"},
    {NULL, NULL},
};

static sw_harness_options two_regions(void)
{
    sw_harness_options o = {
        .builders = 1,
        .yaml_extra = "default_region: local\n"
                      "regions:\n"
                      "  local: [\"*.aliyuncs.com\", \"*.aliyun.com\", \"*.npmmirror.com\"]\n",
        .clusters_extra = "  - name: far-free\n"
                          "    tier: free\n"
                          "    region: overseas\n",
        .builders_extra = "  - name: builder-far\n"
                          "    cluster: far-free\n"
                          "    slots: 2\n",
    };
    return o;
}

typedef struct placed {
    int n;
    char cluster[64], region[64], reason[512];
} placed;

static void on_event(const Slipway__BuildEvent *ev, void *ud)
{
    placed *p = ud;
    if (ev->kind == SLIPWAY__EVENT_KIND__PLACED) {
        p->n++;
        snprintf(p->cluster, sizeof(p->cluster), "%s", ev->cluster);
        snprintf(p->region, sizeof(p->region), "%s", ev->region);
        snprintf(p->reason, sizeof(p->reason), "%s", ev->reason);
    }
}

/* The build's PLACED event as EVENTS holds it (exactly one, else the test fails). */
static placed placed_of(sw_harness *h, const char *build)
{
    placed p = {0};
    sw_witness_each_event(h, build, on_event, &p);
    ck_assert_msg(p.n == 1, "build %s has %d PLACED events in EVENTS", build, p.n);
    return p;
}

/* Waits (bounded) until the file at path holds needle. */
static void await_file(const char *path, const char *needle, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        char *text = sw_test_read_file(path, NULL);
        bool found = text != NULL && strstr(text, needle) != NULL;
        if (found || sw_harness_now_ms() >= deadline) {
            ck_assert_msg(found, "%s did not show \"%s\" within %d ms; it ends:\n%s", path,
                          needle, timeout_ms,
                          text == NULL ? "(no file)"
                                       : text + (strlen(text) > 3000 ? strlen(text) - 3000 : 0));
            free(text);
            return;
        }
        free(text);
        usleep(50 * 1000);
    }
}

/* Submits a build of project, waits for its end and for the dispatcher
 * (whose log is at log, or the first slipwayd's when NULL) to have learned it;
 * returns its id. */
static char *build_and_learn(sw_harness *h, const char *project, const char *log)
{
    char *id = sw_harness_submit(h, project, NULL);
    char *state = sw_harness_await_final(h, id, 60000);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s: %s", id, state);
    free(state);
    char *needle = sw_asprintf("learned the sources of build %s", id);
    if (log == NULL) {
        free(sw_harness_await_log(h, 0, needle, 10000));
    } else {
        await_file(log, needle, 10000);
    }
    free(needle);
    return id;
}

static void expect_placed(sw_harness *h, const char *build, const char *cluster,
                          const char *reason_has)
{
    placed p = placed_of(h, build);
    ck_assert_msg(strcmp(p.cluster, cluster) == 0, "build %s went to %s, not %s: %s", build,
                  p.cluster, cluster, p.reason);
    ck_assert_msg(strstr(p.reason, reason_has) != NULL, "build %s: reason \"%s\" lacks \"%s\"",
                  build, p.reason, reason_has);
    /* and `slipway show` says the same */
    char *shown = sw_harness_show_field(h, build, "placement", NULL);
    ck_assert_msg(shown != NULL && strcmp(shown, p.reason) == 0, "show says \"%s\", PLACED \"%s\"",
                  shown ? shown : "(none)", p.reason);
    free(shown);
}

START_TEST(test_builds_go_where_their_sources_are)
{
    sw_harness_options o = two_regions();
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_branch(h, "app", "main", overseas_files);
    sw_harness_repo_region(h, "app", NULL);
    sw_harness_repo_branch(h, "fixed", "main", overseas_files);
    sw_harness_start(h, NULL);

    /* the first build: nothing known, the default region */
    char *b1 = build_and_learn(h, "app", NULL);
    expect_placed(h, b1, "local-free", "region local: the default region (no build of app");
    /* its record lists what it fetches, with where each is named */
    sw_harness_result res;
    sw_harness_cli(h, &res, 10000, "show", b1, NULL);
    ck_assert_msg(res.status == 0, "%s", res.err);
    ck_assert_msg(strstr(res.out, "sources: 3\n") != NULL, "%s", res.out);
    static const char *const lines[] = {"docker.io", "python:3.12", ".slipway.yml:1",
                                        "pypi.org", "requirements.txt:1", "registry.npmjs.org",
                                        ".npmrc:1"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        ck_assert_msg(strstr(res.out, lines[i]) != NULL, "show lacks %s:\n%s", lines[i], res.out);
    }
    sw_harness_result_finish(&res);

    /* the second: overseas, and why */
    char *b2 = build_and_learn(h, "app", NULL);
    expect_placed(h, b2, "far-free",
                  "region overseas: 3 of 3 sources (docker.io ×1, pypi.org ×1, "
                  "registry.npmjs.org ×1) over 1 build");
    char *builder = sw_harness_show_field(h, b2, "builder", NULL);
    ck_assert_str_eq(builder, "builder-far");
    free(builder);

    /* a pinned project with the same sources stays */
    char *f1 = build_and_learn(h, "fixed", NULL);
    char *f2 = build_and_learn(h, "fixed", NULL);
    expect_placed(h, f1, "local-free", "region local: set by project fixed's region:");
    expect_placed(h, f2, "local-free", "region local: set by project fixed's region:");

    /* the sources move to the mirrors: two more builds overseas (3k+3 = 5.4
     * against 3, then 4.3 against 5.4 after one), then back */
    sw_harness_repo_branch(h, "app", "main", local_files);
    char *b3 = build_and_learn(h, "app", NULL);
    expect_placed(h, b3, "far-free", "region overseas: 5.4 of 5.4 sources");
    char *b4 = build_and_learn(h, "app", NULL);
    expect_placed(h, b4, "far-free", "region overseas: 4.3 of 7.3 sources");
    char *b5 = build_and_learn(h, "app", NULL);
    expect_placed(h, b5, "local-free", "region local: 5.4 of 8.8 sources");

    free(b1);
    free(b2);
    free(b3);
    free(b4);
    free(b5);
    free(f1);
    free(f2);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_a_restarted_dispatcher_keeps_what_it_learned)
{
    sw_harness_options o = two_regions();
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_branch(h, "app", "main", overseas_files);
    sw_harness_repo_region(h, "app", NULL);
    sw_harness_start(h, "scheduler", "logsink", "builder", NULL);
    int d = sw_harness_start_more(h, "dispatcher", "dispatcher", NULL);
    char *log = sw_asprintf("%s/dispatcher.log", sw_harness_dir(h));

    char *b1 = build_and_learn(h, "app", log);
    expect_placed(h, b1, "local-free", "the default region");

    /* SIGKILL and at once again, as a supervisor would: the store is there */
    sw_harness_restart_more(h, d);
    char *log1 = sw_asprintf("%s/dispatcher.1.log", sw_harness_dir(h));
    await_file(log1, "routes at ", 10000);
    char *text = sw_test_read_file(log1, NULL);
    ck_assert_msg(text != NULL && strstr(text, "learned up to event #0\n") == NULL,
                  "the restarted dispatcher forgot: %s", text ? text : "(no log)");
    free(text);
    char *b2 = build_and_learn(h, "app", log1);
    expect_placed(h, b2, "far-free", "region overseas: 3 of 3 sources");

    /* its store gone: it learns both builds again from EVENTS */
    sw_harness_kill(h, d);
    char *store = sw_asprintf("%s/data/dispatcher-free", sw_harness_dir(h));
    sw_test_rmtree(store);
    sw_harness_start_more(h, "dispatcher-again", "dispatcher", NULL);
    char *log2 = sw_asprintf("%s/dispatcher-again.log", sw_harness_dir(h));
    await_file(log2, "learned up to event #0\n", 10000);
    char *needle = sw_asprintf("learned the sources of build %s", b2);
    await_file(log2, needle, 10000);
    char *b3 = build_and_learn(h, "app", log2);
    expect_placed(h, b3, "far-free", "over 2 builds");

    free(needle);
    free(store);
    free(log2);
    free(log1);
    free(log);
    free(b1);
    free(b2);
    free(b3);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("routing");
    TCase *tc = tcase_create("routing");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_builds_go_where_their_sources_are);
    tcase_add_test(tc, test_a_restarted_dispatcher_keeps_what_it_learned);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
