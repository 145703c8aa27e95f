/*
 * profile_dockerfile.c - the sources a Dockerfile names (see profile.h), and
 * Docker's rules for an image's registry.
 *
 * DESIGN
 * The text is read as BuildKit reads it: parser directives at the top
 * (# escape=, # syntax= whose frontend image is a source), comment lines, and
 * instructions continued over lines that end in the escape character (comment
 * and empty lines inside are left out). Here-documents of RUN, COPY and ADD
 * (<<EOF, <<-EOF, <<"EOF") take the lines after their instruction, up to the
 * delimiter; one left open ends the reading there (BuildKit refuses such a
 * file: nothing after it is believed).
 *
 * Lines: a source's line is the physical line where the word that names it
 * is, inside continued instructions and here-document bodies too (an image on
 * the third line of a continued FROM is on that line); what a package manager
 * fetches from the stage's sources is on the line of its command.
 *
 * Variables are expanded as Docker expands them: ARGs before the first FROM
 * (the build step's args override their defaults) in FROM lines, and in a
 * stage its own ARGs (`ARG X` takes the global value or the build arg) and
 * ENVs (kept by a stage FROM it); a variable that is not set is left as
 * written, so that nothing it would have named is taken for a host.
 */
#include "actors/builder/profile/profile.h"

#include "actors/builder/profile/profile_files.h"
#include "actors/builder/profile/profile_run.h"
#include "actors/builder/profile/shlex.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_STAGES 128 /* a Dockerfile is read up to its 129th FROM */

typedef struct phys {
    size_t start, end; /* end: before the "\n" (and a "\r") */
} phys;

typedef struct marker {
    char *delim;
    bool strip_tabs, quoted;
    size_t body, body_end; /* lines: [body, body_end) of the reader's lines */
} marker;

typedef struct reader {
    sw_profile *p;
    const char *file, *text;
    phys *lines;
    size_t nlines;
    char escape;
    const sw_pipeline_env *args;
    size_t nargs;
    sw_profile_vars global; /* ARGs before the first FROM, with a value */
    sw_profile_stage *stages;
    size_t nstages; /* the last one is the current stage */
    bool nstages_over; /* a FROM past MAX_STAGES */
    const char *root, *context;
} reader;

/* An instruction: its text (continuations joined), and where its words are. */
typedef struct instr {
    char *t;
    size_t len, cap;
    sw_profile_seg *segs;
    size_t nsegs;
} instr;

static void put(instr *in, const char *s, size_t n, unsigned line)
{
    if ((in->nsegs & (in->nsegs - 1)) == 0) {
        in->segs = sw_realloc(in->segs, (in->nsegs ? 2 * in->nsegs : 1) * sizeof(*in->segs));
    }
    in->segs[in->nsegs++] = (sw_profile_seg){.off = in->len, .line = line};
    if (in->len + n + 1 > in->cap) {
        in->cap = 2 * (in->len + n + 1);
        in->t = sw_realloc(in->t, in->cap);
    }
    memcpy(in->t + in->len, s, n);
    in->len += n;
    in->t[in->len] = '\0';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether line i is empty or a comment (first non-blank character '#'). */
static bool empty_or_comment(const reader *r, size_t i)
{
    size_t k = r->lines[i].start;
    while (k < r->lines[i].end && blank(r->text[k])) {
        k++;
    }
    return k == r->lines[i].end || r->text[k] == '#';
}

/* The build step's value of arg name, or NULL. */
static const char *build_arg(const reader *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->nargs; i++) {
        if (strlen(r->args[i].key) == len && memcmp(r->args[i].key, name, len) == 0) {
            return r->args[i].value;
        }
    }
    return NULL;
}

static sw_profile_stage *current(reader *r)
{
    return r->nstages > 0 ? &r->stages[r->nstages - 1] : NULL;
}

static const char *global_lookup(void *ud, const char *name, size_t len)
{
    reader *r = ud;
    return sw_profile_vars_get(&r->global, name, len);
}

static const char *scope_lookup(void *ud, const char *name, size_t len)
{
    reader *r = ud;
    sw_profile_stage *st = current(r);
    return st ? sw_profile_stage_lookup(st, name, len) : global_lookup(r, name, len);
}

static sw_profile_df df_of(reader *r, const instr *in)
{
    return (sw_profile_df){.p = r->p, .file = r->file, .segs = in->segs, .nsegs = in->nsegs,
                           .mark = r->p->n, .stage = current(r)};
}

/* --- images ------------------------------------------------------------------------------- */

static bool all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr(set, s[i]) == NULL || s[i] == '\0') {
            return false;
        }
    }
    return true;
}

#define LOWER_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

const char *sw_image_registry(const char *ref, char *buf, size_t n)
{
    if (ref == NULL || ref[0] == '\0' || strpbrk(ref, "${}") != NULL) {
        return NULL;
    }
    size_t len = strcspn(ref, "@"); /* the digest goes */
    if (ref[len] == '@' && strncmp(ref + len + 1, "sha", 3) != 0) {
        return NULL;
    }
    const char *slash = memchr(ref, '/', len);
    const char *name = ref;
    const char *registry = "docker.io";
    size_t rlen = 9;
    bool hub = true;

    if (slash != NULL) {
        size_t first = (size_t)(slash - ref);
        if (memchr(ref, '.', first) != NULL || memchr(ref, ':', first) != NULL ||
            (first == 9 && strncmp(ref, "localhost", 9) == 0)) {
            registry = ref;
            rlen = first;
            name = slash + 1;
            hub = false;
        }
    }
    size_t nlen = len - (size_t)(name - ref);
    const char *last = memrchr(name, '/', nlen);
    const char *tag = memchr(last ? last : name, ':', nlen - (size_t)((last ? last : name) - name));
    size_t path = tag ? (size_t)(tag - name) : nlen;
    if (path == 0 || !all_of(name, path, LOWER_ALNUM "._-/") || name[path - 1] == '/' ||
        (tag && (len - (size_t)(tag + 1 - ref) == 0 ||
                 !all_of(tag + 1, len - (size_t)(tag + 1 - ref), ALNUM "._-"))) ||
        (hub && path == 7 && strncmp(name, "scratch", 7) == 0 && tag == NULL)) {
        return NULL;
    }
    if (!all_of(registry, rlen, ALNUM ".-:[]")) {
        return NULL;
    }
    if ((rlen == 15 && strncasecmp(registry, "index.docker.io", 15) == 0) ||
        (rlen == 20 && strncasecmp(registry, "registry-1.docker.io", 20) == 0)) {
        registry = "docker.io";
        rlen = 9;
    }
    if (rlen > 4 && strncmp(registry + rlen - 4, ":443", 4) == 0) {
        rlen -= 4; /* https's own port */
    }
    if (rlen + 1 > n) {
        return NULL;
    }
    for (size_t i = 0; i < rlen; i++) {
        buf[i] = (char)tolower((unsigned char)registry[i]);
    }
    buf[rlen] = '\0';
    return buf;
}

/* The distribution of a base image, by its name and tag ("python:3.12-alpine"). */
static sw_profile_distro distro_of(const char *image)
{
    static const char *const debian[] = {"debian", "python", "node", "golang", "buildpack-deps",
                                         "ruby", "php", "perl", "rust", "gcc", "openjdk", "nginx",
                                         "httpd", "postgres", "redis", NULL};
    static const char *const ubuntu[] = {"ubuntu", "eclipse-temurin", NULL};
    static const char *const other[] = {"scratch", "busybox", "fedora", "centos", "rockylinux",
                                        "almalinux", "amazonlinux", "oraclelinux", "archlinux",
                                        NULL};
    static const char *const debian_tags[] = {"bookworm", "bullseye", "buster", "trixie",
                                              "slim", NULL};
    static const char *const ubuntu_tags[] = {"jammy", "noble", "focal", "bionic", NULL};
    const char *slash = strrchr(image, '/');
    char *name = sw_strdup(slash ? slash + 1 : image);
    name[strcspn(name, "@")] = '\0';
    char *colon = strchr(name, ':');
    const char *tag = colon ? colon + 1 : "";
    sw_profile_distro d = SW_PROFILE_DISTRO_UNKNOWN;
    if (colon != NULL) {
        *colon = '\0';
    }

    bool listed = false;
    for (size_t i = 0; debian_tags[i] && !listed; i++) {
        listed = strstr(tag, debian_tags[i]) != NULL;
    }
    if (strstr(tag, "alpine") != NULL || strcmp(name, "alpine") == 0) {
        d = SW_PROFILE_DISTRO_ALPINE;
    } else if (strcmp(name, "ubuntu") == 0) {
        d = SW_PROFILE_DISTRO_UBUNTU;
    } else if (listed) {
        d = SW_PROFILE_DISTRO_DEBIAN;
    } else {
        for (size_t i = 0; ubuntu_tags[i] && d == SW_PROFILE_DISTRO_UNKNOWN; i++) {
            if (strstr(tag, ubuntu_tags[i]) != NULL) {
                d = SW_PROFILE_DISTRO_UBUNTU;
            }
        }
        for (size_t i = 0; debian[i] && d == SW_PROFILE_DISTRO_UNKNOWN; i++) {
            if (strcmp(name, debian[i]) == 0) {
                d = SW_PROFILE_DISTRO_DEBIAN;
            }
        }
        for (size_t i = 0; ubuntu[i] && d == SW_PROFILE_DISTRO_UNKNOWN; i++) {
            if (strcmp(name, ubuntu[i]) == 0) {
                d = SW_PROFILE_DISTRO_UBUNTU;
            }
        }
        for (size_t i = 0; other[i] && d == SW_PROFILE_DISTRO_UNKNOWN; i++) {
            if (strcmp(name, other[i]) == 0) {
                d = SW_PROFILE_DISTRO_OTHER;
            }
        }
    }
    free(name);
    return d;
}

/* The earlier stage named name (case does not matter), or NULL. */
static sw_profile_stage *stage_named(reader *r, const char *name)
{
    for (size_t i = r->nstages; i-- > 0;) {
        if (r->stages[i].name != NULL && strcasecmp(r->stages[i].name, name) == 0) {
            return &r->stages[i];
        }
    }
    return NULL;
}

/* Whether ref names an earlier stage (by name, or by index as COPY --from=0 does). */
static bool is_stage(reader *r, const char *ref, bool index_too)
{
    if (index_too && ref[0] != '\0' && strspn(ref, "0123456789") == strlen(ref)) {
        return true;
    }
    return stage_named(r, ref) != NULL;
}

static void add_image(reader *r, sw_profile_df *df, const char *image, unsigned line)
{
    char host[256];
    if (sw_image_registry(image, host, sizeof(host)) != NULL) {
        sw_profile_df_add(df, host, "image", image, line);
    }
}

/* --- instructions ------------------------------------------------------------------------- */

static sw_shlex_word *words_of(reader *r, const instr *in, size_t from, bool global, size_t *n)
{
    return sw_shlex_words(in->t, from, in->len, r->escape, global ? global_lookup : scope_lookup,
                          r, n);
}

static void from(reader *r, const instr *in, size_t rest)
{
    size_t n, k = 0;
    sw_shlex_word *w = words_of(r, in, rest, true, &n);
    sw_profile_df df = df_of(r, in);

    while (k < n && strncmp(w[k].text, "--", 2) == 0) {
        k++; /* --platform=... */
    }
    if (k < n && r->nstages >= MAX_STAGES) {
        r->nstages_over = true; /* the reading stops here */
    } else if (k < n) {
        const char *image = w[k].text;
        const char *name = k + 2 < n && strcasecmp(w[k + 1].text, "as") == 0 ? w[k + 2].text
                                                                              : NULL;
        sw_profile_stage *parent = stage_named(r, image);
        sw_profile_stage st;
        if (parent != NULL) {
            sw_profile_stage_copy(&st, parent);
        } else {
            sw_profile_stage_init(&st, distro_of(image));
            add_image(r, &df, image, sw_profile_df_line(&df, w[k].off));
        }
        if (name != NULL) {
            st.name = sw_strdup(name);
            for (char *c = st.name; *c; c++) {
                *c = (char)tolower((unsigned char)*c);
            }
        }
        r->stages = sw_realloc(r->stages, (r->nstages + 1) * sizeof(*r->stages));
        r->stages[r->nstages++] = st;
    }
    sw_shlex_words_free(w, n);
}

static void arg(reader *r, const instr *in, size_t rest)
{
    size_t n;
    sw_shlex_word *w = words_of(r, in, rest, false, &n);
    sw_profile_stage *st = current(r);

    for (size_t i = 0; i < n; i++) {
        const char *s = w[i].text, *eq = strchr(s, '=');
        size_t len = eq ? (size_t)(eq - s) : strlen(s);
        char *name = sw_calloc(1, len + 1);
        memcpy(name, s, len);
        const char *value = build_arg(r, s, len);
        if (value == NULL) {
            value = eq ? eq + 1 : st ? sw_profile_vars_get(&r->global, s, len) : NULL;
        }
        sw_profile_vars *vars = st ? &st->args : &r->global;
        if (value != NULL) {
            sw_profile_vars_set(vars, name, value);
        } else {
            sw_profile_vars_remove(vars, name);
        }
        free(name);
    }
    sw_shlex_words_free(w, n);
}

static void env(reader *r, const instr *in, size_t rest)
{
    size_t n;
    sw_shlex_word *w = words_of(r, in, rest, false, &n);
    sw_profile_stage *st = current(r);

    if (st != NULL && n > 0 && strchr(w[0].text, '=') == NULL) {
        /* ENV NAME value with spaces */
        size_t len = 0;
        for (size_t i = 1; i < n; i++) {
            len += strlen(w[i].text) + 1;
        }
        char *value = sw_calloc(1, len + 1);
        for (size_t i = 1; i < n; i++) {
            strcat(value, w[i].text);
            if (i + 1 < n) {
                strcat(value, " ");
            }
        }
        sw_profile_vars_set(&st->env, w[0].text, value);
        free(value);
    } else if (st != NULL) {
        for (size_t i = 0; i < n; i++) {
            char *eq = strchr(w[i].text, '=');
            if (eq != NULL && eq != w[i].text) {
                *eq = '\0';
                sw_profile_vars_set(&st->env, w[i].text, eq + 1);
            }
        }
    }
    sw_shlex_words_free(w, n);
}

/* path made absolute against the stage's WORKDIR, without "." parts or a trailing '/'. */
static char *in_image(const sw_profile_stage *st, const char *path)
{
    char *joined = path[0] == '/' ? sw_strdup(path) : sw_asprintf("%s/%s", st->workdir, path);
    char *out = sw_calloc(1, strlen(joined) + 2);
    size_t w = 0;
    for (char *part = joined; *part;) {
        size_t len = strcspn(part, "/");
        if (len > 0 && !(len == 1 && part[0] == '.')) {
            out[w++] = '/';
            memcpy(out + w, part, len);
            w += len;
        }
        part += len;
        part += *part == '/';
    }
    if (w == 0) {
        out[w++] = '/';
    }
    out[w] = '\0';
    free(joined);
    return out;
}

static void workdir(reader *r, const instr *in, size_t rest)
{
    size_t n;
    sw_shlex_word *w = words_of(r, in, rest, false, &n);
    sw_profile_stage *st = current(r);
    if (st != NULL && n > 0) {
        char *dir = in_image(st, w[0].text);
        free(st->workdir);
        st->workdir = dir;
    }
    sw_shlex_words_free(w, n);
}

/* A JSON array of strings at text (exec form); NULL when it is not one. */
static char **json_strings(const char *s, size_t n, size_t *count)
{
    char **v = NULL;
    size_t i = 0, k = 0;

    *count = 0;
    while (i < n && isspace((unsigned char)s[i])) {
        i++;
    }
    if (i >= n || s[i++] != '[') {
        return NULL;
    }
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) {
            i++;
        }
        if (i < n && s[i] == ']' && k == 0) {
            i++;
            break;
        }
        if (i >= n || s[i] != '"') {
            goto bad;
        }
        char *str = sw_calloc(1, n - i + 1);
        size_t w = 0;
        for (i++; i < n && s[i] != '"'; i++) {
            if (s[i] == '\\' && i + 1 < n) {
                char e = s[++i];
                str[w++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'u' ? '?' : e;
                i += e == 'u' ? 4 : 0;
            } else {
                str[w++] = s[i];
            }
        }
        v = sw_realloc(v, (k + 1) * sizeof(*v));
        v[k++] = str;
        if (i >= n) {
            goto bad;
        }
        i++;
        while (i < n && isspace((unsigned char)s[i])) {
            i++;
        }
        if (i < n && s[i] == ',') {
            i++;
        } else if (i < n && s[i] == ']') {
            i++;
            break;
        } else {
            goto bad;
        }
    }
    while (i < n && isspace((unsigned char)s[i])) {
        i++;
    }
    if (i != n) {
        goto bad;
    }
    *count = k;
    return v ? v : sw_calloc(1, sizeof(*v));
bad:
    for (size_t j = 0; j < k; j++) {
        free(v[j]);
    }
    free(v);
    return NULL;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* RUN --mount=type=...,from=IMAGE: an image unless it names a stage. */
static void mount_from(reader *r, sw_profile_df *df, const char *flag, unsigned line)
{
    char *spec = sw_strdup(flag + 8), *save = NULL;
    for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        if (strncmp(kv, "from=", 5) == 0 && !is_stage(r, kv + 5, false)) {
            add_image(r, df, kv + 5, line);
        }
    }
    free(spec);
}

/* The exec form's words as one shell command, each quoted. */
static char *quoted_command(char **v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        len += 4 * strlen(v[i]) + 3;
    }
    char *s = sw_calloc(1, len), *w = s;
    for (size_t i = 0; i < n; i++) {
        *w++ = '\'';
        for (const char *c = v[i]; *c; c++) {
            if (*c == '\'') {
                memcpy(w, "'\\''", 4);
                w += 4;
            } else {
                *w++ = *c;
            }
        }
        *w++ = '\'';
        *w++ = ' ';
    }
    *w = '\0';
    return s;
}

static void run(reader *r, instr *in, size_t rest)
{
    sw_profile_df df = df_of(r, in);
    size_t i = rest;

    if (df.stage == NULL) {
        return;
    }
    while (i + 2 < in->len && in->t[i] == '-' && in->t[i + 1] == '-') {
        size_t flag = i;
        while (i < in->len && !isspace((unsigned char)in->t[i])) {
            i++;
        }
        if (strncmp(in->t + flag, "--mount=", 8) == 0) {
            char *f = sw_calloc(1, i - flag + 1);
            memcpy(f, in->t + flag, i - flag);
            mount_from(r, &df, f, sw_profile_df_line(&df, flag));
            free(f);
        }
        while (i < in->len && blank(in->t[i])) {
            i++;
        }
    }
    size_t line_end = strcspn(in->t + i, "\n") + i, count;
    char **v = in->t[i] == '[' ? json_strings(in->t + i, line_end - i, &count) : NULL;
    if (v == NULL) {
        sw_profile_run(&df, in->t, i, in->len);
        return;
    }
    /* exec form: ["sh", "-c", "script"] is that script; any other, that command */
    sw_profile_seg one = {.off = 0, .line = sw_profile_df_line(&df, i)};
    df.segs = &one;
    df.nsegs = 1;
    const char *shell = count > 0 && strrchr(v[0], '/') ? strrchr(v[0], '/') + 1 : "";
    shell = count > 0 && shell[0] == '\0' ? v[0] : shell;
    if (count >= 3 && strcmp(v[1], "-c") == 0 &&
        (strcmp(shell, "sh") == 0 || strcmp(shell, "bash") == 0 || strcmp(shell, "ash") == 0 ||
         strcmp(shell, "dash") == 0)) {
        sw_profile_run(&df, v[2], 0, strlen(v[2]));
    } else {
        char *cmd = quoted_command(v, count);
        sw_profile_run(&df, cmd, 0, strlen(cmd));
        free(cmd);
    }
    free_strings(v, count);
}

/* Docker's test for a git repository in ADD (moby's urlutil.IsGitURL). */
static bool git_url(const char *s)
{
    if (strncmp(s, "git://", 6) == 0 || strncmp(s, "git@", 4) == 0 ||
        strncmp(s, "github.com/", 11) == 0 || strncmp(s, "ssh://", 6) == 0) {
        return true;
    }
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
        return false;
    }
    size_t end = strcspn(s, "#");
    return end > 4 && strncmp(s + end - 4, ".git", 4) == 0 && (s[end] == '\0' || s[end + 1]);
}

/* The text of here-document m of a COPY or ADD, as the file it makes. */
static char *heredoc_content(reader *r, const marker *m)
{
    size_t len = 0;
    for (size_t i = m->body; i < m->body_end; i++) {
        len += r->lines[i].end - r->lines[i].start + 1;
    }
    char *s = sw_calloc(1, len + 1);
    size_t w = 0;
    for (size_t i = m->body; i < m->body_end; i++) {
        size_t k = r->lines[i].start;
        while (m->strip_tabs && k < r->lines[i].end && r->text[k] == '\t') {
            k++;
        }
        memcpy(s + w, r->text + k, r->lines[i].end - k);
        w += r->lines[i].end - k;
        s[w++] = '\n';
    }
    s[w] = '\0';
    if (m->quoted) {
        return s;
    }
    char *expanded = sw_shlex_expand(s, w, scope_lookup, r);
    free(s);
    return expanded;
}

/* One local source of COPY/ADD, copied to target (dest: the destination): a
 * package manager's file is read from the build context (when there is one)
 * into the stage; a directory's .npmrc lands in dest, where npm will find it. */
static void copy_local(reader *r, sw_profile_stage *st, const char *src, const char *target,
                       const char *dest)
{
    char *text = NULL, *rel = NULL;
    size_t len = 0;

    if (strpbrk(src, "*?[") != NULL) {
        return; /* a pattern: not followed */
    }
    while (src[0] == '/') {
        src++;
    }
    if (sw_profile_files_type(target) != SW_PROFILE_FILE_NONE) {
        rel = r->root ? sw_asprintf("%s/%s", r->context, src[0] ? src : ".") : NULL;
        if (rel != NULL && sw_profile_files_load(&text, &len, r->root, rel) == 0) {
            sw_profile_stage_write(st, target, false, text, len, 1, 1);
        } else {
            sw_profile_stage_write_unknown(st, target);
        }
    } else if (r->root != NULL) {
        rel = sw_asprintf("%s/%s/.npmrc", r->context, src[0] ? src : ".");
        if (sw_profile_files_load(&text, &len, r->root, rel) == 0) {
            char *npmrc = sw_asprintf("%s/.npmrc", strcmp(dest, "/") ? dest : "");
            sw_profile_stage_write(st, npmrc, false, text, len, 1, 1);
            free(npmrc);
        }
    }
    free(text);
    free(rel);
}

static void copy(reader *r, instr *in, size_t rest, bool is_add, const marker *m, size_t nm)
{
    sw_profile_df df = df_of(r, in);
    sw_profile_stage *st = df.stage;
    size_t n, k = 0, nargs;
    sw_shlex_word *w = words_of(r, in, rest, false, &n);
    const char *from_ref = NULL;
    char **args = NULL;
    size_t *offs = NULL;

    if (st == NULL) {
        sw_shlex_words_free(w, n);
        return;
    }
    for (; k < n && strncmp(w[k].text, "--", 2) == 0; k++) {
        if (strncmp(w[k].text, "--from=", 7) == 0) {
            from_ref = w[k].text + 7;
        }
    }
    if (from_ref != NULL && !is_stage(r, from_ref, true)) {
        add_image(r, &df, from_ref, sw_profile_df_line(&df, w[k - 1].off));
    }
    /* the arguments, from the exec form if that is what it is */
    char **json = k < n && in->t[w[k].off] == '[' && nm == 0
                      ? json_strings(in->t + w[k].off, in->len - w[k].off, &nargs)
                      : NULL;
    if (json != NULL) {
        args = json;
        offs = sw_calloc(nargs + 1, sizeof(*offs));
        for (size_t i = 0; i < nargs; i++) {
            offs[i] = w[k].off;
        }
    } else {
        nargs = n - k;
        args = sw_calloc(nargs + 1, sizeof(*args));
        offs = sw_calloc(nargs + 1, sizeof(*offs));
        for (size_t i = 0; i < nargs; i++) {
            args[i] = sw_strdup(w[k + i].text);
            offs[i] = w[k + i].off;
        }
    }
    if (nargs >= 2) {
        const char *dest = args[nargs - 1];
        size_t dl = strlen(dest), hd = 0;
        bool dest_dir = nargs > 2 || (dl > 0 && dest[dl - 1] == '/') || strcmp(dest, ".") == 0 ||
                        strcmp(dest, "..") == 0;
        char *dest_path = in_image(st, dest);
        for (size_t i = 0; i + 1 < nargs; i++) {
            const char *src = args[i];
            unsigned line = sw_profile_df_line(&df, offs[i]);
            const char *slash = strrchr(src, '/');
            char *target = dest_dir ? sw_asprintf("%s/%s", strcmp(dest_path, "/") ? dest_path : "",
                                                  slash ? slash + 1 : src)
                                    : sw_strdup(dest_path);
            if (strncmp(src, "<<", 2) == 0 && hd < nm) {
                const char *name = src + 2 + (src[2] == '-');
                free(target);
                target = dest_dir ? sw_asprintf("%s/%s", strcmp(dest_path, "/") ? dest_path : "",
                                                name)
                                  : sw_strdup(dest_path);
                char *text = heredoc_content(r, &m[hd]);
                sw_profile_stage_write(st, target, false, text, strlen(text),
                                       (unsigned)m[hd].body + 1, 1);
                free(text);
                hd++;
            } else if (is_add && git_url(src)) {
                if (strncmp(src, "github.com/", 11) == 0) {
                    char *url = sw_asprintf("https://%s", src);
                    sw_profile_df_add_url(&df, "git", url, line);
                    free(url);
                } else {
                    sw_profile_df_add_git(&df, src, line);
                }
            } else if (is_add && (strncmp(src, "http://", 7) == 0 ||
                                  strncmp(src, "https://", 8) == 0)) {
                sw_profile_df_add_url(&df, "url", src, line);
            } else if (from_ref == NULL) {
                copy_local(r, st, src, target, dest_path);
            }
            free(target);
        }
        free(dest_path);
    }
    free_strings(args, nargs);
    free(offs);
    sw_shlex_words_free(w, n);
}

/* The here-document markers of an instruction's text from rest on, in order. */
static marker *markers_of(const instr *in, size_t rest, size_t *n)
{
    marker *m = NULL;
    const char *t = in->t;
    *n = 0;
    for (size_t i = rest; i + 2 < in->len; i++) {
        if (t[i] == '\'' || t[i] == '"') {
            const char *q = memchr(t + i + 1, t[i], in->len - i - 1);
            if (q == NULL) {
                break;
            }
            i = (size_t)(q - t);
            continue;
        }
        if (t[i] != '<' || t[i + 1] != '<' || (i > rest && t[i - 1] == '<') || t[i + 2] == '<') {
            continue;
        }
        size_t k = i + 2;
        bool strip = t[k] == '-';
        k += strip;
        char q = t[k] == '\'' || t[k] == '"' ? t[k] : '\0';
        k += q != '\0';
        size_t start = k;
        while (k < in->len && (q ? t[k] != q : !isspace((unsigned char)t[k]) &&
                                                   strchr("<>;&|()'\"", t[k]) == NULL)) {
            k++;
        }
        if (k == start || (q && k >= in->len)) {
            continue;
        }
        m = sw_realloc(m, (*n + 1) * sizeof(*m));
        m[*n] = (marker){.strip_tabs = strip, .quoted = q != '\0'};
        m[*n].delim = sw_calloc(1, k - start + 1);
        memcpy(m[*n].delim, t + start, k - start);
        (*n)++;
        i = k;
    }
    return m;
}

/* Finds each marker's body in the lines from *next on; false when one is left open. */
static bool bodies(reader *r, marker *m, size_t n, size_t *next)
{
    for (size_t k = 0; k < n; k++) {
        size_t dlen = strlen(m[k].delim);
        m[k].body = *next;
        for (;; (*next)++) {
            if (*next >= r->nlines) {
                return false;
            }
            size_t s = r->lines[*next].start, e = r->lines[*next].end;
            while (m[k].strip_tabs && s < e && r->text[s] == '\t') {
                s++;
            }
            if (e - s == dlen && memcmp(r->text + s, m[k].delim, dlen) == 0) {
                m[k].body_end = (*next)++;
                break;
            }
        }
    }
    return true;
}

static void free_markers(marker *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].delim);
    }
    free(m);
}

/* Reads the instruction that starts at line *next; false to stop reading. */
static bool instruction(reader *r, size_t *next)
{
    instr in = {0};
    size_t i = *next;
    bool go_on = true;

    /* the instruction's lines, joined at escaped line ends */
    for (;;) {
        size_t s = r->lines[i].start, e = r->lines[i].end, ce = e;
        while (ce > s && blank(r->text[ce - 1])) {
            ce--;
        }
        bool more = ce > s && r->text[ce - 1] == r->escape;
        put(&in, r->text + s, more ? ce - 1 - s : e - s, (unsigned)i + 1);
        i++;
        if (!more) {
            break;
        }
        while (i < r->nlines && empty_or_comment(r, i)) {
            i++;
        }
        if (i >= r->nlines) {
            break;
        }
    }
    *next = i;

    size_t k = 0;
    while (k < in.len && blank(in.t[k])) {
        k++;
    }
    size_t kw = k;
    while (k < in.len && isalpha((unsigned char)in.t[k])) {
        k++;
    }
    size_t kwlen = k - kw, rest = k;
    while (rest < in.len && blank(in.t[rest])) {
        rest++;
    }
#define IS(name) (kwlen == strlen(name) && strncasecmp(in.t + kw, name, kwlen) == 0)
    if (IS("FROM")) {
        from(r, &in, rest);
    } else if (IS("ARG")) {
        arg(r, &in, rest);
    } else if (IS("ENV")) {
        env(r, &in, rest);
    } else if (IS("WORKDIR")) {
        workdir(r, &in, rest);
    } else if (IS("RUN") || IS("COPY") || IS("ADD")) {
        size_t nm;
        marker *m = markers_of(&in, rest, &nm);
        size_t body = *next;
        if (nm > 0 && !bodies(r, m, nm, next)) {
            go_on = false; /* BuildKit refuses the file: believe nothing from here on */
        } else if (IS("RUN")) {
            for (size_t l = body; nm > 0 && l < *next; l++) {
                put(&in, "\n", 1, (unsigned)l + 1);
                put(&in, r->text + r->lines[l].start, r->lines[l].end - r->lines[l].start,
                    (unsigned)l + 1);
            }
            run(r, &in, rest);
        } else {
            copy(r, &in, rest, IS("ADD"), m, nm);
        }
        free_markers(m, nm);
    }
#undef IS
    free(in.t);
    free(in.segs);
    return go_on && !r->nstages_over;
}

/* The parser directives at the top; the index of the first line after them. */
static size_t directives(reader *r)
{
    bool seen_escape = false, seen_syntax = false;
    size_t i = 0;

    for (; i < r->nlines; i++) {
        const char *t = r->text;
        size_t s = r->lines[i].start, e = r->lines[i].end;
        while (s < e && blank(t[s])) {
            s++;
        }
        if (s >= e || t[s] != '#') {
            break;
        }
        for (s++; s < e && blank(t[s]); s++) {
        }
        size_t key = s;
        while (s < e && isalpha((unsigned char)t[s])) {
            s++;
        }
        size_t klen = s - key;
        while (s < e && blank(t[s])) {
            s++;
        }
        if (klen == 0 || s >= e || t[s] != '=') {
            break;
        }
        for (s++; s < e && blank(t[s]); s++) {
        }
        while (e > s && blank(t[e - 1])) {
            e--;
        }
        if (klen == 6 && strncasecmp(t + key, "escape", 6) == 0 && !seen_escape) {
            seen_escape = true;
            if (e - s == 1 && (t[s] == '`' || t[s] == '\\')) {
                r->escape = t[s];
            }
        } else if (klen == 6 && strncasecmp(t + key, "syntax", 6) == 0 && !seen_syntax) {
            char *image = sw_calloc(1, e - s + 1), host[256];
            memcpy(image, t + s, e - s);
            seen_syntax = true;
            if (sw_image_registry(image, host, sizeof(host)) != NULL) {
                sw_profile_add(r->p, host, "image", image, r->file, (unsigned)i + 1);
            }
            free(image);
        } else if (!(klen == 5 && strncasecmp(t + key, "check", 5) == 0)) {
            break; /* not a directive: a comment, and the end of directives */
        }
    }
    return i;
}

void sw_profile_dockerfile_in(sw_profile *p, const char *text, size_t len, const char *file,
                              const sw_pipeline_env *args, size_t nargs, const char *root,
                              const char *context)
{
    reader r = {.p = p, .file = file, .text = text, .escape = '\\', .args = args,
                .nargs = nargs, .root = root, .context = context ? context : "."};

    if (text == NULL || memchr(text, '\0', len) != NULL) {
        return; /* not a text */
    }
    for (size_t s = 0; s < len;) {
        const char *nl = memchr(text + s, '\n', len - s);
        size_t e = nl ? (size_t)(nl - text) : len;
        r.lines = sw_realloc(r.lines, (r.nlines + 1) * sizeof(*r.lines));
        r.lines[r.nlines++] = (phys){.start = s, .end = e > s && text[e - 1] == '\r' ? e - 1 : e};
        s = e + 1;
    }
    for (size_t i = directives(&r); i < r.nlines;) {
        if (empty_or_comment(&r, i)) {
            i++;
        } else if (!instruction(&r, &i)) {
            break;
        }
    }
    for (size_t i = 0; i < r.nstages; i++) {
        sw_profile_stage_finish(&r.stages[i]);
    }
    free(r.stages);
    free(r.lines);
    sw_profile_vars_clear(&r.global);
}

void sw_profile_dockerfile(sw_profile *p, const char *text, size_t len, const char *file,
                           const sw_pipeline_env *args, size_t nargs)
{
    sw_profile_dockerfile_in(p, text, len, file, args, nargs, NULL, NULL);
}
