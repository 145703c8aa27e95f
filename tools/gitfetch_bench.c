/*
 * slipway-gitfetch-bench - measures a builder's fetch of one commit (sw_gitfetch_ext,
 * fetch and checkout into a fresh workspace, as a project's first build on a slot
 * makes it; slipway-workspace-bench measures the builds after) three ways:
 *   cold:   through a mirror cache made fresh for each run (a builder's first build)
 *   warm:   through one mirror cache, primed once before the runs
 *   direct: with no cache at all (Slipway before the mirror cache)
 * and prints, for each, the median and p90 (nearest rank) of the whole call in ms,
 * the medians of its fetch and checkout parts, and the objects received per run.
 *
 *     slipway-gitfetch-bench [-n RUNS] [-r REF] URL_OR_PATH
 *
 * It prints figures and asserts nothing. Everything it writes is under a temporary
 * directory that it removes.
 */
#include "actors/builder/git/gitfetch.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/mem.h"

#include <getopt.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    int64_t *total, *fetch, *checkout;
    unsigned *objects;
    int n;
} series;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n values (sorted in place). */
static int64_t percentile(int64_t *v, int n, int pct)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    int rank = (pct * n + 99) / 100;
    return v[rank > 0 ? rank - 1 : 0];
}

/* Where everything goes; removed at exit, whatever happens. */
static char root[] = "/tmp/sw-gitfetch-bench-XXXXXX";

static void remove_root(void)
{
    sw_fs_rmtree(root);
}

/* One fetch into a fresh workspace; exits on failure (the figures would be wrong). */
static void one(series *s, int i, const char *url, const char *ref, const char *cache,
                const char *dest)
{
    sw_gitfetch_stats st = {0};
    sw_gitfetch_opts opts = {.mirror_dir = cache, .stats = &st};
    char sha[41];
    int64_t t0 = sw_clock_mono_ms();
    if (sw_gitfetch_ext(url, ref, NULL, dest, &opts, sha) < 0) {
        fprintf(stderr, "slipway-gitfetch-bench: %s\n", sw_error_last());
        exit(1);
    }
    if (s != NULL) {
        s->total[i] = sw_clock_mono_ms() - t0;
        s->fetch[i] = st.fetch_ms;
        s->checkout[i] = st.checkout_ms;
        s->objects[i] = st.received_objects;
    }
    sw_fs_rmtree(dest);
}

static void print_series(const char *name, series *s)
{
    unsigned long long objects = 0;
    for (int i = 0; i < s->n; i++) {
        objects += s->objects[i];
    }
    int64_t median = percentile(s->total, s->n, 50), p90 = percentile(s->total, s->n, 90);
    printf("%-7s median %5lld ms  p90 %5lld ms   (fetch median %lld ms, checkout median %lld ms, "
           "%.1f objects received per run)\n",
           name, (long long)median, (long long)p90, (long long)percentile(s->fetch, s->n, 50),
           (long long)percentile(s->checkout, s->n, 50), (double)objects / s->n);
}

static void series_init(series *s, int n)
{
    s->n = n;
    s->total = sw_calloc((size_t)n, sizeof(int64_t));
    s->fetch = sw_calloc((size_t)n, sizeof(int64_t));
    s->checkout = sw_calloc((size_t)n, sizeof(int64_t));
    s->objects = sw_calloc((size_t)n, sizeof(unsigned));
}

static void series_finish(series *s)
{
    free(s->total);
    free(s->fetch);
    free(s->checkout);
    free(s->objects);
}

int main(int argc, char **argv)
{
    int n = 20, c;
    const char *ref = NULL;
    char warm_cache[64], cold_cache[64], dest[64];
    series cold, warm, direct;

    while ((c = getopt(argc, argv, "n:r:h")) != -1) {
        switch (c) {
        case 'n':
            n = atoi(optarg);
            break;
        case 'r':
            ref = optarg;
            break;
        default:
            fprintf(stderr, "usage: slipway-gitfetch-bench [-n RUNS] [-r REF] URL_OR_PATH\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || n < 1) {
        fprintf(stderr, "usage: slipway-gitfetch-bench [-n RUNS] [-r REF] URL_OR_PATH\n");
        return 2;
    }
    const char *url = argv[optind];
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_root);
    snprintf(dest, sizeof(dest), "%s/ws", root);
    series_init(&cold, n);
    series_init(&warm, n);
    series_init(&direct, n);

    snprintf(warm_cache, sizeof(warm_cache), "%s/warm", root);
    snprintf(cold_cache, sizeof(cold_cache), "%s/cold", root);
    one(NULL, 0, url, ref, warm_cache, dest); /* primes the warm mirror */
    /* interleaved, so that a change in the machine's load spreads over all three */
    for (int i = 0; i < n; i++) {
        one(&cold, i, url, ref, cold_cache, dest);
        sw_fs_rmtree(cold_cache);
        one(&warm, i, url, ref, warm_cache, dest);
        one(&direct, i, url, ref, NULL, dest);
    }

    printf("%s%s%s, %d runs each (fetch and checkout into a fresh workspace):\n", url,
           ref ? " " : "", ref ? ref : "", n);
    print_series("cold", &cold);
    print_series("warm", &warm);
    print_series("direct", &direct);

    series_finish(&cold);
    series_finish(&warm);
    series_finish(&direct);
    git_libgit2_shutdown();
    return 0;
}
