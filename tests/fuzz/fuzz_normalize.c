/*
 * fuzz_normalize.c - libFuzzer target for sw_hook_normalize (normalize.h).
 *
 * Input: the first byte picks a forge and an event header from the table
 * below (its low 4 bits: run-fuzz.sh seeds the corpus with every payload under
 * each of the 16 selectors), the rest is the body, passed by its length as the
 * gateway does (a copy of exactly that many bytes: ASan sees a read past it).
 *
 * Most byte-level mutations of a JSON payload only exercise the parser. Half of
 * the mutations are therefore JSON-aware (LLVMFuzzerCustomMutator): the body
 * is parsed, one value in it is changed (a string emptied, cut, given a '\r'
 * or "[skip ci]", a ref or sha that is almost right; a number at a boundary; a
 * value of another type; a key or element removed) and the result serialized,
 * so the mutations reach the fields each forge's reader checks.
 *
 * Besides the sanitizers' findings, the target aborts when the result breaks
 * the interface's promises: an error leaves a zeroed event and a message; a
 * build (PUSH, TAG, PR) has a ref, a sha and a repository; a DELETE a ref and
 * no sha; IGNORED a reason.
 */
#include "actors/webhook/normalize.h"
#include "runtime/core/error.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    sw_forge_type forge;
    const char *event;
} selectors[16] = {
    {SW_FORGE_GITHUB, "push"},
    {SW_FORGE_GITHUB, "pull_request"},
    {SW_FORGE_GITHUB, "ping"},
    {SW_FORGE_GITHUB, NULL},
    {SW_FORGE_GITLAB, "Push Hook"},
    {SW_FORGE_GITLAB, "Tag Push Hook"},
    {SW_FORGE_GITLAB, "Merge Request Hook"},
    {SW_FORGE_GITLAB, NULL},
    {SW_FORGE_GITEA, "push"},
    {SW_FORGE_GITEA, "pull_request"},
    {SW_FORGE_GITEA, "delete"},
    {SW_FORGE_BITBUCKET, "repo:push"},
    {SW_FORGE_BITBUCKET, "pullrequest:updated"},
    {SW_FORGE_BITBUCKET_SERVER, "repo:refs_changed"},
    {SW_FORGE_BITBUCKET_SERVER, "pr:from_ref_updated"},
    {SW_FORGE_BITBUCKET, "diagnostics:ping"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sw_hook_event zero;
    sw_hook_event ev;
    char *body;
    int rc;

    if (size == 0) {
        return 0;
    }
    /* A copy of exactly size - 1 bytes, so that any read past the body is caught. */
    body = malloc(size - 1 ? size - 1 : 1);
    memcpy(body, data + 1, size - 1);
    rc = sw_hook_normalize(&ev, selectors[data[0] & 15].forge, selectors[data[0] & 15].event, body,
                           size - 1);
    if (rc < 0) {
        if (rc != SW_EINVALID || memcmp(&ev, &zero, sizeof(ev)) != 0 ||
            sw_error_last()[0] == '\0') {
            abort();
        }
    } else {
        switch (ev.kind) {
        case SW_HOOK_PUSH:
        case SW_HOOK_TAG:
        case SW_HOOK_PR:
            if (ev.ref == NULL || ev.sha == NULL || ev.repository == NULL) {
                abort();
            }
            break;
        case SW_HOOK_DELETE:
            if (ev.ref == NULL || ev.sha != NULL || ev.reason == NULL) {
                abort();
            }
            break;
        case SW_HOOK_IGNORED:
            if (ev.reason == NULL) {
                abort();
            }
            break;
        case SW_HOOK_PING:
            break;
        default:
            abort();
        }
        if (ev.skip_ci && ev.reason == NULL) {
            abort();
        }
    }
    sw_hook_event_clear(&ev);
    free(body);
    return 0;
}

/* ---- the JSON-aware mutator ---- */

/* Strings that mean something to some reader. */
static const char *const interesting[] = {
    "",
    "0000000000000000000000000000000000000000",
    "fd489864e7642b48eaad6e3f155c10e46810ec72",
    "abcdef1",
    "refs/heads/main",
    "refs/tags/v1",
    "refs/heads/a..b",
    "refs/heads/",
    "refs/pull/1/head",
    "refs/notes/x",
    "@",
    "@{",
    ".lock",
    "/.",
    "//",
    " ",
    "~",
    "main",
    "a/b",
    "a/b/c",
    "[skip ci]",
    "\r",
    "\n\r",
    "opened",
    "reopened",
    "synchronize",
    "synchronized",
    "closed",
    "open",
    "reopen",
    "update",
    "branch",
    "tag",
    "DELETE",
    "UPDATE",
    "push",
    "tag_push",
    "merge_request",
};
#define N_INTERESTING (sizeof(interesting) / sizeof(interesting[0]))

/* Where a value sits: in an object under key, or in an array at index. */
typedef struct slot {
    json_t *parent;
    const char *key;
    size_t index;
    json_t *value;
} slot;

#define MAX_SLOTS 4096

static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void collect(slot *slots, size_t *n, json_t *parent, const char *key, size_t index,
                    json_t *value)
{
    const char *k;
    json_t *v;
    size_t i;

    if (*n >= MAX_SLOTS) {
        return;
    }
    slots[(*n)++] = (slot){parent, key, index, value};
    if (json_is_object(value)) {
        json_object_foreach(value, k, v)
        {
            collect(slots, n, value, k, 0, v);
        }
    } else if (json_is_array(value)) {
        json_array_foreach(value, i, v)
        {
            collect(slots, n, value, NULL, i, v);
        }
    }
}

/* A new value for a string: emptied, cut, extended, or an interesting one.
 * NULL when the cut would split a UTF-8 character (jansson refuses it). */
static json_t *mutate_string(const char *s, uint32_t *rnd)
{
    size_t len = strlen(s);
    char buf[512];

    switch (next_random(rnd) % 5) {
    case 0:
        return json_stringn(s, len ? next_random(rnd) % len : 0);
    case 1:
        snprintf(buf, sizeof(buf), "%s%s", s, interesting[next_random(rnd) % N_INTERESTING]);
        return json_string(buf);
    case 2:
        snprintf(buf, sizeof(buf), "%s%s", interesting[next_random(rnd) % N_INTERESTING], s);
        return json_string(buf);
    default:
        return json_string(interesting[next_random(rnd) % N_INTERESTING]);
    }
}

/* A value of any type, for a type change. */
static json_t *any_value(uint32_t *rnd)
{
    static const json_int_t numbers[] = {0, 1, -1, 2, 4294967295LL, 4294967296LL, INT64_MIN};

    switch (next_random(rnd) % 7) {
    case 0:
        return json_null();
    case 1:
        return json_true();
    case 2:
        return json_false();
    case 3:
        return json_integer(numbers[next_random(rnd) % (sizeof(numbers) / sizeof(numbers[0]))]);
    case 4:
        return json_object();
    case 5:
        return json_array();
    default:
        return json_string(interesting[next_random(rnd) % N_INTERESTING]);
    }
}

/* Changes one value of root (or removes it from its parent). */
static void mutate_json(json_t *root, uint32_t *rnd)
{
    static slot slots[MAX_SLOTS];
    size_t n = 0;
    json_t *repl = NULL;
    slot *s;

    collect(slots, &n, NULL, NULL, 0, root);
    s = &slots[next_random(rnd) % n];
    if (s->parent == NULL) {
        return;
    }
    switch (next_random(rnd) % 4) {
    case 0: /* remove it */
        if (s->key != NULL) {
            json_object_del(s->parent, s->key);
        } else {
            json_array_remove(s->parent, s->index);
        }
        return;
    case 1: /* another type */
        repl = any_value(rnd);
        break;
    default: /* a near value of the same type */
        if (json_is_string(s->value)) {
            repl = mutate_string(json_string_value(s->value), rnd);
        } else if (json_is_array(s->value) && json_array_size(s->value) > 0) {
            json_array_append(s->value, json_array_get(s->value, 0)); /* a duplicate */
            return;
        } else {
            repl = any_value(rnd);
        }
        break;
    }
    if (repl == NULL) {
        return;
    }
    if (s->key != NULL) {
        json_object_set_new(s->parent, s->key, repl);
    } else {
        json_array_set_new(s->parent, s->index, repl);
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t rnd = seed;
    json_t *root;
    char *out;
    size_t len;

    if (size < 2 || next_random(&rnd) % 2 == 0) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (root == NULL) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    if (next_random(&rnd) % 8 == 0) {
        data[0] = (uint8_t)next_random(&rnd); /* another forge or event */
    }
    mutate_json(root, &rnd);
    out = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(root);
    if (out == NULL) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    len = strlen(out);
    if (len + 1 > max_size) {
        free(out);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data + 1, out, len);
    free(out);
    return len + 1;
}
