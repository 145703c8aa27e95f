/* promtext.c - the strict text format 0.0.4 parser (see promtext.h). */
#include "promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct family {
    char *name;
    char type[16]; /* "" until a TYPE line; then untyped when none */
    bool help, sampled, closed;
} family;

typedef struct parser {
    promtext *out;
    family *fams;
    size_t nfams;
    size_t current; /* whose samples the last sample line was: index + 1, 0 none */
    int line;
    char *err;
    size_t errlen;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %d: %s", p->line, what);
    return -1;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        abort();
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static bool name_char(char c, bool first, bool colon)
{
    bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
}

/* A name at *s (metric names take ':'): its length, 0 when none. */
static size_t name_len(const char *s, const char *end, bool colon)
{
    size_t n = 0;
    while (s + n < end && name_char(s[n], n == 0, colon)) {
        n++;
    }
    return n;
}

static family *family_named(parser *p, const char *name, size_t n, bool make)
{
    for (size_t i = 0; i < p->nfams; i++) {
        if (strlen(p->fams[i].name) == n && strncmp(p->fams[i].name, name, n) == 0) {
            return &p->fams[i];
        }
    }
    if (!make) {
        return NULL;
    }
    p->fams = realloc(p->fams, (p->nfams + 1) * sizeof(*p->fams));
    if (p->fams == NULL) {
        abort();
    }
    family *f = &p->fams[p->nfams++];
    memset(f, 0, sizeof(*f));
    f->name = dup_n(name, n);
    return f;
}

/* A float as the format writes it: Go's ParseFloat plus +Inf, -Inf, NaN. */
static bool parse_value(const char *s, size_t n, double *v)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
        *v = INFINITY;
        return true;
    }
    if (strcmp(buf, "-Inf") == 0) {
        *v = -INFINITY;
        return true;
    }
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (strchr("0123456789+-.eE", buf[i]) == NULL) {
            return false; /* no hex, no "inf" spelled otherwise, no blanks */
        }
    }
    char *end = NULL;
    *v = strtod(buf, &end);
    return end == buf + n;
}

/* # HELP name text / # TYPE name type */
static int comment_line(parser *p, const char *s, const char *end)
{
    bool help = end - s >= 7 && strncmp(s, "# HELP ", 7) == 0;
    bool type = end - s >= 7 && strncmp(s, "# TYPE ", 7) == 0;
    if (!help && !type) {
        return 0; /* any other comment */
    }
    s += 7;
    size_t n = name_len(s, end, true);
    if (n == 0 || (s + n < end && s[n] != ' ')) {
        return fail(p, "bad metric name in %s", help ? "HELP" : "TYPE");
    }
    family *f = family_named(p, s, n, true);
    const char *rest = s + n < end ? s + n + 1 : end;
    if (help) {
        if (f->help) {
            return fail(p, "second HELP of %s", f->name);
        }
        f->help = true;
        for (const char *c = rest; c < end; c++) {
            if (*c == '\\' && (c + 1 == end || (c[1] != '\\' && c[1] != 'n'))) {
                return fail(p, "bad escape in HELP of %s", f->name);
            }
            c += *c == '\\';
        }
        return 0;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    size_t tlen = (size_t)(end - rest);
    bool known = false;
    for (size_t i = 0; i < 5; i++) {
        known = known || (strlen(types[i]) == tlen && strncmp(types[i], rest, tlen) == 0);
    }
    if (!known) {
        return fail(p, "unknown TYPE '%.*s' of %s", (int)tlen, rest, f->name);
    }
    if (f->type[0] != '\0') {
        return fail(p, "second TYPE of %s", f->name);
    }
    if (f->sampled) {
        return fail(p, "TYPE of %s after its samples", f->name);
    }
    memcpy(f->type, rest, tlen);
    f->type[tlen] = '\0';
    p->out->types = realloc(p->out->types, (p->out->ntypes + 1) * sizeof(char *));
    if (p->out->types == NULL) {
        abort();
    }
    char both[256];
    snprintf(both, sizeof(both), "%s %s", f->name, f->type);
    p->out->types[p->out->ntypes++] = dup_n(both, strlen(both));
    return 0;
}

/* The family a sample name belongs to: a histogram's _bucket, _sum and
 * _count samples are its own; anything else is the family of its name. */
static family *family_of(parser *p, const char *name, size_t n)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strncmp(name + n - sl, suffixes[i], sl) == 0) {
            family *f = family_named(p, name, n - sl, false);
            if (f != NULL &&
                (strcmp(f->type, "histogram") == 0 || strcmp(f->type, "summary") == 0)) {
                return f;
            }
        }
    }
    return family_named(p, name, n, true);
}

static int labels(parser *p, const char **sp, const char *end, promtext_sample *smp)
{
    const char *s = *sp + 1; /* after '{' */
    for (;;) {
        if (s < end && *s == '}') {
            break;
        }
        size_t n = name_len(s, end, false);
        if (n == 0) {
            return fail(p, "bad label name");
        }
        if (smp->nlabels == PROMTEXT_MAX_LABELS) {
            return fail(p, "too many labels");
        }
        char *lname = dup_n(s, n);
        for (size_t k = 0; k < smp->nlabels; k++) {
            if (strcmp(smp->label[k], lname) == 0) {
                free(lname);
                return fail(p, "label %.*s twice", (int)n, s);
            }
        }
        smp->label[smp->nlabels] = lname;
        s += n;
        if (s + 1 >= end || s[0] != '=' || s[1] != '"') {
            smp->nlabels++;
            smp->value_of[smp->nlabels - 1] = dup_n("", 0);
            return fail(p, "label %s: expected =\"", lname);
        }
        s += 2;
        char *v = malloc((size_t)(end - s) + 1);
        size_t vn = 0;
        if (v == NULL) {
            abort();
        }
        while (s < end && *s != '"') {
            if (*s == '\\') {
                if (s + 1 >= end || (s[1] != '\\' && s[1] != '"' && s[1] != 'n')) {
                    free(v);
                    smp->value_of[smp->nlabels++] = dup_n("", 0);
                    return fail(p, "bad escape in label %s", lname);
                }
                v[vn++] = s[1] == 'n' ? '\n' : s[1];
                s += 2;
            } else {
                v[vn++] = *s++;
            }
        }
        v[vn] = '\0';
        smp->value_of[smp->nlabels++] = v;
        if (s >= end) {
            return fail(p, "label %s: unterminated value", lname);
        }
        s++; /* '"' */
        if (s < end && *s == ',') {
            s++;
            continue; /* a trailing comma before '}' is allowed */
        }
        if (s >= end || *s != '}') {
            return fail(p, "expected , or } after label %s", lname);
        }
    }
    *sp = s + 1;
    return 0;
}

static int sample_line(parser *p, const char *s, const char *end)
{
    promtext *out = p->out;
    size_t n = name_len(s, end, true);
    if (n == 0) {
        return fail(p, "bad metric name");
    }
    out->samples = realloc(out->samples, (out->nsamples + 1) * sizeof(*out->samples));
    if (out->samples == NULL) {
        abort();
    }
    promtext_sample *smp = &out->samples[out->nsamples++];
    memset(smp, 0, sizeof(*smp));
    smp->name = dup_n(s, n);
    family *f = family_of(p, s, n);
    smp->family = dup_n(f->name, strlen(f->name));
    s += n;
    if (s < end && *s == '{' && labels(p, &s, end, smp) < 0) {
        return -1;
    }
    if (s >= end || *s != ' ') {
        return fail(p, "%s: expected a blank before the value", smp->name);
    }
    s++;
    const char *v = s;
    while (s < end && *s != ' ') {
        s++;
    }
    if (!parse_value(v, (size_t)(s - v), &smp->value)) {
        return fail(p, "%s: bad value '%.*s'", smp->name, (int)(s - v), v);
    }
    if (s < end) {
        const char *t = ++s;
        if (t == end) {
            return fail(p, "%s: blank at the end", smp->name);
        }
        for (; s < end; s++) {
            if (!((*s >= '0' && *s <= '9') || (s == t && *s == '-'))) {
                return fail(p, "%s: bad timestamp", smp->name);
            }
        }
    }
    if (f->closed) {
        return fail(p, "samples of %s in two groups", f->name);
    }
    size_t index = (size_t)(f - p->fams) + 1;
    if (p->current != 0 && p->current != index) {
        p->fams[p->current - 1].closed = true;
    }
    p->current = index;
    f->sampled = true;
    if (strcmp(f->type, "counter") == 0 && !(smp->value >= 0)) {
        return fail(p, "counter %s: %g", smp->name, smp->value);
    }
    return 0;
}

/* "name{k=v,...}" with the labels sorted, leaving out skip (NULL: none). */
static char *series_key(const promtext_sample *s, const char *skip)
{
    size_t order[PROMTEXT_MAX_LABELS], n = 0, len = strlen(s->name) + 3;
    for (size_t k = 0; k < s->nlabels; k++) {
        if (skip != NULL && strcmp(s->label[k], skip) == 0) {
            continue;
        }
        size_t at = n++;
        while (at > 0 && strcmp(s->label[order[at - 1]], s->label[k]) > 0) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
        len += strlen(s->label[k]) + strlen(s->value_of[k]) * 2 + 4;
    }
    char *key = malloc(len);
    if (key == NULL) {
        abort();
    }
    size_t at = (size_t)snprintf(key, len, "%s{", s->name);
    for (size_t i = 0; i < n; i++) {
        const char *v = s->value_of[order[i]];
        at += (size_t)snprintf(key + at, len - at, "%s%s=", i ? "," : "", s->label[order[i]]);
        for (; *v; v++) { /* ',' '=' and '\' escaped so no two label sets meet */
            if (*v == ',' || *v == '=' || *v == '\\' || *v == '}') {
                key[at++] = '\\';
            }
            key[at++] = *v;
        }
        key[at] = '\0';
    }
    snprintf(key + at, len - at, "}");
    return key;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int no_duplicates(parser *p)
{
    size_t n = p->out->nsamples;
    char **keys = calloc(n + 1, sizeof(char *));
    int error = 0;
    if (keys == NULL) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = series_key(&p->out->samples[i], NULL);
    }
    qsort(keys, n, sizeof(char *), compare_keys);
    for (size_t i = 1; i < n && error == 0; i++) {
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            p->line = 0;
            error = fail(p, "duplicate series %s", keys[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
    }
    free(keys);
    return error;
}

/* One series of a histogram (its labels without le). */
typedef struct hseries {
    char *key;
    double last_le, last_count, inf_count;
    bool any, inf, sum, count;
    double count_value;
} hseries;

static hseries *hseries_of(hseries **hs, size_t *n, char *key)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*hs)[i].key, key) == 0) {
            free(key);
            return &(*hs)[i];
        }
    }
    *hs = realloc(*hs, (*n + 1) * sizeof(**hs));
    if (*hs == NULL) {
        abort();
    }
    hseries *h = &(*hs)[(*n)++];
    memset(h, 0, sizeof(*h));
    h->key = key;
    return h;
}

static int check_histogram(parser *p, const family *f)
{
    hseries *hs = NULL;
    size_t nh = 0;
    int error = 0;
    size_t blen = strlen(f->name);
    p->line = 0;
    for (size_t i = 0; i < p->out->nsamples && error == 0; i++) {
        const promtext_sample *s = &p->out->samples[i];
        if (strcmp(s->family, f->name) != 0) {
            continue;
        }
        const char *suffix = s->name + blen;
        const char *le = NULL;
        for (size_t k = 0; k < s->nlabels; k++) {
            if (strcmp(s->label[k], "le") == 0) {
                le = s->value_of[k];
            }
        }
        /* the key without the suffix: x_bucket{a} and x_count{a} meet */
        promtext_sample base = *s;
        base.name = f->name;
        hseries *h = hseries_of(&hs, &nh, series_key(&base, "le"));
        if (strcmp(suffix, "_bucket") == 0) {
            double bound = 0;
            if (le == NULL || !parse_value(le, strlen(le), &bound) || isnan(bound)) {
                error = fail(p, "%s: bucket without a good le", s->name);
            } else if (h->inf) {
                error = fail(p, "%s: bucket after le=\"+Inf\"", h->key);
            } else if (h->any && bound <= h->last_le) {
                error = fail(p, "%s: le %s not ascending", h->key, le);
            } else if (h->any && s->value < h->last_count) {
                error = fail(p, "%s: le %s not cumulative", h->key, le);
            } else if (isnan(s->value) || s->value < 0) {
                error = fail(p, "%s: bad bucket count", h->key);
            }
            h->any = true;
            h->last_le = bound;
            h->last_count = s->value;
            if (isinf(bound) && bound > 0) {
                h->inf = true;
                h->inf_count = s->value;
            }
        } else if (le != NULL) {
            error = fail(p, "%s with an le label", s->name);
        } else if (strcmp(suffix, "_sum") == 0) {
            h->sum = true;
        } else if (strcmp(suffix, "_count") == 0) {
            h->count = true;
            h->count_value = s->value;
        } else {
            error = fail(p, "%s in histogram %s", s->name, f->name);
        }
    }
    for (size_t i = 0; i < nh && error == 0; i++) {
        if (!hs[i].inf) {
            error = fail(p, "%s: no le=\"+Inf\" bucket", hs[i].key);
        } else if (!hs[i].sum || !hs[i].count) {
            error = fail(p, "%s: no _sum or no _count", hs[i].key);
        } else if (hs[i].count_value != hs[i].inf_count) {
            error = fail(p, "%s: +Inf bucket %g but _count %g", hs[i].key, hs[i].inf_count,
                         hs[i].count_value);
        }
    }
    for (size_t i = 0; i < nh; i++) {
        free(hs[i].key);
    }
    free(hs);
    return error;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n) {
            return false;
        }
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

int promtext_parse(promtext *out, const char *text, size_t len, char *err, size_t errlen)
{
    parser p = {.out = out, .err = err, .errlen = errlen};
    const char *s = text, *end = text + len;
    int error = 0;

    memset(out, 0, sizeof(*out));
    snprintf(err, errlen, "ok");
    if (len > 0 && text[len - 1] != '\n') {
        p.line = 0;
        error = fail(&p, "the last line has no newline");
    } else if (!utf8_ok((const unsigned char *)text, len)) {
        p.line = 0;
        error = fail(&p, "not UTF-8");
    }
    while (error == 0 && s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        eol = eol != NULL ? eol : end;
        p.line++;
        if (memchr(s, '\0', (size_t)(eol - s)) != NULL || memchr(s, '\r', (size_t)(eol - s))) {
            error = fail(&p, "a NUL or CR in the line");
        } else if (eol == s) {
            /* blank: ignored */
        } else if (*s == '#') {
            error = comment_line(&p, s, eol);
        } else {
            error = sample_line(&p, s, eol);
        }
        s = eol + 1;
    }
    if (error == 0) {
        error = no_duplicates(&p);
    }
    for (size_t i = 0; i < p.nfams && error == 0; i++) {
        if (strcmp(p.fams[i].type, "histogram") == 0) {
            error = check_histogram(&p, &p.fams[i]);
        }
    }
    for (size_t i = 0; i < p.nfams; i++) {
        free(p.fams[i].name);
    }
    free(p.fams);
    if (error != 0) {
        promtext_finish(out);
    }
    return error;
}

void promtext_finish(promtext *p)
{
    for (size_t i = 0; i < p->nsamples; i++) {
        promtext_sample *s = &p->samples[i];
        for (size_t k = 0; k < s->nlabels; k++) {
            free(s->label[k]);
            free(s->value_of[k]);
        }
        free(s->name);
        free(s->family);
    }
    for (size_t i = 0; i < p->ntypes; i++) {
        free(p->types[i]);
    }
    free(p->types);
    free(p->samples);
    memset(p, 0, sizeof(*p));
}

static bool has_pair(const promtext_sample *s, const char *k, size_t kn, const char *v, size_t vn)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        if (strlen(s->label[i]) == kn && strncmp(s->label[i], k, kn) == 0 &&
            strlen(s->value_of[i]) == vn && strncmp(s->value_of[i], v, vn) == 0) {
            return true;
        }
    }
    return false;
}

double promtext_sum(const promtext *p, const char *name, const char *match, size_t *n_out)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        const promtext_sample *s = &p->samples[i];
        bool ok = strcmp(s->name, name) == 0;
        const char *m = match != NULL ? match : "";
        while (ok && *m) {
            const char *eq = strchr(m, '=');
            const char *comma = strchr(m, ',');
            const char *stop = comma != NULL ? comma : m + strlen(m);
            ok = eq != NULL && eq < stop &&
                 has_pair(s, m, (size_t)(eq - m), eq + 1, (size_t)(stop - eq - 1));
            m = *stop ? stop + 1 : stop;
        }
        if (ok) {
            sum += s->value;
            n++;
        }
    }
    if (n_out != NULL) {
        *n_out = n;
    }
    return sum;
}

const char *promtext_type(const promtext *p, const char *family)
{
    size_t n = strlen(family);
    for (size_t i = 0; i < p->ntypes; i++) {
        if (strncmp(p->types[i], family, n) == 0 && p->types[i][n] == ' ') {
            return p->types[i] + n + 1;
        }
    }
    return NULL;
}
