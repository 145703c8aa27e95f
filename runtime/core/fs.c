/* fs.c - file-system helpers (see fs.h). */
#include "runtime/core/fs.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sw_fs_mkdir_p(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        return sw_error_set(SW_EINVALID, "path too long: %s", dir);
    }
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                return sw_error_set(SW_EIO, "cannot create %s: %s", path, strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        return sw_error_set(SW_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    return 0;
}

int sw_fs_mkdir_parents(const char *path)
{
    char parent[4096];
    if (snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent)) {
        return sw_error_set(SW_EINVALID, "path too long: %s", path);
    }
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent) {
        return 0;
    }
    *slash = '\0';
    return sw_fs_mkdir_p(parent);
}

/* nftw has no closure: the first failure of the walk in progress, per thread. */
static _Thread_local int rmtree_errno;
static _Thread_local char rmtree_failed[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT && rmtree_errno == 0) {
        rmtree_errno = errno;
        snprintf(rmtree_failed, sizeof(rmtree_failed), "%s", path);
    }
    return 0; /* go on: remove all that can be removed */
}

int sw_fs_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        return errno == ENOENT ? 0 : sw_error_set(SW_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    rmtree_errno = 0;
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT) {
        return sw_error_set(SW_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    if (rmtree_errno != 0) {
        return sw_error_set(SW_EIO, "cannot remove %s: %s", rmtree_failed, strerror(rmtree_errno));
    }
    return 0;
}

#define READ_MAX ((size_t)64 << 20)

int sw_fs_read_file(const char *path, char **data_out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    *data_out = NULL;
    *len_out = 0;
    if (f == NULL) {
        return sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EIO, "cannot open %s: %s", path,
                            strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > READ_MAX) {
        fclose(f);
        return sw_error_set(SW_EIO, "%s is not a regular file of at most 64 MiB", path);
    }
    char *data = sw_calloc(1, (size_t)st.st_size + 1);
    size_t n = fread(data, 1, (size_t)st.st_size, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(data);
        return sw_error_set(SW_EIO, "cannot read %s", path);
    }
    *data_out = data;
    *len_out = n;
    return 0;
}
