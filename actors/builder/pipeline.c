/*
 * pipeline.c - .slipway.yml into an sw_pipeline (see pipeline.h).
 *
 * The YAML tree (runtime/core/yaml.h) carries a position on every node, so each check
 * below reports the exact place of the mistake through sw_yaml_error.
 */
#include "actors/builder/pipeline.h"
#include "runtime/core/mem.h"

#include "runtime/core/error.h"
#include "runtime/core/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME_LEN 100

static void env_free(sw_pipeline_env *env, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(env[i].key);
        free(env[i].value);
    }
    free(env);
}

static void build_free(sw_pipeline_build *b)
{
    if (b == NULL) {
        return;
    }
    free(b->context);
    free(b->dockerfile);
    env_free(b->args, b->nargs);
    for (size_t i = 0; i < b->ntags; i++) {
        free(b->tags[i]);
    }
    free(b->tags);
    free(b);
}

void sw_pipeline_destroy(sw_pipeline **pipeline_p)
{
    sw_pipeline *p;
    if (pipeline_p == NULL || *pipeline_p == NULL) {
        return;
    }
    p = *pipeline_p;
    for (size_t i = 0; i < p->nsteps; i++) {
        sw_pipeline_step *s = &p->steps[i];
        free(s->name);
        free(s->image);
        free(s->network);
        free(s->script);
        env_free(s->env, s->nenv);
        build_free(s->build);
    }
    free(p->steps);
    free(p->image);
    env_free(p->env, p->nenv);
    free(p);
    *pipeline_p = NULL;
}

static int valid_env_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return 0;
    }
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_')) {
            return 0;
        }
    }
    return 1;
}

/* env: {KEY: value, ...}; values must be plain (numbers and booleans are kept as text). */
static int read_env(const sw_yaml_doc *doc, const sw_yaml_node *node, sw_pipeline_env **out,
                    size_t *nout)
{
    sw_pipeline_env *env = NULL;
    size_t n = 0;
    int error = 0;

    if (node == NULL) {
        return 0;
    }
    if (node->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, node, "'env' must be a mapping of NAME: value");
    }
    env = sw_calloc(node->nitems ? node->nitems : 1, sizeof(*env));
    for (size_t i = 0; i < node->nitems; i++) {
        const sw_yaml_node *item = node->items[i];
        if (!valid_env_name(item->key)) {
            error = sw_yaml_error(doc, item, "'%s' is not a valid environment variable name",
                                  item->key);
            goto cleanup;
        }
        if (item->type != SW_YAML_SCALAR) {
            error = sw_yaml_error(doc, item, "env '%s' must be a plain value", item->key);
            goto cleanup;
        }
        env[n].key = sw_strdup(item->key);
        env[n].value = sw_strdup(item->value);
        n++;
    }
    *out = env;
    *nout = n;
    env = NULL;
    n = 0;

cleanup:
    env_free(env, n);
    return error;
}

static int read_positive_duration(const sw_yaml_doc *doc, const sw_yaml_node *node,
                                  uint64_t *out)
{
    int error = sw_yaml_duration_ms(doc, node, out);
    if (error == 0 && node != NULL && *out == 0) {
        error = sw_yaml_error(doc, node, "'%s' must be longer than 0", node->key);
    }
    return error;
}

/* Joins commands into a `set -e` script, one command per line. */
static int commands_script(const sw_yaml_doc *doc, const sw_yaml_node *node, char **out)
{
    size_t len = strlen("set -e\n") + 1;
    char *script;

    if (node->type != SW_YAML_SEQ) {
        return sw_yaml_error(doc, node, "'commands' must be a list of strings");
    }
    if (node->nitems == 0) {
        return sw_yaml_error(doc, node, "'commands' must hold at least one command");
    }
    for (size_t i = 0; i < node->nitems; i++) {
        if (node->items[i]->type != SW_YAML_SCALAR) {
            return sw_yaml_error(doc, node->items[i], "each command must be a string");
        }
        len += strlen(node->items[i]->value) + 1;
    }
    script = sw_calloc(1, len);
    strcpy(script, "set -e\n");
    for (size_t i = 0; i < node->nitems; i++) {
        strcat(script, node->items[i]->value);
        strcat(script, "\n");
    }
    *out = script;
    return 0;
}

/* A path inside the repository: relative, no '..' component, no NUL tricks. */
static int read_inner_path(const sw_yaml_doc *doc, const sw_yaml_node *map, const char *key,
                           const char *fallback, char **out)
{
    const sw_yaml_node *node = sw_yaml_get(map, key);
    int error;
    if (node == NULL) {
        *out = sw_strdup(fallback);
        return 0;
    }
    if ((error = sw_yaml_string(doc, node, out)) < 0) {
        return error;
    }
    const char *p = *out;
    if (p[0] == '\0' || p[0] == '/') {
        return sw_yaml_error(doc, node, "'%s' must be a path inside the repository", key);
    }
    for (const char *seg = p; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 2 && strncmp(seg, "..", 2) == 0) {
            return sw_yaml_error(doc, node, "'%s' may not leave the repository ('..')", key);
        }
        seg += n;
        while (*seg == '/') {
            seg++;
        }
    }
    return 0;
}

static int valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_')) {
        return 0;
    }
    for (; *t; t++) {
        if (!(isalnum((unsigned char)*t) || *t == '_' || *t == '.' || *t == '-')) {
            return 0;
        }
    }
    return 1;
}

static int read_build(const sw_yaml_doc *doc, const sw_yaml_node *node, sw_pipeline_build **out)
{
    static const char *const keys[] = {"context", "dockerfile", "args", "tags", "push", NULL};
    sw_pipeline_build *b = sw_calloc(1, sizeof(*b));
    const sw_yaml_node *tags;
    int error, push = 1;

    *out = b; /* freed with the step */
    if (node->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, node, "'build' must be a mapping (context, dockerfile, args, "
                             "tags, push)");
    }
    if ((error = sw_yaml_check_keys(doc, node, keys)) < 0 ||
        (error = read_inner_path(doc, node, "context", ".", &b->context)) < 0 ||
        (error = read_inner_path(doc, node, "dockerfile", "Dockerfile", &b->dockerfile)) < 0 ||
        (error = read_env(doc, sw_yaml_get(node, "args"), &b->args, &b->nargs)) < 0 ||
        (error = sw_yaml_bool(doc, sw_yaml_get(node, "push"), &push)) < 0) {
        return error;
    }
    b->push = push;
    tags = sw_yaml_get(node, "tags");
    if (tags != NULL) {
        if (tags->type != SW_YAML_SEQ) {
            return sw_yaml_error(doc, tags, "'tags' must be a list of tags");
        }
        b->tags = sw_calloc(tags->nitems ? tags->nitems : 1, sizeof(*b->tags));
        for (size_t i = 0; i < tags->nitems; i++) {
            const sw_yaml_node *t = tags->items[i];
            if (t->type != SW_YAML_SCALAR || !valid_tag(t->value)) {
                return sw_yaml_error(doc, t,
                                     "a tag is 1 to 128 of [A-Za-z0-9_.-], starting with a "
                                     "letter, digit or '_'");
            }
            b->tags[b->ntags++] = sw_strdup(t->value);
        }
    }
    return 0;
}

static int read_network(const sw_yaml_doc *doc, const sw_yaml_node *node, char **out)
{
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = sw_yaml_string(doc, node, out)) < 0) {
        return error;
    }
    if (strcmp(*out, "none") != 0 && strcmp(*out, "bridge") != 0) {
        return sw_yaml_error(doc, node, "'network' is none or bridge, not '%s'", *out);
    }
    return 0;
}

/* The line of an `image:` key (its value node), or 0 when there is none. */
static int image_line(const sw_yaml_node *image)
{
    return image != NULL ? image->key_line : 0;
}

static int read_step(const sw_yaml_doc *doc, const sw_yaml_node *node, sw_pipeline_step *step)
{
    static const char *const keys[] = {"name",    "image",  "run",     "commands", "build",
                                       "env",     "timeout", "memory", "network",  NULL};
    const sw_yaml_node *name, *run, *commands, *build;
    int error;

    step->line = node->line;
    step->col = node->col;
    if (node->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, node, "a step must be a mapping with 'name' and 'run'");
    }
    if ((error = sw_yaml_check_keys(doc, node, keys)) < 0) {
        return error;
    }
    name = sw_yaml_get(node, "name");
    if (name == NULL) {
        return sw_yaml_error(doc, node, "a step needs a 'name'");
    }
    if ((error = sw_yaml_string(doc, name, &step->name)) < 0) {
        return error;
    }
    if (step->name[0] == '\0' || strlen(step->name) > MAX_NAME_LEN ||
        strpbrk(step->name, "\r\n") != NULL) {
        return sw_yaml_error(doc, name, "a step name must be one line of 1 to %d characters",
                             MAX_NAME_LEN);
    }
    if ((error = sw_yaml_string(doc, sw_yaml_get(node, "image"), &step->image)) < 0 ||
        (error = read_network(doc, sw_yaml_get(node, "network"), &step->network)) < 0) {
        return error;
    }
    step->image_line = image_line(sw_yaml_get(node, "image"));
    run = sw_yaml_get(node, "run");
    commands = sw_yaml_get(node, "commands");
    build = sw_yaml_get(node, "build");
    if (run != NULL && commands != NULL) {
        return sw_yaml_error(doc, commands, "step '%s' has both 'run' and 'commands'; use one",
                             step->name);
    }
    if (build != NULL && (run != NULL || commands != NULL)) {
        return sw_yaml_error(doc, build, "step '%s' has both '%s' and 'build'; use one",
                             step->name, run != NULL ? "run" : "commands");
    }
    if (run == NULL && commands == NULL && build == NULL) {
        return sw_yaml_error(doc, node, "step '%s' needs 'run' or 'commands' (or 'build')",
                             step->name);
    }
    if (build != NULL) {
        if (step->image != NULL) {
            return sw_yaml_error(doc, sw_yaml_get(node, "image"),
                                 "a build step makes an image; it does not run in one");
        }
        if ((error = read_build(doc, build, &step->build)) < 0) {
            return error;
        }
    } else if (run != NULL) {
        if ((error = sw_yaml_string(doc, run, &step->script)) < 0) {
            return error;
        }
        if (step->script[0] == '\0') {
            return sw_yaml_error(doc, run, "'run' is empty");
        }
    } else if ((error = commands_script(doc, commands, &step->script)) < 0) {
        return error;
    }
    if ((error = read_env(doc, sw_yaml_get(node, "env"), &step->env, &step->nenv)) < 0) {
        return error;
    }
    if ((error = read_positive_duration(doc, sw_yaml_get(node, "timeout"), &step->timeout_ms)) <
        0) {
        return error;
    }
    const sw_yaml_node *memory = sw_yaml_get(node, "memory");
    if ((error = sw_yaml_size(doc, memory, &step->memory_bytes)) < 0) {
        return error;
    }
    if (memory != NULL && step->memory_bytes < (1u << 20)) {
        return sw_yaml_error(doc, memory, "'memory' must be at least 1M");
    }
    return 0;
}

/* clone:, clean: and depth:, the keys about the checkout. */
static int read_checkout(const sw_yaml_doc *doc, sw_pipeline *p)
{
    const sw_yaml_node *clean = sw_yaml_get(doc->root, "clean");
    const sw_yaml_node *depth = sw_yaml_get(doc->root, "depth");
    uint64_t n = 0;
    int error;

    p->clone = 1;
    if ((error = sw_yaml_bool(doc, sw_yaml_get(doc->root, "clone"), &p->clone)) < 0) {
        return error;
    }
    if (clean != NULL) {
        if (clean->type == SW_YAML_SCALAR && strcmp(clean->value, "untracked") == 0) {
            p->clean = SW_PIPELINE_CLEAN_UNTRACKED;
        } else if (clean->type == SW_YAML_SCALAR && strcmp(clean->value, "fresh") == 0) {
            p->clean = SW_PIPELINE_CLEAN_FRESH;
        } else {
            return sw_yaml_error(doc, clean, "'clean' is untracked (the default) or fresh, not "
                                             "'%s'", clean->type == SW_YAML_SCALAR ? clean->value
                                                                                  : "a collection");
        }
    }
    if ((error = sw_yaml_uint(doc, depth, UINT32_MAX, &n)) < 0) {
        return error;
    }
    if (depth != NULL && n == 0) {
        return sw_yaml_error(doc, depth, "'depth' must be at least 1 (leave it out for the "
                                         "whole history)");
    }
    p->depth = (uint32_t)n;
    return 0;
}

int sw_pipeline_parse(sw_pipeline **out, const char *text, size_t len, const char *name)
{
    static const char *const keys[] = {"timeout", "image", "env", "steps", "clone", "clean",
                                       "depth", NULL};
    sw_yaml_doc *doc = NULL;
    sw_pipeline *p = NULL;
    const sw_yaml_node *steps;
    int error;

    if ((error = sw_yaml_parse(&doc, text, len, name)) < 0) {
        goto cleanup;
    }
    if (doc->root == NULL) {
        error = sw_error_set(SW_EINVALID, "%s:1:1: the pipeline is empty; it needs 'steps'",
                             doc->name);
        goto cleanup;
    }
    if (doc->root->type != SW_YAML_MAP) {
        error = sw_yaml_error(doc, doc->root, "the pipeline must be a mapping with 'steps'");
        goto cleanup;
    }
    if ((error = sw_yaml_check_keys(doc, doc->root, keys)) < 0) {
        goto cleanup;
    }
    p = sw_calloc(1, sizeof(*p));
    if ((error = read_positive_duration(doc, sw_yaml_get(doc->root, "timeout"),
                                        &p->timeout_ms)) < 0) {
        goto cleanup;
    }
    if ((error = read_env(doc, sw_yaml_get(doc->root, "env"), &p->env, &p->nenv)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(doc->root, "image"), &p->image)) < 0) {
        goto cleanup;
    }
    p->image_line = image_line(sw_yaml_get(doc->root, "image"));
    if ((error = read_checkout(doc, p)) < 0) {
        goto cleanup;
    }
    steps = sw_yaml_get(doc->root, "steps");
    if (steps == NULL) {
        error = sw_yaml_error(doc, doc->root, "the pipeline needs 'steps'");
        goto cleanup;
    }
    if (steps->type != SW_YAML_SEQ) {
        error = sw_yaml_error(doc, steps, "'steps' must be a list");
        goto cleanup;
    }
    if (steps->nitems == 0 || steps->nitems > SW_PIPELINE_MAX_STEPS) {
        error = sw_yaml_error(doc, steps, "'steps' must hold 1 to %d steps, not %zu",
                              SW_PIPELINE_MAX_STEPS, steps->nitems);
        goto cleanup;
    }
    p->steps = sw_calloc(steps->nitems, sizeof(*p->steps));
    for (size_t i = 0; i < steps->nitems; i++) {
        p->nsteps++;
        if ((error = read_step(doc, steps->items[i], &p->steps[i])) < 0) {
            goto cleanup;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->steps[j].name, p->steps[i].name) == 0) {
                error = sw_yaml_error(doc, sw_yaml_get(steps->items[i], "name"),
                                      "duplicate step name '%s' (first at line %d)",
                                      p->steps[i].name, p->steps[j].line);
                goto cleanup;
            }
        }
    }
    *out = p;
    p = NULL;
    error = 0;

cleanup:
    sw_pipeline_destroy(&p);
    sw_yaml_destroy(&doc);
    return error;
}

int sw_pipeline_load_named(sw_pipeline **out, const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int error;

    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return sw_error_set(SW_ENOTFOUND, "%s: no such file", name);
        }
        return sw_error_set(SW_EIO, "cannot read %s: %s", name, strerror(errno));
    }
    buf = sw_calloc(1, SW_PIPELINE_MAX_BYTES + 1);
    len = fread(buf, 1, SW_PIPELINE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        error = sw_error_set(SW_EIO, "cannot read %s: %s", name, strerror(errno));
        goto cleanup;
    }
    if (len > SW_PIPELINE_MAX_BYTES) {
        error = sw_error_set(SW_EINVALID, "%s: larger than %u bytes", name, SW_PIPELINE_MAX_BYTES);
        goto cleanup;
    }
    error = sw_pipeline_parse(out, buf, len, name);

cleanup:
    fclose(f);
    free(buf);
    return error;
}

sw_pipeline *sw_pipeline_dockerfile_only(void)
{
    sw_pipeline *p = sw_calloc(1, sizeof(*p));
    p->clone = 1;
    p->steps = sw_calloc(1, sizeof(*p->steps));
    p->nsteps = 1;
    p->steps[0].name = sw_strdup("image");
    p->steps[0].build = sw_calloc(1, sizeof(*p->steps[0].build));
    p->steps[0].build->context = sw_strdup(".");
    p->steps[0].build->dockerfile = sw_strdup("Dockerfile");
    p->steps[0].build->push = 1;
    return p;
}

int sw_pipeline_load(sw_pipeline **out, const char *path)
{
    return sw_pipeline_load_named(out, path, path);
}
