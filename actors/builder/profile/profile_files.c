/*
 * profile_files.c - the files that name package sources (see profile_files.h).
 *
 * Each reader goes line by line and never fails: a line it does not understand
 * says nothing. Lines end in "\n" or "\r\n".
 */
#include "actors/builder/profile/profile_files.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest setting name the readers look at; longer ones are none of theirs. */
#define KEY_MAX 128

/* One line of the text being read. */
typedef struct line_iter {
    const char *p, *end;
    unsigned line, step;
    bool first;
} line_iter;

static bool next_line(line_iter *it, const char **s, size_t *n, unsigned *line)
{
    if (it->p >= it->end) {
        return false;
    }
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    *s = it->p;
    *n = (size_t)(stop - it->p);
    if (*n > 0 && (*s)[*n - 1] == '\r') {
        (*n)--;
    }
    if (!it->first) {
        it->line += it->step;
    }
    it->first = false;
    *line = it->line;
    it->p = nl ? nl + 1 : it->end;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* s[0..*n) without blanks at either end. */
static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && is_blank(s[0])) {
        s++, (*n)--;
    }
    while (*n > 0 && is_blank(s[*n - 1])) {
        (*n)--;
    }
    return s;
}

/* The next blank-separated token of s[*pos..n), or NULL. */
static const char *next_token(const char *s, size_t n, size_t *pos, size_t *len)
{
    while (*pos < n && is_blank(s[*pos])) {
        (*pos)++;
    }
    if (*pos >= n) {
        return NULL;
    }
    size_t start = *pos;
    while (*pos < n && !is_blank(s[*pos])) {
        (*pos)++;
    }
    *len = *pos - start;
    return s + start;
}

static bool has_scheme(const char *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            return i > 0;
        }
        if (!(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')) {
            return false;
        }
    }
    return false;
}

/* Calls found with s[0..n) as a string, if it is a url. */
static void emit(sw_profile_found_fn found, void *ud, const char *kind, const char *key,
                 const char *s, size_t n, unsigned line)
{
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s++, n -= 2;
    }
    if (!has_scheme(s, n)) {
        return;
    }
    char *url = sw_calloc(1, n + 1);
    memcpy(url, s, n);
    found(ud, kind, key, url, line);
    free(url);
}

/* Copies s[0..n) into key[KEY_MAX] in lower case with '_' as '-'; false when too long. */
static bool normal_key(char *key, const char *s, size_t n)
{
    if (n == 0 || n >= KEY_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        key[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
    }
    key[n] = '\0';
    return true;
}

/* registry=URL and @scope:registry=URL; '#' and ';' start comments. */
static void read_npmrc(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;
    char key[KEY_MAX];

    while (next_line(it, &s, &n, &line)) {
        s = trim(s, &n);
        const char *eq = memchr(s, '=', n);
        if (n == 0 || s[0] == '#' || s[0] == ';' || eq == NULL) {
            continue;
        }
        size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
        const char *k = trim(s, &klen), *v = trim(eq + 1, &vlen);
        if (!normal_key(key, k, klen)) {
            continue;
        }
        size_t kl = strlen(key);
        if (strcmp(key, "registry") == 0 ||
            (key[0] == '@' && kl > 9 && strcmp(key + kl - 9, ":registry") == 0)) {
            /* the key as written: a scope is a name, lower case is npm's own */
            memcpy(key, k, klen);
            key[klen] = '\0';
            emit(found, ud, "npm", key, v, vlen, line);
        }
    }
}

/* An ini file: [section], key = value or key: value, and a value going on in
 * indented lines (extra-index-url holds several, one per line or space-separated). */
static void read_pip_conf(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;
    char key[KEY_MAX] = "";

    while (next_line(it, &s, &n, &line)) {
        bool indented = n > 0 && is_blank(s[0]);
        s = trim(s, &n);
        if (n == 0 || s[0] == '#' || s[0] == ';') {
            continue;
        }
        const char *v = s;
        size_t vlen = n;
        if (!(indented && key[0] != '\0')) {
            size_t klen = 0;
            while (klen < n && s[klen] != '=' && s[klen] != ':') {
                klen++;
            }
            key[0] = '\0';
            if (s[0] == '[' || klen >= n) {
                continue;
            }
            const char *k = s;
            v = s + klen + 1;
            vlen = n - klen - 1;
            v = trim(v, &vlen);
            k = trim(k, &klen);
            if (!normal_key(key, k, klen)) {
                key[0] = '\0';
                continue;
            }
        }
        if (strcmp(key, "index-url") != 0 && strcmp(key, "extra-index-url") != 0 &&
            strcmp(key, "find-links") != 0) {
            continue;
        }
        size_t pos = 0, tlen;
        const char *tok;
        while ((tok = next_token(v, vlen, &pos, &tlen)) != NULL) {
            emit(found, ud, "pip", key, tok, tlen, line);
        }
    }
}

/* The url inside a token ("pkg@https://x/p.whl", "git+https://host/r.git#egg=r"). */
static const char *url_in(const char *tok, size_t n, size_t *len)
{
    for (size_t i = 0; i + 2 < n; i++) {
        if (tok[i] == ':' && tok[i + 1] == '/' && tok[i + 2] == '/') {
            size_t start = i;
            while (start > 0 && (isalnum((unsigned char)tok[start - 1]) ||
                                 tok[start - 1] == '+' || tok[start - 1] == '.' ||
                                 tok[start - 1] == '-')) {
                start--;
            }
            if (start == i) {
                return NULL;
            }
            *len = n - start;
            return tok + start;
        }
    }
    return NULL;
}

/* The option of a requirements line that takes a url: its pip.conf key. */
static const char *index_option(const char *tok, size_t n, size_t *name_len)
{
    static const struct {
        const char *opt, *key;
    } opts[] = {
        {"--index-url", "index-url"},           {"-i", "index-url"},
        {"--extra-index-url", "extra-index-url"}, {"--find-links", "find-links"},
        {"-f", "find-links"},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        size_t ol = strlen(opts[i].opt);
        if (n >= ol && memcmp(tok, opts[i].opt, ol) == 0 &&
            (n == ol || tok[ol] == '=' || opts[i].opt[1] != '-')) {
            *name_len = ol;
            return opts[i].key;
        }
    }
    return NULL;
}

/* One logical requirements line (its comment removed). */
static void requirements_line(const char *s, size_t n, unsigned line, sw_profile_found_fn found,
                              void *ud)
{
    size_t pos = 0, tlen, ulen, olen;
    const char *tok, *url;

    while ((tok = next_token(s, n, &pos, &tlen)) != NULL) {
        const char *key = index_option(tok, tlen, &olen);
        if (key != NULL) {
            const char *v = tok + olen;
            size_t vlen = tlen - olen;
            if (vlen > 0 && v[0] == '=') {
                v++, vlen--;
            }
            if (vlen == 0 && (v = next_token(s, n, &pos, &vlen)) == NULL) {
                return;
            }
            emit(found, ud, "pip", key, v, vlen, line);
        } else if (tok[0] == '-' && tlen > 1 && strchr("rc", tok[1]) && tlen == 2) {
            next_token(s, n, &pos, &tlen); /* -r FILE, -c FILE: a file, no url */
        } else if ((url = url_in(tok, tlen, &ulen)) != NULL) {
            bool vcs = ulen > 4 && memcmp(url, "git+", 4) == 0;
            emit(found, ud, vcs ? "git" : "url", "requirement", url, ulen, line);
        }
    }
}

/* pip's requirements format: '#' after a blank starts a comment, a line ending in
 * '\' goes on in the next (its sources are on the line where it began). */
static void read_requirements(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line, start = 0;
    char *joined = NULL;
    size_t jlen = 0;

    while (next_line(it, &s, &n, &line)) {
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '#' && (i == 0 || is_blank(s[i - 1]))) {
                n = i;
                break;
            }
        }
        bool more = n > 0 && s[n - 1] == '\\';
        if (joined == NULL) {
            start = line;
        }
        joined = sw_realloc(joined, jlen + n + 2);
        memcpy(joined + jlen, s, n - more);
        jlen += n - more;
        joined[jlen++] = ' ';
        if (!more) {
            requirements_line(joined, jlen, start, found, ud);
            free(joined);
            joined = NULL;
            jlen = 0;
        }
    }
    if (joined != NULL) {
        requirements_line(joined, jlen, start, found, ud);
        free(joined);
    }
}

/* GOPROXY=list, as `go env -w` writes it; the list is split at ',' and '|'. */
static void read_go_env(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;

    while (next_line(it, &s, &n, &line)) {
        s = trim(s, &n);
        if (n < 8 || memcmp(s, "GOPROXY", 7) != 0) {
            continue;
        }
        size_t vlen = n - 7;
        const char *v = trim(s + 7, &vlen);
        if (vlen == 0 || v[0] != '=') {
            continue;
        }
        v++, vlen--;
        v = trim(v, &vlen);
        if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
            v++, vlen -= 2;
        }
        while (vlen > 0) {
            size_t e = 0;
            while (e < vlen && v[e] != ',' && v[e] != '|') {
                e++;
            }
            size_t elen = e;
            const char *entry = trim(v, &elen);
            if (!(elen == 6 && memcmp(entry, "direct", 6) == 0) &&
                !(elen == 3 && memcmp(entry, "off", 3) == 0)) {
                emit(found, ud, "go", "GOPROXY", entry, elen, line);
            }
            v += e + (e < vlen);
            vlen -= e + (e < vlen);
        }
    }
}

/* deb [options] uri suite [component...]; '#' starts a comment anywhere. */
static void read_apt_list(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;

    while (next_line(it, &s, &n, &line)) {
        const char *hash = memchr(s, '#', n);
        size_t pos = 0, tlen;
        const char *tok;
        if (hash != NULL) {
            n = (size_t)(hash - s);
        }
        tok = next_token(s, n, &pos, &tlen);
        if (tok == NULL || !((tlen == 3 && memcmp(tok, "deb", 3) == 0) ||
                             (tlen == 7 && memcmp(tok, "deb-src", 7) == 0))) {
            continue;
        }
        while (pos < n && is_blank(s[pos])) {
            pos++;
        }
        if (pos < n && s[pos] == '[') {
            const char *close = memchr(s + pos, ']', n - pos);
            if (close == NULL) {
                continue;
            }
            pos = (size_t)(close - s) + 1;
        }
        if ((tok = next_token(s, n, &pos, &tlen)) != NULL) {
            emit(found, ud, "apt", "deb", tok, tlen, line);
        }
    }
}

/* deb822: "URIs: uri..." (field names in any case), going on in indented lines. */
static void read_apt_sources(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;
    bool in_uris = false;

    while (next_line(it, &s, &n, &line)) {
        bool indented = n > 0 && is_blank(s[0]);
        s = trim(s, &n);
        if (n > 0 && s[0] == '#') {
            continue;
        }
        const char *v = s;
        size_t vlen = n;
        if (!indented || !in_uris) {
            in_uris = n >= 5 && strncasecmp(s, "uris:", 5) == 0;
            if (!in_uris) {
                continue;
            }
            v = s + 5;
            vlen = n - 5;
        }
        size_t pos = 0, tlen;
        const char *tok;
        while ((tok = next_token(v, vlen, &pos, &tlen)) != NULL) {
            emit(found, ud, "apt", "URIs", tok, tlen, line);
        }
    }
}

/* One repository a line, perhaps tagged: "@edge https://host/alpine/edge/main". */
static void read_apk_repositories(line_iter *it, sw_profile_found_fn found, void *ud)
{
    const char *s;
    size_t n;
    unsigned line;

    while (next_line(it, &s, &n, &line)) {
        size_t pos = 0, tlen;
        const char *tok = next_token(s, n, &pos, &tlen);
        if (tok != NULL && tok[0] == '@') {
            tok = next_token(s, n, &pos, &tlen);
        }
        if (tok != NULL && tok[0] != '#') {
            emit(found, ud, "apk", "repository", tok, tlen, line);
        }
    }
}

void sw_profile_files_read(sw_profile_file type, const char *text, size_t len,
                           unsigned first_line, unsigned line_step, sw_profile_found_fn found,
                           void *ud)
{
    line_iter it = {.p = text, .end = text + len, .line = first_line, .step = line_step,
                    .first = true};
    switch (type) {
    case SW_PROFILE_FILE_NPMRC:
        read_npmrc(&it, found, ud);
        break;
    case SW_PROFILE_FILE_PIP_CONF:
        read_pip_conf(&it, found, ud);
        break;
    case SW_PROFILE_FILE_REQUIREMENTS:
        read_requirements(&it, found, ud);
        break;
    case SW_PROFILE_FILE_GO_ENV:
        read_go_env(&it, found, ud);
        break;
    case SW_PROFILE_FILE_APT_LIST:
        read_apt_list(&it, found, ud);
        break;
    case SW_PROFILE_FILE_APT_SOURCES:
        read_apt_sources(&it, found, ud);
        break;
    case SW_PROFILE_FILE_APK_REPOSITORIES:
        read_apk_repositories(&it, found, ud);
        break;
    case SW_PROFILE_FILE_NONE:
        break;
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether path is suffix or ends in "/" suffix. */
static bool path_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return ends_with(path, suffix) && (n == m || path[n - m - 1] == '/');
}

sw_profile_file sw_profile_files_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base);
    bool in_list_d = slash != NULL && slash - path >= 14 &&
                     strncmp(slash - 14, "sources.list.d", 14) == 0 &&
                     (slash - path == 14 || slash[-15] == '/');

    if (strcmp(base, ".npmrc") == 0 || path_ends_with(path, "etc/npmrc")) {
        return SW_PROFILE_FILE_NPMRC;
    }
    if (strcmp(base, "pip.conf") == 0 || strcmp(base, "pip.ini") == 0) {
        return SW_PROFILE_FILE_PIP_CONF;
    }
    if (blen >= 16 && strncmp(base, "requirements", 12) == 0 && ends_with(base, ".txt")) {
        return SW_PROFILE_FILE_REQUIREMENTS;
    }
    if (strcmp(base, "go.env") == 0 || path_ends_with(path, ".config/go/env")) {
        return SW_PROFILE_FILE_GO_ENV;
    }
    if (strcmp(base, "sources.list") == 0 || (in_list_d && blen > 5 && ends_with(base, ".list"))) {
        return SW_PROFILE_FILE_APT_LIST;
    }
    if (in_list_d && blen > 8 && ends_with(base, ".sources")) {
        return SW_PROFILE_FILE_APT_SOURCES;
    }
    if (path_ends_with(path, "etc/apk/repositories")) {
        return SW_PROFILE_FILE_APK_REPOSITORIES;
    }
    return SW_PROFILE_FILE_NONE;
}

/* Whether rel is relative and has no ".." element. */
static bool inner_path(const char *rel)
{
    if (rel[0] == '\0' || rel[0] == '/') {
        return false;
    }
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            return false;
        }
        p += len;
        p += *p == '/';
    }
    return true;
}

/* Reads the regular file open at fd (rel names it in messages). */
static int read_fd(char **text, size_t *len, int fd, const char *rel)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int error;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        return sw_error_set(SW_EINVALID, "%s: not a regular file", rel);
    }
    if (st.st_size > (off_t)SW_PROFILE_FILE_MAX) {
        return sw_error_set(SW_EINVALID, "%s: larger than %u bytes", rel, SW_PROFILE_FILE_MAX);
    }
    buf = sw_calloc(1, SW_PROFILE_FILE_MAX + 1);
    for (;;) {
        ssize_t got = read(fd, buf + n, SW_PROFILE_FILE_MAX + 1 - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            error = sw_error_set(SW_EIO, "cannot read %s: %s", rel, strerror(errno));
            goto cleanup;
        }
        if (got == 0 || (n += (size_t)got) > SW_PROFILE_FILE_MAX) {
            break;
        }
    }
    if (n > SW_PROFILE_FILE_MAX) {
        error = sw_error_set(SW_EINVALID, "%s: larger than %u bytes", rel, SW_PROFILE_FILE_MAX);
        goto cleanup;
    }
    if (memchr(buf, '\0', n) != NULL) {
        error = sw_error_set(SW_EINVALID, "%s: a binary file (it holds a NUL byte)", rel);
        goto cleanup;
    }
    buf[n] = '\0';
    *text = sw_realloc(buf, n + 1);
    *len = n;
    buf = NULL;
    error = 0;

cleanup:
    free(buf);
    return error;
}

int sw_profile_files_load_at(char **text, size_t *len, int dirfd, const char *name,
                             const char *rel)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    *text = NULL;
    *len = 0;
    if (fd < 0) {
        return sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EIO, "cannot read %s: %s", rel,
                            strerror(errno));
    }
    int error = read_fd(text, len, fd, rel);
    close(fd);
    return error;
}

int sw_profile_files_load(char **text, size_t *len, const char *root, const char *rel)
{
    char *path = NULL, *real = NULL, *real_root = NULL;
    int fd = -1, error;

    *text = NULL;
    *len = 0;
    if (!inner_path(rel)) {
        return sw_error_set(SW_EINVALID, "%s: not a path inside the checkout", rel);
    }
    if ((real_root = realpath(root, NULL)) == NULL) {
        error = sw_error_set(SW_ENOTFOUND, "no checkout at %s: %s", root, strerror(errno));
        goto cleanup;
    }
    path = sw_asprintf("%s/%s", real_root, rel);
    if ((real = realpath(path, NULL)) == NULL) {
        error = sw_error_set(errno == ENOENT || errno == ENOTDIR ? SW_ENOTFOUND : SW_EIO,
                             "%s: %s", rel, strerror(errno));
        goto cleanup;
    }
    size_t rlen = strlen(real_root);
    if (strcmp(real_root, "/") != 0 &&
        (strncmp(real, real_root, rlen) != 0 || real[rlen] != '/')) {
        error = sw_error_set(SW_EINVALID, "%s: leads outside the checkout (a symlink)", rel);
        goto cleanup;
    }
    if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
        error = sw_error_set(SW_EIO, "cannot read %s: %s", rel, strerror(errno));
        goto cleanup;
    }
    error = read_fd(text, len, fd, rel);

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    free(path);
    free(real);
    free(real_root);
    return error;
}
