/*
 * context_tar.h - a Docker build context as a tar stream (libarchive), with its
 * .dockerignore applied the way the Docker CLI applies it (its legacy builder,
 * Docker 23 and later: moby pkg/archive TarWithOptions).
 *
 * DESIGN
 * The context directory is walked in byte order of names (Go's filepath.Walk),
 * never following a symlink: every entry is opened relative to its parent's
 * descriptor with O_NOFOLLOW, so nothing outside the context can be reached, even
 * if the tree changes during the walk. A path the .dockerignore excludes is left
 * out with everything under it, unless an exception ('!' line) names something
 * inside that directory: then, as Docker does, the directory's own entry is left
 * out but the walk goes in and each path below is judged by itself (see
 * dockerignore.h for the patterns). The Dockerfile and .dockerignore are always
 * sent: when the patterns exclude them, "!<Dockerfile>" and "!.dockerignore" are
 * appended (Docker's TrimBuildFilesFromExcludes); the engine itself keeps them out
 * of COPY and ADD.
 *
 * Entries: regular files (contents, permission bits with setuid/setgid/sticky),
 * directories ("dir/") and symlinks (their target as is, never followed); owner
 * 0:0 with no names; mtimes kept (whole seconds). Anything else that is not
 * excluded (a fifo, a socket, a device) is refused with its path. Hard links are
 * sent as separate regular files (Docker sends a hard-link entry; the image is
 * the same but for the shared inode).
 */
#ifndef SW_CONTEXT_TAR_H
#define SW_CONTEXT_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sw_context_stats {
    size_t entries;  /* entries written (files, directories, symlinks) */
    uint64_t bytes;  /* file contents written */
    size_t excluded; /* paths left out by .dockerignore (a skipped directory counts once) */
} sw_context_stats;

/* Writes the build context at context_dir to out as an uncompressed tar.
 *   dockerfile: relative to the context; NULL/"": "Dockerfile" (else "dockerfile",
 *     as the CLI falls back). A symlink is resolved as the CLI resolves it, and must
 *     stay inside the context; no absolute path, no "..".
 *   dockerfile_out: optional; the Dockerfile's path inside the tar, to give the
 *     engine as `dockerfile` (caller frees).
 *   stats: optional; filled in on success.
 * context_dir itself must not be a symlink (see sw_context_resolve).
 * Errors (message names the path): SW_ENOTFOUND no context directory or no
 * Dockerfile; SW_EINVALID a bad .dockerignore line, a special file, a Dockerfile
 * outside the context, an entry that cannot be read; SW_EIO when out cannot be
 * written. On error out holds a partial tar. */
int sw_context_tar(const char *context_dir, const char *dockerfile, FILE *out,
                   char **dockerfile_out, sw_context_stats *stats);

/* The directory rel names inside workspace ("." / NULL / "": workspace itself),
 * into *out (caller frees): rel must be relative, without "..", and every element
 * an existing directory that is not a symlink, so that a repository cannot point
 * a build's context outside its own workspace. SW_EINVALID / SW_ENOTFOUND else. */
int sw_context_resolve(char **out, const char *workspace, const char *rel);

#endif
