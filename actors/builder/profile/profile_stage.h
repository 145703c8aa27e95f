/*
 * profile_stage.h - a Dockerfile stage's package sources, for the source profile
 * (profile_dockerfile.c reads the instructions, profile_run.c the RUN lines).
 *
 * A stage starts with its base image's sources (Debian's, Ubuntu's or
 * Alpine's, see sw_profile_stage_init) or, FROM an earlier stage, with that
 * stage's. What a RUN line writes (echo "deb ..." > /etc/apt/sources.list,
 * sed -i 's/deb.debian.org/.../' /etc/apt/sources.list*, a here-document into
 * /etc/apk/repositories, npm config set registry, pip config set, go env -w)
 * and what COPY puts there changes them; a package manager's command (apt-get
 * install, apk add, pip install, npm ci, go build...) then adds them as
 * sources, at the line of that command. curl, wget, git clone and any other url
 * on a RUN line are sources of their own. Within one instruction a host is
 * added once per kind, at the first line that names it.
 */
#ifndef SW_PROFILE_STAGE_H
#define SW_PROFILE_STAGE_H

#include "actors/builder/profile/profile.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_profile_var {
    char *key, *value;
} sw_profile_var;

/* Bounds on what a stage keeps, whatever the Dockerfile says: a value longer
 * than SW_PROFILE_VALUE_MAX is not kept (a variable never set), nor one past
 * SW_PROFILE_VARS_BYTES in a list. */
#define SW_PROFILE_VALUE_MAX 4096
#define SW_PROFILE_VARS_BYTES (64u << 10)

typedef struct sw_profile_vars {
    sw_profile_var *v;
    size_t n;
    size_t bytes; /* of its keys and values */
} sw_profile_vars;

typedef enum sw_profile_distro {
    SW_PROFILE_DISTRO_UNKNOWN, /* taken as Debian (most images are), and as Alpine for apk */
    SW_PROFILE_DISTRO_DEBIAN,
    SW_PROFILE_DISTRO_UBUNTU,
    SW_PROFILE_DISTRO_ALPINE,
    SW_PROFILE_DISTRO_OTHER, /* neither apt nor apk (scratch, fedora, ...) */
} sw_profile_distro;

typedef struct sw_profile_stage {
    char *name; /* AS name, lower case; NULL when it has none */
    sw_profile_distro distro;
    char *workdir;        /* "/" at first */
    sw_profile_vars env;  /* ENV, kept by a stage FROM this one */
    sw_profile_vars args; /* ARG, this stage's own */
    /* key: for apt and apk the file they are in ("image": the image's own lists),
     * for pip and npm the setting ("index-url", "@corp:registry"), for go "GOPROXY" */
    sw_profile_vars apt, apk, pip, npm, go;
    bool pip_unknown, npm_unknown; /* a config was put there that could not be read */
    bool go_set;                   /* go: GOPROXY was configured (none: direct only) */
} sw_profile_stage;

/* Where a text's offsets are: from off on, physical line line. */
typedef struct sw_profile_seg {
    size_t off;
    unsigned line;
} sw_profile_seg;

/* One Dockerfile being read. */
typedef struct sw_profile_df {
    sw_profile *p;
    const char *file;
    const sw_profile_seg *segs; /* of the instruction being read, by offset */
    size_t nsegs;
    size_t mark; /* p->n when the instruction began */
    sw_profile_stage *stage;
} sw_profile_df;

/* The value of key[0..len), or NULL; the last one when there are several. */
const char *sw_profile_vars_get(const sw_profile_vars *vars, const char *key, size_t len);
/* Sets key to value (a copy), in place of any it had (unset when value is past
 * the bounds). */
void sw_profile_vars_set(sw_profile_vars *vars, const char *key, const char *value);
/* Adds key with value, keeping those it had; false, and nothing added, past the bounds. */
bool sw_profile_vars_add(sw_profile_vars *vars, const char *key, const char *value);
/* Removes every value of key. */
void sw_profile_vars_remove(sw_profile_vars *vars, const char *key);
void sw_profile_vars_clear(sw_profile_vars *vars);

/* A stage on a base image of that distribution: its sources as the image has them. */
void sw_profile_stage_init(sw_profile_stage *st, sw_profile_distro distro);

/* A stage FROM src: a copy of src, without its name and ARGs. */
void sw_profile_stage_copy(sw_profile_stage *dst, const sw_profile_stage *src);

void sw_profile_stage_finish(sw_profile_stage *st);

/* A variable of the stage as a RUN line or an instruction sees it: ENV, then ARG. */
const char *sw_profile_stage_lookup(void *stage, const char *name, size_t len);

/* text was written to the file at path (absolute, in the image), replacing it
 * or appended to it; its lines start at first_line, each line_step further. */
void sw_profile_stage_write(sw_profile_stage *st, const char *path, bool append, const char *text,
                            size_t len, unsigned first_line, unsigned line_step);

/* Something that could not be read was put at path: what that file said is lost. */
void sw_profile_stage_write_unknown(sw_profile_stage *st, const char *path);

/* sed -i 's/pattern/replacement/flags' path (-E/-r: extended) on the stage's
 * apt or apk sources, when path is one of their files. */
void sw_profile_stage_sed(sw_profile_stage *st, const char *path, const char *pattern,
                          const char *replacement, const char *flags, bool extended);

/* The physical line of offset off of the instruction being read. */
unsigned sw_profile_df_line(const sw_profile_df *df, size_t off);

/* Adds a source unless the instruction has this host of this kind already. */
void sw_profile_df_add(sw_profile_df *df, const char *host, const char *kind, const char *what,
                       unsigned line);
bool sw_profile_df_add_url(sw_profile_df *df, const char *kind, const char *url, unsigned line);

/* A git repository ("git"): a url (https://, ssh://, git://) or scp-like
 * user@host:path. False when it is neither. */
bool sw_profile_df_add_git(sw_profile_df *df, const char *repo, unsigned line);

#endif
