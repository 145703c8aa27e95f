/*
 * profile.h - the source profile of a build: the hosts its repository says it
 * will fetch from, each with where that was found ("Dockerfile:12"), read
 * without running anything.
 *
 * What is read (profile.c walks a checkout; profile_dockerfile.c and
 * profile_files.c read one file each):
 *   - .slipway.yml: the pipeline's and each step's image;
 *   - the Dockerfile of every `build:` step (its args feed the ARGs), or the
 *     repository's Dockerfile when there is no .slipway.yml: FROM and
 *     COPY --from images (Docker's rules for the default registry), ARG
 *     defaults that feed them, RUN lines that name package managers, mirrors
 *     or URLs, ADD <url>;
 *   - files that name package sources: .npmrc, pip.conf, requirements*.txt,
 *     go.env, sources.list and sources.list.d/NAME.list.
 * The executor adds what it saw (sw_profile_add with kind "pull").
 */
#ifndef SW_PROFILE_H
#define SW_PROFILE_H

#include "actors/builder/pipeline.h"

#include <stdbool.h>
#include <stddef.h>

/* A profile holds at most this many sources; more are counted in dropped. */
#define SW_PROFILE_MAX 256
/* Each of a source's strings is cut to this many bytes (256 sources of four
 * such fields stay far below NATS's 1 MiB payload for the FINISHED event). */
#define SW_PROFILE_FIELD_MAX 512

typedef struct sw_source {
    char *host;  /* lower case, with its port when not the scheme's: "docker.io",
                  * "pypi.org", "127.0.0.1:5000" */
    char *kind;  /* "image", "apt", "apk", "pip", "npm", "go", "url", "git", "pull" */
    char *what;  /* the reference as written (ARGs expanded): "python:3.12",
                  * "https://pypi.org/simple"; a url's userinfo is left out */
    char *file;  /* relative to the checkout's root; "engine" for what the executor saw */
    unsigned line; /* 1-based; 0 when there is none */
} sw_source;

typedef struct sw_profile {
    sw_source *v;
    size_t n;
    size_t dropped; /* past SW_PROFILE_MAX */
} sw_profile;

/* Adds a source (copies every string); the same host, kind, file and line
 * twice is kept once. */
void sw_profile_add(sw_profile *p, const char *host, const char *kind, const char *what,
                    const char *file, unsigned line);

/* Adds url's host as a source of kind, with the url (without its userinfo) as
 * what. False, and nothing added, when url names no host: no scheme, file://,
 * a variable left unexpanded. */
bool sw_profile_add_url(sw_profile *p, const char *kind, const char *url, const char *file,
                        unsigned line);

/* Frees what p holds and empties it. */
void sw_profile_clear(sw_profile *p);

/* The host of a url ("https://user@PyPI.org:443/simple" is "pypi.org",
 * "http://127.0.0.1:5000/x" "127.0.0.1:5000"): lower case, userinfo and the
 * scheme's default port left out. Writes into buf; NULL when there is none. */
const char *sw_profile_url_host(const char *url, char *buf, size_t n);

/* Reads the checkout at root. pipeline: the parsed .slipway.yml, or NULL to
 * read root/.slipway.yml (absent: the Dockerfile-only case). Files that cannot
 * be read or parsed are skipped (a profile is advice, never a build error), and
 * the caller's last error (sw_error_last) is left as it was. SW_ENOTFOUND (or
 * SW_EIO) only when root cannot be opened as a directory. */
int sw_profile_scan(sw_profile *p, const char *root, const sw_pipeline *pipeline);

/* One Dockerfile's text, named file in the sources; args are the build
 * step's (they override ARG defaults). */
void sw_profile_dockerfile(sw_profile *p, const char *text, size_t len, const char *file,
                           const sw_pipeline_env *args, size_t nargs);

/* As sw_profile_dockerfile, and what COPY takes from the build context into a
 * package manager's place (COPY sources.list /etc/apt/, COPY .npmrc .) is read
 * too: context is the build context's directory relative to root, the checkout,
 * and nothing outside root is read. */
void sw_profile_dockerfile_in(sw_profile *p, const char *text, size_t len, const char *file,
                              const sw_pipeline_env *args, size_t nargs, const char *root,
                              const char *context);

/* The registry host of an image reference by Docker's rules: "python:3.12",
 * "library/python" and "index.docker.io/x" are "docker.io"; a first component
 * with a '.' or ':' or "localhost" is the registry. Writes into buf; NULL when
 * ref is empty or names no image (a variable left unexpanded, "scratch"). */
const char *sw_image_registry(const char *ref, char *buf, size_t n);

#endif
