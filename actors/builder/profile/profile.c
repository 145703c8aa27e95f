/*
 * profile.c - the source profile of a checkout (see profile.h): the list, urls'
 * hosts, and the walk that finds what to read.
 *
 * DESIGN
 * The pipeline comes first (.slipway.yml's images, then each build step's
 * Dockerfile, read by profile_dockerfile.c), then the repository's own files
 * that name package sources (profile_files.h), found by a walk of the checkout
 * in byte order of names, so that the same checkout always gives the same list.
 * The walk is bounded (WALK_MAX_DEPTH directories deep, WALK_MAX_ENTRIES
 * entries, files up to SW_PROFILE_FILE_MAX), skips .git, and never follows a
 * symlink: every entry is opened relative to its directory with O_NOFOLLOW. The
 * files a pipeline names are resolved and must stay inside the checkout.
 */
#include "actors/builder/profile/profile.h"

#include "actors/builder/profile/profile_files.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_MAX_DEPTH 8      /* directories below the root that are read */
#define WALK_MAX_ENTRIES 20000 /* entries looked at in all */
#define PIPELINE_FILE ".slipway.yml"

/* A copy of at most SW_PROFILE_FIELD_MAX bytes ("..." at the end when cut, on a
 * UTF-8 boundary): a profile's fields stay small enough for its FINISHED event. */
static char *bounded(const char *text)
{
    size_t n = strlen(text);
    if (n <= SW_PROFILE_FIELD_MAX) {
        return sw_strdup(text);
    }
    n = SW_PROFILE_FIELD_MAX - 3;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) {
        n--;
    }
    return sw_asprintf("%.*s...", (int)n, text);
}

void sw_profile_add(sw_profile *p, const char *host, const char *kind, const char *what,
                    const char *file, unsigned line)
{
    assert(p != NULL && host != NULL && kind != NULL);
    /* compared as kept: a field cut short is the same source as before */
    sw_source s = {.host = bounded(host), .kind = bounded(kind), .file = bounded(file ? file : ""),
                   .line = line};
    for (size_t i = 0; i < p->n; i++) {
        const sw_source *o = &p->v[i];
        if (o->line == line && strcmp(o->host, s.host) == 0 && strcmp(o->kind, s.kind) == 0 &&
            strcmp(o->file, s.file) == 0) {
            goto drop;
        }
    }
    if (p->n >= SW_PROFILE_MAX) {
        p->dropped++;
        goto drop;
    }
    if (p->n == 0 || (p->n >= 8 && (p->n & (p->n - 1)) == 0)) {
        p->v = sw_realloc(p->v, (p->n ? 2 * p->n : 8) * sizeof(*p->v));
    }
    s.what = bounded(what ? what : "");
    p->v[p->n++] = s;
    return;

drop:
    free(s.host);
    free(s.kind);
    free(s.file);
}

void sw_profile_clear(sw_profile *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].host);
        free(p->v[i].kind);
        free(p->v[i].what);
        free(p->v[i].file);
    }
    free(p->v);
    *p = (sw_profile){0};
}

/* The scheme's port, for the last part of a scheme such as "git+https"; 0: none known. */
static unsigned default_port(const char *scheme, size_t n)
{
    static const struct {
        const char *name;
        unsigned port;
    } ports[] = {{"http", 80}, {"https", 443}, {"ftp", 21}, {"ssh", 22}, {"git", 9418}};
    const char *plus = memrchr(scheme, '+', n);
    if (plus != NULL) {
        n -= (size_t)(plus + 1 - scheme);
        scheme = plus + 1;
    }
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        if (strlen(ports[i].name) == n && strncasecmp(scheme, ports[i].name, n) == 0) {
            return ports[i].port;
        }
    }
    return 0;
}

/* Where url's authority starts (after "scheme://") and ends; false when it has none. */
static bool authority(const char *url, size_t *start, size_t *end, size_t *scheme_len)
{
    size_t i = 0;
    if (!isalpha((unsigned char)url[0])) {
        return false;
    }
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '.' || url[i] == '-') {
        i++;
    }
    if (strncmp(url + i, "://", 3) != 0) {
        return false;
    }
    *scheme_len = i;
    *start = i + 3;
    *end = *start + strcspn(url + *start, "/?#");
    return true;
}

const char *sw_profile_url_host(const char *url, char *buf, size_t n)
{
    size_t start, end, scheme_len, host_len, w = 0;
    const char *host, *port = NULL;

    if (url == NULL || !authority(url, &start, &end, &scheme_len) ||
        (scheme_len == 4 && strncasecmp(url, "file", 4) == 0)) {
        return NULL;
    }
    const char *at = memrchr(url + start, '@', end - start);
    host = at ? at + 1 : url + start;
    host_len = (size_t)(url + end - host);
    if (host_len > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        if (close == NULL) {
            return NULL;
        }
        if ((size_t)(close + 1 - host) < host_len) {
            if (close[1] != ':') {
                return NULL;
            }
            port = close + 2;
        }
        host_len = (size_t)(close + 1 - host);
    } else {
        const char *colon = memchr(host, ':', host_len);
        if (colon != NULL) {
            port = colon + 1;
            host_len = (size_t)(colon - host);
        }
    }
    if (host_len == 0) {
        return NULL;
    }
    for (size_t i = 0; i < host_len; i++) {
        char c = host[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ||
              (host[0] == '[' && (c == ':' || c == '[' || c == ']')))) {
            return NULL;
        }
    }
    size_t port_len = port ? (size_t)(url + end - port) : 0;
    unsigned port_num = 0;
    for (size_t i = 0; i < port_len; i++) {
        if (!isdigit((unsigned char)port[i]) || port_num > 65535) {
            return NULL;
        }
        port_num = port_num * 10 + (unsigned)(port[i] - '0');
    }
    if (port_num > 65535) {
        return NULL;
    }
    if (port_len > 0 && port_num == default_port(url, scheme_len)) {
        port_len = 0;
    }
    if (host_len + 1 + port_len + 1 > n) {
        return NULL;
    }
    for (size_t i = 0; i < host_len; i++) {
        buf[w++] = (char)tolower((unsigned char)host[i]);
    }
    if (port_len > 0) {
        buf[w++] = ':';
        memcpy(buf + w, port, port_len);
        w += port_len;
    }
    buf[w] = '\0';
    return buf;
}

bool sw_profile_add_url(sw_profile *p, const char *kind, const char *url, const char *file,
                        unsigned line)
{
    char host[256];
    size_t start, end, scheme_len;

    if (sw_profile_url_host(url, host, sizeof(host)) == NULL ||
        !authority(url, &start, &end, &scheme_len)) {
        return false;
    }
    const char *at = memrchr(url + start, '@', end - start);
    if (at == NULL) {
        sw_profile_add(p, host, kind, url, file, line);
    } else {
        char *what = sw_asprintf("%.*s%s", (int)start, url, at + 1);
        sw_profile_add(p, host, kind, what, file, line);
        free(what);
    }
    return true;
}

/* An image named in .slipway.yml. */
static void add_image(sw_profile *p, const char *image, int line)
{
    char host[256];
    if (image != NULL && sw_image_registry(image, host, sizeof(host)) != NULL) {
        sw_profile_add(p, host, "image", image, PIPELINE_FILE, line > 0 ? (unsigned)line : 0);
    }
}

/* "a/./b" + "c" -> "a/b/c"; "." and "" parts are left out. */
static char *join_clean(const char *dir, const char *name)
{
    char *joined = sw_asprintf("%s/%s", dir ? dir : ".", name ? name : "");
    char *out = sw_calloc(1, strlen(joined) + 1);
    size_t w = 0;

    for (char *part = joined; *part;) {
        size_t len = strcspn(part, "/");
        if (!(len == 0 || (len == 1 && part[0] == '.'))) {
            if (w > 0) {
                out[w++] = '/';
            }
            memcpy(out + w, part, len);
            w += len;
        }
        part += len;
        part += *part == '/';
    }
    out[w] = '\0';
    free(joined);
    return out;
}

/* One build step's Dockerfile, as the builder finds it (context_tar.c): the name
 * given, or by default "Dockerfile", else "dockerfile". */
static void add_build(sw_profile *p, const char *root, const sw_pipeline_build *b)
{
    bool default_name = b->dockerfile == NULL || strcmp(b->dockerfile, "Dockerfile") == 0;
    if ((b->context && b->context[0] == '/') || (b->dockerfile && b->dockerfile[0] == '/')) {
        return; /* not inside the checkout (pipeline.c refuses it; a pipeline made by hand) */
    }
    char *context = join_clean(b->context, "");
    char *rel = join_clean(context, b->dockerfile ? b->dockerfile : "Dockerfile");
    char *text = NULL;
    size_t len = 0;
    int error = sw_profile_files_load(&text, &len, root, rel);

    if (error == SW_ENOTFOUND && default_name) {
        free(rel);
        rel = join_clean(context, "dockerfile");
        error = sw_profile_files_load(&text, &len, root, rel);
    }
    if (error == 0) {
        sw_profile_dockerfile_in(p, text, len, rel, b->args, b->nargs, root,
                                 context[0] ? context : ".");
    }
    free(text);
    free(rel);
    free(context);
}

static void add_pipeline(sw_profile *p, const char *root, const sw_pipeline *pipeline)
{
    add_image(p, pipeline->image, pipeline->image_line);
    for (size_t i = 0; i < pipeline->nsteps; i++) {
        const sw_pipeline_step *s = &pipeline->steps[i];
        add_image(p, s->image, s->image_line ? s->image_line : s->line);
        if (s->build != NULL) {
            add_build(p, root, s->build);
        }
    }
}

typedef struct walker {
    sw_profile *p;
    size_t entries;
    const char *file; /* the file being read, for found() */
} walker;

static void found(void *ud, const char *kind, const char *key, const char *url, unsigned line)
{
    walker *w = ud;
    (void)key;
    sw_profile_add_url(w->p, kind, url, w->file, line);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory at fd, sorted bytewise; stops at the walk's bound. */
static char **list_dir(walker *w, int fd, size_t *n_out)
{
    int dup_fd = dup(fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;

    *n_out = 0;
    if (dir == NULL) {
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return NULL;
    }
    while ((de = readdir(dir)) != NULL && w->entries < WALK_MAX_ENTRIES) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        w->entries++;
        if ((n & (n - 1)) == 0) {
            names = sw_realloc(names, (n ? 2 * n : 1) * sizeof(*names));
        }
        names[n++] = sw_strdup(de->d_name);
    }
    closedir(dir);
    if (n > 1) {
        qsort(names, n, sizeof(*names), by_name);
    }
    *n_out = n;
    return names;
}

static void read_file(walker *w, int dirfd, const char *name, const char *rel)
{
    sw_profile_file type = sw_profile_files_type(rel);
    char *text = NULL;
    size_t len = 0;

    if (type != SW_PROFILE_FILE_NONE &&
        sw_profile_files_load_at(&text, &len, dirfd, name, rel) == 0) {
        w->file = rel;
        sw_profile_files_read(type, text, len, 1, 1, found, w);
        w->file = NULL;
    }
    free(text);
}

/* Every entry of the directory at dirfd (rel from the root, "" for the root),
 * which is depth directories below the root. */
static void walk_dir(walker *w, int dirfd, const char *rel, int depth)
{
    size_t n = 0;
    char **names = list_dir(w, dirfd, &n);

    for (size_t i = 0; i < n; i++) {
        char *child = rel[0] ? sw_asprintf("%s/%s", rel, names[i]) : sw_strdup(names[i]);
        struct stat st;
        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISREG(st.st_mode)) {
                read_file(w, dirfd, names[i], child);
            } else if (S_ISDIR(st.st_mode) && depth < WALK_MAX_DEPTH &&
                       strcmp(names[i], ".git") != 0) {
                int fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0) {
                    walk_dir(w, fd, child, depth + 1);
                    close(fd);
                }
            }
        }
        free(child);
        free(names[i]);
    }
    free(names);
}

int sw_profile_scan(sw_profile *p, const char *root, const sw_pipeline *pipeline)
{
    sw_pipeline *own = NULL;
    walker w = {.p = p};
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* what the files said is no error of the caller's: its last error is left as it was */
    int saved_code = sw_error_last_code();
    char *saved = saved_code != 0 ? sw_strdup(sw_error_last()) : NULL;

    if (rootfd < 0) {
        free(saved);
        return sw_error_set(errno == ENOENT || errno == ENOTDIR ? SW_ENOTFOUND : SW_EIO,
                            "cannot read the checkout %s: %s", root, strerror(errno));
    }
    if (pipeline == NULL) {
        char *text = NULL;
        size_t len = 0;
        int error = sw_profile_files_load(&text, &len, root, PIPELINE_FILE);
        if (error == SW_ENOTFOUND) {
            own = sw_pipeline_dockerfile_only();
        } else if (error == 0 && sw_pipeline_parse(&own, text, len, PIPELINE_FILE) < 0) {
            own = NULL; /* the build fails on it: no step of it is read */
        }
        free(text);
        pipeline = own;
    }
    if (pipeline != NULL) {
        add_pipeline(p, root, pipeline);
    }
    walk_dir(&w, rootfd, "", 0);
    close(rootfd);
    sw_pipeline_destroy(&own);
    if (saved != NULL) {
        sw_error_set(saved_code, "%s", saved);
    } else {
        sw_error_clear();
    }
    free(saved);
    return 0;
}
