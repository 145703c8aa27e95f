/*
 * profile_files.h - the files that name package sources, for the source profile
 * (profile.h): which a path is, what each says, and reading one safely out of
 * a checkout.
 *
 * The same readers serve a repository's files (profile.c adds what they find)
 * and what a Dockerfile writes into an image (profile_dockerfile.c keeps it as
 * the stage's package sources): each calls back with every url it finds.
 *
 *     .npmrc              registry=URL, @scope:registry=URL          kind "npm"
 *     pip.conf, pip.ini   index-url, extra-index-url, find-links    kind "pip"
 *     requirements*.txt   -i/--index-url, --extra-index-url,
 *                         -f/--find-links                            kind "pip"
 *                         a requirement given as a url               kind "url" ("git": git+)
 *     go.env              GOPROXY (each of its list but direct, off) kind "go"
 *     sources.list, sources.list.d/x.list   deb / deb-src lines    kind "apt"
 *     sources.list.d/x.sources              URIs: (deb822)          kind "apt"
 *     etc/apk/repositories                  one url a line          kind "apk"
 */
#ifndef SW_PROFILE_FILES_H
#define SW_PROFILE_FILES_H

#include <stddef.h>

/* Files larger than this are not read. */
#define SW_PROFILE_FILE_MAX (1u << 20)

typedef enum sw_profile_file {
    SW_PROFILE_FILE_NONE,
    SW_PROFILE_FILE_NPMRC,
    SW_PROFILE_FILE_PIP_CONF,
    SW_PROFILE_FILE_REQUIREMENTS,
    SW_PROFILE_FILE_GO_ENV,
    SW_PROFILE_FILE_APT_LIST,    /* one-line style: deb [options] uri suite [component...] */
    SW_PROFILE_FILE_APT_SOURCES, /* deb822 style */
    SW_PROFILE_FILE_APK_REPOSITORIES,
} sw_profile_file;

/* What a url is to the file that named it: key is the setting ("registry",
 * "@corp:registry", "index-url", "extra-index-url", "find-links", "GOPROXY",
 * "deb", "URIs", "repository", "requirement"), line the physical line. */
typedef void (*sw_profile_found_fn)(void *ud, const char *kind, const char *key, const char *url,
                                    unsigned line);

/* Which kind of file path is, by its name: a path in a repository ("web/.npmrc")
 * or in an image ("/etc/apt/sources.list.d/docker.list", "/root/.config/pip/pip.conf",
 * "/root/.config/go/env"). */
sw_profile_file sw_profile_files_type(const char *path);

/* Reads len bytes of a file of type type and calls found for each url. The first
 * line is first_line, and each next one line_step further (0: all on one line,
 * for the text of an echo). */
void sw_profile_files_read(sw_profile_file type, const char *text, size_t len,
                           unsigned first_line, unsigned line_step, sw_profile_found_fn found,
                           void *ud);

/* Reads the regular file rel (relative) inside the directory root, into *text
 * (NUL-terminated, caller frees) and *len. Refused: rel absolute or with "..",
 * a path that resolves outside root (a symlink), anything but a regular file,
 * more than SW_PROFILE_FILE_MAX bytes, a NUL byte (a binary file).
 * SW_ENOTFOUND, SW_EINVALID or SW_EIO, the message naming rel. */
int sw_profile_files_load(char **text, size_t *len, const char *root, const char *rel);

/* The same for the entry name of the directory open at dirfd, never following a
 * symlink; rel names it in messages. */
int sw_profile_files_load_at(char **text, size_t *len, int dirfd, const char *name,
                             const char *rel);

#endif
