/* fs.h - file-system helpers. */
#ifndef SW_FS_H
#define SW_FS_H

/* Creates dir and its missing parents (mode 0755). */
int sw_fs_mkdir_p(const char *dir);

/* Removes a directory tree; a missing path is not an error. */
int sw_fs_rmtree(const char *path);

#endif
