/* context_tar.c - a Docker build context as a tar stream (see context_tar.h). */
#include "actors/builder/image/context_tar.h"

#include "actors/builder/image/dockerignore.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (64 * 1024)
#define MAX_DOCKERIGNORE (4u << 20)

typedef struct walker {
    struct archive *a;
    sw_dockerignore *di;
    const char *context_dir;
    char *buf;
    sw_context_stats st;
} walker;

static int archive_failed(walker *w, const char *rel)
{
    return sw_error_set(SW_EIO, "cannot write the build context's tar (at %s): %s", rel,
                        archive_error_string(w->a) ? archive_error_string(w->a) : "write error");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory at fd (not "." nor ".."), sorted bytewise. */
static int list_dir(int fd, const char *rel, char ***names_out, size_t *n_out)
{
    int dup_fd = dup(fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;

    if (dir == NULL) {
        int e = errno;
        if (dup_fd >= 0) {
            close(dup_fd);
        }
        return sw_error_set(SW_EINVALID, "cannot read the directory %s of the build context: %s",
                            rel[0] ? rel : ".", strerror(e));
    }
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = sw_realloc(names, cap * sizeof(*names));
        }
        names[n++] = sw_strdup(de->d_name);
    }
    closedir(dir);
    if (n > 0) {
        qsort(names, n, sizeof(*names), by_name);
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static const char *kind_of(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFIFO:
        return "a fifo";
    case S_IFSOCK:
        return "a socket";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    default:
        return "a special file";
    }
}

/* Writes the contents of the regular file name (in dirfd), st_size bytes. */
static int add_contents(walker *w, int dirfd, const char *name, const char *rel,
                        const struct stat *st)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat now;
    int64_t left = st->st_size;
    int error = 0;

    if (fd < 0) {
        return sw_error_set(SW_EINVALID, "cannot read %s in the build context: %s", rel,
                            strerror(errno));
    }
    if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino ||
        now.st_dev != st->st_dev) {
        close(fd);
        return sw_error_set(SW_EINVALID, "%s in the build context changed while it was read", rel);
    }
    while (left > 0) {
        ssize_t got = read(fd, w->buf, left < COPY_CHUNK ? (size_t)left : COPY_CHUNK);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            error = sw_error_set(SW_EINVALID, "cannot read %s in the build context: %s", rel,
                                 strerror(errno));
            break;
        }
        if (got == 0) {
            break; /* shrank meanwhile: libarchive pads the entry with zeros */
        }
        if (archive_write_data(w->a, w->buf, (size_t)got) < 0) {
            error = archive_failed(w, rel);
            break;
        }
        left -= got;
        w->st.bytes += (uint64_t)got;
    }
    close(fd);
    return error;
}

/* Writes one entry (its contents too); refuses what is not a file, dir or symlink. */
static int add_entry(walker *w, int dirfd, const char *name, const char *rel, const struct stat *st)
{
    struct archive_entry *e;
    char target[PATH_MAX + 1];
    int error = 0;

    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode)) {
        return sw_error_set(SW_EINVALID,
                            "%s in the build context is %s: only regular files, directories and "
                            "symlinks can be sent (exclude it in .dockerignore)",
                            rel, kind_of(st->st_mode));
    }
    e = archive_entry_new();
    archive_entry_set_pathname(e, rel);
    archive_entry_set_filetype(e, st->st_mode & S_IFMT);
    archive_entry_set_perm(e, st->st_mode & 07777);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
    if (S_ISREG(st->st_mode)) {
        archive_entry_set_size(e, st->st_size);
    } else {
        archive_entry_set_size(e, 0);
    }
    if (S_ISLNK(st->st_mode)) {
        ssize_t len = readlinkat(dirfd, name, target, sizeof(target) - 1);
        if (len < 0) {
            error = sw_error_set(SW_EINVALID, "cannot read the symlink %s in the build context: %s",
                                 rel, strerror(errno));
            goto cleanup;
        }
        target[len] = '\0';
        archive_entry_set_symlink(e, target);
    }
    if (archive_write_header(w->a, e) < ARCHIVE_WARN) {
        error = archive_failed(w, rel);
        goto cleanup;
    }
    w->st.entries++;
    if (S_ISREG(st->st_mode)) {
        error = add_contents(w, dirfd, name, rel, st);
    }
    if (error == 0 && archive_write_finish_entry(w->a) < ARCHIVE_WARN) {
        error = archive_failed(w, rel);
    }

cleanup:
    archive_entry_free(e);
    return error;
}

static int walk_dir(walker *w, int dirfd, const char *rel, const bool *info);

static int walk_into(walker *w, int dirfd, const char *name, const char *rel, const bool *info)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return sw_error_set(SW_EINVALID, "cannot open the directory %s of the build context: %s",
                            rel, strerror(errno));
    }
    int error = walk_dir(w, fd, rel, info);
    close(fd);
    return error;
}

/* filepath.WalkDir's callback in Docker's TarWithOptions, for every entry below
 * dirfd; parent_info is the directory's match results (NULL at the root). */
static int walk_dir(walker *w, int dirfd, const char *rel, const bool *parent_info)
{
    char **names = NULL;
    size_t n = 0;
    int error = list_dir(dirfd, rel, &names, &n);
    bool *info = sw_calloc(sw_dockerignore_count(w->di) + 1, sizeof(*info));

    for (size_t i = 0; error == 0 && i < n; i++) {
        char *child = rel[0] ? sw_asprintf("%s/%s", rel, names[i]) : sw_strdup(names[i]);
        struct stat st;

        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT) { /* gone since it was listed: as if never there */
                error = sw_error_set(SW_EINVALID, "cannot stat %s in the build context: %s", child,
                                     strerror(errno));
            }
        } else if (sw_dockerignore_match(w->di, child, parent_info, info)) {
            w->st.excluded++;
            if (S_ISDIR(st.st_mode) && sw_dockerignore_has_exceptions(w->di) &&
                sw_dockerignore_may_reinclude(w->di, child)) {
                error = walk_into(w, dirfd, names[i], child, info); /* without its own entry */
            }
        } else {
            error = add_entry(w, dirfd, names[i], child, &st);
            if (error == 0 && S_ISDIR(st.st_mode)) {
                error = walk_into(w, dirfd, names[i], child, info);
            }
        }
        free(child);
    }
    free(info);
    free_names(names, n);
    return error;
}

/* Whether rel (relative, '/'-separated) has a ".." element. */
static bool climbs(const char *rel)
{
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            return true;
        }
        p += len;
        p += *p == '/';
    }
    return false;
}

/* Finds the Dockerfile as the CLI's GetContextFromLocalDir does: the default name,
 * else its lower-case form; symlinks resolved, and the result inside the context. */
static int locate_dockerfile(const char *context_dir, const char *dockerfile, char **rel_out)
{
    const char *name = dockerfile && dockerfile[0] ? dockerfile : "Dockerfile";
    char *path = NULL, *real = NULL, *root = NULL;
    struct stat st;
    int error = 0;

    *rel_out = NULL;
    if (name[0] == '/' || climbs(name)) {
        return sw_error_set(SW_EINVALID,
                            "the Dockerfile (%s) must be a path inside the build context", name);
    }
    path = sw_asprintf("%s/%s", context_dir, name);
    if (lstat(path, &st) < 0 && errno == ENOENT && !(dockerfile && dockerfile[0])) {
        free(path);
        path = sw_asprintf("%s/dockerfile", context_dir);
    }
    root = realpath(context_dir, NULL);
    real = realpath(path, NULL);
    if (root == NULL) {
        error = sw_error_set(SW_ENOTFOUND, "no build context directory %s: %s", context_dir,
                             strerror(errno));
        goto cleanup;
    }
    if (real == NULL) {
        error = sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EINVALID,
                             "cannot locate the Dockerfile %s in the build context%s%s", name,
                             errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
        goto cleanup;
    }
    size_t rlen = strlen(root);
    if (strncmp(real, root, rlen) != 0 || (real[rlen] != '/' && strcmp(root, "/") != 0)) {
        error =
            sw_error_set(SW_EINVALID, "the Dockerfile (%s) must be within the build context", name);
        goto cleanup;
    }
    if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        error = sw_error_set(SW_EINVALID, "the Dockerfile (%s) is not a regular file", name);
        goto cleanup;
    }
    *rel_out = sw_strdup(real + rlen + (strcmp(root, "/") != 0));

cleanup:
    free(path);
    free(real);
    free(root);
    return error;
}

/* Reads the .dockerignore at the context's root (none: no patterns). */
static int read_dockerignore(int rootfd, sw_dockerignore **out)
{
    int fd = openat(rootfd, ".dockerignore", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int error;

    if (fd < 0 && errno == ENOENT) {
        return sw_dockerignore_parse(out, NULL, 0);
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0) {
            close(fd);
        }
        return sw_error_set(SW_EINVALID, "cannot read the build context's .dockerignore: %s",
                            e == ELOOP ? "it is a symlink" : strerror(e));
    }
    if ((uint64_t)st.st_size > MAX_DOCKERIGNORE) {
        close(fd);
        return sw_error_set(SW_EINVALID, "the build context's .dockerignore is over %u MiB",
                            MAX_DOCKERIGNORE >> 20);
    }
    text = sw_calloc(1, (size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t got = read(fd, text + len, (size_t)st.st_size - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    error = sw_dockerignore_parse(out, text, len);
    free(text);
    return error;
}

int sw_context_tar(const char *context_dir, const char *dockerfile, FILE *out,
                   char **dockerfile_out, sw_context_stats *stats)
{
    walker w = {.context_dir = context_dir};
    char *df = NULL;
    int rootfd = -1, error;

    if (dockerfile_out != NULL) {
        *dockerfile_out = NULL;
    }
    rootfd = open(context_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0) {
        return sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EINVALID,
                            "cannot open the build context %s: %s", context_dir,
                            errno == ELOOP ? "it is a symlink" : strerror(errno));
    }
    error = locate_dockerfile(context_dir, dockerfile, &df);
    if (error < 0) {
        goto cleanup;
    }
    error = read_dockerignore(rootfd, &w.di);
    if (error < 0) {
        goto cleanup;
    }
    /* TrimBuildFilesFromExcludes: the engine needs both, and drops them itself */
    if (sw_dockerignore_excludes(w.di, ".dockerignore")) {
        sw_dockerignore_add(w.di, "!.dockerignore");
    }
    if (sw_dockerignore_excludes(w.di, df)) {
        char *line = sw_asprintf("!%s", df);
        error = sw_dockerignore_add(w.di, line);
        free(line);
        if (error < 0) {
            goto cleanup;
        }
    }

    w.buf = sw_calloc(1, COPY_CHUNK);
    w.a = archive_write_new();
    archive_write_set_format_pax_restricted(w.a);
    archive_write_set_bytes_in_last_block(w.a, 1);
    if (archive_write_open_FILE(w.a, out) != ARCHIVE_OK) {
        error = archive_failed(&w, ".");
        goto cleanup;
    }
    error = walk_dir(&w, rootfd, "", NULL);
    if (error == 0 && archive_write_close(w.a) != ARCHIVE_OK) {
        error = archive_failed(&w, "the end");
    }
    if (error == 0 && fflush(out) != 0) {
        error = sw_error_set(SW_EIO, "cannot write the build context's tar: %s", strerror(errno));
    }
    if (error == 0) {
        if (stats != NULL) {
            *stats = w.st;
        }
        if (dockerfile_out != NULL) {
            *dockerfile_out = df;
            df = NULL;
        }
    }

cleanup:
    if (w.a != NULL) {
        archive_write_free(w.a);
    }
    sw_dockerignore_destroy(&w.di);
    free(w.buf);
    free(df);
    close(rootfd);
    return error;
}

int sw_context_resolve(char **out, const char *workspace, const char *rel)
{
    char *path = sw_strdup(workspace);
    const char *p = rel ? rel : "";
    int error = 0;

    *out = NULL;
    if (p[0] == '/') {
        free(path);
        return sw_error_set(SW_EINVALID, "the build context %s must be relative to the workspace",
                            rel);
    }
    if (climbs(p)) {
        free(path);
        return sw_error_set(SW_EINVALID, "the build context %s must not contain \"..\"", rel);
    }
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            char *next = sw_asprintf("%s/%.*s", path, (int)len, p);
            struct stat st;
            free(path);
            path = next;
            if (lstat(path, &st) < 0) {
                error = sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EINVALID,
                                     "the build context %s: %.*s: %s", rel, (int)len, p,
                                     strerror(errno));
                break;
            }
            if (S_ISLNK(st.st_mode)) {
                error = sw_error_set(SW_EINVALID,
                                     "the build context %s: %.*s is a symlink (not followed)", rel,
                                     (int)len, p);
                break;
            }
            if (!S_ISDIR(st.st_mode)) {
                error = sw_error_set(SW_EINVALID, "the build context %s: %.*s is not a directory",
                                     rel, (int)len, p);
                break;
            }
        }
        p += len;
        p += *p == '/';
    }
    if (error < 0) {
        free(path);
        return error;
    }
    *out = path;
    return 0;
}
