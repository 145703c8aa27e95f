/*
 * yaml.c - libyaml events folded into a tree of nodes with positions (see yaml.h).
 */
#include "runtime/core/yaml.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

static void node_free(sw_yaml_node *node)
{
    if (node == NULL) {
        return;
    }
    for (size_t i = 0; i < node->nitems; i++) {
        node_free(node->items[i]);
    }
    free(node->items);
    free(node->value);
    free(node->key);
    free(node);
}

static void node_append(sw_yaml_node *parent, sw_yaml_node *child)
{
    parent->items = sw_realloc(parent->items, (parent->nitems + 1) * sizeof(*parent->items));
    parent->items[parent->nitems++] = child;
}

static sw_yaml_node *node_new(sw_yaml_type type, const yaml_event_t *ev)
{
    sw_yaml_node *node = sw_calloc(1, sizeof(*node));
    node->type = type;
    node->line = (int)ev->start_mark.line + 1;
    node->col = (int)ev->start_mark.column + 1;
    return node;
}

typedef struct frame {
    sw_yaml_node *node;
    char *pending_key;  /* MAP: key read, value not yet */
    int key_line, key_col;
} frame;

/* Adds child to the container on top of the stack (or makes it the root). */
static int attach(sw_yaml_doc *doc, frame *stack, int depth, sw_yaml_node *child)
{
    if (depth == 0) {
        doc->root = child;
        return 0;
    }
    frame *top = &stack[depth - 1];
    if (top->node->type == SW_YAML_SEQ) {
        node_append(top->node, child);
        return 0;
    }
    if (top->pending_key == NULL) {
        if (child->type != SW_YAML_SCALAR) {
            int line = child->line, col = child->col;
            node_free(child);
            return sw_error_set(SW_EINVALID, "%s:%d:%d: a mapping key must be a plain value",
                                doc->name, line, col);
        }
        for (size_t i = 0; i < top->node->nitems; i++) {
            if (strcmp(top->node->items[i]->key, child->value) == 0) {
                int line = child->line, col = child->col;
                sw_error_set(SW_EINVALID, "%s:%d:%d: duplicate key '%s'", doc->name, line, col,
                             child->value);
                node_free(child);
                return SW_EINVALID;
            }
        }
        top->pending_key = child->value;
        top->key_line = child->line;
        top->key_col = child->col;
        child->value = NULL;
        node_free(child);
        return 0;
    }
    child->key = top->pending_key;
    child->key_line = top->key_line;
    child->key_col = top->key_col;
    top->pending_key = NULL;
    node_append(top->node, child);
    return 0;
}

int sw_yaml_parse(sw_yaml_doc **out, const char *text, size_t len, const char *name)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    frame stack[MAX_DEPTH];
    int depth = 0, error = 0, done = 0, docs = 0;
    sw_yaml_doc *doc = sw_calloc(1, sizeof(*doc));

    doc->name = sw_strdup(name ? name : "<yaml>");
    memset(stack, 0, sizeof(stack));
    if (!yaml_parser_initialize(&parser)) {
        abort();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    while (!done && error == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            error = sw_error_set(SW_EINVALID, "%s:%zu:%zu: %s%s%s", doc->name,
                                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                 parser.problem ? parser.problem : "syntax error",
                                 parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                error = sw_error_set(SW_EINVALID, "%s:%zu:%zu: only one YAML document is allowed",
                                     doc->name, ev.start_mark.line + 1, ev.start_mark.column + 1);
            }
            break;
        case YAML_ALIAS_EVENT:
            error = sw_error_set(SW_EINVALID, "%s:%zu:%zu: aliases are not supported", doc->name,
                                 ev.start_mark.line + 1, ev.start_mark.column + 1);
            break;
        case YAML_SCALAR_EVENT: {
            if (ev.data.scalar.anchor != NULL) {
                error = sw_error_set(SW_EINVALID, "%s:%zu:%zu: anchors are not supported",
                                     doc->name, ev.start_mark.line + 1, ev.start_mark.column + 1);
                break;
            }
            sw_yaml_node *node = node_new(SW_YAML_SCALAR, &ev);
            node->value = sw_calloc(1, ev.data.scalar.length + 1);
            memcpy(node->value, ev.data.scalar.value, ev.data.scalar.length);
            node->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
            error = attach(doc, stack, depth, node);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (depth >= MAX_DEPTH) {
                error = sw_error_set(SW_EINVALID, "%s:%zu:%zu: nested too deeply", doc->name,
                                     ev.start_mark.line + 1, ev.start_mark.column + 1);
                break;
            }
            sw_yaml_node *node = node_new(
                ev.type == YAML_SEQUENCE_START_EVENT ? SW_YAML_SEQ : SW_YAML_MAP, &ev);
            error = attach(doc, stack, depth, node);
            if (error == 0) {
                stack[depth].node = node;
                stack[depth].pending_key = NULL;
                depth++;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
                free(stack[depth].pending_key);
                stack[depth].pending_key = NULL;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    for (int i = 0; i < depth; i++) {
        free(stack[i].pending_key);
    }
    yaml_parser_delete(&parser);
    if (error != 0) {
        sw_yaml_destroy(&doc);
        return error;
    }
    *out = doc;
    return 0;
}

int sw_yaml_load(sw_yaml_doc **out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int error;

    if (f == NULL) {
        return sw_error_set(SW_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (16u << 20)) {
                fclose(f);
                free(buf);
                return sw_error_set(SW_EINVALID, "%s: larger than 16 MiB", path);
            }
            buf = sw_realloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        error = sw_error_set(SW_EIO, "cannot read %s: %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return error;
    }
    fclose(f);
    error = sw_yaml_parse(out, buf ? buf : "", len, path);
    free(buf);
    return error;
}

void sw_yaml_destroy(sw_yaml_doc **doc_p)
{
    if (doc_p == NULL || *doc_p == NULL) {
        return;
    }
    node_free((*doc_p)->root);
    free((*doc_p)->name);
    free(*doc_p);
    *doc_p = NULL;
}

const sw_yaml_node *sw_yaml_get(const sw_yaml_node *map, const char *key)
{
    if (map == NULL || map->type != SW_YAML_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->nitems; i++) {
        if (strcmp(map->items[i]->key, key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

int sw_yaml_error(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node == NULL) {
        return sw_error_set(SW_EINVALID, "%s: %s", doc->name, msg);
    }
    return sw_error_set(SW_EINVALID, "%s:%d:%d: %s", doc->name, node->line, node->col, msg);
}

static const char *what(const sw_yaml_node *node)
{
    return node->key ? node->key : "value";
}

static int need_scalar(const sw_yaml_doc *doc, const sw_yaml_node *node)
{
    if (node->type != SW_YAML_SCALAR) {
        return sw_yaml_error(doc, node, "'%s' must be a plain value, not a %s", what(node),
                             node->type == SW_YAML_MAP ? "mapping" : "list");
    }
    return 0;
}

int sw_yaml_string(const sw_yaml_doc *doc, const sw_yaml_node *node, char **out)
{
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = need_scalar(doc, node)) < 0) {
        return error;
    }
    free(*out);
    *out = sw_strdup(node->value);
    return 0;
}

int sw_yaml_uint(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = need_scalar(doc, node)) < 0) {
        return error;
    }
    errno = 0;
    v = strtoull(node->value, &end, 10);
    if (node->value[0] == '\0' || node->value[0] == '-' || *end != '\0' || errno != 0 ||
        v > max) {
        return sw_yaml_error(doc, node, "'%s' must be a whole number from 0 to %llu, not '%s'",
                             what(node), (unsigned long long)max, node->value);
    }
    *out = v;
    return 0;
}

int sw_yaml_bool(const sw_yaml_doc *doc, const sw_yaml_node *node, int *out)
{
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = need_scalar(doc, node)) < 0) {
        return error;
    }
    if (strcmp(node->value, "true") == 0 || strcmp(node->value, "yes") == 0) {
        *out = 1;
    } else if (strcmp(node->value, "false") == 0 || strcmp(node->value, "no") == 0) {
        *out = 0;
    } else {
        return sw_yaml_error(doc, node, "'%s' must be true or false, not '%s'", what(node),
                             node->value);
    }
    return 0;
}

/* Reads "<number><unit>" where unit is one of units (with its multiplier). */
static int number_with_unit(const char *s, const char *const *units, const uint64_t *mult,
                            uint64_t dflt_mult, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!isdigit((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    uint64_t m = 0;
    if (*end == '\0') {
        m = dflt_mult;
    } else {
        for (int i = 0; units[i] != NULL; i++) {
            if (strcmp(end, units[i]) == 0) {
                m = mult[i];
                break;
            }
        }
    }
    if (m == 0 || (v != 0 && v > UINT64_MAX / m)) {
        return -1;
    }
    *out = v * m;
    return 0;
}

int sw_yaml_size(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t *out)
{
    static const char *const units[] = {"k", "K", "KiB", "m", "M", "MiB", "g", "G", "GiB", NULL};
    static const uint64_t mult[] = {1ull << 10, 1ull << 10, 1ull << 10, 1ull << 20, 1ull << 20,
                                    1ull << 20, 1ull << 30, 1ull << 30, 1ull << 30};
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = need_scalar(doc, node)) < 0) {
        return error;
    }
    if (number_with_unit(node->value, units, mult, 1, out) < 0) {
        return sw_yaml_error(doc, node, "'%s' must be a size such as 256M or 1G, not '%s'",
                             what(node), node->value);
    }
    return 0;
}

int sw_yaml_duration_ms(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t *out)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d", NULL};
    static const uint64_t mult[] = {1, 1000, 60000, 3600000, 86400000};
    int error;
    if (node == NULL) {
        return 0;
    }
    if ((error = need_scalar(doc, node)) < 0) {
        return error;
    }
    if (number_with_unit(node->value, units, mult, 1000, out) < 0) {
        return sw_yaml_error(doc, node,
                             "'%s' must be a duration such as 500ms, 30s, 10m, 1h or 7d, not '%s'",
                             what(node), node->value);
    }
    return 0;
}

int sw_yaml_check_keys(const sw_yaml_doc *doc, const sw_yaml_node *map,
                       const char *const *allowed)
{
    if (map == NULL) {
        return 0;
    }
    if (map->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, map, "'%s' must be a mapping", what(map));
    }
    for (size_t i = 0; i < map->nitems; i++) {
        int known = 0;
        for (int k = 0; allowed[k] != NULL; k++) {
            if (strcmp(map->items[i]->key, allowed[k]) == 0) {
                known = 1;
                break;
            }
        }
        if (!known) {
            char list[512] = "";
            for (int k = 0; allowed[k] != NULL; k++) {
                strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
                strncat(list, allowed[k], sizeof(list) - strlen(list) - 1);
            }
            return sw_error_set(SW_EINVALID, "%s:%d:%d: unknown key '%s' (known: %s)",
                                doc->name, map->items[i]->key_line, map->items[i]->key_col,
                                map->items[i]->key, list);
        }
    }
    return 0;
}
