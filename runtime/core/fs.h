/* fs.h - file-system helpers. */
#ifndef SW_FS_H
#define SW_FS_H

#include <stddef.h>

/* Creates dir and its missing parents (mode 0755). */
int sw_fs_mkdir_p(const char *dir);

/* Creates the missing parent directories of path (not path itself). */
int sw_fs_mkdir_parents(const char *path);

/* Removes a directory tree; a missing path is not an error. It never follows a
 * symlink and stays on path's file system (a build's workspace is untrusted),
 * and goes on past entries it cannot remove, reporting the first of them. */
int sw_fs_rmtree(const char *path);

/* Reads a whole regular file (up to 64 MiB) into *data_out (NUL-terminated,
 * the caller's) and *len_out. SW_ENOTFOUND when it is missing, SW_EIO else. */
int sw_fs_read_file(const char *path, char **data_out, size_t *len_out);

#endif
