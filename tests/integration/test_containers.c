/*
 * test_containers.c - builds in containers end to end: a real nats-server, git
 * daemon, slipwayd with the docker executor, the Docker engine and the
 * registry tools/test starts ($SLIPWAY_DOCKER_SOCKET, $SLIPWAY_REGISTRY).
 */
#include "harness.h"

#include "actors/builder/exec/docker.h"
#include "actors/builder/image/image.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "busybox.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "hunter2-Zq9-very-secret"

static void collect(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    char *buf = ud;
    (void)stream, (void)line_ends;
    strncat(buf, text, len < 200 ? len : 200);
}

static sw_harness *docker_harness(sw_harness_options *o)
{
    o->executor = "docker";
    o->tier_memory = o->tier_memory ? o->tier_memory : "128M";
    return sw_harness_create(o);
}

static char *log_of(sw_harness *h, const char *build)
{
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "logs", build, NULL);
    ck_assert_msg(res.status == 0 || res.status == 1, "slipway logs: %d %s", res.status,
                  res.err);
    char *out = res.out;
    res.out = NULL;
    sw_harness_result_finish(&res);
    return out;
}

START_TEST(test_two_steps_share_the_workspace)
{
    sw_harness_options o = {0};
    sw_harness *h = docker_harness(&o);
    sw_harness_repo_pipeline(h, "app",
                             "steps:\n"
                             "  - name: make\n"
                             "    run: echo made-by-step-one > artifact.txt; uname -n\n"
                             "  - name: use\n"
                             "    run: |\n"
                             "      cat artifact.txt\n"
                             "      test -f /.dockerenv && echo in-a-container\n"
                             "      cat /sys/class/net/*/operstate | tr '\\n' ' '; echo\n");
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "app", NULL);
    char *state = sw_harness_await_final(h, id, 120000);
    char *log = log_of(h, id);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "%s: %s", state, log);
    ck_assert_ptr_nonnull(strstr(log, "made-by-step-one"));
    ck_assert_ptr_nonnull(strstr(log, "in-a-container"));
    free(log);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* What a container writes into the kept workspace (as the container's root) is gone
 * when the project's next build comes (left.txt, out, .cache, and the changed
 * .slipway.yml, written again); its own checkout is reused. */
START_TEST(test_next_build_finds_nothing_a_container_left)
{
    sw_harness_options o = {.slots = 1};
    sw_harness *h = docker_harness(&o);
    sw_harness_repo_pipeline(h, "app",
                             "steps:\n"
                             "  - name: leave\n"
                             "    run: |\n"
                             "      for f in left.txt out/deep/x .cache; do\n"
                             "        if [ -e $f ]; then echo \"LEFT $f\"; exit 1; fi\n"
                             "      done\n"
                             "      echo x > left.txt; mkdir -p out/deep .cache\n"
                             "      echo y > out/deep/x; echo z > .slipway.yml\n");
    sw_harness_start(h, NULL);
    for (int i = 0; i < 2; i++) {
        char *id = sw_harness_submit(h, "app", NULL);
        char *state = sw_harness_await_final(h, id, 120000);
        char *log = log_of(h, id);
        ck_assert_msg(strcmp(state, "succeeded") == 0, "build %d %s: %s", i + 1, state, log);
        ck_assert_msg(strstr(log, i == 0 ? "in a new workspace" : "in the kept workspace: 1 "
                                                                  "files written, 4 removed") !=
                          NULL,
                      "build %d: %s", i + 1, log);
        free(log);
        free(state);
        free(id);
    }
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_memory_limit_is_an_oom)
{
    sw_harness_options o = {.tier_memory = "64M"};
    sw_harness *h = docker_harness(&o);
    /* a shell variable that keeps doubling: memory the step really holds */
    sw_harness_repo_pipeline(h, "hog",
                             "steps:\n"
                             "  - name: hog\n"
                             "    run: |\n"
                             "      x=0123456789abcdef\n"
                             "      while true; do x=\"$x$x\"; done\n");
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "hog", NULL);
    char *state = sw_harness_await_final(h, id, 120000);
    char *reason = sw_harness_show_field(h, id, "reason", NULL);
    ck_assert_msg(strcmp(state, "failed") == 0, "%s: %s", state, reason);
    ck_assert_msg(strstr(reason, "out of memory") != NULL, "%s", reason);
    free(reason);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_step_past_its_timeout_is_timed_out)
{
    sw_harness_options o = {0};
    sw_harness *h = docker_harness(&o);
    sw_harness_repo_pipeline(h, "slow",
                             "steps:\n"
                             "  - name: wait\n"
                             "    run: echo waiting; sleep 60\n"
                             "    timeout: 2s\n");
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "slow", NULL);
    char *state = sw_harness_await_final(h, id, 60000);
    char *reason = sw_harness_show_field(h, id, "reason", NULL);
    ck_assert_msg(strcmp(state, "timed_out") == 0, "%s: %s", state, reason);
    ck_assert_msg(strstr(reason, "timed out after 2s") != NULL, "%s", reason);
    /* and its container is gone */
    sw_docker *d = NULL;
    char label[64];
    ck_assert_msg(sw_docker_open(&d, NULL) == 0, "%s", sw_error_last());
    snprintf(label, sizeof(label), "slipway.build=%s", id);
    ck_assert_int_eq(sw_docker_remove_labeled(d, label), 0);
    sw_docker_close(&d);
    free(reason);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_secret_never_in_the_log)
{
    sw_harness_options o = {.secret = SECRET};
    sw_harness *h = docker_harness(&o);
    /* whole; written in two pieces of one line; and across the 16 KiB cut of a
     * long line, so the two halves arrive in different pieces */
    sw_harness_repo_pipeline(h, "sec",
                             "steps:\n"
                             "  - name: leak\n"
                             "    run: |\n"
                             "      echo \"token: $DEPLOY_TOKEN\"\n"
                             "      head=${DEPLOY_TOKEN%????????????}\n"
                             "      printf 'split: %s' \"$head\"\n"
                             "      printf '%s\\n' \"${DEPLOY_TOKEN#$head}\"\n"
                             "      head -c 16375 /dev/zero | tr '\\0' x\n"
                             "      echo \"$DEPLOY_TOKEN\"\n"
                             "      echo done\n");
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "sec", NULL);
    char *state = sw_harness_await_final(h, id, 120000);
    char *log = log_of(h, id);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "%s", state);
    ck_assert_ptr_nonnull(strstr(log, "token: ***"));
    ck_assert_ptr_nonnull(strstr(log, "split: ***"));
    ck_assert_ptr_nonnull(strstr(log, "done"));
    /* the log as printed joins the long line's pieces with newlines: take them
     * out, so a secret cut in two would show up whole */
    char *joined = sw_strdup(log);
    char *w = joined;
    for (const char *r = log; *r; r++) {
        if (*r != '\n') {
            *w++ = *r;
        }
    }
    *w = '\0';
    ck_assert_msg(strstr(log, SECRET) == NULL, "the secret is in the log");
    ck_assert_msg(strstr(joined, SECRET) == NULL, "the secret is in the log, cut in two");
    ck_assert_msg(strstr(joined, "hunter2") == NULL, "part of the secret is in the log");
    ck_assert_ptr_nonnull(strstr(joined, "xxxx***"));
    free(joined);
    free(log);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_dockerfile_is_built_pushed_and_runs)
{
    const char *registry = getenv("SLIPWAY_REGISTRY");
    ck_assert_msg(registry != NULL && registry[0] != '\0',
                  "SLIPWAY_REGISTRY is not set: run through tools/test, which starts a registry");
    sw_harness_options o = {0};
    sw_harness *h = docker_harness(&o);
    char dockerfile[256];
    snprintf(dockerfile, sizeof(dockerfile),
             "FROM %s\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
             sw_test_busybox_image());
    const sw_harness_file files[] = {
        {".slipway.yml", "steps:\n"
                         "  - name: test\n"
                         "    run: grep -q hello hello.txt\n"
                         "  - name: image\n"
                         "    build:\n"
                         "      tags: [latest]\n"},
        {"Dockerfile", dockerfile},
        {"hello.txt", "hello from the built image\n"},
        {".dockerignore", ".slipway.yml\n"},
        {NULL, NULL},
    };
    sw_harness_repo_branch(h, "img", "main", files);
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "img", NULL);
    char *state = sw_harness_await_final(h, id, 180000);
    char *log = log_of(h, id);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "%s: %s", state, log);
    char *image = sw_harness_show_field(h, id, "image", NULL);
    char *digest = sw_harness_show_field(h, id, "digest", NULL);
    char *sha = sw_harness_repo_sha(h, "img", "main");
    char *want = sw_asprintf("%s/demo/img:%s", registry, sha);
    ck_assert_ptr_nonnull(image);
    ck_assert_str_eq(image, want);
    ck_assert_msg(digest != NULL && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71,
                  "digest: %s", digest ? digest : "(none)");

    /* pulled back from the registry by tag, it runs */
    sw_docker *d = NULL;
    ck_assert_msg(sw_docker_open(&d, NULL) == 0, "%s", sw_error_last());
    ck_assert_int_eq(sw_image_remove(d, image), 0);
    char *ws = sw_test_tmpdir("sw-pulled");
    char out[256] = "";
    sw_sandbox_result res;
    sw_sandbox_spec spec = {.script = "cat /hello.txt", .workspace = ws, .timeout_ms = 60000,
                            .ud = out, .line = collect};
    const char *labels[] = {"slipway.test=containers", NULL};
    sw_docker_step step = {.image = image, .labels = labels};
    ck_assert_msg(sw_docker_run(d, &spec, &step, &res) == 0, "%s", sw_error_last());
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_str_eq(out, "hello from the built image");
    char id_pulled[80];
    ck_assert_int_eq(sw_image_id(d, image, id_pulled), 0);
    char *latest = sw_asprintf("%s/demo/img:latest", registry);
    ck_assert_int_eq(sw_image_remove(d, latest), 0);
    ck_assert_int_eq(sw_image_remove(d, image), 0);
    ck_assert_int_eq(sw_docker_remove_labeled(d, "slipway.test=containers"), 0);
    sw_docker_close(&d);
    sw_test_rmtree(ws);

    free(latest);
    free(ws);
    free(want);
    free(sha);
    free(digest);
    free(image);
    free(log);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* Whether one line of text holds a, b and c. */
static bool line_has(const char *text, const char *a, const char *b, const char *c)
{
    for (const char *line = text; line != NULL && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, n);
        bool all = strstr(copy, a) && strstr(copy, b) && strstr(copy, c);
        free(copy);
        if (all) {
            return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

/* A step image the engine lacks is pulled, and the build's profile says so
 * (kind pull, file engine) beside what its files name. */
START_TEST(test_a_pulled_step_image_is_in_the_profile)
{
    const char *registry = getenv("SLIPWAY_REGISTRY");
    ck_assert_msg(registry != NULL && registry[0] != '\0',
                  "SLIPWAY_REGISTRY is not set: run through tools/test, which starts a registry");
    sw_harness_options o = {0};
    sw_harness *h = docker_harness(&o);
    char dockerfile[256];
    snprintf(dockerfile, sizeof(dockerfile), "FROM %s\nCOPY hello.txt /hello.txt\n",
             sw_test_busybox_image());
    const sw_harness_file files[] = {
        {".slipway.yml", "steps:\n  - name: image\n    build:\n      tags: [pullme]\n"},
        {"Dockerfile", dockerfile},
        {"hello.txt", "hello\n"},
        {NULL, NULL},
    };
    sw_harness_repo_branch(h, "base", "main", files);
    char *image = sw_asprintf("%s/demo/base:pullme", registry);
    char *pipeline = sw_asprintf("steps:\n  - name: use\n    image: %s\n"
                                 "    run: cat /hello.txt\n",
                                 image);
    sw_harness_repo_pipeline(h, "user", pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "base", NULL);
    char *state = sw_harness_await_final(h, id, 180000);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "%s: %s", state, log_of(h, id));
    free(state);
    /* gone from the engine: the next build's step makes it pull */
    sw_docker *d = NULL;
    ck_assert_msg(sw_docker_open(&d, NULL) == 0, "%s", sw_error_last());
    ck_assert_int_eq(sw_image_remove(d, image), 0);
    char *used = sw_harness_submit(h, "user", NULL);
    state = sw_harness_await_final(h, used, 180000);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "%s: %s", state, log_of(h, used));

    sw_harness_result res;
    sw_harness_cli(h, &res, 10000, "show", used, NULL);
    ck_assert_msg(res.status == 0, "%s", res.err);
    ck_assert_msg(line_has(res.out, " pull ", image, " engine"), "show lacks the pull:\n%s",
                  res.out);
    ck_assert_msg(line_has(res.out, " image ", image, " .slipway.yml:3"),
                  "show lacks the step image:\n%s", res.out);
    sw_harness_result_finish(&res);
    /* the first build named its base image in its Dockerfile */
    sw_harness_cli(h, &res, 10000, "show", id, NULL);
    ck_assert_msg(strstr(res.out, "Dockerfile:1") != NULL, "%s", res.out);
    sw_harness_result_finish(&res);

    (void)sw_image_remove(d, image);
    sw_docker_close(&d);
    free(state);
    free(used);
    free(id);
    free(pipeline);
    free(image);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("containers");
    TCase *tc = tcase_create("containers");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_two_steps_share_the_workspace);
    tcase_add_test(tc, test_next_build_finds_nothing_a_container_left);
    tcase_add_test(tc, test_memory_limit_is_an_oom);
    tcase_add_test(tc, test_step_past_its_timeout_is_timed_out);
    tcase_add_test(tc, test_secret_never_in_the_log);
    tcase_add_test(tc, test_dockerfile_is_built_pushed_and_runs);
    tcase_add_test(tc, test_a_pulled_step_image_is_in_the_profile);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
