/*
 * yaml.h - a YAML document read into a small tree with line and column on every
 * node, so that config and pipeline readers can say "file:line:col: what is wrong".
 * Anchors, aliases and tags are refused (a config has no need of them).
 */
#ifndef SW_YAML_H
#define SW_YAML_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SW_YAML_SCALAR, SW_YAML_MAP, SW_YAML_SEQ } sw_yaml_type;

typedef struct sw_yaml_node sw_yaml_node;
struct sw_yaml_node {
    sw_yaml_type type;
    char *value;            /* SCALAR: the text; MAP entry: the key (see below) */
    int line, col;          /* 1-based position in the source */
    sw_yaml_node **items;   /* MAP: values (key in item->key); SEQ: elements */
    size_t nitems;
    char *key;              /* set on a MAP's values: their key */
    int key_line, key_col;  /* ... and the key's own position */
    int quoted;             /* SCALAR: was quoted in the source */
};

typedef struct sw_yaml_doc {
    char *name;             /* file name for messages */
    sw_yaml_node *root;     /* NULL for an empty document */
} sw_yaml_doc;

/* Parses text (len bytes). On a syntax error returns SW_EINVALID with
 * "name:line:col: problem" in sw_error_last(). */
int sw_yaml_parse(sw_yaml_doc **out, const char *text, size_t len, const char *name);

/* Reads and parses a file (SW_EIO when it cannot be read). */
int sw_yaml_load(sw_yaml_doc **out, const char *path);

void sw_yaml_destroy(sw_yaml_doc **doc_p);

/* The value under key in a MAP, or NULL. Borrowed. */
const sw_yaml_node *sw_yaml_get(const sw_yaml_node *map, const char *key);

/* Sets an error "doc:line:col: <message>" at node and returns SW_EINVALID. */
int sw_yaml_error(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed readers for scalars; each returns SW_EINVALID with a positioned message
 * when node is not of the form. A NULL node leaves *out untouched and returns 0. */
int sw_yaml_string(const sw_yaml_doc *doc, const sw_yaml_node *node, char **out);
int sw_yaml_uint(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t max, uint64_t *out);
int sw_yaml_bool(const sw_yaml_doc *doc, const sw_yaml_node *node, int *out);
/* "256M", "1G", "512k", "1048576" -> bytes */
int sw_yaml_size(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t *out);
/* "90s", "10m", "1h", "500ms", "30" (seconds) -> milliseconds */
int sw_yaml_duration_ms(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t *out);

/* Fails with a positioned error when map holds a key not in allowed (NULL-ended). */
int sw_yaml_check_keys(const sw_yaml_doc *doc, const sw_yaml_node *map,
                       const char *const *allowed);

#endif
