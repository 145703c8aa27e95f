/* test_pipeline.c - .slipway.yml: good files, and bad ones that name file:line:col. */
#include "actors/builder/pipeline.h"
#include "runtime/core/error.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sw_pipeline *parse_ok(const char *text)
{
    sw_pipeline *p = NULL;
    ck_assert_msg(sw_pipeline_parse(&p, text, strlen(text), ".slipway.yml") == 0, "%s",
                  sw_error_last());
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Asserts that text is refused with an error starting with prefix ("file:line:col:"). */
static void parse_bad(const char *text, const char *prefix, const char *mentions)
{
    sw_pipeline *p = NULL;
    ck_assert_int_eq(sw_pipeline_parse(&p, text, strlen(text), ".slipway.yml"), SW_EINVALID);
    ck_assert_ptr_null(p);
    ck_assert_msg(strncmp(sw_error_last(), prefix, strlen(prefix)) == 0,
                  "expected '%s...', got '%s'", prefix, sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), mentions) != NULL, "expected '%s' in '%s'", mentions,
                  sw_error_last());
}

START_TEST(test_run_and_commands)
{
    sw_pipeline *p = parse_ok("timeout: 10m\n"
                              "env: {GREETING: hello, N: 3}\n"
                              "steps:\n"
                              "  - name: build\n"
                              "    image: busybox\n"
                              "    run: |\n"
                              "      echo hi\n"
                              "      echo there\n"
                              "  - name: test\n"
                              "    commands: [\"make\", \"make test\"]\n"
                              "    env: {A: \"1\"}\n"
                              "    timeout: 60s\n"
                              "    memory: 128M\n");
    ck_assert_uint_eq(p->timeout_ms, 600000);
    ck_assert_uint_eq(p->nenv, 2);
    ck_assert_str_eq(p->env[0].key, "GREETING");
    ck_assert_str_eq(p->env[0].value, "hello");
    ck_assert_str_eq(p->env[1].value, "3");
    ck_assert_uint_eq(p->nsteps, 2);

    ck_assert_str_eq(p->steps[0].name, "build");
    ck_assert_str_eq(p->steps[0].image, "busybox");
    ck_assert_str_eq(p->steps[0].script, "echo hi\necho there\n");
    ck_assert_int_eq(p->steps[0].image_line, 5);
    ck_assert_int_eq(p->steps[1].image_line, 0);
    ck_assert_int_eq(p->image_line, 0);
    ck_assert_uint_eq(p->steps[0].timeout_ms, 0);
    ck_assert_uint_eq(p->steps[0].memory_bytes, 0);
    ck_assert_int_eq(p->steps[0].line, 4);

    ck_assert_str_eq(p->steps[1].name, "test");
    ck_assert_ptr_null(p->steps[1].image);
    ck_assert_str_eq(p->steps[1].script, "set -e\nmake\nmake test\n");
    ck_assert_uint_eq(p->steps[1].nenv, 1);
    ck_assert_str_eq(p->steps[1].env[0].key, "A");
    ck_assert_str_eq(p->steps[1].env[0].value, "1");
    ck_assert_uint_eq(p->steps[1].timeout_ms, 60000);
    ck_assert_uint_eq(p->steps[1].memory_bytes, 128ull << 20);
    sw_pipeline_destroy(&p);
    ck_assert_ptr_null(p);
    sw_pipeline_destroy(&p);
}
END_TEST

/* The lines of image: keys, for the source profile's "file:line". */
START_TEST(test_image_lines)
{
    sw_pipeline *p = parse_ok("steps:\n"
                              "  - name: a\n"
                              "    run: x\n"
                              "    image:\n"
                              "      golang:1.22\n"
                              "image: busybox\n");
    ck_assert_str_eq(p->image, "busybox");
    ck_assert_int_eq(p->image_line, 6);
    ck_assert_str_eq(p->steps[0].image, "golang:1.22");
    ck_assert_int_eq(p->steps[0].image_line, 4); /* the key's line, not the value's */
    sw_pipeline_destroy(&p);
}
END_TEST

START_TEST(test_minimal)
{
    sw_pipeline *p = parse_ok("steps:\n- name: only\n  run: true\n");
    ck_assert_uint_eq(p->timeout_ms, 0);
    ck_assert_uint_eq(p->nenv, 0);
    ck_assert_uint_eq(p->nsteps, 1);
    ck_assert_str_eq(p->steps[0].script, "true");
    /* the checkout keys' defaults: the commit checked out, untracked files cleaned */
    ck_assert_int_eq(p->clone, 1);
    ck_assert_int_eq(p->clean, SW_PIPELINE_CLEAN_UNTRACKED);
    ck_assert_uint_eq(p->depth, 0);
    sw_pipeline_destroy(&p);
}
END_TEST

START_TEST(test_checkout_keys)
{
    sw_pipeline *p = parse_ok("clone: false\nclean: fresh\ndepth: 1\n"
                              "steps:\n- name: only\n  run: true\n");
    ck_assert_int_eq(p->clone, 0);
    ck_assert_int_eq(p->clean, SW_PIPELINE_CLEAN_FRESH);
    ck_assert_uint_eq(p->depth, 1);
    sw_pipeline_destroy(&p);
    p = parse_ok("clone: true\nclean: untracked\nsteps:\n- name: only\n  run: true\n");
    ck_assert_int_eq(p->clone, 1);
    ck_assert_int_eq(p->clean, SW_PIPELINE_CLEAN_UNTRACKED);
    sw_pipeline_destroy(&p);
    p = sw_pipeline_dockerfile_only();
    ck_assert_int_eq(p->clone, 1); /* it builds the checkout */
    sw_pipeline_destroy(&p);

    parse_bad("clean: always\nsteps:\n- name: a\n  run: x\n", ".slipway.yml:1:8:",
              "'clean' is untracked (the default) or fresh, not 'always'");
    parse_bad("clone: maybe\nsteps:\n- name: a\n  run: x\n", ".slipway.yml:1:8:",
              "true or false");
    parse_bad("depth: 0\nsteps:\n- name: a\n  run: x\n", ".slipway.yml:1:8:",
              "'depth' must be at least 1");
    parse_bad("depth: -1\nsteps:\n- name: a\n  run: x\n", ".slipway.yml:1:8:",
              "whole number");
}
END_TEST

START_TEST(test_unknown_key)
{
    parse_bad("steps:\n  - name: a\n    run: x\n    runn: y\n", ".slipway.yml:4:5:",
              "unknown key 'runn'");
    parse_bad("stepz: []\n", ".slipway.yml:1:1:", "unknown key 'stepz'");
}
END_TEST

START_TEST(test_steps_not_a_list)
{
    parse_bad("steps:\n  name: a\n  run: x\n", ".slipway.yml:2:3:", "'steps' must be a list");
    parse_bad("steps: []\n", ".slipway.yml:1:8:", "1 to 64 steps");
    parse_bad("timeout: 1m\n", ".slipway.yml:1:1:", "needs 'steps'");
    parse_bad("", ".slipway.yml:1:1:", "empty");
}
END_TEST

START_TEST(test_missing_name)
{
    parse_bad("steps:\n  - run: x\n", ".slipway.yml:2:5:", "needs a 'name'");
}
END_TEST

START_TEST(test_both_run_and_commands)
{
    parse_bad("steps:\n  - name: a\n    run: x\n    commands: [y]\n", ".slipway.yml:4:15:",
              "both 'run' and 'commands'");
    parse_bad("steps:\n  - name: a\n    image: busybox\n", ".slipway.yml:2:5:",
              "needs 'run' or 'commands'");
    parse_bad("steps:\n  - name: a\n    commands: [[x]]\n", ".slipway.yml:3:16:",
              "each command must be a string");
}
END_TEST

START_TEST(test_duplicate_step_name)
{
    parse_bad("steps:\n  - name: a\n    run: x\n  - name: a\n    run: y\n", ".slipway.yml:4:11:",
              "duplicate step name 'a'");
}
END_TEST

START_TEST(test_bad_duration_and_size)
{
    parse_bad("steps:\n  - name: a\n    run: x\n    timeout: 5 minutes\n", ".slipway.yml:4:14:",
              "duration");
    parse_bad("timeout: 0\nsteps:\n  - name: a\n    run: x\n", ".slipway.yml:1:10:",
              "longer than 0");
    parse_bad("steps:\n  - name: a\n    run: x\n    memory: lots\n", ".slipway.yml:4:13:", "size");
    parse_bad("steps:\n  - name: a\n    run: x\n    env: {1BAD: x}\n", ".slipway.yml:4:17:",
              "not a valid environment variable name");
    parse_bad("env: [A]\nsteps:\n  - name: a\n    run: x\n", ".slipway.yml:1:6:",
              "'env' must be a mapping");
}
END_TEST

START_TEST(test_malformed_yaml)
{
    parse_bad("steps:\n  - name: a\n    run: [unclosed\n", ".slipway.yml:", "");
    parse_bad("steps:\n  - name: a\n   run: x\n", ".slipway.yml:3:", "");
}
END_TEST

START_TEST(test_load_missing_and_present)
{
    char *dir = sw_test_tmpdir("sw-pipeline");
    char path[512];
    sw_pipeline *p = NULL;

    snprintf(path, sizeof(path), "%s/.slipway.yml", dir);
    ck_assert_int_eq(sw_pipeline_load(&p, path), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "no such file") != NULL, "%s", sw_error_last());

    sw_test_write_file(path, "steps:\n  - name: a\n    runs: x\n");
    ck_assert_int_eq(sw_pipeline_load_named(&p, path, ".slipway.yml"), SW_EINVALID);
    ck_assert_msg(strncmp(sw_error_last(), ".slipway.yml:3:5:", 17) == 0, "%s",
                  sw_error_last());

    sw_test_write_file(path, "steps:\n  - name: a\n    run: x\n");
    ck_assert_int_eq(sw_pipeline_load(&p, path), 0);
    ck_assert_str_eq(p->steps[0].name, "a");
    sw_pipeline_destroy(&p);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_build_steps_and_images)
{
    sw_pipeline *p = parse_ok("image: slipway/busybox\n"
                              "steps:\n"
                              "  - name: test\n"
                              "    run: make test\n"
                              "    network: bridge\n"
                              "  - name: image\n"
                              "    build:\n"
                              "      context: app\n"
                              "      dockerfile: docker/Dockerfile.prod\n"
                              "      args: {VERSION: 3}\n"
                              "      tags: [latest, v1.2_rc-1]\n"
                              "  - name: local\n"
                              "    build: {push: false}\n");
    ck_assert_str_eq(p->image, "slipway/busybox");
    ck_assert_uint_eq(p->nsteps, 3);
    ck_assert_str_eq(p->steps[0].network, "bridge");
    ck_assert_ptr_null(p->steps[0].build);
    const sw_pipeline_build *b = p->steps[1].build;
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(p->steps[1].script);
    ck_assert_str_eq(b->context, "app");
    ck_assert_str_eq(b->dockerfile, "docker/Dockerfile.prod");
    ck_assert_uint_eq(b->nargs, 1);
    ck_assert_str_eq(b->args[0].key, "VERSION");
    ck_assert_str_eq(b->args[0].value, "3");
    ck_assert_uint_eq(b->ntags, 2);
    ck_assert_str_eq(b->tags[1], "v1.2_rc-1");
    ck_assert_int_eq(b->push, 1);
    b = p->steps[2].build;
    ck_assert_str_eq(b->context, ".");
    ck_assert_str_eq(b->dockerfile, "Dockerfile");
    ck_assert_int_eq(b->push, 0);
    sw_pipeline_destroy(&p);

    p = sw_pipeline_dockerfile_only();
    ck_assert_uint_eq(p->nsteps, 1);
    ck_assert_str_eq(p->steps[0].name, "image");
    ck_assert_str_eq(p->steps[0].build->dockerfile, "Dockerfile");
    ck_assert_int_eq(p->steps[0].build->push, 1);
    sw_pipeline_destroy(&p);
}
END_TEST

START_TEST(test_bad_build_steps)
{
    parse_bad("steps:\n  - name: a\n    run: x\n    build: {}\n", ".slipway.yml:4:12:",
              "both 'run' and 'build'");
    parse_bad("steps:\n  - name: a\n    build:\n      context: ../other\n",
              ".slipway.yml:4:16:", "'..'");
    parse_bad("steps:\n  - name: a\n    build:\n      dockerfile: /etc/passwd\n",
              ".slipway.yml:4:19:", "inside the repository");
    parse_bad("steps:\n  - name: a\n    build:\n      tags: [\"-bad\"]\n",
              ".slipway.yml:4:14:", "a tag is");
    parse_bad("steps:\n  - name: a\n    build: [x]\n", ".slipway.yml:3:12:",
              "'build' must be a mapping");
    parse_bad("steps:\n  - name: a\n    image: x\n    build: {}\n", ".slipway.yml:3:12:",
              "does not run in one");
    parse_bad("steps:\n  - name: a\n    run: x\n    network: host\n", ".slipway.yml:4:14:",
              "none or bridge");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_run_and_commands);
    tcase_add_test(tc, test_image_lines);
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_checkout_keys);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_steps_not_a_list);
    tcase_add_test(tc, test_missing_name);
    tcase_add_test(tc, test_both_run_and_commands);
    tcase_add_test(tc, test_duplicate_step_name);
    tcase_add_test(tc, test_bad_duration_and_size);
    tcase_add_test(tc, test_malformed_yaml);
    tcase_add_test(tc, test_load_missing_and_present);
    tcase_add_test(tc, test_build_steps_and_images);
    tcase_add_test(tc, test_bad_build_steps);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
