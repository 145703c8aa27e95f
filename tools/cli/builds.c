/*
 * builds.c - slipway builds, show and builders: the scheduler's records and
 * builders, as tables and `key: value` lines for people or as JSON (json.c).
 */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"
#include "runtime/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 500 /* what one answer of sw.api.builds holds at most */

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

static void list_free(Slipway__BuildRecord **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slipway__build_record__free_unpacked(list[i], NULL);
    }
    free(list);
}

/* "1m 12s", with " so far" while the build has not finished; "-" for none. */
static const char *span_text(char *buf, size_t n, int64_t ms, bool so_far)
{
    char s[32];
    if (ms < 0) {
        snprintf(buf, n, "-");
    } else {
        snprintf(buf, n, "%s%s", cli_span(s, sizeof(s), ms), so_far ? " so far" : "");
    }
    return buf;
}

static void print_record(const Slipway__BuildRecord *r)
{
    char t[64];
    cli_spans sp = cli_record_spans(r);

    printf("id: %s\n", r->build_id);
    printf("state: %s\n", sw_state_name(r->state));
    printf("project: %s\n", r->project);
    printf("tenant: %s\n", r->tenant);
    printf("tier: %s\n", r->tier);
    printf("trigger: %s\n", sw_build_trigger(r));
    printf("ref: %s\n", sw_ref_display(r->ref));
    printf("sha: %s\n", r->sha); /* from the checkout on: a branch's is not known before */
    printf("attempt: %u\n", r->attempt);
    printf("builder: %s\n", r->builder);
    printf("cluster: %s\n", r->cluster);
    if (r->region[0]) {
        printf("region: %s\n", r->region);
        printf("placement: %s\n", r->placement);
    }
    printf("step: %s\n", r->step);
    if (cli_has_exit_code(r)) { /* the one key left out when there is none */
        printf("exit_code: %d\n", r->exit_code);
    }
    printf("reason: %s\n", r->reason);
    printf("created: %s\n", cli_time(t, sizeof(t), r->created_ms));
    printf("started: %s\n", cli_time(t, sizeof(t), r->started_ms));
    printf("finished: %s\n", cli_time(t, sizeof(t), r->finished_ms));
    printf("queued: %s\n", span_text(t, sizeof(t), sp.queued, r->started_ms <= 0 && sp.so_far));
    printf("ran: %s\n", span_text(t, sizeof(t), sp.ran, sp.so_far));
    printf("total: %s\n", span_text(t, sizeof(t), sp.total, sp.so_far));
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
}

static const char show_text[] =
    "usage: slipway show [--json] BUILD\n"
    "\n"
    "Prints one build's record: times in UTC, durations (queued, ran, total; \"so far\"\n"
    "while it runs), exit_code only when a step ran and ended the build (not for an\n"
    "errored or cancelled one), sha once the builder has checked the commit out.\n"
    "--json: the record as one JSON object (times as ISO-8601 and in ms).\n"
    "\n"
    "exit status: the build's result once it has ended, as `logs -f`: 0 succeeded,\n"
    "1 failed, 3 errored, 4 timed out, 5 cancelled; 0 while it has not ended;\n"
    "6 no such build, 7 NATS or Slipway cannot be reached.\n";

int cli_show(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Slipway__BuildRecord *r = NULL;
    bool json = false;
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (opt) {
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(show_text, stdout);
            return CLI_OK;
        default:
            fputs(show_text, stderr);
            return CLI_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(show_text, stderr);
        return CLI_USAGE;
    }
    if ((status = cli_get_build(c, argv[optind], &r)) != CLI_OK) {
        return status;
    }
    if (json) {
        cli_json_record(r, true);
    } else {
        print_record(r);
    }
    status = sw_state_is_final(r->state) ? sw_state_exit_code(r->state) : CLI_OK;
    slipway__build_record__free_unpacked(r, NULL);
    return status;
}

static const char builds_text[] =
    "usage: slipway builds [--limit N] [--tenant T] [--project P] [--state S] [--ref R]\n"
    "                      [--json]\n"
    "\n"
    "Lists builds, newest first (default 20; more than the scheduler's 500 an answer\n"
    "are asked for page by page). Filters: --project P, --state S (queued, running,\n"
    "succeeded, failed, errored, timed_out, cancelled, ...), --ref R (\"main\" and\n"
    "\"refs/heads/main\" match either), --tenant T (an operator's). DURATION is the\n"
    "build's total (so far, when it has not ended), SHA the commit once checked out.\n"
    "--json: an array of records (times as ISO-8601 and in ms).\n";

/* The builds req asks for, up to limit, asked page by page; *out is the
 * caller's (list_free), also on failure. */
static int fetch_builds(cli *c, Slipway__ApiRequest *req, size_t limit,
                        Slipway__BuildRecord ***out, size_t *n_out)
{
    Slipway__BuildRecord **all = NULL;
    size_t n = 0;
    char *cursor = NULL;
    int status = CLI_OK;

    for (;;) {
        Slipway__ApiReply *reply = NULL;
        size_t want = limit - n;
        req->limit = (uint32_t)(want > PAGE_MAX ? PAGE_MAX : want);
        req->cursor = cursor != NULL ? cursor : "";
        if ((status = cli_api(c, SW_API_BUILDS, req, &reply)) != CLI_OK) {
            break;
        }
        size_t take = reply->n_builds < want ? reply->n_builds : want;
        all = realloc(all, (n + take + 1) * sizeof(*all));
        if (all == NULL) {
            abort();
        }
        for (size_t i = 0; i < take; i++) { /* detach them from the reply */
            all[n++] = reply->builds[i];
            reply->builds[i] = NULL;
        }
        for (size_t i = take; i < reply->n_builds; i++) {
            slipway__build_record__free_unpacked(reply->builds[i], NULL);
        }
        reply->n_builds = 0;
        free(cursor);
        cursor = reply->next_cursor[0] != '\0' ? strdup(reply->next_cursor) : NULL;
        slipway__api_reply__free_unpacked(reply, NULL);
        if (cursor == NULL || n >= limit) {
            break;
        }
    }
    free(cursor);
    req->cursor = NULL;
    *out = all;
    *n_out = n;
    return status;
}

int cli_builds(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"limit", required_argument, NULL, 'n'},  {"tenant", required_argument, NULL, 't'},
        {"project", required_argument, NULL, 'p'}, {"state", required_argument, NULL, 's'},
        {"ref", required_argument, NULL, 'r'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__BuildRecord **list = NULL;
    size_t n = 0, limit = 20;
    bool json = false;
    char *end = NULL;
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "n:t:p:s:r:h", longopts)) != -1) {
        switch (opt) {
        case 'n':
            limit = strtoul(optarg, &end, 10);
            if (optarg[0] < '1' || optarg[0] > '9' || *end != '\0' || limit > UINT32_MAX) {
                fprintf(stderr, "slipway builds: --limit takes a positive number, not '%s'\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 't':
            req.tenant = optarg;
            break;
        case 'p':
            req.project = optarg;
            break;
        case 'r':
            req.ref = optarg;
            break;
        case 's':
            req.state = sw_state_parse(optarg);
            if (req.state == SLIPWAY__BUILD_STATE__UNKNOWN) {
                fprintf(stderr,
                        "slipway builds: no state '%s' (received, queued, dispatched, running, "
                        "rescheduling, succeeded, failed, errored, cancelled, timed_out)\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(builds_text, stdout);
            return CLI_OK;
        default:
            fputs(builds_text, stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fputs(builds_text, stderr);
        return CLI_USAGE;
    }
    if ((status = fetch_builds(c, &req, limit, &list, &n)) != CLI_OK) {
        list_free(list, n);
        return status;
    }
    if (json) {
        cli_json_records(list, n);
    } else {
        printf("%-12s  %-12s  %-16s  %-20s  %-7s  %-8s  %-7s  %-14s  %-10s  %-12s  %s\n",
               "BUILD", "STATE", "PROJECT", "REF", "TRIGGER", "SHA", "ATTEMPT", "BUILDER",
               "DURATION", "RETRY_OF", "CREATED");
    }
    for (size_t i = 0; !json && i < n; i++) {
        const Slipway__BuildRecord *r = list[i];
        char sha[9], span[32], created[40];
        cli_spans sp = cli_record_spans(r);
        snprintf(sha, sizeof(sha), "%s", r->sha[0] ? r->sha : "-");
        printf("%-12s  %-12s  %-16s  %-20s  %-7s  %-8s  %-7u  %-14s  %-10s  %-12s  %s\n",
               r->build_id, sw_state_name(r->state), r->project, sw_ref_display(r->ref),
               sw_build_trigger(r), sha, r->attempt, r->builder[0] ? r->builder : "-",
               sp.total >= 0 ? cli_span(span, sizeof(span), sp.total) : "-",
               r->retry_of[0] ? r->retry_of : "-",
               cli_time(created, sizeof(created), r->created_ms));
    }
    list_free(list, n);
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
        "usage: slipway builders [--json]\n\n"
        "Lists the builders the scheduler has heard from: STATE is up, holding (a slot is\n"
        "free but the host's pressure is over its cluster's thresholds; HOLD says which),\n"
        "draining (takes nothing new, finishes what runs), drained (nothing runs) or\n"
        "silent (no heartbeat within the lapse); PRESSURE is PSI some avg10 of cpu,\n"
        "memory and io. --json: an array of builders (last_seen as ISO-8601 and in ms).\n";
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char age[32];
    bool json = false;
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1) {
        if (opt == 'j') {
            json = true;
            continue;
        }
        fputs(text, opt == 'h' ? stdout : stderr);
        return opt == 'h' ? CLI_OK : CLI_USAGE;
    }
    if (optind != argc) {
        fputs(text, stderr);
        return CLI_USAGE;
    }
    if ((status = cli_api(c, SW_API_BUILDERS, &req, &reply)) != CLI_OK) {
        return status;
    }
    if (json) {
        cli_json_builders(reply->builders, reply->n_builders);
        slipway__api_reply__free_unpacked(reply, NULL);
        return CLI_OK;
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
