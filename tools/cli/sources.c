/*
 * sources.c - slipway sources: the source profile of a checkout (a local one,
 * or a project's default branch fetched for it), each host with its region.
 */
#include "tools/cli/cli.h"

#include "actors/builder/git/gitfetch.h"
#include "actors/builder/profile/profile.h"
#include "runtime/buildstate.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/mem.h"
#include "runtime/regions.h"
#include "runtime/wire.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WHAT_WIDTH 60 /* longer ones are printed whole, past the column */

static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipway sources [--project P] [--config FILE] [PATH]\n"
            "\n"
            "Prints what a build of the checkout at PATH (default .) would fetch, read from\n"
            "its .slipway.yml, its Dockerfiles and its package-source files (.npmrc, pip.conf,\n"
            "requirements*.txt, go.env, sources.list) without running anything: one source a\n"
            "line, as host, region, kind, what and file:line, then the count per region.\n"
            "With --project P, P's repository is fetched at its default branch into a\n"
            "temporary directory, read, and removed.\n"
            "\n"
            "Regions: FILE's `regions:` (a slipway.yaml) first, then the shipped table; a\n"
            "host in neither is in no region (-). Where a build goes is the dispatcher's\n"
            "choice, from the sources of the project's recent builds.\n"
            "\n"
            "exit status: 0 ok, 2 bad usage, PATH not a directory or FILE not a config,\n"
            "6 no such project, 7 NATS or the scheduler cannot be reached, or the project's\n"
            "repository cannot be fetched.\n");
}

typedef struct count {
    const char *region; /* NULL: in none */
    unsigned n;
} count;

static int by_count(const void *a, const void *b)
{
    const count *x = a, *y = b;
    if ((x->region == NULL) != (y->region == NULL)) {
        return x->region == NULL ? 1 : -1; /* "unknown" last */
    }
    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    return x->region ? strcmp(x->region, y->region) : 0;
}

static size_t max_len(size_t a, const char *s)
{
    size_t n = strlen(s);
    return n > a ? n : a;
}

/* The sources, then "overseas 2, cn 1, unknown 1: most sources: overseas". */
static void print_profile(const sw_profile *p, const sw_config *cfg)
{
    const char **regions = sw_calloc(p->n + 1, sizeof(*regions));
    count *counts = sw_calloc(p->n + 1, sizeof(*counts));
    size_t wh = 0, wr = 1, wk = 0, ww = 0, ncounts = 0;

    for (size_t i = 0; i < p->n; i++) {
        const sw_source *s = &p->v[i];
        regions[i] = sw_region_of(cfg, s->host);
        wh = max_len(wh, s->host);
        wr = max_len(wr, regions[i] ? regions[i] : "-");
        wk = max_len(wk, s->kind);
        ww = max_len(ww, s->what);
        size_t k = 0;
        while (k < ncounts && !(regions[i] == counts[k].region ||
                                (regions[i] && counts[k].region &&
                                 strcmp(regions[i], counts[k].region) == 0))) {
            k++;
        }
        counts[k].region = regions[i];
        counts[k].n++;
        ncounts += k == ncounts;
    }
    ww = ww > WHAT_WIDTH ? WHAT_WIDTH : ww;
    for (size_t i = 0; i < p->n; i++) {
        const sw_source *s = &p->v[i];
        char where[512];
        if (s->line > 0) {
            snprintf(where, sizeof(where), "%s:%u", s->file, s->line);
        } else {
            snprintf(where, sizeof(where), "%s", s->file);
        }
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)wh, s->host, (int)wr,
               regions[i] ? regions[i] : "-", (int)wk, s->kind, (int)ww, s->what, where);
    }

    if (p->n == 0) {
        printf("no sources found\n");
    } else {
        qsort(counts, ncounts, sizeof(*counts), by_count);
        for (size_t k = 0; k < ncounts; k++) {
            printf("%s%s %u", k ? ", " : "", counts[k].region ? counts[k].region : "unknown",
                   counts[k].n);
        }
        if (counts[0].region == NULL) {
            printf(": no source is in a known region");
        } else {
            printf(": most sources: %s", counts[0].region);
            for (size_t k = 1; k < ncounts && counts[k].region && counts[k].n == counts[0].n;
                 k++) {
                printf(" and %s (a tie)", counts[k].region);
            }
        }
        printf("\n");
    }
    if (p->dropped > 0) {
        printf("(%zu more sources were not kept: a profile holds %d)\n", p->dropped,
               SW_PROFILE_MAX);
    }
    free(counts);
    free(regions);
}

/* Fetches project's default branch into a fresh directory under $TMPDIR and
 * scans it; the directory is removed whatever happens. */
static int scan_project(cli *c, const char *project, sw_profile *p)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    const char *tmpdir = getenv("TMPDIR");
    char *tmp = NULL, *dest = NULL, sha[41];
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    int status;

    req.project = (char *)project;
    if ((status = cli_api(c, SW_API_PROJECT, &req, &reply)) != CLI_OK) {
        return status;
    }
    tmp = sw_asprintf("%s/slipway-sources-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (mkdtemp(tmp) == NULL) {
        fprintf(stderr, "slipway: cannot make a temporary directory %s: %s\n", tmp,
                strerror(errno));
        status = CLI_UNREACHABLE;
        goto cleanup;
    }
    dest = sw_asprintf("%s/checkout", tmp);
    /* ^C stops the fetch; the directory is removed below */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sw_gitfetch_opts opts = {.cancel = &interrupted};
    const char *ref = reply->project->default_ref;
    int error = sw_gitfetch_ext(reply->project->repository, ref, NULL, dest, &opts, sha);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (error < 0) {
        fprintf(stderr, "slipway: cannot fetch project %s (%s at %s): %s\n", project,
                reply->project->repository, ref[0] ? sw_ref_display(ref) : "its HEAD", sw_error_last());
        status = CLI_UNREACHABLE;
        goto cleanup;
    }
    fprintf(stderr, "project %s: %s at %s (%.12s)\n", project, reply->project->repository,
            ref[0] ? sw_ref_display(ref) : "HEAD", sha);
    if (sw_profile_scan(p, dest, NULL) < 0) {
        fprintf(stderr, "slipway: %s\n", sw_error_last());
        status = CLI_UNREACHABLE;
    }

cleanup:
    if (tmp != NULL && sw_fs_rmtree(tmp) < 0) {
        fprintf(stderr, "slipway: %s\n", sw_error_last());
    }
    free(dest);
    free(tmp);
    slipway__api_reply__free_unpacked(reply, NULL);
    return status;
}

int cli_sources(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"project", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *project = NULL, *config = NULL, *path = ".";
    sw_config *cfg = NULL;
    sw_profile p = {0};
    struct stat st;
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "p:c:h", longopts)) != -1) {
        switch (opt) {
        case 'p':
            project = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (project != NULL && argc - optind == 1)) {
        fprintf(stderr, "slipway sources: %s\n",
                project ? "PATH or --project, not both" : "one PATH at most");
        usage(stderr);
        return CLI_USAGE;
    }
    if (optind < argc) {
        path = argv[optind];
    }
    if (project == NULL && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "slipway sources: %s is not a directory (a checkout to read)\n", path);
        return CLI_USAGE;
    }
    if (config != NULL && sw_config_load(&cfg, config) < 0) {
        fprintf(stderr, "slipway sources: %s\n", sw_error_last());
        return CLI_USAGE;
    }
    if (project != NULL) {
        status = scan_project(c, project, &p);
    } else if (sw_profile_scan(&p, path, NULL) < 0) {
        fprintf(stderr, "slipway sources: %s\n", sw_error_last());
        status = CLI_USAGE;
    } else {
        status = CLI_OK;
    }
    if (status == CLI_OK) {
        print_profile(&p, cfg);
    }
    sw_profile_clear(&p);
    sw_config_release((const sw_config **)&cfg);
    return status;
}
