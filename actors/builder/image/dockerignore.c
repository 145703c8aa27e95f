/* dockerignore.c - .dockerignore patterns, as Docker reads and matches them
 * (see dockerignore.h). */
#include "actors/builder/image/dockerignore.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One element of a compiled pattern; moby turns each into a piece of a regexp. */
typedef enum {
    EL_RUNE,  /* a literal character */
    EL_ONE,   /* '?': one character but '/'          (regexp [^/]) */
    EL_STAR,  /* '*': any run without '/'            (regexp [^/] starred) */
    EL_DIRS,  /* "**", "**" "/": whole path elements (regexp: any run ending in '/', or none) */
    EL_REST,  /* a trailing "**": anything           (regexp: dot star) */
    EL_CLASS, /* "[...]": one character of a class   (regexp [...]) */
} el_kind;

typedef struct rune_range {
    uint32_t lo, hi;
} rune_range;

typedef struct element {
    el_kind kind;
    uint32_t rune;      /* EL_RUNE */
    bool negated;       /* EL_CLASS */
    rune_range *ranges; /* EL_CLASS */
    size_t nranges;
} element;

/* How a pattern is matched: moby's matchType, chosen from the pattern's text. */
typedef enum {
    MATCH_EXACT,  /* no wildcard: the path is the pattern */
    MATCH_PREFIX, /* "x**": the path starts with "x" */
    MATCH_SUFFIX, /* "**x" (x without wildcards): the path ends with x (or is
                   * x without its leading '/'); so "**.log" is any *.log */
    MATCH_REGEXP, /* anything else: the elements, anchored at both ends */
} match_type;

typedef struct pattern {
    char *text; /* cleaned, without its '!' */
    bool exception;
    match_type type;
    element *els;
    size_t nels;
} pattern;

struct sw_dockerignore {
    pattern *pats;
    size_t n, cap;
    bool exceptions;
    unsigned line; /* of the file, for messages */
};

/* An invalid UTF-8 byte b decodes to INVALID_BASE + b: it only equals itself. */
#define INVALID_BASE 0x110000u

/* Decodes the character at s (not at its NUL) into *r; returns its length. */
static size_t utf8_decode(const char *s, uint32_t *r)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = p[0];
    size_t len;
    uint32_t min;

    if (c < 0x80) {
        *r = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        *r = INVALID_BASE + p[0];
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *r = INVALID_BASE + p[0];
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *r = INVALID_BASE + p[0];
        return 1;
    }
    *r = c;
    return len;
}

/* Go's unicode.IsSpace. */
static bool is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200a;
    }
}

/* Go's strings.TrimSpace, on [*s, *s + *len) (NUL-terminated at its end). */
static void trim_space(const char **s, size_t *len)
{
    const char *b = *s, *e = *s + *len, *end;
    uint32_t r;
    while (b < e) {
        size_t n = utf8_decode(b, &r);
        if (!is_space(r)) {
            break;
        }
        b += n;
    }
    end = b;
    for (const char *p = b; p < e;) {
        size_t n = utf8_decode(p, &r);
        if (!is_space(r)) {
            end = p + n;
        }
        p += n;
    }
    *s = b;
    *len = (size_t)(end - b);
}

char *sw_dockerignore_clean(const char *path)
{
    size_t n = strlen(path);
    if (n == 0) {
        return sw_strdup(".");
    }
    char *out = sw_calloc(1, n + 2);
    bool rooted = path[0] == '/';
    size_t r = 0, w = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/') {
                    w--;
                }
            } else if (!rooted) {
                if (w > 0) {
                    out[w++] = '/';
                }
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0)) {
                out[w++] = '/';
            }
            while (r < n && path[r] != '/') {
                out[w++] = path[r++];
            }
        }
    }
    if (w == 0) {
        out[w++] = '.';
    }
    out[w] = '\0';
    return out;
}

static void element_free(element *e)
{
    free(e->ranges);
}

static void pattern_free(pattern *p)
{
    for (size_t i = 0; i < p->nels; i++) {
        element_free(&p->els[i]);
    }
    free(p->els);
    free(p->text);
}

static element *push_element(pattern *p, size_t *cap, el_kind kind)
{
    if (p->nels == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        p->els = sw_realloc(p->els, *cap * sizeof(*p->els));
    }
    element *e = &p->els[p->nels++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    return e;
}

/* One character of a class, as filepath.Match's getEsc reads it. */
static int class_char(const char **s, uint32_t *r)
{
    const char *p = *s;
    if (*p == '\0' || *p == '-' || *p == ']') {
        return -1;
    }
    if (*p == '\\') {
        p++;
        if (*p == '\0') {
            return -1;
        }
    }
    p += utf8_decode(p, r);
    *s = p;
    return 0;
}

/* Parses "[...]" at *s (past the '['): the rules of filepath.Match, whose syntax
 * check Docker runs on every pattern, plus regexp's refusal of a reversed range. */
static int compile_class(element *e, const char **s)
{
    const char *p = *s;
    size_t cap = 0;
    if (*p == '^') {
        e->negated = true;
        p++;
    }
    for (;;) {
        if (*p == ']' && e->nranges > 0) {
            p++;
            break;
        }
        rune_range rr;
        if (class_char(&p, &rr.lo) < 0) {
            return -1;
        }
        rr.hi = rr.lo;
        if (*p == '-') {
            p++;
            if (class_char(&p, &rr.hi) < 0 || rr.hi < rr.lo) {
                return -1;
            }
        }
        if (e->nranges == cap) {
            cap = cap ? cap * 2 : 4;
            e->ranges = sw_realloc(e->ranges, cap * sizeof(*e->ranges));
        }
        e->ranges[e->nranges++] = rr;
    }
    *s = p;
    return 0;
}

/* Compiles p->text into elements and picks its match type, as moby's
 * Pattern.compile does (patternmatcher.go). */
static int compile(pattern *p)
{
    const char *s = p->text;
    size_t cap = 0;
    match_type type = MATCH_EXACT;
    for (bool first = true; *s != '\0'; first = false) {
        if (s[0] == '*' && s[1] == '*') {
            s += 2;
            if (*s == '/') {
                s++;
            }
            if (*s == '\0') {
                type = type == MATCH_EXACT ? MATCH_PREFIX : MATCH_REGEXP;
                push_element(p, &cap, EL_REST);
            } else {
                type = MATCH_REGEXP;
                push_element(p, &cap, EL_DIRS);
            }
            if (first) {
                type = MATCH_SUFFIX;
            }
        } else if (*s == '*') {
            s++;
            type = MATCH_REGEXP;
            push_element(p, &cap, EL_STAR);
        } else if (*s == '?') {
            s++;
            type = MATCH_REGEXP;
            push_element(p, &cap, EL_ONE);
        } else if (*s == '[') {
            s++;
            type = MATCH_REGEXP;
            if (compile_class(push_element(p, &cap, EL_CLASS), &s) < 0) {
                return -1;
            }
        } else {
            if (*s == '\\') {
                s++;
                if (*s == '\0') {
                    return -1;
                }
                type = MATCH_REGEXP;
            } else if (*s == ']') {
                type = MATCH_REGEXP; /* a literal ']' for Go's regexp too */
            }
            element *e = push_element(p, &cap, EL_RUNE);
            s += utf8_decode(s, &e->rune);
        }
    }
    p->type = type;
    return 0;
}

int sw_dockerignore_add(sw_dockerignore *di, const char *line)
{
    const char *s = line;
    size_t len = strlen(line);
    bool exception = false;
    char *clean = NULL, *text = NULL;

    di->line++;
    /* dockerignore.ReadAll: comments, trimming, '!', Clean, a leading '/' */
    if (s[0] == '#') {
        return 0;
    }
    trim_space(&s, &len);
    if (len == 0) {
        return 0;
    }
    if (s[0] == '!') {
        exception = true;
        s++, len--;
        trim_space(&s, &len);
    }
    if (len > 0) {
        char *raw = strndup(s, len);
        clean = sw_dockerignore_clean(raw);
        free(raw);
        if (strlen(clean) > 1 && clean[0] == '/') {
            memmove(clean, clean + 1, strlen(clean));
        }
    }
    text = sw_asprintf("%s%s", exception ? "!" : "", clean ? clean : "");
    free(clean);

    /* patternmatcher.New: Clean again (so "!/" becomes "!"), then the '!' */
    char *again = sw_dockerignore_clean(text);
    free(text);
    pattern p = {0};
    if (again[0] == '!') {
        if (again[1] == '\0') {
            free(again);
            return sw_error_set(SW_EINVALID,
                                ".dockerignore line %u: illegal exclusion pattern \"!\"", di->line);
        }
        p.exception = true;
        p.text = sw_strdup(again + 1);
    } else {
        p.text = sw_strdup(again);
    }
    free(again);
    if (compile(&p) < 0) {
        int error = sw_error_set(
            SW_EINVALID, ".dockerignore line %u: syntax error in pattern \"%s\"", di->line, line);
        pattern_free(&p);
        return error;
    }
    if (di->n == di->cap) {
        di->cap = di->cap ? di->cap * 2 : 8;
        di->pats = sw_realloc(di->pats, di->cap * sizeof(*di->pats));
    }
    di->pats[di->n++] = p;
    di->exceptions |= p.exception;
    return 0;
}

int sw_dockerignore_parse(sw_dockerignore **out, const char *text, size_t len)
{
    sw_dockerignore *di = sw_calloc(1, sizeof(*di));
    size_t off = 0;

    *out = NULL;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        off = 3;
    }
    while (text != NULL && off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - off;
        if (n > 0 && text[end - 1] == '\r') {
            n--;
        }
        char *line = strndup(text + off, n);
        int error = sw_dockerignore_add(di, line);
        free(line);
        if (error < 0) {
            sw_dockerignore_destroy(&di);
            return error;
        }
        off = end + 1;
    }
    *out = di;
    return 0;
}

void sw_dockerignore_destroy(sw_dockerignore **di_p)
{
    if (di_p == NULL || *di_p == NULL) {
        return;
    }
    sw_dockerignore *di = *di_p;
    for (size_t i = 0; i < di->n; i++) {
        pattern_free(&di->pats[i]);
    }
    free(di->pats);
    free(di);
    *di_p = NULL;
}

bool sw_dockerignore_has_exceptions(const sw_dockerignore *di)
{
    return di->exceptions;
}

size_t sw_dockerignore_count(const sw_dockerignore *di)
{
    return di->n;
}

typedef struct matcher {
    const pattern *p;
    const char *name;
    size_t len;
    uint8_t *failed; /* (nels + 1) x (len + 1) states known not to match */
} matcher;

static bool class_has(const element *e, uint32_t r)
{
    bool in = false;
    for (size_t i = 0; i < e->nranges && !in; i++) {
        in = e->ranges[i].lo <= r && r <= e->ranges[i].hi;
    }
    return in != e->negated;
}

/* Whether elements [i..] match name[j..] to its end. Each state is tried once
 * (failures are remembered), so a pattern with many stars stays polynomial
 * rather than exponential. */
static bool match_at(matcher *m, size_t i, size_t j)
{
    const char *name = m->name;
    if (i == m->p->nels) {
        return name[j] == '\0';
    }
    size_t state = i * (m->len + 1) + j;
    if (m->failed[state / 8] & (1u << (state % 8))) {
        return false;
    }
    const element *e = &m->p->els[i];
    uint32_t r = 0;
    size_t n = name[j] ? utf8_decode(name + j, &r) : 0;
    bool ok = false;

    switch (e->kind) {
    case EL_RUNE:
        ok = n > 0 && r == e->rune && match_at(m, i + 1, j + n);
        break;
    case EL_ONE:
        ok = n > 0 && r != '/' && match_at(m, i + 1, j + n);
        break;
    case EL_CLASS:
        ok = n > 0 && class_has(e, r) && match_at(m, i + 1, j + n);
        break;
    case EL_STAR:
        for (size_t k = j;;) {
            if (match_at(m, i + 1, k)) {
                ok = true;
                break;
            }
            if (name[k] == '\0' || name[k] == '/') {
                break;
            }
            k += utf8_decode(name + k, &r);
        }
        break;
    case EL_DIRS: /* any run ending in '/' without a newline, or nothing */
        ok = match_at(m, i + 1, j);
        for (size_t k = j; !ok && name[k] != '\0' && name[k] != '\n'; k++) {
            ok = name[k] == '/' && match_at(m, i + 1, k + 1);
        }
        break;
    case EL_REST: /* any run without a newline */
        ok = strchr(name + j, '\n') == NULL;
        break;
    }
    if (!ok) {
        m->failed[state / 8] |= (uint8_t)(1u << (state % 8));
    }
    return ok;
}

/* moby's Pattern.match: the path itself, no parent. */
static bool pattern_matches(const pattern *p, const char *path, size_t len)
{
    size_t tlen = strlen(p->text);
    switch (p->type) {
    case MATCH_EXACT:
        return tlen == len && memcmp(path, p->text, len) == 0;
    case MATCH_PREFIX:
        return len >= tlen - 2 && memcmp(path, p->text, tlen - 2) == 0;
    case MATCH_SUFFIX: {
        const char *suffix = p->text + 2;
        size_t slen = tlen - 2;
        if (len >= slen && memcmp(path + len - slen, suffix, slen) == 0) {
            return true;
        }
        return suffix[0] == '/' && len == slen - 1 && memcmp(path, suffix + 1, len) == 0;
    }
    case MATCH_REGEXP:
        break;
    }
    char *name = strndup(path, len);
    matcher m = {.p = p, .name = name, .len = len};
    m.failed = sw_calloc((p->nels + 1) * (len + 1) / 8 + 1, 1);
    bool ok = match_at(&m, 0, 0);
    free(m.failed);
    free(name);
    return ok;
}

/* Whether p matches one of path's parent directories ("a", "a/b" of "a/b/c"). */
static bool pattern_matches_parent(const pattern *p, const char *path)
{
    for (const char *s = strchr(path, '/'); s != NULL; s = strchr(s + 1, '/')) {
        if (pattern_matches(p, path, (size_t)(s - path))) {
            return true;
        }
    }
    return false;
}

bool sw_dockerignore_match(const sw_dockerignore *di, const char *path, const bool *parent,
                           bool *info)
{
    bool excluded = false;
    size_t len = strlen(path);
    for (size_t i = 0; i < di->n; i++) {
        const pattern *p = &di->pats[i];
        bool match = parent != NULL && parent[i];
        if (!match) {
            /* not evaluated when it could not change the outcome (and then not
             * remembered for the children either: moby's MatchesUsingParentResults) */
            if (p->exception != excluded) {
                if (info != NULL) {
                    info[i] = false;
                }
                continue;
            }
            match = pattern_matches(p, path, len);
            if (!match && parent == NULL) {
                match = pattern_matches_parent(p, path);
            }
        }
        if (info != NULL) {
            info[i] = match;
        }
        if (match) {
            excluded = !p->exception;
        }
    }
    return excluded;
}

bool sw_dockerignore_excludes(const sw_dockerignore *di, const char *path)
{
    return sw_dockerignore_match(di, path, NULL, NULL);
}

bool sw_dockerignore_may_reinclude(const sw_dockerignore *di, const char *dir)
{
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < di->n; i++) {
        const pattern *p = &di->pats[i];
        size_t plen = strlen(p->text);
        if (!p->exception) {
            continue;
        }
        /* strings.HasPrefix(pattern + "/", dir + "/") */
        if (plen >= dlen && strncmp(p->text, dir, dlen) == 0 &&
            (plen == dlen || p->text[dlen] == '/')) {
            return true;
        }
    }
    return false;
}
