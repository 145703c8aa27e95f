/* fs.c - file-system helpers (see fs.h). */
#include "runtime/fs.h"

#include "runtime/error.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int sw_fs_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        return errno == ENOENT ? 0 : sw_error_set(SW_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0) {
        return sw_error_set(SW_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    return 0;
}
