/*
 * slipway-workspace-bench - figures for a builder's workspaces: whole builds (the
 * runner, sw_run_job, with the shell executor and one `true` step) of a repository of
 * large files, through a mirror cache, into one slot's workspace of the project.
 *
 *     slipway-workspace-bench [-n REPEATS] [-f FILES] [-m MB_PER_FILE]
 *
 * The repository holds FILES (30) files of MB_PER_FILE (10) MB of random data. One
 * warm-up build (a cold mirror, no workspace yet), then REPEATS (5) builds of the same
 * commit, then one build after one file changed. For each it prints the whole build,
 * and the fetch and checkout as the build's log shows them: from its "fetching" line
 * to its "checked out" line by this program's clock, and the runner's own figures
 * when that line gives them ("(fetch N ms, checkout M ms)"). It passes the same
 * workspace path to every build, so it runs against a runner that makes a fresh
 * workspace per build (and removes it) as well as one that keeps it: the before and
 * after of issue 13.
 *
 * It prints figures and asserts nothing (but exits 1 when a build does not succeed).
 * Everything it writes is under a temporary directory that it removes.
 */
#include "actors/builder/runner.h"
#include "runtime/core/clock.h"
#include "runtime/core/fs.h"
#include "slipway.pb-c.h"

#include <fcntl.h>
#include <getopt.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[] = "/tmp/sw-workspace-bench-XXXXXX";

static void remove_root(void)
{
    sw_fs_rmtree(root);
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fprintf(stderr, "workspace-bench: failed: %s\n", cmd);
        exit(1);
    }
}

/* mb MB of /dev/urandom into root/work/name. */
static void random_file(const char *name, int mb)
{
    char path[512], buf[1 << 16];
    snprintf(path, sizeof(path), "%s/work/%s", root, name);
    int in = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    FILE *out = fopen(path, "w");
    if (in < 0 || out == NULL) {
        fprintf(stderr, "workspace-bench: cannot write %s\n", path);
        exit(1);
    }
    for (long done = 0; done < (long)mb << 20; done += (long)sizeof(buf)) {
        if (read(in, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
            fwrite(buf, 1, sizeof(buf), out) != sizeof(buf)) {
            fprintf(stderr, "workspace-bench: cannot write %s\n", path);
            exit(1);
        }
    }
    close(in);
    fclose(out);
}

/* What one build's log showed, by this program's clock. */
typedef struct timing {
    int64_t fetching_at, checked_out_at;
    long long fetch_ms, checkout_ms; /* the runner's own; -1 when its line gives none */
} timing;

static void on_line(void *ud, int stream, const char *text, size_t len)
{
    timing *t = ud;
    (void)stream;
    (void)len;
    if (strncmp(text, "fetching ", 9) == 0) {
        t->fetching_at = sw_clock_mono_ms();
    } else if (strncmp(text, "checked out ", 12) == 0) {
        const char *f = strstr(text, "(fetch ");
        t->checked_out_at = sw_clock_mono_ms();
        if (f == NULL || sscanf(f, "(fetch %lld ms, checkout %lld ms)", &t->fetch_ms,
                                &t->checkout_ms) != 2) {
            t->fetch_ms = t->checkout_ms = -1;
        }
    } else if (strncmp(text, "build ", 6) == 0 && strncmp(text, "build succeeded", 15) != 0) {
        fprintf(stderr, "workspace-bench: %s\n", text);
    }
}

static void figure(char *buf, size_t size, long long v)
{
    if (v < 0) {
        snprintf(buf, size, "-");
    } else {
        snprintf(buf, size, "%lld", v);
    }
}

/* One build; prints its row and returns its total ms. */
static int64_t build(const char *what, int i, const char *url, const char *ws,
                     const char *mirrors, int64_t *fetch_checkout)
{
    timing t = {0, 0, -1, -1};
    sw_run_spec spec = {0};
    sw_run_sink sink = {.ud = &t, .line = on_line};
    sw_run_result res;
    char f[32], c[32];

    spec.build_id = "bench";
    spec.clone_url = url;
    spec.ref = "main";
    spec.workspace = ws;
    spec.mirror_dir = mirrors;
    spec.timeout_ms = 600000;
    int64_t t0 = sw_clock_mono_ms();
    int rc = sw_run_job(&spec, &sink, &res);
    int64_t total = sw_clock_mono_ms() - t0;
    sw_profile_clear(&res.profile);
    if (rc < 0 || res.state != SLIPWAY__BUILD_STATE__SUCCEEDED) {
        fprintf(stderr, "workspace-bench: %s build %d did not succeed: %s\n", what, i,
                res.reason);
        exit(1);
    }
    *fetch_checkout = t.checked_out_at - t.fetching_at;
    figure(f, sizeof(f), t.fetch_ms);
    figure(c, sizeof(c), t.checkout_ms);
    printf("%-14s %3d  build %6lld ms  fetch+checkout %6lld ms  (runner: fetch %s ms, "
           "checkout %s ms)\n",
           what, i, (long long)total, (long long)*fetch_checkout, f, c);
    fflush(stdout);
    return total;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int repeats = 5, files = 30, mb = 10, opt;
    char url[600], ws[600], mirrors[600];

    while ((opt = getopt(argc, argv, "n:f:m:")) != -1) {
        if (opt == 'n' && atoi(optarg) > 0) {
            repeats = atoi(optarg);
        } else if (opt == 'f' && atoi(optarg) > 0) {
            files = atoi(optarg);
        } else if (opt == 'm' && atoi(optarg) > 0) {
            mb = atoi(optarg);
        } else {
            fprintf(stderr, "usage: slipway-workspace-bench [-n REPEATS] [-f FILES] "
                            "[-m MB_PER_FILE]\n");
            return 2;
        }
    }
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_root);
    setenv("GIT_AUTHOR_NAME", "bench", 1);
    setenv("GIT_AUTHOR_EMAIL", "bench@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "bench", 1);
    setenv("GIT_COMMITTER_EMAIL", "bench@example.org", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    snprintf(url, sizeof(url), "%s/src.git", root);
    snprintf(ws, sizeof(ws), "%s/ws/bench/app/0", root);
    snprintf(mirrors, sizeof(mirrors), "%s/mirrors", root);

    run("cd %s && git init -q -b main work && git init -q --bare -b main src.git", root);
    for (int i = 0; i < files; i++) {
        char name[32];
        snprintf(name, sizeof(name), "data-%02d.bin", i);
        random_file(name, mb);
    }
    run("cd %s/work && printf 'steps:\\n  - name: noop\\n    run: \"true\"\\n' > .slipway.yml && "
        "git add -A && git commit -q -m data && git push -q ../src.git main",
        root);
    printf("repository: %d files of %d MB of random data (%d MB), %d repeat builds\n", files, mb,
           files * mb, repeats);

    int64_t fc, *totals = calloc((size_t)repeats, sizeof(*totals));
    int64_t *fcs = calloc((size_t)repeats, sizeof(*fcs));
    build("warm-up", 1, url, ws, mirrors, &fc);
    for (int i = 0; i < repeats; i++) {
        totals[i] = build("repeat", i + 1, url, ws, mirrors, &fcs[i]);
    }
    random_file("data-00.bin", mb);
    run("cd %s/work && git commit -q -am change && git push -q ../src.git main", root);
    build("one changed", 1, url, ws, mirrors, &fc);

    qsort(totals, (size_t)repeats, sizeof(*totals), cmp_i64);
    qsort(fcs, (size_t)repeats, sizeof(*fcs), cmp_i64);
    printf("repeat builds: median build %lld ms, median fetch+checkout %lld ms\n",
           (long long)totals[repeats / 2], (long long)fcs[repeats / 2]);
    free(totals);
    free(fcs);
    git_libgit2_shutdown();
    return 0;
}
