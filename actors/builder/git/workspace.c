/*
 * workspace.c - a project's workspace on a builder's slot, kept between builds
 * (see workspace.h for the layout and the DESIGN).
 */
#include "actors/builder/git/workspace.h"

#include "actors/builder/git/gitfetch.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAGIC "slipway-workspace 1"
#define MAX_PACKS 4096 /* a state listing more is not one we wrote */

/* A pack file of src/.git as the last checkout left it. */
typedef struct pack_file {
    char *name;
    uint64_t ino, size;
    int64_t ctime_s, ctime_ns;
} pack_file;

typedef struct state {
    char *url;
    git_oid commit;
    pack_file *packs;
    size_t npacks;
} state;

struct sw_workspace {
    char *dir, *src, *index_path, *state_path;
    char *url;
    git_repository *repo;
    bool reused;
    git_oid baseline;
    char why[256];
    unsigned removed;
};

static const char *git_message(void)
{
    const git_error *e = git_error_last();
    return e != NULL && e->message != NULL ? e->message : "unknown libgit2 error";
}

/* dir + "/" + name into out; false when it does not fit. */
static bool join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

/* --- the path ---------------------------------------------------------------- */

/* name with every byte but [A-Za-z0-9_-] as %XX ("" as "%"): distinct names stay
 * distinct, and none is "." or ".." or holds a '/'. */
static size_t encode_name(char *out, size_t size, const char *name)
{
    size_t n = 0;
    if (name[0] == '\0') {
        return (size_t)snprintf(out, size, "%%");
    }
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        char piece[4];
        int k = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')
                    ? snprintf(piece, sizeof(piece), "%c", *c)
                    : snprintf(piece, sizeof(piece), "%%%02X", *c);
        if (n + (size_t)k < size) {
            memcpy(out + n, piece, (size_t)k + 1);
        }
        n += (size_t)k;
    }
    return n;
}

int sw_workspace_path(char *buf, size_t size, const char *root, const char *tenant,
                      const char *project, unsigned slot)
{
    char t[3 * 256 + 2], p[3 * 256 + 2];
    if (strlen(tenant) > 256 || strlen(project) > 256) {
        return sw_error_set(SW_EINVALID, "tenant or project name too long for a workspace path");
    }
    encode_name(t, sizeof(t), tenant);
    encode_name(p, sizeof(p), project);
    if ((size_t)snprintf(buf, size, "%s/%s/%s/%u", root, t, p, slot) >= size) {
        return sw_error_set(SW_EINVALID, "workspace path too long under %s", root);
    }
    return 0;
}

/* --- state -------------------------------------------------------------------- */

static void state_clear(state *st)
{
    for (size_t i = 0; i < st->npacks; i++) {
        free(st->packs[i].name);
    }
    free(st->packs);
    free(st->url);
    memset(st, 0, sizeof(*st));
}

/* Reads path into *st: 0, SW_ENOTFOUND when there is none, SW_EINVALID when it is not
 * a state we wrote (a torn write, garbage). */
static int state_read(state *st, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int error = SW_EINVALID, have_commit = 0;

    memset(st, 0, sizeof(*st));
    if (f == NULL) {
        return errno == ENOENT ? SW_ENOTFOUND : SW_EINVALID;
    }
    if ((n = getline(&line, &cap, f)) < 0 || strcmp(line, STATE_MAGIC "\n") != 0) {
        goto cleanup;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        char name[256], hex[GIT_OID_HEXSZ + 1];
        unsigned long long ino, size;
        long long cs, cns;
        if (line[n - 1] != '\n') {
            goto cleanup; /* cut short */
        }
        line[n - 1] = '\0';
        if (strncmp(line, "url ", 4) == 0 && st->url == NULL) {
            st->url = sw_strdup(line + 4);
        } else if (sscanf(line, "commit %40s", hex) == 1 && strlen(hex) == GIT_OID_HEXSZ &&
                   git_oid_fromstr(&st->commit, hex) == 0) {
            have_commit = 1;
        } else if (sscanf(line, "pack %255s %llu %llu %lld %lld", name, &ino, &size, &cs, &cns) ==
                       5 &&
                   st->npacks < MAX_PACKS && strchr(name, '/') == NULL) {
            st->packs = sw_realloc(st->packs, (st->npacks + 1) * sizeof(*st->packs));
            st->packs[st->npacks++] = (pack_file){sw_strdup(name), ino, size, cs, cns};
        } else {
            goto cleanup;
        }
    }
    if (st->url != NULL && have_commit && st->npacks > 0) {
        error = 0;
    }

cleanup:
    free(line);
    fclose(f);
    if (error < 0) {
        state_clear(st);
    }
    return error;
}

/* Writes path (through path.new, renamed into place) from the packs of packdir. */
static int state_write(const char *path, const char *url, const git_oid *commit,
                       const char *packdir)
{
    char tmp[PATH_MAX], file[PATH_MAX];
    DIR *d = NULL;
    struct dirent *e;
    FILE *f = NULL;
    int error = -1;

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    if ((f = fopen(tmp, "w")) == NULL || (d = opendir(packdir)) == NULL) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fprintf(f, STATE_MAGIC "\nurl %s\ncommit %s\n", url, git_oid_tostr_s(commit));
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        if (!join(file, sizeof(file), packdir, e->d_name) || lstat(file, &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            error = sw_error_set(SW_EIO, "%s is not a pack file", file);
            goto cleanup;
        }
        fprintf(f, "pack %s %llu %llu %lld %lld\n", e->d_name, (unsigned long long)st.st_ino,
                (unsigned long long)st.st_size, (long long)st.st_ctim.tv_sec,
                (long long)st.st_ctim.tv_nsec);
    }
    if (fflush(f) != 0 || ferror(f)) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    error = 0;

cleanup:
    if (d != NULL) {
        closedir(d);
    }
    if (f != NULL && fclose(f) != 0 && error == 0) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (error == 0 && rename(tmp, path) != 0) {
        error = sw_error_set(SW_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    if (error < 0) {
        unlink(tmp);
    }
    return error;
}

/* A plain copy of from into to (through to.new, renamed into place). */
static int copy_file(const char *from, const char *to)
{
    char tmp[PATH_MAX], buf[65536];
    int in = -1, out = -1, error = -1;
    ssize_t n;

    snprintf(tmp, sizeof(tmp), "%s.new", to);
    if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
        (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        goto cleanup;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t done = 0, w; done < n; done += w) {
            if ((w = write(out, buf + done, (size_t)(n - done))) < 0) {
                goto cleanup;
            }
        }
    }
    if (n == 0) {
        error = 0;
    }

cleanup:
    if (error < 0) {
        error = sw_error_set(SW_EIO, "cannot copy %s to %s: %s", from, to, strerror(errno));
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0 && error == 0) {
        error = sw_error_set(SW_EIO, "cannot copy %s to %s: %s", from, to, strerror(errno));
    }
    if (error == 0 && rename(tmp, to) != 0) {
        error = sw_error_set(SW_EIO, "cannot rename %s to %s: %s", tmp, to, strerror(errno));
    }
    if (error < 0) {
        unlink(tmp);
    }
    return error;
}

/* --- what of .git stays ------------------------------------------------------------- */

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Removes every entry of dir but the one named keep (NULL: none), which must be a real
 * directory to stay. Returns whether keep is there. */
static bool keep_only(const char *dir, const char *keep)
{
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    struct dirent *e;
    bool kept = false;
    if (d == NULL) {
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (!join(path, sizeof(path), dir, e->d_name)) {
            continue;
        }
        if (keep != NULL && strcmp(e->d_name, keep) == 0 && is_dir(path)) {
            kept = true;
        } else {
            sw_fs_rmtree(path);
        }
    }
    closedir(d);
    return kept;
}

/* src/.git down to the packs st lists, as they were; why says what was wrong when not. */
static bool strip_git(const char *src, const state *st, char *why, size_t why_size)
{
    char git[PATH_MAX], objects[PATH_MAX], pack[PATH_MAX], path[PATH_MAX];
    bool *seen = sw_calloc(st->npacks, sizeof(*seen));
    bool ok = false;
    DIR *d = NULL;
    struct dirent *e;

    if (!join(git, sizeof(git), src, ".git") || !join(objects, sizeof(objects), git, "objects") ||
        !join(pack, sizeof(pack), objects, "pack") || !is_dir(git)) {
        snprintf(why, why_size, "its .git is gone");
        goto cleanup;
    }
    if (!keep_only(git, "objects") || !keep_only(objects, "pack") ||
        (d = opendir(pack)) == NULL) {
        snprintf(why, why_size, "its .git has no objects");
        goto cleanup;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        size_t i;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (!join(path, sizeof(path), pack, e->d_name)) {
            continue;
        }
        for (i = 0; i < st->npacks && strcmp(st->packs[i].name, e->d_name) != 0; i++) {
        }
        if (i < st->npacks && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
            (uint64_t)sb.st_ino == st->packs[i].ino && (uint64_t)sb.st_size == st->packs[i].size &&
            (int64_t)sb.st_ctim.tv_sec == st->packs[i].ctime_s &&
            (int64_t)sb.st_ctim.tv_nsec == st->packs[i].ctime_ns) {
            seen[i] = true;
        } else {
            sw_fs_rmtree(path); /* a pack a step made or changed */
        }
    }
    for (size_t i = 0; i < st->npacks; i++) {
        if (!seen[i]) {
            snprintf(why, why_size, "its pack %s was changed or removed", st->packs[i].name);
            goto cleanup;
        }
    }
    ok = true;

cleanup:
    if (d != NULL) {
        closedir(d);
    }
    free(seen);
    return ok;
}

/* --- the clean ------------------------------------------------------------------------ */

typedef struct cleaner {
    git_index *index;
    char path[PATH_MAX]; /* the entry being looked at */
    size_t root_len;     /* of src/ in path */
    unsigned removed;
    int error;
} cleaner;

/* Whether the entry at path is as the index says the last checkout wrote it. */
static bool as_checked_out(const git_index_entry *ie, const char *path, const struct stat *st)
{
    if (ie->mode == GIT_FILEMODE_COMMIT) {
        /* a submodule's directory: left empty by the checkout (submodules are not
         * fetched), so anything in it is the steps' */
        DIR *d = S_ISDIR(st->st_mode) ? opendir(path) : NULL;
        struct dirent *e;
        bool empty = d != NULL;
        while (d != NULL && (e = readdir(d)) != NULL) {
            empty = empty && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
        }
        if (d != NULL) {
            closedir(d);
        }
        return empty;
    }
    if (ie->mode == GIT_FILEMODE_LINK ? !S_ISLNK(st->st_mode) : !S_ISREG(st->st_mode)) {
        return false;
    }
    return ie->ino == (uint32_t)st->st_ino && ie->file_size == (uint32_t)st->st_size &&
           ie->ctime.seconds == (int32_t)st->st_ctim.tv_sec &&
           ie->ctime.nanoseconds == (uint32_t)st->st_ctim.tv_nsec &&
           ie->mtime.seconds == (int32_t)st->st_mtim.tv_sec &&
           ie->mtime.nanoseconds == (uint32_t)st->st_mtim.tv_nsec;
}

/* Whether the index lists anything under the directory rel. */
static bool tracked_under(git_index *index, const char *rel)
{
    char prefix[PATH_MAX];
    return join(prefix, sizeof(prefix), rel, "") &&
           git_index_find_prefix(NULL, index, prefix) == 0;
}

/* Cleans the directory c->path (of length len): what the index lists as it was stays,
 * directories that hold something it lists are cleaned in turn, the rest goes. */
static void clean_dir(cleaner *c, size_t len)
{
    DIR *d = opendir(c->path);
    struct dirent *e;

    if (d == NULL) {
        if (c->error == 0) {
            c->error = sw_error_set(SW_EIO, "cannot read %s: %s", c->path, strerror(errno));
        }
        return;
    }
    while ((e = readdir(d)) != NULL && c->error == 0) {
        size_t n = strlen(e->d_name);
        const char *rel = c->path + c->root_len + 1;
        const git_index_entry *ie;
        struct stat st;
        bool keep = false;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (len == c->root_len && strcmp(e->d_name, ".git") == 0)) {
            continue;
        }
        if (len + 1 + n >= sizeof(c->path)) {
            c->error = sw_error_set(SW_EIO, "a path under %.*s is too long", (int)len, c->path);
            break;
        }
        c->path[len] = '/';
        memcpy(c->path + len + 1, e->d_name, n + 1);
        if (lstat(c->path, &st) != 0) {
            c->path[len] = '\0';
            continue; /* gone already */
        }
        if ((ie = git_index_get_bypath(c->index, rel, 0)) != NULL) {
            keep = as_checked_out(ie, c->path, &st);
        } else if (S_ISDIR(st.st_mode) && tracked_under(c->index, rel)) {
            if ((st.st_mode & 0700) != 0700) {
                chmod(c->path, (st.st_mode & 07777) | 0700); /* a step's chmod 0 */
            }
            clean_dir(c, len + 1 + n);
            keep = true;
        }
        if (!keep) {
            if (sw_fs_rmtree(c->path) < 0 && c->error == 0) {
                c->error = sw_error_last_code();
            }
            c->removed++;
        }
        c->path[len] = '\0';
    }
    closedir(d);
}

/* --- open, remake, keep ----------------------------------------------------------------- */

/* Removes what earlier remakes moved aside (best effort: they may still resist). */
static void remove_aside(const sw_workspace *ws)
{
    char path[PATH_MAX];
    DIR *d = opendir(ws->dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "src.gone-", 9) == 0 &&
            join(path, sizeof(path), ws->dir, e->d_name)) {
            sw_fs_rmtree(path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

/* src/ as a fresh repository, for why. */
static int make_fresh(sw_workspace *ws, const char *why)
{
    snprintf(ws->why, sizeof(ws->why), "%s", why);
    ws->reused = false;
    ws->removed = 0;
    git_repository_free(ws->repo);
    ws->repo = NULL;
    unlink(ws->state_path);
    unlink(ws->index_path);
    if (sw_fs_rmtree(ws->src) < 0) {
        /* what a step left that this user cannot remove (a container's root-owned files
         * when the builder is not root): moved aside, for later opens to try again, so
         * the project's builds go on */
        char aside[PATH_MAX], said[512];
        int moved = -1;
        snprintf(said, sizeof(said), "%s", sw_error_last());
        for (int n = 0; n < 100 && moved != 0; n++) {
            snprintf(aside, sizeof(aside), "%s.gone-%lld-%d", ws->src, (long long)time(NULL), n);
            moved = rename(ws->src, aside);
        }
        if (moved != 0) {
            return sw_error_set(SW_EIO, "cannot remove nor move the old workspace %s: %s",
                                ws->src, strerror(errno));
        }
        sw_warn("workspace", "%s; moved it aside to %s", said, aside);
    }
    if (mkdir(ws->src, 0700) != 0) {
        return sw_error_set(SW_EIO, "cannot make workspace %s: %s", ws->src, strerror(errno));
    }
    return sw_gitfetch_init_repo(&ws->repo, ws->src, ws->url);
}

/* src/ made ready for a checkout from st's commit; false (why set) when it cannot be. */
static bool reuse(sw_workspace *ws, const state *st, char *why, size_t why_size)
{
    char git_index[PATH_MAX];
    cleaner *c = NULL;
    bool ok = false;
    struct stat sb;

    if (strcmp(st->url, ws->url) != 0) {
        snprintf(why, why_size, "it was made for another url");
        return false;
    }
    if (lstat(ws->src, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(why, why_size, "its checkout is gone");
        return false;
    }
    if ((sb.st_mode & 07777) != 0700) {
        chmod(ws->src, 0700);
    }
    c = sw_calloc(1, sizeof(*c));
    if (git_index_open(&c->index, ws->index_path) < 0) {
        snprintf(why, why_size, "its index cannot be read: %s", git_message());
        goto cleanup;
    }
    if (!strip_git(ws->src, st, why, why_size)) {
        goto cleanup;
    }
    if (sw_gitfetch_init_repo(&ws->repo, ws->src, ws->url) < 0) {
        snprintf(why, why_size, "%s", sw_error_last());
        goto cleanup;
    }
    if (!join(git_index, sizeof(git_index), ws->src, ".git/index") ||
        copy_file(ws->index_path, git_index) < 0) {
        snprintf(why, why_size, "%s", sw_error_last());
        goto cleanup;
    }
    snprintf(c->path, sizeof(c->path), "%s", ws->src);
    c->root_len = strlen(c->path);
    clean_dir(c, c->root_len);
    ws->removed = c->removed;
    if (c->error < 0) {
        snprintf(why, why_size, "cannot clean it: %s", sw_error_last());
        goto cleanup;
    }
    git_oid_cpy(&ws->baseline, &st->commit);
    ok = true;

cleanup:
    git_index_free(c->index);
    free(c);
    return ok;
}

int sw_workspace_open(sw_workspace **out, const char *dir, const char *url, bool fresh)
{
    sw_workspace *ws = sw_calloc(1, sizeof(*ws));
    char why[sizeof(ws->why)] = "";
    state st;
    int error, rc;

    *out = NULL;
    ws->dir = sw_strdup(dir);
    ws->src = sw_asprintf("%s/src", dir);
    ws->index_path = sw_asprintf("%s/index", dir);
    ws->state_path = sw_asprintf("%s/state", dir);
    ws->url = sw_strdup(url);
    if ((error = sw_fs_mkdir_parents(dir)) < 0) {
        goto fail;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        error = sw_error_set(SW_EIO, "cannot make workspace %s: %s", dir, strerror(errno));
        goto fail;
    }
    remove_aside(ws);
    rc = state_read(&st, ws->state_path);
    /* from here until sw_workspace_keep, src/ is not one the next build may trust */
    if (unlink(ws->state_path) != 0 && errno != ENOENT) {
        error = sw_error_set(SW_EIO, "cannot remove %s: %s", ws->state_path, strerror(errno));
        state_clear(&st);
        goto fail;
    }
    if (fresh) {
        snprintf(why, sizeof(why), "clean: fresh");
    } else if (rc == SW_ENOTFOUND) {
        snprintf(why, sizeof(why), is_dir(ws->src) ? "its last checkout did not finish"
                                                   : "no workspace yet");
    } else if (rc < 0) {
        snprintf(why, sizeof(why), "its state cannot be read");
    } else if (reuse(ws, &st, why, sizeof(why))) {
        ws->reused = true;
    }
    state_clear(&st);
    if (!ws->reused && (error = make_fresh(ws, why)) < 0) {
        goto fail;
    }
    *out = ws;
    return 0;

fail:
    sw_workspace_close(&ws);
    return error;
}

git_repository *sw_workspace_repo(const sw_workspace *ws)
{
    return ws->repo;
}

const char *sw_workspace_src(const sw_workspace *ws)
{
    return ws->src;
}

const git_oid *sw_workspace_baseline(const sw_workspace *ws)
{
    return ws->reused ? &ws->baseline : NULL;
}

const char *sw_workspace_why(const sw_workspace *ws)
{
    return ws->reused ? "" : ws->why;
}

unsigned sw_workspace_removed(const sw_workspace *ws)
{
    return ws->removed;
}

int sw_workspace_remake(sw_workspace *ws, const char *why)
{
    return make_fresh(ws, why);
}

int sw_workspace_keep(sw_workspace *ws, const git_oid *commit)
{
    char git_index[PATH_MAX], packdir[PATH_MAX];
    int error;

    if (!join(git_index, sizeof(git_index), ws->src, ".git/index") ||
        !join(packdir, sizeof(packdir), ws->src, ".git/objects/pack")) {
        return sw_error_set(SW_EIO, "workspace path too long: %s", ws->src);
    }
    if ((error = copy_file(git_index, ws->index_path)) < 0 ||
        (error = state_write(ws->state_path, ws->url, commit, packdir)) < 0) {
        return error;
    }
    return 0;
}

void sw_workspace_close(sw_workspace **ws_p)
{
    sw_workspace *ws;
    if (ws_p == NULL || (ws = *ws_p) == NULL) {
        return;
    }
    git_repository_free(ws->repo);
    free(ws->dir);
    free(ws->src);
    free(ws->index_path);
    free(ws->state_path);
    free(ws->url);
    free(ws);
    *ws_p = NULL;
}

int sw_workspace_empty(char **out, const char *dir)
{
    char *path = sw_asprintf("%s/empty", dir);
    int error;

    *out = NULL;
    if ((error = sw_fs_mkdir_parents(dir)) < 0) {
        goto fail;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        error = sw_error_set(SW_EIO, "cannot make workspace %s: %s", dir, strerror(errno));
        goto fail;
    }
    if ((error = sw_fs_rmtree(path)) < 0) {
        goto fail;
    }
    if (mkdir(path, 0700) != 0) {
        error = sw_error_set(SW_EIO, "cannot make workspace %s: %s", path, strerror(errno));
        goto fail;
    }
    *out = path;
    return 0;

fail:
    free(path);
    return error;
}

/* --- the sweep ---------------------------------------------------------------------- */

typedef struct kept {
    char *path;
    unsigned slot;
    time_t used;
    bool in_use;
} kept;

typedef struct sweep {
    const sw_workspace_bounds *bounds;
    int slot;
    unsigned slots;
    const char *in_use;
    time_t now;
    kept *list;
    size_t n;
    unsigned removed;
    int error;
} sweep;

static void drop(sweep *s, const char *path)
{
    if (sw_fs_rmtree(path) < 0) {
        if (s->error == 0) {
            s->error = sw_error_last_code();
        }
        return;
    }
    s->removed++;
}

/* The slot number a directory name is, or -1. */
static long slot_of(const char *name)
{
    char *end;
    if (name[0] < '0' || name[0] > '9' || strlen(name) > 6) {
        return -1;
    }
    long v = strtol(name, &end, 10);
    return *end == '\0' ? v : -1;
}

/* Looks at one <root>/<tenant>/<project>/<slot> directory. */
static void sweep_slot(sweep *s, const char *path, const char *name)
{
    long n = slot_of(name);
    char state_path[PATH_MAX];
    struct stat st = {0};
    bool busy = s->in_use != NULL && strcmp(path, s->in_use) == 0;

    if (s->slot >= 0 && n != s->slot) {
        return; /* another slot's: its build may be running */
    }
    if (n < 0 || (unsigned long)n >= s->slots) {
        drop(s, path);
        return;
    }
    if (!join(state_path, sizeof(state_path), path, "state")) {
        return;
    }
    if (!busy && (lstat(state_path, &st) != 0 ||
                  (int64_t)(s->now - st.st_mtime) * 1000 > s->bounds->keep_unused_ms)) {
        drop(s, path); /* no finished checkout, or unused too long */
        return;
    }
    s->list = sw_realloc(s->list, (s->n + 1) * sizeof(*s->list));
    s->list[s->n++] = (kept){sw_strdup(path), (unsigned)n, busy ? s->now : st.st_mtime, busy};
}

/* Calls fn on every entry of dir with its path; entries that are not directories are
 * removed when the whole tree is swept. */
static void each_dir(sweep *s, const char *dir, void (*fn)(sweep *, const char *, const char *))
{
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (!join(path, sizeof(path), dir, e->d_name)) {
            continue;
        }
        if (is_dir(path)) {
            fn(s, path, e->d_name);
        } else if (s->slot < 0) {
            drop(s, path);
        }
    }
    closedir(d);
}

static void sweep_project(sweep *s, const char *path, const char *name)
{
    (void)name;
    each_dir(s, path, sweep_slot);
    if (s->slot < 0) {
        rmdir(path); /* when it is empty; nothing else runs now */
    }
}

static void sweep_tenant(sweep *s, const char *path, const char *name)
{
    (void)name;
    each_dir(s, path, sweep_project);
    if (s->slot < 0) {
        rmdir(path);
    }
}

static int newest_first(const void *a, const void *b)
{
    const kept *x = a, *y = b;
    return (y->used > x->used) - (y->used < x->used);
}

int sw_workspace_sweep(const char *root, int slot, unsigned slots,
                       const sw_workspace_bounds *bounds, const char *in_use, unsigned *removed)
{
    sweep s = {.bounds = bounds, .slot = slot, .slots = slots, .in_use = in_use,
               .now = time(NULL)};
    unsigned *count = sw_calloc(slots ? slots : 1, sizeof(*count));

    each_dir(&s, root, sweep_tenant);
    /* past max_per_slot, the least recently used go; the one in use always stays */
    if (s.n > 0) {
        qsort(s.list, s.n, sizeof(*s.list), newest_first);
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.list[i].in_use) {
            count[s.list[i].slot]++;
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        if (!s.list[i].in_use && ++count[s.list[i].slot] > bounds->max_per_slot) {
            drop(&s, s.list[i].path);
        }
        free(s.list[i].path);
    }
    free(s.list);
    free(count);
    if (removed != NULL) {
        *removed = s.removed;
    }
    return s.error;
}
