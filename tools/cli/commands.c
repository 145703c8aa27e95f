/* commands.c - slipway submit, builds, show, builders, and the shared helpers. */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_connect(cli *c)
{
    if (c->bus != NULL) {
        return CLI_OK;
    }
    if (c->creds_path != NULL && c->creds_path[0] != '\0' && c->creds.user == NULL &&
        sw_creds_load(&c->creds, c->creds_path) < 0) {
        fprintf(stderr, "slipway: %s\n", sw_error_last());
        return CLI_USAGE;
    }
    sw_bus_options opts = {.url = c->nats_url, .name = "slipway-cli", .connect_wait_ms = 2000,
                           .request_timeout_ms = c->timeout_ms, .user = c->creds.user,
                           .password = c->creds.password, .inbox_prefix = c->creds.inbox};
    if (sw_bus_connect(&c->bus, &opts) < 0) {
        fprintf(stderr, "slipway: %s\n", sw_error_last());
        return sw_error_last_code() == SW_EDENIED ? CLI_DENIED : CLI_UNREACHABLE;
    }
    return CLI_OK;
}

bool cli_refused(cli *c, unsigned before)
{
    char text[256];
    if (c->bus == NULL) {
        return false;
    }
    sw_bus_flush(c->bus, 1000); /* the server's -ERR comes after what it refused */
    if (sw_bus_refusals(c->bus, text, sizeof(text)) == before) {
        return false;
    }
    fprintf(stderr, "slipway: NATS refused it: %s (the credentials%s%s do not allow it)\n", text,
            c->creds.path ? " in " : "", c->creds.path ? c->creds.path : "");
    return true;
}

int cli_api(cli *c, const char *subject, const Slipway__ApiRequest *req,
            Slipway__ApiReply **reply_out)
{
    return cli_request(c, subject, &req->base, reply_out);
}

int cli_request(cli *c, const char *subject, const ProtobufCMessage *req,
                Slipway__ApiReply **reply_out)
{
    ProtobufCMessage *reply = NULL;
    int status, error;

    if ((status = cli_connect(c)) != CLI_OK) {
        return status;
    }
    unsigned refused = sw_bus_refusals(c->bus, NULL, 0);
    error = sw_wire_request(c->bus, subject, req, &slipway__api_reply__descriptor,
                            c->timeout_ms, &reply);
    if (error < 0 && cli_refused(c, refused)) {
        return CLI_DENIED;
    }
    if (error == SW_ENOTFOUND && c->creds.tenant != NULL) {
        fprintf(stderr, "slipway: nobody answers %s for tenant %s: not something a tenant's "
                        "credentials can ask (use an operator's)\n", subject, c->creds.tenant);
        return CLI_DENIED;
    }
    if (error == SW_ENOTFOUND || error == SW_ETIMEDOUT) {
        fprintf(stderr,
                "slipway: no answer on %s from %s (%s): is slipwayd running with the %s?\n",
                subject, c->nats_url, error == SW_ETIMEDOUT ? "timed out" : "nobody listens",
                strcmp(subject, SW_API_LOGS) == 0    ? "logsink"
                : strcmp(subject, SW_API_POOLS) == 0 ? "autoscaler"
                                                     : "scheduler");
        return CLI_UNREACHABLE;
    }
    if (error < 0) {
        fprintf(stderr, "slipway: %s\n", sw_error_last());
        return CLI_UNREACHABLE;
    }
    *reply_out = (Slipway__ApiReply *)reply;
    if ((*reply_out)->error[0] != '\0') {
        if (!(c->quiet_not_found && (*reply_out)->code == SW_ENOTFOUND)) {
            fprintf(stderr, "slipway: %s\n", (*reply_out)->error);
        }
        status = (*reply_out)->code == SW_ENOTFOUND   ? CLI_NOT_FOUND
                 : (*reply_out)->code == SW_ECONFLICT ? CLI_ENDED
                 : (*reply_out)->code == SW_EDENIED   ? CLI_DENIED
                 : (*reply_out)->code == SW_EINVALID  ? CLI_USAGE
                                                      : CLI_UNREACHABLE;
        slipway__api_reply__free_unpacked(*reply_out, NULL);
        *reply_out = NULL;
        return status;
    }
    return CLI_OK;
}

int cli_get_build(cli *c, const char *build_id, Slipway__BuildRecord **rec_out)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    int status;

    req.build_id = (char *)build_id;
    if ((status = cli_api(c, SW_API_BUILD, &req, &reply)) != CLI_OK) {
        return status;
    }
    if (reply->n_builds != 1) {
        fprintf(stderr, "slipway: no build '%s'\n", build_id);
        slipway__api_reply__free_unpacked(reply, NULL);
        return CLI_NOT_FOUND;
    }
    /* detach the record from the reply */
    *rec_out = reply->builds[0];
    reply->n_builds = 0;
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}

const char *cli_age(char *buf, size_t n, int64_t at_ms)
{
    int64_t s = (sw_clock_wall_ms() - at_ms) / 1000;
    if (at_ms <= 0) {
        snprintf(buf, n, "-");
    } else if (s < 120) {
        snprintf(buf, n, "%llds ago", (long long)(s < 0 ? 0 : s));
    } else if (s < 7200) {
        snprintf(buf, n, "%lldm ago", (long long)(s / 60));
    } else if (s < 172800) {
        snprintf(buf, n, "%lldh ago", (long long)(s / 3600));
    } else {
        snprintf(buf, n, "%lldd ago", (long long)(s / 86400));
    }
    return buf;
}

const char *cli_duration(char *buf, size_t n, int64_t ms)
{
    if (ms % 1000 != 0) {
        snprintf(buf, n, "%lldms", (long long)ms);
    } else if (ms % 60000 != 0 || ms == 0) {
        snprintf(buf, n, "%llds", (long long)(ms / 1000));
    } else {
        snprintf(buf, n, "%lldm", (long long)(ms / 60000));
    }
    return buf;
}

int cli_request_id(char *buf, size_t n)
{
    unsigned char rnd[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    int off = snprintf(buf, n, "cli-");
    for (size_t i = 0; i < sizeof(rnd) && (size_t)off + 2 < n; i++) {
        off += snprintf(buf + off, n - (size_t)off, "%02x", rnd[i]);
    }
    return 0;
}

static void submit_usage(FILE *out)
{
    fprintf(out, "usage: slipway submit --project P [--ref REF] [--sha SHA]\n"
                 "\n"
                 "Requests a build of project P: REF is a branch, a tag or a full ref (default:\n"
                 "the project's default branch); SHA pins the commit. Prints the build's id.\n"
                 "\n"
                 "exit status: 0 the request is stored, 6 no such project, 7 NATS or Slipway\n"
                 "cannot be reached (or did not confirm in time), 8 the build queue is full:\n"
                 "nothing was stored, try again later, 12 the project's tenant has its plan's\n"
                 "max_queued builds waiting: nothing was stored, try again when some started.\n");
}

int cli_submit(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"project", required_argument, NULL, 'p'}, {"ref", required_argument, NULL, 'r'},
        {"sha", required_argument, NULL, 's'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *project = NULL, *ref = "", *sha = "";
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char request_id[64];
    int opt, status;

    while ((opt = getopt_long(argc, argv, "p:r:s:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            project = optarg;
            break;
        case 'r':
            ref = optarg;
            break;
        case 's':
            sha = optarg;
            break;
        case 'h':
            submit_usage(stdout);
            return CLI_OK;
        default:
            submit_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (project == NULL || optind != argc) {
        fprintf(stderr, "slipway submit: %s\n",
                project == NULL ? "--project is required" : "unexpected argument");
        submit_usage(stderr);
        return CLI_USAGE;
    }
    req.project = (char *)project;
    if ((status = cli_api(c, SW_API_PROJECT, &req, &reply)) != CLI_OK) {
        return status;
    }
    if (reply->project->max_queued > 0 && reply->project->queued >= reply->project->max_queued) {
        fprintf(stderr,
                "slipway: tenant %s has %u builds waiting, its plan's max_queued (tier %s) is "
                "%u: the request was not stored; submit again once some have started\n",
                reply->project->tenant, reply->project->queued, reply->project->tier,
                reply->project->max_queued);
        slipway__api_reply__free_unpacked(reply, NULL);
        return CLI_OVER_QUOTA;
    }
    if (cli_request_id(request_id, sizeof(request_id)) < 0) {
        fprintf(stderr, "slipway: cannot read /dev/urandom\n");
        slipway__api_reply__free_unpacked(reply, NULL);
        return CLI_UNREACHABLE;
    }
    const char *user = getenv("USER");
    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    br.request_id = request_id;
    br.tenant = reply->project->tenant;
    br.project = (char *)project;
    br.forge = "cli";
    br.ref = (char *)ref;
    br.sha = (char *)sha;
    br.author = (char *)(user ? user : "");
    status = cli_publish_request(c, &br);
    slipway__api_reply__free_unpacked(reply, NULL);
    return status;
}

int cli_publish_request(cli *c, Slipway__BuildRequest *br)
{
    char subject[160], build_id[13];
    int error;

    br->requested_at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.req", br->tenant, NULL);
    unsigned refused = sw_bus_refusals(c->bus, NULL, 0);
    error = sw_wire_js_publish(c->bus, subject, &br->base, br->request_id, NULL);
    if (error < 0 && cli_refused(c, refused)) {
        return CLI_DENIED;
    }
    if (error == SW_EFULL) {
        fprintf(stderr,
                "slipway: the build queue is full; the request was not stored, try again "
                "later (%s)\n",
                sw_error_last());
        return CLI_QUEUE_FULL;
    }
    if (error < 0) {
        fprintf(stderr, "slipway: the request was not stored: %s\n", sw_error_last());
        return CLI_UNREACHABLE;
    }
    sw_wire_build_id(build_id, br->tenant, br->request_id);
    printf("%s\n", build_id);
    return CLI_OK;
}

int cli_no_options(int argc, char **argv, const char *text, int nargs)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(text, stdout);
            return CLI_OK;
        }
        fputs(text, stderr);
        return CLI_USAGE;
    }
    if (argc - optind != nargs) {
        fputs(text, stderr);
        return CLI_USAGE;
    }
    return -1;
}

/* The hosts a build fetches from, one per line: "  HOST  KIND  WHAT  FILE:LINE". */
static void print_sources(const Slipway__SourceProfile *p)
{
    size_t wh = 4, wk = 4, ww = 4;
    if (p == NULL) {
        return;
    }
    printf("sources: %zu%s\n", p->n_sources, p->dropped ? " (more were not kept)" : "");
    for (size_t i = 0; i < p->n_sources; i++) {
        const Slipway__Source *s = p->sources[i];
        wh = strlen(s->host) > wh ? strlen(s->host) : wh;
        wk = strlen(s->kind) > wk ? strlen(s->kind) : wk;
        ww = strlen(s->what) > ww ? strlen(s->what) : ww;
    }
    ww = ww > 60 ? 60 : ww;
    for (size_t i = 0; i < p->n_sources; i++) {
        const Slipway__Source *s = p->sources[i];
        if (s->line > 0) {
            printf("  %-*s  %-*s  %-*s  %s:%u\n", (int)wh, s->host, (int)wk, s->kind, (int)ww,
                   s->what, s->file, s->line);
        } else {
            printf("  %-*s  %-*s  %-*s  %s\n", (int)wh, s->host, (int)wk, s->kind, (int)ww,
                   s->what, s->file);
        }
    }
}

int cli_show(cli *c, int argc, char **argv)
{
    static const char text[] = "usage: slipway show BUILD\n\nPrints one build's record.\n";
    Slipway__BuildRecord *r = NULL;
    char age[32];
    int status = cli_no_options(argc, argv, text, 1);

    if (status >= 0) {
        return status;
    }
    if ((status = cli_get_build(c, argv[optind], &r)) != CLI_OK) {
        return status;
    }
    printf("id: %s\n", r->build_id);
    printf("state: %s\n", sw_state_name(r->state));
    printf("project: %s\n", r->project);
    printf("tenant: %s\n", r->tenant);
    printf("tier: %s\n", r->tier);
    printf("ref: %s\n", r->ref);
    printf("sha: %s\n", r->sha);
    printf("attempt: %u\n", r->attempt);
    printf("builder: %s\n", r->builder);
    printf("cluster: %s\n", r->cluster);
    if (r->region[0]) {
        printf("region: %s\n", r->region);
        printf("placement: %s\n", r->placement);
    }
    printf("step: %s\n", r->step);
    printf("exit_code: %d\n", r->exit_code);
    printf("reason: %s\n", r->reason);
    printf("created: %s (%lld)\n", cli_age(age, sizeof(age), r->created_ms),
           (long long)r->created_ms);
    printf("started_ms: %lld\n", (long long)r->started_ms);
    printf("finished_ms: %lld\n", (long long)r->finished_ms);
    if (r->author[0]) {
        printf("author: %s\n", r->author);
    }
    if (r->message[0]) {
        printf("message: %s\n", r->message);
    }
    if (r->digest[0]) {
        printf("image: %s\n", r->image);
        printf("digest: %s\n", r->digest);
    }
    if (r->retry_of[0]) {
        printf("retry_of: %s\n", r->retry_of);
    }
    printf("request: %s\n", r->request_id);
    print_sources(r->profile);
    slipway__build_record__free_unpacked(r, NULL);
    return CLI_OK;
}

int cli_builds(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"limit", required_argument, NULL, 'n'},
        {"tenant", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char text[] = "usage: slipway builds [--limit N] [--tenant T]\n\n"
                               "Lists recent builds, newest first (default 20, at most 500).\n";
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char age[32];
    int opt, status;

    while ((opt = getopt_long(argc, argv, "n:t:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            req.limit = (uint32_t)strtoul(optarg, NULL, 10);
            if (req.limit == 0) {
                fprintf(stderr, "slipway builds: --limit takes a positive number\n");
                return CLI_USAGE;
            }
            break;
        case 't':
            req.tenant = optarg;
            break;
        case 'h':
            fputs(text, stdout);
            return CLI_OK;
        default:
            fputs(text, stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fputs(text, stderr);
        return CLI_USAGE;
    }
    if ((status = cli_api(c, SW_API_BUILDS, &req, &reply)) != CLI_OK) {
        return status;
    }
    printf("%-12s  %-12s  %-16s  %-20s  %-7s  %-14s  %-12s  %s\n", "BUILD", "STATE", "PROJECT",
           "REF", "ATTEMPT", "BUILDER", "RETRY_OF", "CREATED");
    for (size_t i = 0; i < reply->n_builds; i++) {
        const Slipway__BuildRecord *r = reply->builds[i];
        printf("%-12s  %-12s  %-16s  %-20s  %-7u  %-14s  %-12s  %s\n", r->build_id,
               sw_state_name(r->state), r->project, r->ref, r->attempt,
               r->builder[0] ? r->builder : "-", r->retry_of[0] ? r->retry_of : "-",
               cli_age(age, sizeof(age), r->created_ms));
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}

const char *cli_builder_state(const Slipway__BuilderInfo *b)
{
    if (!b->alive) {
        return "silent";
    }
    if (b->drained) {
        return "drained";
    }
    if (b->draining) {
        return "draining";
    }
    return b->holding_back ? "holding" : "up";
}

const char *cli_pressure(char *buf, size_t n, const Slipway__Pressure *p)
{
    static const char *const names[] = {"cpu", "mem", "io"};
    char part[3][16];
    if (p == NULL || p->source == NULL || strcmp(p->source, "none") == 0 || p->source[0] == '\0') {
        snprintf(buf, n, "-");
        return buf;
    }
    const double v[] = {p->cpu_some_avg10, p->memory_some_avg10, p->io_some_avg10};
    for (int i = 0; i < 3; i++) {
        if (v[i] < 0) {
            snprintf(part[i], sizeof(part[i]), "-");
        } else {
            snprintf(part[i], sizeof(part[i]), "%.0f%%", v[i]);
        }
    }
    snprintf(buf, n, "%s %s %s %s %s %s", names[0], part[0], names[1], part[1], names[2],
             part[2]);
    return buf;
}

int cli_builders(cli *c, int argc, char **argv)
{
    static const char text[] =
        "usage: slipway builders\n\n"
        "Lists the builders the scheduler has heard from: STATE is up, holding (a slot is\n"
        "free but the host's pressure is over its cluster's thresholds; HOLD says which),\n"
        "draining (takes nothing new, finishes what runs), drained (nothing runs) or\n"
        "silent (no heartbeat within the lapse); PRESSURE is PSI some avg10 of cpu,\n"
        "memory and io.\n";
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char age[32];
    int status = cli_no_options(argc, argv, text, 0);

    if (status >= 0) {
        return status;
    }
    if ((status = cli_api(c, SW_API_BUILDERS, &req, &reply)) != CLI_OK) {
        return status;
    }
    printf("%-16s  %-16s  %-5s  %-4s  %-8s  %-10s  %-20s  %-24s  %s\n", "BUILDER", "CLUSTER",
           "SLOTS", "BUSY", "STATE", "SEEN", "PRESSURE", "BUILDS", "HOLD");
    for (size_t i = 0; i < reply->n_builders; i++) {
        const Slipway__BuilderInfo *b = reply->builders[i];
        char builds[512] = "";
        for (size_t j = 0; j < b->n_builds; j++) {
            strncat(builds, j ? "," : "", sizeof(builds) - strlen(builds) - 1);
            strncat(builds, b->builds[j], sizeof(builds) - strlen(builds) - 1);
        }
        char pressure[64];
        printf("%-16s  %-16s  %-5u  %-4u  %-8s  %-10s  %-20s  %-24s  %s\n", b->name, b->cluster,
               b->slots, b->busy, cli_builder_state(b), cli_age(age, sizeof(age), b->last_seen_ms),
               cli_pressure(pressure, sizeof(pressure), b->pressure), builds[0] ? builds : "-",
               b->holding_back && b->hold_reason[0] ? b->hold_reason : "-");
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}
