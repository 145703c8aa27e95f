/* test_gitfetch.c - fetching one commit by branch, tag, sha, pull ref and remote HEAD,
 * from a path and from a real `git daemon`, straight and through a builder's mirror
 * cache; the errors; the mirror's reuse, locking and repair; https credentials. */
#include "actors/builder/git/gitfetch.h"
#include "actors/builder/git/mirror.h"
#include "recorder.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "support.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *root;       /* tmp dir holding the origin repo and the fetch targets */
static char origin[512]; /* root/src.git: a bare repository */
static char first_sha[41], second_sha[41], fail_sha[41];
static int dest_counter;
static char cache[600];        /* root/mirrors */
static const char *mirror_dir; /* the "mirror" cases: cache; the "direct" ones: NULL */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void capture(char out[41], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void capture(char out[41], const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(out, 41, p));
    pclose(p);
    ck_assert_uint_eq(strlen(out), 40);
}

/* Two commits on main, a branch `fail` with a third, an annotated tag v1 on the first,
 * and a pull ref; pushed to a bare repository. */
static void setup(void)
{
    root = sw_test_tmpdir("sw-gitfetch");
    snprintf(origin, sizeof(origin), "%s/src.git", root);
    setenv("GIT_AUTHOR_NAME", "t", 1);
    setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "t", 1);
    setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("HOME", root, 1);
    run("cd %s && git init -q -b main work && cd work && "
        "echo one > file.txt && git add file.txt && git commit -q -m one && "
        "git tag -a v1 -m 'version 1' && "
        "echo two > file.txt && git commit -q -am two && "
        "git checkout -q -b fail && echo three > file.txt && git commit -q -am three && "
        "git checkout -q main && "
        "git init -q --bare -b main ../src.git && git push -q ../src.git main fail v1 && "
        "git push -q ../src.git fail:refs/pull/2/head",
        root);
    capture(first_sha, "git -C %s/work rev-parse main~1", root);
    capture(second_sha, "git -C %s/work rev-parse main", root);
    capture(fail_sha, "git -C %s/work rev-parse fail", root);
    dest_counter = 0;
    snprintf(cache, sizeof(cache), "%s/mirrors", root);
    mirror_dir = NULL;
}

static void setup_mirror(void)
{
    setup();
    mirror_dir = cache;
}

static void teardown(void)
{
    sw_test_rmtree(root);
    free(root);
    root = NULL;
}

static char *new_dest(void)
{
    char *dest = NULL;
    ck_assert_int_ne(asprintf(&dest, "%s/dest%d", root, dest_counter++), -1);
    return dest;
}

/* Commits a new file on main of the origin; its sha in out. */
static void push_new_file(char out[41], const char *name)
{
    run("cd %s/work && git checkout -q main && echo new > %s && git add %s && "
        "git commit -q -m 'add %s' && git push -q ../src.git main",
        root, name, name, name);
    capture(out, "git -C %s/work rev-parse main", root);
}

/* The first line of file.txt in dest. */
static void assert_content(const char *dest, const char *expect)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/file.txt", dest);
    char *text = sw_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    text[strcspn(text, "\n")] = '\0';
    ck_assert_str_eq(text, expect);
    free(text);
}

/* sw_gitfetch_ext through the mirror cache in the "mirror" cases, straight otherwise. */
static int fetch(const char *url, const char *ref, const char *sha, const char *dest, char got[41],
                 sw_gitfetch_stats *stats)
{
    sw_gitfetch_opts opts = {.mirror_dir = mirror_dir, .stats = stats};
    return sw_gitfetch_ext(url, ref, sha, dest, &opts, got);
}

static void fetch_ok(const char *url, const char *ref, const char *sha, const char *want_sha,
                     const char *want_content)
{
    char *dest = new_dest();
    char got[41] = "";
    ck_assert_msg(fetch(url, ref, sha, dest, got, NULL) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, want_sha);
    assert_content(dest, want_content);
    /* HEAD is detached at the commit */
    char head[41];
    capture(head, "git -C %s rev-parse HEAD", dest);
    ck_assert_str_eq(head, want_sha);
    /* every ref's history is there */
    run("git -C %s fsck --no-dangling --no-progress >/dev/null 2>&1", dest);
    free(dest);
}

START_TEST(test_by_branch)
{
    fetch_ok(origin, "main", NULL, second_sha, "two");
    fetch_ok(origin, "fail", "", fail_sha, "three");
    fetch_ok(origin, "refs/heads/main", NULL, second_sha, "two");
}
END_TEST

START_TEST(test_by_tag_and_pull_ref)
{
    fetch_ok(origin, "v1", NULL, first_sha, "one");
    fetch_ok(origin, "refs/tags/v1", NULL, first_sha, "one");
    fetch_ok(origin, "refs/pull/2/head", NULL, fail_sha, "three");
}
END_TEST

START_TEST(test_remote_head)
{
    fetch_ok(origin, NULL, NULL, second_sha, "two");
    fetch_ok(origin, "", NULL, second_sha, "two");
}
END_TEST

START_TEST(test_by_sha)
{
    fetch_ok(origin, "main", first_sha, first_sha, "one");
    char abbrev[9];
    snprintf(abbrev, sizeof(abbrev), "%.8s", first_sha);
    fetch_ok(origin, "main", abbrev, first_sha, "one");
    /* no ref: every branch is fetched */
    fetch_ok(origin, NULL, fail_sha, fail_sha, "three");
    /* two commits behind main: the branch's whole history comes along */
    char third_sha[41];
    push_new_file(third_sha, "new.txt");
    fetch_ok(origin, "main", first_sha, first_sha, "one");
}
END_TEST

START_TEST(test_unknown_ref_and_sha)
{
    char *dest = new_dest();
    char got[41];
    ck_assert_int_eq(fetch(origin, "nope", NULL, dest, got, NULL), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "no branch or tag 'nope'") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(fetch(origin, "refs/pull/9/head", NULL, dest, got, NULL), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "no ref 'refs/pull/9/head'") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    /* fail's commit is not reachable from main */
    ck_assert_int_eq(fetch(origin, "main", fail_sha, dest, got, NULL), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), fail_sha) != NULL, "%s", sw_error_last());
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(
        fetch(origin, "main", "0123456789012345678901234567890123456789", dest, got, NULL),
        SW_ENOTFOUND);
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(fetch(origin, "main", "not-a-sha", dest, got, NULL), SW_EINVALID);
    free(dest);
}
END_TEST

START_TEST(test_unreachable_repository)
{
    char *dest = new_dest();
    char got[41];
    char url[600];
    snprintf(url, sizeof(url), "%s/does-not-exist.git", root);
    ck_assert_int_eq(fetch(url, "main", NULL, dest, got, NULL), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "cannot reach repository") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", sw_test_free_port());
    ck_assert_int_eq(fetch(url, "main", NULL, dest, got, NULL), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "cannot reach repository") != NULL, "%s",
                  sw_error_last());
    free(dest);
}
END_TEST

static int port_open(int port)
{
    struct sockaddr_in addr = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

/* A `git daemon` serving root on a free port of 127.0.0.1, once it accepts connections. */
static pid_t start_daemon(int *port_out)
{
    int port = sw_test_free_port();
    char base[600], port_arg[64];
    snprintf(base, sizeof(base), "--base-path=%s", root);
    snprintf(port_arg, sizeof(port_arg), "--port=%d", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("git", "git", "daemon", "--export-all", base, "--listen=127.0.0.1", port_arg,
               "--reuseaddr", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(port_open(port), "git daemon did not start on port %d", port);
    *port_out = port;
    return pid;
}

static void stop_daemon(pid_t pid)
{
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

START_TEST(test_git_daemon)
{
    int port;
    pid_t pid = start_daemon(&port);
    char url[128];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", port);
    fetch_ok(url, "main", NULL, second_sha, "two");
    fetch_ok(url, "v1", NULL, first_sha, "one");
    fetch_ok(url, "main", first_sha, first_sha, "one");
    fetch_ok(url, NULL, NULL, second_sha, "two");

    char *dest = new_dest();
    char got[41];
    ck_assert_int_eq(fetch(url, "nope", NULL, dest, got, NULL), SW_ENOTFOUND);
    free(dest);
    stop_daemon(pid);
}
END_TEST

/* A commit on no branch or tag, only on refs/pull/3/head: with no ref it is fetched by
 * id where the server allows that, and is "not in the repository" where it does not. */
START_TEST(test_commit_on_no_branch)
{
    char pr_sha[41];
    run("cd %s/work && git checkout -q --detach main && echo four > file.txt && "
        "git commit -q -am four && git push -q ../src.git HEAD:refs/pull/3/head",
        root);
    capture(pr_sha, "git -C %s/work rev-parse HEAD", root);
    run("git -C %s/work checkout -q main", root);
    int port;
    pid_t pid = start_daemon(&port);
    char url[128];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", port);

    char *dest = new_dest();
    char got[41], want[300];
    ck_assert_int_eq(fetch(url, NULL, pr_sha, dest, got, NULL), SW_ENOTFOUND);
    snprintf(want, sizeof(want), "no %s in the repository at %s", pr_sha, url);
    ck_assert_msg(strstr(sw_error_last(), want) != NULL, "%s", sw_error_last());
    free(dest);

    run("git -C %s config uploadpack.allowReachableSHA1InWant true", origin);
    fetch_ok(url, NULL, pr_sha, pr_sha, "four");
    /* asked for on a branch it is not on: not found, whether or not the mirror holds it
     * ("no <sha> on refs/heads/main in the repository at <url>" if it does) */
    dest = new_dest();
    ck_assert_int_eq(fetch(url, "main", pr_sha, dest, got, NULL), SW_ENOTFOUND);
    snprintf(want, sizeof(want), "in the repository at %s", url);
    ck_assert_msg(strstr(sw_error_last(), pr_sha) != NULL && strstr(sw_error_last(), want) != NULL,
                  "%s", sw_error_last());
    free(dest);
    stop_daemon(pid);
}
END_TEST

/* Entries of a directory, -1 when it does not exist. */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The first line of a command's output, without its newline. */
static void capture_line(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void capture_line(char *out, size_t size, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    ck_assert_msg(fgets(out, (int)size, p) != NULL, "no output: %s", cmd);
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

START_TEST(test_mirror_second_build_fetches_only_new)
{
    int port;
    pid_t pid = start_daemon(&port);
    char url[128], base[700], path[800], line[600], third_sha[41];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", port);
    sw_mirror_base(base, sizeof(base), cache, url);

    sw_gitfetch_stats first = {0}, second = {0};
    char *dest = new_dest();
    char got[41];
    ck_assert_msg(fetch(url, "main", second_sha, dest, got, &first) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, second_sha);
    ck_assert_int_eq(first.mirror_created, 1);
    ck_assert_uint_ge(first.received_objects, 6); /* 2 commits, 2 trees, 2 blobs */
    /* the mirror is bare and names its url */
    capture_line(line, sizeof(line), "git --git-dir=%s.git config remote.origin.url", base);
    ck_assert_str_eq(line, url);
    capture_line(line, sizeof(line), "git --git-dir=%s.git rev-parse --is-bare-repository", base);
    ck_assert_str_eq(line, "true");
    free(dest);

    push_new_file(third_sha, "new.txt");
    dest = new_dest();
    ck_assert_msg(fetch(url, "main", third_sha, dest, got, &second) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, third_sha);
    ck_assert_int_eq(second.mirror_created, 0);
    ck_assert_int_eq(second.repacked, 0); /* the mirror's packs were copied */
    /* one commit, its tree, the new blob */
    ck_assert_msg(second.received_objects >= 1 && second.received_objects <= 3,
                  "second fetch received %u objects (first: %u)", second.received_objects,
                  first.received_objects);
    ck_assert_uint_lt(second.received_objects, first.received_objects);
    snprintf(path, sizeof(path), "%s/new.txt", dest);
    ck_assert(exists(path));
    assert_content(dest, "two");

    /* the workspace stands alone: origin names the url, no alternates, and with the
     * mirror gone its history is whole */
    capture_line(line, sizeof(line), "git -C %s remote get-url origin", dest);
    ck_assert_str_eq(line, url);
    capture_line(line, sizeof(line), "git -C %s rev-parse refs/remotes/origin/main", dest);
    ck_assert_str_eq(line, third_sha);
    snprintf(path, sizeof(path), "%s/.git/objects/info/alternates", dest);
    ck_assert(!exists(path));
    run("rm -rf %s.git && git -C %s fsck --no-dangling --no-progress 2>/dev/null && "
        "test $(git -C %s rev-list --count HEAD) = 3",
        base, dest, dest);
    free(dest);
    stop_daemon(pid);
}
END_TEST

/* A mirror that git itself fetched into holds the new commit as loose objects, which
 * copying the packs does not bring: its history is packed from the mirror instead. */
START_TEST(test_mirror_loose_objects)
{
    char base[700], new_sha[41], got[41];
    sw_gitfetch_stats st = {0};
    sw_mirror_base(base, sizeof(base), cache, origin);
    char *dest = new_dest();
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, NULL) == 0, "%s", sw_error_last());
    free(dest);

    push_new_file(new_sha, "loose.txt");
    run("git --git-dir=%s.git fetch -q %s +refs/heads/main:refs/heads/main && "
        "test -n \"$(find %s.git/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f)\"",
        base, origin, base);
    dest = new_dest();
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, new_sha);
    ck_assert_uint_eq(st.received_objects, 0);
    ck_assert_int_eq(st.repacked, 1);
    run("git -C %s fsck --no-dangling --no-progress >/dev/null 2>&1 && test -f %s/loose.txt", dest,
        dest);
    free(dest);
}
END_TEST

/* The ways a fetch can fail leave dest as the runner made it (empty), and no mirror
 * for a url that could not be reached. */
START_TEST(test_mirror_errors_leave_nothing)
{
    char *dest = new_dest();
    char got[41], url[128], base[700], path[800], want[800];
    const char *missing = "0123456789012345678901234567890123456789";
    ck_assert_int_eq(mkdir(dest, 0700), 0);
    ck_assert_int_eq(fetch(origin, "main", missing, dest, got, NULL), SW_ENOTFOUND);
    snprintf(want, sizeof(want), "no %s in the repository at %s", missing, origin);
    ck_assert_msg(strstr(sw_error_last(), want) != NULL, "%s", sw_error_last());
    ck_assert_int_eq(count_entries(dest), 0);
    ck_assert_str_eq(got, "");
    /* what that fetch brought stays in the mirror for the next build */
    sw_mirror_base(base, sizeof(base), cache, origin);
    snprintf(path, sizeof(path), "%s.git/refs/heads/main", base);
    ck_assert(exists(path));

    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", sw_test_free_port());
    ck_assert_int_eq(fetch(url, "main", NULL, dest, got, NULL), SW_EIO);
    snprintf(want, sizeof(want), "cannot reach repository %s: ", url);
    ck_assert_msg(strstr(sw_error_last(), want) != NULL, "%s", sw_error_last());
    ck_assert_int_eq(count_entries(dest), 0);
    sw_mirror_base(base, sizeof(base), cache, url);
    snprintf(path, sizeof(path), "%s.git", base);
    ck_assert(!exists(path));
    snprintf(path, sizeof(path), "%s.new", base);
    ck_assert(!exists(path));
    free(dest);
}
END_TEST

/* A mirror a crash or a hand left broken is repaired, and the fetch succeeds. */
START_TEST(test_mirror_broken_is_replaced)
{
    char base[700], path[800], new_sha[41];
    sw_gitfetch_stats st;
    sw_mirror_base(base, sizeof(base), cache, origin);

    /* an empty directory */
    snprintf(path, sizeof(path), "%s.git", base);
    run("mkdir -p %s", path);
    char *dest = new_dest();
    char got[41];
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, second_sha);
    ck_assert_int_eq(st.mirror_created, 1);
    free(dest);

    /* garbage in HEAD */
    snprintf(path, sizeof(path), "%s.git/HEAD", base);
    sw_test_write_file(path, "garbage\n");
    dest = new_dest();
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_int_eq(st.mirror_created, 1);
    free(dest);

    /* the config of another repository */
    run("git --git-dir=%s.git config remote.origin.url /somewhere/else.git", base);
    dest = new_dest();
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_int_eq(st.mirror_created, 1);
    free(dest);

    /* a writer that died updating main left its ref lock and a temporary pack; a
     * half-made mirror of an earlier crash sits next to it */
    snprintf(path, sizeof(path), "%s.git/refs/heads/main.lock", base);
    sw_test_write_file(path, "0000000000000000000000000000000000000000\n");
    snprintf(path, sizeof(path), "%s.git/objects/pack/pack_git2_x1y2z3", base);
    sw_test_write_file(path, "PACK");
    run("mkdir -p %s.new/objects && echo junk > %s.new/HEAD", base, base);
    push_new_file(new_sha, "later.txt");
    dest = new_dest();
    ck_assert_msg(fetch(origin, "main", new_sha, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, new_sha);
    ck_assert_int_eq(st.mirror_created, 0); /* repaired, not remade */
    ck_assert(!exists(path));
    free(dest);

    /* no mirror at all, and the half-made one still there */
    run("rm -rf %s.git", base);
    dest = new_dest();
    ck_assert_msg(fetch(origin, "main", NULL, dest, got, &st) == 0, "%s", sw_error_last());
    ck_assert_int_eq(st.mirror_created, 1);
    snprintf(path, sizeof(path), "%s.new", base);
    ck_assert(!exists(path));
    free(dest);
}
END_TEST

/* Threads racing for one mirror. */
typedef struct racer {
    char *dest;
    char got[41];
    int rc;
    char error[512];
    sw_gitfetch_stats stats;
    int ticked; /* under race_lock */
} racer;

static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t race_start;

static void on_race_tick(void *ud)
{
    racer *r = ud;
    pthread_mutex_lock(&race_lock);
    r->ticked = 1;
    pthread_cond_broadcast(&race_cond);
    pthread_mutex_unlock(&race_lock);
}

static void *race(void *arg)
{
    racer *r = arg;
    sw_gitfetch_opts opts = {
        .ud = r, .tick = on_race_tick, .mirror_dir = cache, .stats = &r->stats};
    pthread_barrier_wait(&race_start);
    r->rc = sw_gitfetch_ext(origin, "main", NULL, r->dest, &opts, r->got);
    snprintf(r->error, sizeof(r->error), "%s", r->rc < 0 ? sw_error_last() : "");
    return NULL;
}

static void start_racers(racer *racers, pthread_t *threads, unsigned n)
{
    ck_assert_int_eq(pthread_barrier_init(&race_start, NULL, n), 0);
    for (unsigned i = 0; i < n; i++) {
        memset(&racers[i], 0, sizeof(racers[i]));
        racers[i].dest = new_dest();
        ck_assert_int_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
}

static void join_racers(racer *racers, pthread_t *threads, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_msg(racers[i].rc == 0, "racer %u: %s", i, racers[i].error);
        ck_assert_str_eq(racers[i].got, second_sha);
        assert_content(racers[i].dest, "two");
        free(racers[i].dest);
    }
    pthread_barrier_destroy(&race_start);
}

START_TEST(test_mirror_threads_at_once)
{
    racer racers[4];
    pthread_t threads[4];
    start_racers(racers, threads, 4);
    join_racers(racers, threads, 4);
}
END_TEST

/* With the mirror's lock held (as another builder process would), two threads both
 * wait; released, one makes the mirror and the other finds it made, with nothing new. */
START_TEST(test_mirror_lock_serializes)
{
    char base[700], lock[800], path[800];
    racer racers[2];
    pthread_t threads[2];
    struct timespec until;

    sw_mirror_base(base, sizeof(base), cache, origin);
    snprintf(lock, sizeof(lock), "%s.lock", base);
    ck_assert_int_eq(mkdir(cache, 0700), 0);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);

    start_racers(racers, threads, 2);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&race_lock);
    while (!(racers[0].ticked && racers[1].ticked)) {
        ck_assert_int_eq(pthread_cond_timedwait(&race_cond, &race_lock, &until), 0);
    }
    pthread_mutex_unlock(&race_lock);
    snprintf(path, sizeof(path), "%s.git", base);
    ck_assert(!exists(path)); /* both are waiting, neither made it */

    close(fd);
    int made = 0, nothing_new = 0;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_msg(racers[i].rc == 0, "racer %d: %s", i, racers[i].error);
        made += racers[i].stats.mirror_created;
        nothing_new += racers[i].stats.received_objects == 0;
        ck_assert_str_eq(racers[i].got, second_sha);
        free(racers[i].dest);
    }
    pthread_barrier_destroy(&race_start);
    ck_assert_int_eq(made, 1);
    ck_assert_int_eq(nothing_new, 1);
}
END_TEST

/* Waiting for a mirror's lock, a fetch still hears cancel and its deadline. */
START_TEST(test_mirror_lock_wait_stops)
{
    char base[700], lock[800], got[41];
    volatile int cancel = 1;
    sw_mirror_base(base, sizeof(base), cache, origin);
    snprintf(lock, sizeof(lock), "%s.lock", base);
    ck_assert_int_eq(mkdir(cache, 0700), 0);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);

    char *dest = new_dest();
    sw_gitfetch_opts opts = {.mirror_dir = cache, .cancel = &cancel};
    ck_assert_int_eq(sw_gitfetch_ext(origin, "main", NULL, dest, &opts, got), SW_ESTOPPED);
    cancel = 0;
    opts.deadline_ms = sw_clock_mono_ms() + 100;
    ck_assert_int_eq(sw_gitfetch_ext(origin, "main", NULL, dest, &opts, got), SW_ETIMEDOUT);
    ck_assert_int_ge(sw_clock_mono_ms(), opts.deadline_ms);
    ck_assert_int_eq(count_entries(dest), -1);
    close(fd);
    opts.deadline_ms = 0;
    ck_assert_msg(sw_gitfetch_ext(origin, "main", NULL, dest, &opts, got) == 0, "%s",
                  sw_error_last());
    free(dest);
}
END_TEST

/* Each file of dir/.git/objects/pack with its inode, "<inode>:<name> ...". */
static void pack_inodes(char *out, size_t size, const char *dir)
{
    capture_line(out, size, "cd %s/.git/objects/pack && stat -c '%%i:%%n' * | tr '\\n' ' '", dir);
}

/* In two calls: the commit is resolved in the mirror, its files read from there with
 * nothing checked out, then checked out into a repository made by the caller; a second
 * commit checked out into the same repository brings only the mirror's new pack and
 * writes only the file that changed. */
START_TEST(test_resolve_read_then_checkout)
{
    sw_gitfetch_stats st = {0};
    sw_gitfetch_opts opts = {.mirror_dir = cache, .stats = &st};
    sw_gitfetch_resolved *g = NULL;
    git_repository *repo = NULL;
    char *text = NULL, before[2048], after[2048], new_sha[41];
    size_t len = 0;

    run("cd %s/work && mkdir -p dir && echo in > dir/in.txt && ln -s file.txt link && "
        "git add -A && git commit -q -m links && git push -q ../src.git main",
        root);
    ck_assert_msg(sw_gitfetch_resolve(&g, origin, "main", NULL, &opts) == 0, "%s",
                  sw_error_last());
    ck_assert_int_eq(st.mirror_created, 1);
    ck_assert_int_eq(sw_gitfetch_read(g, "file.txt", 100, &text, &len), 0);
    ck_assert_str_eq(text, "two\n");
    ck_assert_uint_eq(len, 4);
    free(text);
    ck_assert_int_eq(sw_gitfetch_read(g, "dir/in.txt", 100, &text, &len), 0);
    ck_assert_str_eq(text, "in\n");
    free(text);
    ck_assert_int_eq(sw_gitfetch_read(g, ".slipway.yml", 100, &text, &len), SW_ENOTFOUND);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(sw_gitfetch_read(g, "link", 100, &text, &len), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "symbolic link") != NULL, "%s", sw_error_last());
    ck_assert_int_eq(sw_gitfetch_read(g, "dir", 100, &text, &len), SW_EINVALID);
    ck_assert_int_eq(sw_gitfetch_read(g, "file.txt", 3, &text, &len), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "larger than 3 bytes") != NULL, "%s",
                  sw_error_last());

    char *dest = new_dest();
    ck_assert_int_eq(count_entries(dest), -1); /* nothing checked out yet */
    ck_assert_int_eq(sw_gitfetch_init_repo(&repo, dest, sw_gitfetch_url(g)), 0);
    ck_assert_msg(sw_gitfetch_checkout(g, repo, NULL) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(st.checkout_files, 3); /* file.txt, dir/in.txt, link */
    assert_content(dest, "two");
    pack_inodes(before, sizeof(before), dest);
    git_oid first;
    git_oid_cpy(&first, sw_gitfetch_commit(g));
    sw_gitfetch_destroy(&g);
    ck_assert_ptr_null(g);

    push_new_file(new_sha, "added.txt");
    ck_assert_msg(sw_gitfetch_resolve(&g, origin, "main", NULL, &opts) == 0, "%s",
                  sw_error_last());
    ck_assert_str_eq(sw_gitfetch_sha(g), new_sha);
    ck_assert_msg(sw_gitfetch_checkout(g, repo, &first) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(st.checkout_files, 1); /* added.txt only */
    ck_assert_int_eq(st.repacked, 0);
    pack_inodes(after, sizeof(after), dest);
    /* the first pack kept its files (same inodes: not copied again), one more came */
    int kept = 0;
    for (char *tok = strtok(before, " "); tok != NULL; tok = strtok(NULL, " ")) {
        ck_assert_msg(strstr(after, tok) != NULL, "%s not in %s", tok, after);
        kept++;
    }
    ck_assert_int_eq(kept, 2);
    run("test $(ls %s/.git/objects/pack | wc -l) -eq 4", dest);
    run("git -C %s fsck --no-dangling --no-progress >/dev/null 2>&1 && test -f %s/added.txt && "
        "test \"$(git -C %s rev-parse HEAD)\" = %s",
        dest, dest, dest, new_sha);
    git_repository_free(repo);
    sw_gitfetch_destroy(&g);
    free(dest);
}
END_TEST

static void assert_not_in_tree(const char *dir, const char *secret)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "grep -rqF -- '%s' %s", secret, dir);
    ck_assert_msg(system(cmd) != 0, "%s found under %s", secret, dir);
}

/* The server asks (401, Basic): the retried request carries the token; the recorder is
 * no git server, so the fetch then fails, with the token in no message and no file. */
START_TEST(test_token_on_request)
{
    const char *token = "s3cr3t-tok";
    sw_recorder *rec = NULL;
    char url[200], got[41];
    ck_assert_int_eq(sw_recorder_start(&rec), 0);
    snprintf(url, sizeof(url), "%s/repo.git", sw_recorder_url(rec));
    sw_recorder_answer_header(rec, 1, 401, 0, "WWW-Authenticate", "Basic realm=\"x\"");

    char *dest = new_dest();
    sw_gitfetch_opts opts = {.mirror_dir = cache, .token = token};
    ck_assert_int_eq(sw_gitfetch_ext(url, "main", NULL, dest, &opts, got), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "cannot reach repository") != NULL, "%s",
                  sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), token) == NULL, "%s", sw_error_last());
    ck_assert_uint_ge(sw_recorder_count(rec), 2);
    ck_assert_ptr_null(sw_recorded_header(sw_recorder_get(rec, 0), "authorization"));
    const char *auth = sw_recorded_header(sw_recorder_get(rec, 1), "authorization");
    ck_assert_ptr_nonnull(auth);
    /* base64("x-access-token:s3cr3t-tok") */
    ck_assert_str_eq(auth, "Basic eC1hY2Nlc3MtdG9rZW46czNjcjN0LXRvaw==");
    assert_not_in_tree(root, token);
    free(dest);

    /* another user; and refused: asked again, it gives up at once */
    sw_recorder_answer_header(rec, 10, 401, 0, "WWW-Authenticate", "Basic realm=\"x\"");
    size_t before = sw_recorder_count(rec);
    dest = new_dest();
    opts.username = "ci-bot";
    ck_assert_int_eq(sw_gitfetch_ext(url, "main", NULL, dest, &opts, got), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "credentials (user ci-bot) were refused") != NULL, "%s",
                  sw_error_last());
    ck_assert_uint_eq(sw_recorder_count(rec), before + 2);
    auth = sw_recorded_header(sw_recorder_get(rec, before + 1), "authorization");
    ck_assert_ptr_nonnull(auth);
    ck_assert_str_eq(auth, "Basic Y2ktYm90OnMzY3IzdC10b2s="); /* ci-bot:s3cr3t-tok */
    free(dest);

    /* no token */
    before = sw_recorder_count(rec);
    dest = new_dest();
    opts.token = NULL;
    ck_assert_int_eq(sw_gitfetch_ext(url, "main", NULL, dest, &opts, got), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "asks for credentials and no token is configured") !=
                      NULL,
                  "%s", sw_error_last());
    ck_assert_uint_eq(sw_recorder_count(rec), before + 1);
    free(dest);
    sw_recorder_destroy(&rec);
}
END_TEST

/* A fetch that succeeds with a token (never asked for) and a url with a password leaves
 * neither in the workspace's or the mirror's files. */
START_TEST(test_secrets_stay_out_of_files)
{
    int port;
    pid_t pid = start_daemon(&port);
    char url[200], shown[200], line[300], got[41];
    snprintf(url, sizeof(url), "git://bob:pa55word@127.0.0.1:%d/src.git", port);
    snprintf(shown, sizeof(shown), "git://bob@127.0.0.1:%d/src.git", port);
    char *dest = new_dest();
    sw_gitfetch_opts opts = {.mirror_dir = mirror_dir, .token = "s3cr3t-tok"};
    ck_assert_msg(sw_gitfetch_ext(url, "main", NULL, dest, &opts, got) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, second_sha);
    capture_line(line, sizeof(line), "git -C %s remote get-url origin", dest);
    ck_assert_str_eq(line, shown);
    assert_not_in_tree(root, "s3cr3t-tok");
    assert_not_in_tree(dest, "pa55word");
    assert_not_in_tree(cache, "pa55word");
    free(dest);
    stop_daemon(pid);
}
END_TEST

/* The same cases straight into the workspace and through a mirror. */
static TCase *core_cases(const char *name, void (*fixture)(void))
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, fixture, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_by_branch);
    tcase_add_test(tc, test_by_tag_and_pull_ref);
    tcase_add_test(tc, test_remote_head);
    tcase_add_test(tc, test_by_sha);
    tcase_add_test(tc, test_unknown_ref_and_sha);
    tcase_add_test(tc, test_unreachable_repository);
    tcase_add_test(tc, test_git_daemon);
    tcase_add_test(tc, test_commit_on_no_branch);
    tcase_add_test(tc, test_secrets_stay_out_of_files);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("gitfetch");
    suite_add_tcase(s, core_cases("direct", setup));
    suite_add_tcase(s, core_cases("mirror", setup_mirror));
    TCase *tc = tcase_create("cache");
    tcase_add_checked_fixture(tc, setup_mirror, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mirror_second_build_fetches_only_new);
    tcase_add_test(tc, test_mirror_loose_objects);
    tcase_add_test(tc, test_mirror_errors_leave_nothing);
    tcase_add_test(tc, test_mirror_broken_is_replaced);
    tcase_add_test(tc, test_mirror_threads_at_once);
    tcase_add_test(tc, test_mirror_lock_serializes);
    tcase_add_test(tc, test_mirror_lock_wait_stops);
    tcase_add_test(tc, test_token_on_request);
    tcase_add_test(tc, test_resolve_read_then_checkout);
    suite_add_tcase(s, tc);
    int status = sw_test_run(s);
    git_libgit2_shutdown();
    return status;
}
