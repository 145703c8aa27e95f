/*
 * slipway-bench - measures a running Slipway: submits N builds of a project at
 * once (as `slipway submit` does), follows their events and log lines, and
 * prints how long each stage took, from the timestamps the actors put on their
 * events (one host's clock, so they compare):
 *
 *   request -> created     the scheduler took the request and made the build
 *   created -> placed      the dispatcher put the job on a cluster's queue
 *   placed  -> started     a builder with a free slot pulled it and began
 *   started -> finished    fetch, sandbox, steps
 *   request -> finished    all of it
 *   log line -> follower   a step printed a line -> it arrived at a LOGS follower
 *
 * It prints figures and asserts nothing; run it against `tools/up` or any
 * Slipway (use a project whose pipeline is short).
 */
#include "runtime/core/clock.h"
#include "runtime/creds.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct build {
    char id[13];
    int64_t requested, created, placed, started, finished;
    int state;
} build;

typedef struct bench {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    build *builds;
    int n, done;
    int64_t *line_lat;
    size_t nline, cap;
} bench;

static build *find(bench *b, const char *id)
{
    for (int i = 0; i < b->n; i++) {
        if (strcmp(b->builds[i].id, id) == 0) {
            return &b->builds[i];
        }
    }
    return NULL;
}

static void on_event(sw_msg *msg, void *closure)
{
    bench *b = closure;
    Slipway__BuildEvent *ev =
        slipway__build_event__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    sw_msg_release(&msg);
    if (ev == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    build *x = find(b, ev->build_id);
    if (x != NULL) {
        switch (ev->kind) {
        case SLIPWAY__EVENT_KIND__CREATED:
            x->created = ev->at_ms;
            break;
        case SLIPWAY__EVENT_KIND__PLACED:
            x->placed = ev->at_ms;
            break;
        case SLIPWAY__EVENT_KIND__STARTED:
            if (x->started == 0) {
                x->started = ev->at_ms;
            }
            break;
        case SLIPWAY__EVENT_KIND__FINISHED:
            if (x->finished == 0) {
                x->finished = ev->at_ms;
                x->state = ev->state;
                b->done++;
                pthread_cond_signal(&b->cond);
            }
            break;
        default:
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    slipway__build_event__free_unpacked(ev, NULL);
}

static void on_log(sw_msg *msg, void *closure)
{
    bench *b = closure;
    int64_t now = sw_clock_wall_ms();
    Slipway__LogChunk *c = slipway__log_chunk__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    sw_msg_release(&msg);
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (find(b, c->build_id) != NULL) {
        for (size_t i = 0; i < c->n_lines; i++) {
            if (c->lines[i]->stream == SLIPWAY__LOG_STREAM__SYSTEM) {
                continue;
            }
            if (b->nline == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 1024;
                b->line_lat = sw_realloc(b->line_lat, b->cap * sizeof(*b->line_lat));
            }
            b->line_lat[b->nline++] = now - c->lines[i]->at_ms;
        }
    }
    pthread_mutex_unlock(&b->lock);
    slipway__log_chunk__free_unpacked(c, NULL);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int64_t *v, size_t n)
{
    if (n == 0) {
        printf("  %-22s  (no samples)\n", what);
        return;
    }
    qsort(v, n, sizeof(*v), cmp64);
    printf("  %-22s  n=%-5zu p50=%6lld  p90=%6lld  p99=%6lld  max=%6lld ms\n", what, n,
           (long long)v[n / 2], (long long)v[(n * 9) / 10], (long long)v[(n * 99) / 100],
           (long long)v[n - 1]);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: slipway-bench [--nats URL] [--creds FILE] --project P [--builds N]\n"
                 "                     [--ref REF] [--timeout SECONDS]\n"
                 "\n"
                 "Submits N builds (default 20) of project P at once and prints the latency of\n"
                 "each stage (p50/p90/p99/max) and the throughput. Figures only; no verdict.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nats", required_argument, NULL, 'n'},   {"project", required_argument, NULL, 'p'},
        {"builds", required_argument, NULL, 'b'}, {"ref", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"creds", required_argument, NULL, 'C'},   {NULL, 0, NULL, 0},
    };
    const char *url = getenv("SLIPWAY_NATS"), *project = NULL, *ref = "";
    const char *creds_path = getenv("SLIPWAY_CREDS");
    sw_creds creds = {0};
    int nbuilds = 20, timeout_s = 300, opt, status = 1;
    sw_bus *bus = NULL;
    sw_sub *events = NULL, *logs = NULL;
    bench b;

    memset(&b, 0, sizeof(b));
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            url = optarg;
            break;
        case 'C':
            creds_path = optarg;
            break;
        case 'p':
            project = optarg;
            break;
        case 'b':
            nbuilds = atoi(optarg);
            break;
        case 'r':
            ref = optarg;
            break;
        case 't':
            timeout_s = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (project == NULL || nbuilds < 1 || nbuilds > 10000 || timeout_s < 1) {
        usage(stderr);
        return 2;
    }
    if (url == NULL || url[0] == '\0') {
        url = "nats://127.0.0.1:4222";
    }
    if (creds_path != NULL && creds_path[0] != '\0' && sw_creds_load(&creds, creds_path) < 0) {
        fprintf(stderr, "slipway-bench: %s\n", sw_error_last());
        return 2;
    }
    sw_bus_options bo = {.url = url, .name = "slipway-bench", .connect_wait_ms = 2000,
                         .user = creds.user, .password = creds.password,
                         .inbox_prefix = creds.inbox};
    int connected = sw_bus_connect(&bus, &bo);
    sw_creds_clear(&creds);
    if (connected < 0) {
        fprintf(stderr, "slipway-bench: %s\n", sw_error_last());
        return 7;
    }

    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    req.project = (char *)project;
    if (sw_wire_request(bus, SW_API_PROJECT, &req.base, &slipway__api_reply__descriptor, 5000,
                        &reply) < 0 ||
        ((Slipway__ApiReply *)reply)->project == NULL) {
        fprintf(stderr, "slipway-bench: cannot look up project '%s': %s\n", project,
                reply ? ((Slipway__ApiReply *)reply)->error : sw_error_last());
        goto out;
    }
    char tenant[128];
    snprintf(tenant, sizeof(tenant), "%s", ((Slipway__ApiReply *)reply)->project->tenant);

    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    b.builds = sw_calloc((size_t)nbuilds, sizeof(*b.builds));
    b.n = nbuilds;

    char run[32], request_id[96], filter[160], subject[160];
    snprintf(run, sizeof(run), "%lld-%d", (long long)sw_clock_wall_ms(), (int)getpid());
    for (int i = 0; i < nbuilds; i++) {
        snprintf(request_id, sizeof(request_id), "bench-%s-%d", run, i);
        sw_wire_build_id(b.builds[i].id, tenant, request_id);
    }
    snprintf(filter, sizeof(filter), "sw.events.%s.>", tenant);
    if (sw_bus_follow(&events, bus, SW_STREAM_EVENTS, filter, 1, on_event, &b) < 0) {
        fprintf(stderr, "slipway-bench: %s\n", sw_error_last());
        goto out;
    }
    snprintf(filter, sizeof(filter), "sw.logs.%s.>", tenant);
    if (sw_bus_follow(&logs, bus, SW_STREAM_LOGS, filter, 1, on_log, &b) < 0) {
        fprintf(stderr, "slipway-bench: %s\n", sw_error_last());
        goto out;
    }

    printf("slipway-bench: %d builds of %s (tenant %s) on %s\n", nbuilds, project, tenant, url);
    int64_t t0 = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.req", tenant, NULL);
    for (int i = 0; i < nbuilds; i++) {
        Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
        snprintf(request_id, sizeof(request_id), "bench-%s-%d", run, i);
        br.request_id = request_id;
        br.tenant = tenant;
        br.project = (char *)project;
        br.forge = "bench";
        br.ref = (char *)ref;
        pthread_mutex_lock(&b.lock);
        b.builds[i].requested = br.requested_at_ms = sw_clock_wall_ms();
        pthread_mutex_unlock(&b.lock);
        if (sw_wire_js_publish(bus, subject, &br.base, request_id, NULL) < 0) {
            fprintf(stderr, "slipway-bench: submit %d: %s\n", i, sw_error_last());
            goto out;
        }
    }

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&b.lock);
    while (b.done < b.n) {
        if (pthread_cond_timedwait(&b.cond, &b.lock, &deadline) != 0) {
            break;
        }
    }
    int done = b.done;
    pthread_mutex_unlock(&b.lock);
    int64_t elapsed = sw_clock_wall_ms() - t0;
    /* the last chunks reach the follower just before FINISHED: let them land */
    usleep(200 * 1000);
    sw_sub_destroy(&logs);
    sw_sub_destroy(&events);

    int64_t *v[5];
    size_t nv[5] = {0};
    int ok = 0;
    for (int k = 0; k < 5; k++) {
        v[k] = sw_calloc((size_t)nbuilds, sizeof(int64_t));
    }
    for (int i = 0; i < nbuilds; i++) {
        build *x = &b.builds[i];
        ok += x->state == SLIPWAY__BUILD_STATE__SUCCEEDED;
        if (x->created) {
            v[0][nv[0]++] = x->created - x->requested;
        }
        if (x->created && x->placed) {
            v[1][nv[1]++] = x->placed - x->created;
        }
        if (x->placed && x->started) {
            v[2][nv[2]++] = x->started - x->placed;
        }
        if (x->started && x->finished) {
            v[3][nv[3]++] = x->finished - x->started;
        }
        if (x->finished) {
            v[4][nv[4]++] = x->finished - x->requested;
        }
    }
    printf("  finished %d of %d (%d succeeded) in %.2f s: %.2f builds/s\n", done, nbuilds, ok,
           (double)elapsed / 1000.0, elapsed > 0 ? done * 1000.0 / (double)elapsed : 0.0);
    report("request -> created", v[0], nv[0]);
    report("created -> placed", v[1], nv[1]);
    report("placed -> started", v[2], nv[2]);
    report("started -> finished", v[3], nv[3]);
    report("request -> finished", v[4], nv[4]);
    report("log line -> follower", b.line_lat, b.nline);
    for (int k = 0; k < 5; k++) {
        free(v[k]);
    }
    status = done == nbuilds ? 0 : 1;

out:
    sw_sub_destroy(&logs);
    sw_sub_destroy(&events);
    if (reply) {
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    sw_bus_destroy(&bus);
    free(b.builds);
    free(b.line_lat);
    return status;
}
