/*
 * cli.h - the `slipway` command line: shared options, exit codes and helpers.
 */
#ifndef SW_CLI_H
#define SW_CLI_H

#include "bus/bus.h"
#include "runtime/creds.h"
#include "slipway.pb-c.h"

#include <getopt.h>
#include <stdbool.h>

/* Exit codes (README.md lists them too). Build results use sw_state_exit_code. */
enum {
    CLI_OK = 0,
    CLI_LINT_BAD = 1, /* lint: the pipeline file has a mistake */
    CLI_USAGE = 2,
    CLI_NOT_FOUND = 6,
    CLI_UNREACHABLE = 7,
    CLI_QUEUE_FULL = 8, /* submit: the build queue is full, nothing stored; try again later */
    CLI_ENDED = 9,      /* cancel: the build had ended already (succeeded, failed, ...) */
    CLI_DRAIN_TIMEOUT = 10, /* drain --wait: --timeout passed and the builder still runs builds */
    CLI_DENIED = 11,    /* the credentials do not allow it (NATS refused, or Slipway) */
    CLI_OVER_QUOTA = 12, /* submit: the tenant has its plan's max_queued builds waiting; nothing stored */
};

typedef struct cli {
    const char *nats_url;
    const char *creds_path; /* --creds / SLIPWAY_CREDS; NULL: none */
    sw_creds creds;         /* loaded by cli_connect; creds.tenant: a tenant's CLI */
    int timeout_ms;     /* for each request */
    int nats_wait_ms;   /* logs -f: how long NATS may be away before we give up */
    sw_bus *bus;
    bool quiet_not_found; /* cli_request: an SW_ENOTFOUND answer is not printed */
} cli;

/* Connects (once); prints the error and returns CLI_UNREACHABLE on failure. */
int cli_connect(cli *c);

/* Whether NATS refused something of this connection since it had `before`
 * refusals (sw_bus_refusals); if so, says what and which credentials. */
bool cli_refused(cli *c, unsigned before);

/* Sends an API request and unpacks the ApiReply. On failure prints a message
 * and returns the exit code to use (CLI_UNREACHABLE, CLI_NOT_FOUND, ...). */
int cli_api(cli *c, const char *subject, const Slipway__ApiRequest *req,
            Slipway__ApiReply **reply_out);

/* The same for any request message (control requests: CancelRequest, ...). */
int cli_request(cli *c, const char *subject, const ProtobufCMessage *req,
                Slipway__ApiReply **reply_out);

/* A random request id: "cli-" and 32 hex digits from /dev/urandom; -1 on failure. */
int cli_request_id(char *buf, size_t n);

/* Stores br (requested_at_ms is set here) in REQUESTS and prints the build's
 * id; the exit code (CLI_QUEUE_FULL when the queue is at its bound). */
int cli_publish_request(cli *c, Slipway__BuildRequest *br);

/* getopt_long for a command (argv[0] is its name): an error says "slipway
 * NAME: ..." on stderr and returns '?' (tools/options.h). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* For a command whose only option is --help and that takes nargs operands:
 * prints text (to stdout for --help, else stderr) and returns the exit code,
 * or -1 when the command is to go on. */
int cli_no_options(int argc, char **argv, const char *text, int nargs);

/* refcheck.c: CLI_NOT_FOUND (said on stderr) when project's repository lists no
 * ref (a branch or tag name, or a full ref); CLI_OK when it has it, ref is ""
 * (the default branch), or the repository cannot tell within the timeout. */
int cli_check_ref(cli *c, const Slipway__ProjectInfo *project, const char *ref);

/* One build's record (through cli_api); exit code on failure. */
int cli_get_build(cli *c, const char *build_id, Slipway__BuildRecord **rec_out);

int cli_submit(cli *c, int argc, char **argv);
int cli_logs(cli *c, int argc, char **argv);
int cli_builds(cli *c, int argc, char **argv);
int cli_show(cli *c, int argc, char **argv);
int cli_builders(cli *c, int argc, char **argv);
int cli_cancel(cli *c, int argc, char **argv);
int cli_retry(cli *c, int argc, char **argv);
int cli_projects(cli *c, int argc, char **argv); /* projects.c */
int cli_drain(cli *c, int argc, char **argv);
int cli_undrain(cli *c, int argc, char **argv);
int cli_pools(cli *c, int argc, char **argv);   /* pools.c */
int cli_sources(cli *c, int argc, char **argv); /* sources.c */
int cli_lint(cli *c, int argc, char **argv);    /* lint.c */

/* "up", "holding", "draining", "drained" or "silent" (not heard from within the lapse). */
const char *cli_builder_state(const Slipway__BuilderInfo *b);

/* "cpu 3% mem 0% io 1%" (a figure PSI does not give: "-"), or "-" with no PSI at all. */
const char *cli_pressure(char *buf, size_t n, const Slipway__Pressure *p);

/* "500ms", "30s", "2m", or a bare number of seconds, into *ms_out (> 0). */
int cli_parse_duration(const char *text, int *ms_out);

/* A duration in ms as it was probably written: "500ms", "30s", "2m". */
const char *cli_duration(char *buf, size_t n, int64_t ms);

/* --- format.c: times and durations ---------------------------------------- */

/* The wall clock in ms, or $SLIPWAY_NOW_MS when set (tests: fixed outputs). */
int64_t cli_now_ms(void);

/* "3s ago", "2m ago", "1h ago" for a wall-clock time in ms. */
const char *cli_age(char *buf, size_t n, int64_t at_ms);

/* "2026-12-03 09:50:12 UTC"; "-" for 0. */
const char *cli_time(char *buf, size_t n, int64_t at_ms);

/* ISO-8601, "2026-12-03T09:50:12.345Z"; "-" for 0. */
const char *cli_time_iso(char *buf, size_t n, int64_t at_ms);

/* A span of time for people: "850ms", "12s", "1m 12s", "2h 5m", "3d 4h". */
const char *cli_span(char *buf, size_t n, int64_t ms);

/* A build's durations in ms (-1: none yet): queued (created to started),
 * ran (started to finished), total (created to finished); so_far: it has not
 * finished, they run to now (cli_now_ms). */
typedef struct cli_spans {
    int64_t queued, ran, total;
    bool so_far;
} cli_spans;
cli_spans cli_record_spans(const Slipway__BuildRecord *r);

/* Whether the record's exit_code is a step's: the build ended succeeded,
 * failed or timed out in a step (errored and cancelled builds have none). */
bool cli_has_exit_code(const Slipway__BuildRecord *r);

/* --- json.c: --json ---------------------------------------------------------- */

/* Prints a record (with its sources when with_sources), a list of records, or
 * the builders, as JSON on stdout (see README.md for the field names). */
void cli_json_record(const Slipway__BuildRecord *r, bool with_sources);
void cli_json_records(Slipway__BuildRecord *const *list, size_t n);
void cli_json_builders(Slipway__BuilderInfo *const *list, size_t n);

#endif
