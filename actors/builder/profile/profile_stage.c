/*
 * profile_stage.c - a Dockerfile stage's package sources (see profile_stage.h).
 *
 * A stage knows its sources only as urls, each with the file it is in; the
 * files the base image comes with are one, "image" (Debian 12 keeps its list in
 * sources.list.d/debian.sources, older releases in sources.list: a Dockerfile
 * that rewrites either means the image's lists). A sed on the apt or apk files
 * is run on those urls with the regular expression it gives.
 */
#include "actors/builder/profile/profile_stage.h"

#include "actors/builder/profile/profile_files.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_LISTS "image"

/* Longest url a sed may make; past it the url is dropped (a sed that keeps
 * inserting text, such as s/x* /.../g run again and again, would grow it without end). */
#define SED_URL_MAX 2048

static const char *const debian_apt[] = {"http://deb.debian.org/debian", NULL};
static const char *const ubuntu_apt[] = {"http://archive.ubuntu.com/ubuntu",
                                         "http://security.ubuntu.com/ubuntu", NULL};
static const char *const alpine_apk[] = {"https://dl-cdn.alpinelinux.org/alpine", NULL};

const char *sw_profile_vars_get(const sw_profile_vars *vars, const char *key, size_t len)
{
    for (size_t i = vars->n; i-- > 0;) {
        if (strlen(vars->v[i].key) == len && memcmp(vars->v[i].key, key, len) == 0) {
            return vars->v[i].value;
        }
    }
    return NULL;
}

bool sw_profile_vars_add(sw_profile_vars *vars, const char *key, const char *value)
{
    size_t size = strlen(key) + strlen(value);
    if (strlen(value) > SW_PROFILE_VALUE_MAX || vars->bytes + size > SW_PROFILE_VARS_BYTES) {
        return false;
    }
    if ((vars->n & (vars->n - 1)) == 0) { /* 0, 1, 2, 4, ...: room for as many again */
        vars->v = sw_realloc(vars->v, (vars->n ? 2 * vars->n : 1) * sizeof(*vars->v));
    }
    vars->v[vars->n++] = (sw_profile_var){.key = sw_strdup(key), .value = sw_strdup(value)};
    vars->bytes += size;
    return true;
}

void sw_profile_vars_remove(sw_profile_vars *vars, const char *key)
{
    size_t w = 0;
    for (size_t i = 0; i < vars->n; i++) {
        if (strcmp(vars->v[i].key, key) == 0) {
            vars->bytes -= strlen(vars->v[i].key) + strlen(vars->v[i].value);
            free(vars->v[i].key);
            free(vars->v[i].value);
        } else {
            vars->v[w++] = vars->v[i];
        }
    }
    vars->n = w;
}

void sw_profile_vars_set(sw_profile_vars *vars, const char *key, const char *value)
{
    sw_profile_vars_remove(vars, key);
    sw_profile_vars_add(vars, key, value);
}

void sw_profile_vars_clear(sw_profile_vars *vars)
{
    for (size_t i = 0; i < vars->n; i++) {
        free(vars->v[i].key);
        free(vars->v[i].value);
    }
    free(vars->v);
    *vars = (sw_profile_vars){0};
}

static void vars_copy(sw_profile_vars *dst, const sw_profile_vars *src)
{
    *dst = (sw_profile_vars){0};
    for (size_t i = 0; i < src->n; i++) {
        sw_profile_vars_add(dst, src->v[i].key, src->v[i].value);
    }
}

static void add_all(sw_profile_vars *vars, const char *key, const char *const *urls)
{
    for (size_t i = 0; urls[i] != NULL; i++) {
        sw_profile_vars_add(vars, key, urls[i]);
    }
}

void sw_profile_stage_init(sw_profile_stage *st, sw_profile_distro distro)
{
    *st = (sw_profile_stage){.distro = distro, .workdir = sw_strdup("/")};
    if (distro == SW_PROFILE_DISTRO_DEBIAN || distro == SW_PROFILE_DISTRO_UNKNOWN) {
        /* an image we do not know is most likely Debian's (python, node, golang...) */
        add_all(&st->apt, IMAGE_LISTS, debian_apt);
    } else if (distro == SW_PROFILE_DISTRO_UBUNTU) {
        add_all(&st->apt, IMAGE_LISTS, ubuntu_apt);
    }
    if (distro == SW_PROFILE_DISTRO_ALPINE || distro == SW_PROFILE_DISTRO_UNKNOWN) {
        add_all(&st->apk, IMAGE_LISTS, alpine_apk);
    }
}

void sw_profile_stage_copy(sw_profile_stage *dst, const sw_profile_stage *src)
{
    *dst = (sw_profile_stage){.distro = src->distro, .workdir = sw_strdup(src->workdir),
                              .pip_unknown = src->pip_unknown, .npm_unknown = src->npm_unknown,
                              .go_set = src->go_set};
    vars_copy(&dst->env, &src->env);
    vars_copy(&dst->apt, &src->apt);
    vars_copy(&dst->apk, &src->apk);
    vars_copy(&dst->pip, &src->pip);
    vars_copy(&dst->npm, &src->npm);
    vars_copy(&dst->go, &src->go);
}

void sw_profile_stage_finish(sw_profile_stage *st)
{
    free(st->name);
    free(st->workdir);
    sw_profile_vars_clear(&st->env);
    sw_profile_vars_clear(&st->args);
    sw_profile_vars_clear(&st->apt);
    sw_profile_vars_clear(&st->apk);
    sw_profile_vars_clear(&st->pip);
    sw_profile_vars_clear(&st->npm);
    sw_profile_vars_clear(&st->go);
    *st = (sw_profile_stage){0};
}

const char *sw_profile_stage_lookup(void *stage, const char *name, size_t len)
{
    sw_profile_stage *st = stage;
    const char *v = sw_profile_vars_get(&st->env, name, len);
    return v ? v : sw_profile_vars_get(&st->args, name, len);
}

/* The apt file key of path: the image's own lists are one. */
static const char *apt_key(const char *path)
{
    static const char *const own[] = {"/etc/apt/sources.list",
                                      "/etc/apt/sources.list.d/debian.sources",
                                      "/etc/apt/sources.list.d/ubuntu.sources", NULL};
    for (size_t i = 0; own[i] != NULL; i++) {
        if (strcmp(path, own[i]) == 0) {
            return IMAGE_LISTS;
        }
    }
    return path;
}

/* Whether pip reads a config at path (site, user; $PIP_CONFIG_FILE is not followed). */
static bool pip_reads(const char *path)
{
    size_t n = strlen(path);
    return strcmp(path, "/etc/pip.conf") == 0 ||
           (n > 13 && strcmp(path + n - 13, "/pip/pip.conf") == 0) ||
           (n > 14 && strcmp(path + n - 14, "/.pip/pip.conf") == 0);
}

/* Whether a line of text starts with "deb ": an apt list, whatever its name. */
static bool has_deb_line(const char *text, size_t len)
{
    for (size_t i = 0; i < len;) {
        while (i < len && (text[i] == ' ' || text[i] == '\t')) {
            i++;
        }
        if ((len - i >= 4 && memcmp(text + i, "deb ", 4) == 0) ||
            (len - i >= 8 && memcmp(text + i, "deb-src ", 8) == 0)) {
            return true;
        }
        const char *nl = memchr(text + i, '\n', len - i);
        i = nl ? (size_t)(nl - text) + 1 : len;
    }
    return false;
}

typedef struct writer {
    sw_profile_stage *st;
    sw_profile_file type;
    const char *key;
} writer;

static void found(void *ud, const char *kind, const char *key, const char *url, unsigned line)
{
    writer *w = ud;
    (void)kind;
    (void)line;
    switch (w->type) {
    case SW_PROFILE_FILE_APT_LIST:
    case SW_PROFILE_FILE_APT_SOURCES:
        sw_profile_vars_add(&w->st->apt, w->key, url);
        break;
    case SW_PROFILE_FILE_APK_REPOSITORIES:
        sw_profile_vars_add(&w->st->apk, IMAGE_LISTS, url);
        break;
    case SW_PROFILE_FILE_PIP_CONF:
        if (strcmp(key, "index-url") == 0) {
            sw_profile_vars_set(&w->st->pip, key, url);
        } else {
            sw_profile_vars_add(&w->st->pip, key, url);
        }
        break;
    case SW_PROFILE_FILE_NPMRC:
        sw_profile_vars_set(&w->st->npm, key, url);
        break;
    case SW_PROFILE_FILE_GO_ENV:
        sw_profile_vars_add(&w->st->go, "GOPROXY", url);
        break;
    default:
        break;
    }
}

/* Empties what the file at path held; its type, or NONE when the stage keeps nothing of it. */
static sw_profile_file forget(sw_profile_stage *st, const char *path, bool append, bool unknown,
                              const char **key)
{
    sw_profile_file type = sw_profile_files_type(path);
    *key = IMAGE_LISTS;
    switch (type) {
    case SW_PROFILE_FILE_APT_LIST:
    case SW_PROFILE_FILE_APT_SOURCES:
        *key = apt_key(path);
        if (!append) {
            sw_profile_vars_remove(&st->apt, *key);
        }
        return type;
    case SW_PROFILE_FILE_APK_REPOSITORIES:
        if (!append) {
            sw_profile_vars_remove(&st->apk, IMAGE_LISTS);
        }
        return type;
    case SW_PROFILE_FILE_PIP_CONF:
        if (!pip_reads(path)) {
            return SW_PROFILE_FILE_NONE;
        }
        if (!append) {
            sw_profile_vars_clear(&st->pip);
        }
        st->pip_unknown = unknown;
        return type;
    case SW_PROFILE_FILE_NPMRC:
        if (!append) {
            sw_profile_vars_clear(&st->npm);
        }
        st->npm_unknown = unknown;
        return type;
    case SW_PROFILE_FILE_GO_ENV:
        if (!append) {
            sw_profile_vars_clear(&st->go);
        }
        st->go_set = true;
        return type;
    default:
        return SW_PROFILE_FILE_NONE;
    }
}

void sw_profile_stage_write(sw_profile_stage *st, const char *path, bool append, const char *text,
                            size_t len, unsigned first_line, unsigned line_step)
{
    writer w = {.st = st};
    w.type = forget(st, path, append, false, &w.key);
    if (w.type == SW_PROFILE_FILE_NONE && has_deb_line(text, len)) {
        w.type = SW_PROFILE_FILE_APT_LIST; /* deb lines to a file named in a variable, or to stdout */
        w.key = path;
    }
    if (w.type != SW_PROFILE_FILE_NONE) {
        sw_profile_files_read(w.type, text, len, first_line, line_step, found, &w);
    }
}

void sw_profile_stage_write_unknown(sw_profile_stage *st, const char *path)
{
    const char *key;
    forget(st, path, false, true, &key);
}

/* The url being made by a sed: it stops growing past SED_URL_MAX. */
typedef struct edit {
    char buf[SED_URL_MAX + 1];
    size_t n;
    bool too_long;
} edit;

static void put(edit *e, const char *s, size_t len)
{
    if (e->too_long || e->n + len > SED_URL_MAX) {
        e->too_long = true;
        return;
    }
    memcpy(e->buf + e->n, s, len);
    e->n += len;
    e->buf[e->n] = '\0';
}

/* The replacement of sed's s command for one match: & and \1..\9, \n, \x. */
static void put_replacement(edit *e, const char *s, const regmatch_t *m, const char *repl)
{
    for (const char *r = repl; *r && !e->too_long; r++) {
        if (*r == '&') {
            put(e, s + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
        } else if (*r == '\\' && r[1] >= '1' && r[1] <= '9') {
            int g = *++r - '0';
            if (m[g].rm_so >= 0) {
                put(e, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
            }
        } else if (*r == '\\' && r[1] != '\0') {
            r++;
            put(e, *r == 'n' ? "\n" : r, 1);
        } else {
            put(e, r, 1);
        }
    }
}

/* s with sed's s command applied into *e; false when the pattern does not match. */
static bool substitute(edit *e, const regex_t *re, const char *s, const char *repl, bool global,
                       long nth)
{
    long count = 0;
    bool changed = false;
    regmatch_t m[10];
    const char *p = s;

    e->n = 0;
    e->too_long = false;
    e->buf[0] = '\0';
    while (!e->too_long && (*p != '\0' || p == s) &&
           regexec(re, p, 10, m, p == s ? 0 : REG_NOTBOL) == 0) {
        count++;
        put(e, p, (size_t)(count >= nth ? m[0].rm_so : m[0].rm_eo));
        if (count >= nth) {
            put_replacement(e, p, m, repl);
            changed = true;
        }
        if (m[0].rm_eo == m[0].rm_so) { /* an empty match: step over one character */
            if (p[m[0].rm_eo] == '\0') {
                p += m[0].rm_eo;
                break;
            }
            put(e, p + m[0].rm_eo, 1);
            p += m[0].rm_eo + 1;
        } else {
            p += m[0].rm_eo;
        }
        if (changed && !global) {
            break;
        }
    }
    put(e, p, strlen(p));
    return changed;
}

/* Applies the command to each url of list; whether one matched. A url grown
 * past SED_URL_MAX is dropped. */
static bool sed_list(sw_profile_vars *list, const regex_t *re, const char *repl, bool global,
                     long nth)
{
    sw_profile_vars out = {0};
    edit *e = sw_calloc(1, sizeof(*e));
    bool matched = false;
    for (size_t i = 0; i < list->n; i++) {
        bool changed = substitute(e, re, list->v[i].value, repl, global, nth);
        matched = matched || changed;
        if (!e->too_long) {
            sw_profile_vars_add(&out, list->v[i].key, changed ? e->buf : list->v[i].value);
        }
    }
    free(e);
    sw_profile_vars_clear(list);
    *list = out;
    return matched;
}

void sw_profile_stage_sed(sw_profile_stage *st, const char *path, const char *pattern,
                          const char *replacement, const char *flags, bool extended)
{
    sw_profile_vars *list;
    regex_t re;
    bool global = strchr(flags, 'g') != NULL;
    long nth = strtol(flags + strcspn(flags, "0123456789"), NULL, 10);
    int cflags = (extended ? REG_EXTENDED : 0) | (strpbrk(flags, "Ii") ? REG_ICASE : 0);

    if (strncmp(path, "/etc/apt/", 9) == 0 && strstr(path, "sources.list") != NULL) {
        list = &st->apt; /* a glob (sources.list*) or one file: the sources as one */
    } else if (strcmp(path, "/etc/apk/repositories") == 0) {
        list = &st->apk;
    } else {
        return;
    }
    if (pattern[0] == '\0' || regcomp(&re, pattern, cflags) != 0) {
        return;
    }
    nth = nth > 0 ? nth : 1;
    if (!sed_list(list, &re, replacement, global, nth) && list == &st->apt &&
        st->distro == SW_PROFILE_DISTRO_UNKNOWN) {
        /* taken for Debian, but the Dockerfile edits Ubuntu's lists: it is Ubuntu */
        sw_profile_vars ubuntu = {0};
        add_all(&ubuntu, IMAGE_LISTS, ubuntu_apt);
        if (sed_list(&ubuntu, &re, replacement, global, nth)) {
            sw_profile_vars_remove(&st->apt, IMAGE_LISTS);
            for (size_t i = 0; i < ubuntu.n; i++) {
                sw_profile_vars_add(&st->apt, IMAGE_LISTS, ubuntu.v[i].value);
            }
            st->distro = SW_PROFILE_DISTRO_UBUNTU;
        }
        sw_profile_vars_clear(&ubuntu);
    }
    regfree(&re);
}

unsigned sw_profile_df_line(const sw_profile_df *df, size_t off)
{
    unsigned line = df->nsegs > 0 ? df->segs[0].line : 0;
    for (size_t i = 0; i < df->nsegs && df->segs[i].off <= off; i++) {
        line = df->segs[i].line;
    }
    return line;
}

static bool seen(const sw_profile_df *df, const char *host, const char *kind)
{
    for (size_t i = df->mark; i < df->p->n; i++) {
        if (strcmp(df->p->v[i].host, host) == 0 && strcmp(df->p->v[i].kind, kind) == 0) {
            return true;
        }
    }
    return false;
}

void sw_profile_df_add(sw_profile_df *df, const char *host, const char *kind, const char *what,
                       unsigned line)
{
    if (!seen(df, host, kind)) {
        sw_profile_add(df->p, host, kind, what, df->file, line);
    }
}

bool sw_profile_df_add_url(sw_profile_df *df, const char *kind, const char *url, unsigned line)
{
    char host[256];
    if (sw_profile_url_host(url, host, sizeof(host)) == NULL) {
        return false;
    }
    if (!seen(df, host, kind)) {
        sw_profile_add_url(df->p, kind, url, df->file, line);
    }
    return true;
}

bool sw_profile_df_add_git(sw_profile_df *df, const char *repo, unsigned line)
{
    const char *at = strchr(repo, '@'), *colon = strchr(repo, ':');
    char host[256];

    if (strstr(repo, "://") != NULL) {
        return sw_profile_df_add_url(df, "git", repo, line);
    }
    if (at == NULL || colon == NULL || colon < at + 2 ||
        memchr(repo, '/', (size_t)(colon - repo)) != NULL) {
        return false;
    }
    size_t n = (size_t)(colon - at - 1);
    if (n >= sizeof(host) || strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789.-_") < n) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        host[k] = (char)tolower((unsigned char)at[1 + k]);
    }
    host[n] = '\0';
    if (!seen(df, host, "git")) {
        sw_profile_add(df->p, host, "git", repo, df->file, line);
    }
    return true;
}
