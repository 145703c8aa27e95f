/*
 * mirror.c - a builder's bare mirror of one repository (see mirror.h).
 *
 * DESIGN
 * Everything that writes a mirror happens with its lock held: making it (in
 * "<hash>.new", renamed into place once its config is written, so a crash leaves no
 * half-made "<hash>.git"), remaking it, sweeping what a crashed fetch left, fetching.
 * A mirror that cannot be opened, whose HEAD cannot be read or whose config does not
 * name the url is removed and made again: the cache is only a cache. Files a crashed
 * writer leaves (ref locks, temporary packs) would make every later fetch fail ("lock
 * file exists"); with the lock held nobody else is writing, so they are stale and go.
 *
 * A workspace gets copies of the mirror's packs, as `git clone --no-hardlinks` of a
 * local repository would: no delta search nor recompression (packing the history anew
 * costs more than the fetch it saves on a small repository), and no file shared with a
 * mirror that later builds read (a hard link would let a build write into it). The
 * workspace then holds every object the mirror has: the same repository's other
 * branches and pull requests, unreferenced. A workspace kept between builds
 * (workspace.h) holds the packs of its earlier checkouts under their own names: only
 * the mirror's newer packs are copied into it.
 */
#include "actors/builder/git/mirror.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_POLL_MS 20

struct sw_mirror {
    char *path;  /* <dir>/<hash>.git */
    int lock_fd; /* -1 once unlocked */
    int created;
    int64_t wait_ms;
    git_repository *repo;
};

static const char *git_message(void)
{
    const git_error *e = git_error_last();
    return e != NULL && e->message != NULL ? e->message : "unknown libgit2 error";
}

void sw_mirror_base(char *buf, size_t size, const char *dir, const char *url)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[17];

    SHA256((const unsigned char *)url, strlen(url), md);
    for (int i = 0; i < 8; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(buf, size, "%s/%s", dir, hex);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The exclusive flock on path, polling so that stop() is heard while another holds it. */
static int take_lock(int *fd_out, int64_t *waited, const char *path, int (*stop)(void *), void *ud)
{
    int64_t start = sw_clock_mono_ms();
    /* O_CLOEXEC: a child forked by another thread (a build step) must not inherit the
     * open file description, or the lock would live as long as that child */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return sw_error_set(SW_EIO, "mirror lock %s: %s", path, strerror(errno));
    }
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int error = sw_error_set(SW_EIO, "mirror lock %s: %s", path, strerror(errno));
            close(fd);
            return error;
        }
        if (stop != NULL && stop(ud)) {
            close(fd);
            return sw_error_set(SW_ESTOPPED, "stopped waiting for the mirror lock %s", path);
        }
        struct timespec ts = {0, LOCK_POLL_MS * 1000L * 1000L};
        nanosleep(&ts, NULL);
    }
    *waited = sw_clock_mono_ms() - start;
    *fd_out = fd;
    return 0;
}

/* Whether repo is a usable mirror of shown_url. */
static int is_sound(git_repository *repo, const char *shown_url)
{
    git_reference *head = NULL;
    git_config *cfg = NULL;
    const char *url = NULL;
    int ok = git_repository_is_bare(repo) && git_reference_lookup(&head, repo, "HEAD") == 0 &&
             git_repository_config_snapshot(&cfg, repo) == 0 &&
             git_config_get_string(&url, cfg, "remote.origin.url") == 0 &&
             strcmp(url, shown_url) == 0;
    git_config_free(cfg);
    git_reference_free(head);
    git_error_clear();
    return ok;
}

/* Makes a bare mirror of shown_url at path, through tmp (removed first if a crash left it). */
static int make_mirror(const char *path, const char *tmp, const char *shown_url)
{
    git_repository *repo = NULL;
    git_config *cfg = NULL;
    int error = -1;

    if (sw_fs_rmtree(tmp) < 0) {
        return sw_error_last_code();
    }
    if (git_repository_init(&repo, tmp, 1) < 0 || git_repository_config(&cfg, repo) < 0 ||
        git_config_set_string(cfg, "remote.origin.url", shown_url) < 0 ||
        git_config_set_string(cfg, "remote.origin.fetch", "+refs/*:refs/*") < 0 ||
        git_config_set_bool(cfg, "remote.origin.mirror", 1) < 0) {
        error = sw_error_set(SW_EIO, "cannot make a mirror at %s: %s", tmp, git_message());
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        error = sw_error_set(SW_EIO, "cannot move mirror %s to %s: %s", tmp, path, strerror(errno));
        goto cleanup;
    }
    error = 0;

cleanup:
    git_config_free(cfg);
    git_repository_free(repo);
    if (error < 0) {
        sw_fs_rmtree(tmp);
    }
    return error;
}

static int unlink_lock(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_F && ends_with(path, ".lock")) {
        unlink(path);
    }
    return 0;
}

/* Removes what a writer that died left: lock files, temporary packs. */
static void sweep(const char *path)
{
    char sub[4200];
    DIR *d;
    struct dirent *e;
    const char *dirs[2] = {"", "/objects/pack"};

    snprintf(sub, sizeof(sub), "%s/refs", path);
    nftw(sub, unlink_lock, 16, FTW_PHYS);
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof(sub), "%s%s", path, dirs[i]);
        if ((d = opendir(sub)) == NULL) {
            continue;
        }
        while ((e = readdir(d)) != NULL) {
            if (ends_with(e->d_name, ".lock") || strncmp(e->d_name, "pack_git2_", 10) == 0) {
                char file[4500];
                snprintf(file, sizeof(file), "%s/%s", sub, e->d_name);
                unlink(file);
            }
        }
        closedir(d);
    }
}

int sw_mirror_open(sw_mirror **out, const char *dir, const char *url, const char *shown_url,
                   int (*stop)(void *ud), void *ud)
{
    sw_mirror *m = sw_calloc(1, sizeof(*m));
    char base[4096], lock[4200], tmp[4200];
    int error;

    m->lock_fd = -1;
    sw_mirror_base(base, sizeof(base), dir, url);
    if (asprintf(&m->path, "%s.git", base) < 0) {
        abort();
    }
    snprintf(lock, sizeof(lock), "%s.lock", base);
    snprintf(tmp, sizeof(tmp), "%s.new", base);

    /* 0700: a mirror of a private repository is for this builder's user only */
    if ((error = sw_fs_mkdir_parents(dir)) < 0) {
        goto fail;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        error = sw_error_set(SW_EIO, "mirror cache %s: %s", dir, strerror(errno));
        goto fail;
    }
    if ((error = take_lock(&m->lock_fd, &m->wait_ms, lock, stop, ud)) < 0) {
        goto fail;
    }
    if (git_repository_open_bare(&m->repo, m->path) == 0 && is_sound(m->repo, shown_url)) {
        sweep(m->path);
        *out = m;
        return 0;
    }
    git_repository_free(m->repo);
    m->repo = NULL;
    git_error_clear();
    if ((error = sw_fs_rmtree(m->path)) < 0 || (error = make_mirror(m->path, tmp, shown_url)) < 0) {
        goto fail;
    }
    if (git_repository_open_bare(&m->repo, m->path) < 0) {
        error = sw_error_set(SW_EIO, "cannot open mirror %s: %s", m->path, git_message());
        goto fail;
    }
    m->created = 1;
    *out = m;
    return 0;

fail:
    sw_mirror_destroy(&m);
    return error;
}

git_repository *sw_mirror_repo(const sw_mirror *m)
{
    return m->repo;
}

const char *sw_mirror_path(const sw_mirror *m)
{
    return m->path;
}

int sw_mirror_created(const sw_mirror *m)
{
    return m->created;
}

int64_t sw_mirror_wait_ms(const sw_mirror *m)
{
    return m->wait_ms;
}

typedef struct stopper {
    int (*stop)(void *ud);
    void *ud;
} stopper;

static int stop_asked(const stopper *s)
{
    return s->stop != NULL && s->stop(s->ud) ? -1 : 0;
}

static int on_pack_progress(int stage, uint32_t current, uint32_t total, void *payload)
{
    (void)stage;
    (void)current;
    (void)total;
    return stop_asked(payload);
}

static int on_index_progress(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    return stop_asked(payload);
}

/* A plain copy of a file (copy_file_range: the kernel copies, or clones where the file
 * system can), read-only like every pack. */
static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, error = -1;

    if (in < 0 || (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0) {
        goto cleanup;
    }
    while ((n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
            goto cleanup;
        }
        if (n < 0) { /* not here: by hand, from where it stopped */
            while ((n = read(in, buf, sizeof(buf))) > 0) {
                for (ssize_t done = 0, w; done < n; done += w) {
                    if ((w = write(out, buf + done, (size_t)(n - done))) < 0) {
                        goto cleanup;
                    }
                }
            }
            if (n < 0) {
                goto cleanup;
            }
            break;
        }
    }
    error = 0;

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
    return error;
}

/* Copies each complete pack of the mirror (its .idx and its .pack) into packdir, but
 * those packdir holds already. */
static int copy_packs(const sw_mirror *m, const char *packdir, const stopper *st)
{
    char dir[4200], from[4500], to[4500], idx[4500];
    DIR *d;
    struct dirent *e;
    int error = 0;

    snprintf(dir, sizeof(dir), "%s/objects/pack", m->path);
    if ((d = opendir(dir)) == NULL) {
        return sw_error_set(SW_EIO, "cannot list %s: %s", dir, strerror(errno));
    }
    while (error == 0 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "pack-", 5) != 0 || !ends_with(e->d_name, ".idx")) {
            continue;
        }
        if (stop_asked(st)) {
            error = SW_ESTOPPED;
            break;
        }
        /* the .pack first: the index names a pack that is there */
        snprintf(from, sizeof(from), "%s/%.*s.pack", dir, (int)(len - 4), e->d_name);
        snprintf(to, sizeof(to), "%s/%.*s.pack", packdir, (int)(len - 4), e->d_name);
        if (access(from, R_OK) != 0) {
            continue; /* being written by a fetch (its index comes first): not ours */
        }
        snprintf(idx, sizeof(idx), "%s/%s", packdir, e->d_name);
        if (access(to, F_OK) == 0 && access(idx, F_OK) == 0) {
            continue; /* a kept workspace has it from an earlier build (packs never change) */
        }
        if ((error = copy_file(from, to)) == 0) {
            snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
            snprintf(to, sizeof(to), "%s/%s", packdir, e->d_name);
            error = copy_file(from, to);
        }
    }
    closedir(d);
    return error;
}

/* A new pack of the history of commit (and tip) built from the mirror, into packdir. */
static int pack_history(const sw_mirror *m, const char *packdir, const git_oid *commit,
                        const git_oid *tip, const git_oid *tip_commit, stopper *st)
{
    git_packbuilder *pb = NULL;
    git_revwalk *walk = NULL;
    int error = 0;

    if (git_packbuilder_new(&pb, m->repo) < 0 || git_revwalk_new(&walk, m->repo) < 0 ||
        git_packbuilder_set_callbacks(pb, on_pack_progress, st) < 0 ||
        git_revwalk_push(walk, commit) < 0 ||
        (tip != NULL && git_revwalk_push(walk, tip_commit) < 0) ||
        (tip != NULL && git_packbuilder_insert_recur(pb, tip, NULL) < 0) ||
        git_packbuilder_insert_walk(pb, walk) < 0 ||
        git_packbuilder_write(pb, packdir, 0, on_index_progress, st) < 0) {
        error = stop_asked(st) ? SW_ESTOPPED
                               : sw_error_set(SW_EIO, "cannot pack %s from mirror %s: %s",
                                              git_oid_tostr_s(commit), m->path, git_message());
    }
    git_revwalk_free(walk);
    git_packbuilder_free(pb);
    return error;
}

static int has_objects(git_repository *repo, const git_oid *a, const git_oid *b)
{
    git_odb *odb = NULL;
    int ok = git_repository_odb(&odb, repo) == 0 && git_odb_refresh(odb) == 0 &&
             git_odb_exists(odb, a) && (b == NULL || git_odb_exists(odb, b));
    git_odb_free(odb);
    git_error_clear();
    return ok;
}

int sw_mirror_copy_into(sw_mirror *m, git_repository *dest, const git_oid *commit,
                        const git_oid *tip, const git_oid *tip_commit, int *repacked,
                        int (*stop)(void *ud), void *ud)
{
    stopper st = {stop, ud};
    char packdir[4200];
    int error;

    *repacked = 0;
    snprintf(packdir, sizeof(packdir), "%sobjects/pack", git_repository_path(dest));
    error = copy_packs(m, packdir, &st);
    if (error == SW_ESTOPPED) {
        return sw_error_set(SW_ESTOPPED, "stopped copying from mirror %s", m->path);
    }
    if (error == 0 && has_objects(dest, commit, tip)) {
        return 0;
    }
    *repacked = 1;
    error = pack_history(m, packdir, commit, tip, tip_commit, &st);
    if (error == SW_ESTOPPED) {
        return sw_error_set(SW_ESTOPPED, "stopped packing from mirror %s", m->path);
    }
    return error;
}

void sw_mirror_discard(sw_mirror *m)
{
    if (m->lock_fd < 0) {
        return; /* unlocked: someone else may be using it now */
    }
    git_repository_free(m->repo);
    m->repo = NULL;
    sw_fs_rmtree(m->path);
}

void sw_mirror_unlock(sw_mirror *m)
{
    if (m->lock_fd >= 0) {
        close(m->lock_fd); /* the last descriptor of the open file: the flock goes */
        m->lock_fd = -1;
    }
}

void sw_mirror_destroy(sw_mirror **m_p)
{
    sw_mirror *m;
    if (m_p == NULL || (m = *m_p) == NULL) {
        return;
    }
    git_repository_free(m->repo);
    sw_mirror_unlock(m);
    free(m->path);
    free(m);
    *m_p = NULL;
}
