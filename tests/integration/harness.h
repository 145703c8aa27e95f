/*
 * harness.h - end-to-end test harness: a whole Slipway in a temp dir.
 *
 * DESIGN
 * sw_harness_create() makes a temp dir and starts a real nats-server
 * (tests/support/natsd.h) and a real `git daemon` on free loopback ports. The
 * test then makes repositories with the git CLI (sw_harness_repo_branch), which
 * also become projects, and starts `slipwayd` (sw_harness_start), which reads a
 * slipway.yaml written from sw_harness_options. The CLI runs through
 * sw_harness_cli (to completion) or sw_harness_spawn (read its stdout while it
 * runs). Every wait has a deadline; every process runs in its own process group,
 * dies with the test process (PR_SET_PDEATHSIG) and is stopped as a group by
 * sw_harness_destroy, which also removes the temp dir (kept when
 * SLIPWAY_KEEP_TMP is set, or when a test fails before destroy).
 *
 * Programs come from $SLIPWAY_BUILD_DIR/tools (set by meson test).
 * All functions fail the running Check test on error instead of returning one.
 */
#ifndef SW_TEST_HARNESS_H
#define SW_TEST_HARNESS_H

#include "bus/bus.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_harness sw_harness;
typedef struct sw_harness_proc sw_harness_proc;

/* What goes into slipway.yaml; zero fields take the defaults shown. */
typedef struct sw_harness_options {
    const char *tier_memory;  /* "256M" */
    const char *tier_timeout; /* "10m" */
    int slots;                /* 2, for each builder */
    int builders;             /* 1: builder-1 .. builder-N in cluster local-free */
    const char *heartbeat_interval; /* "1s" */
    const char *heartbeat_lapse;    /* "5s" */
    int max_deliveries;             /* 3 */
    const char *forge;              /* "github": every project's forge type */
    const char *forge_api_url;      /* NULL: no token, no statuses; else the forge API base */
    const char *webhook_max_body;   /* NULL: the default (25 MiB) */
    const char *executor;           /* "shell" (default) or "docker": the cluster's executor;
                                     * docker uses $SLIPWAY_DOCKER_SOCKET and pushes to
                                     * $SLIPWAY_REGISTRY, steps default to the test busybox */
    const char *secret;             /* NULL: none; else every project's DEPLOY_TOKEN secret */
    const char *tier_log_limit;     /* NULL: the default (100 MB): the tier's log_limit */
    bool cancel_superseded;         /* every project's cancel_superseded */
    const char *yaml_extra;         /* NULL: none; top-level YAML appended to slipway.yaml,
                                     * e.g. "queues:\n  requests: 2\n" */
    const char *webhook_secret;     /* NULL: SW_HARNESS_SECRET: every project's forge.secret */
    const char *cluster_extra;      /* NULL: none; YAML lines added to the cluster's entry,
                                     * indented 4, e.g. "    pressure: {cpu: off}\n" */
    const char *tenants;            /* NULL: none; more tenants beside demo (tier free),
                                     * space-separated, e.g. "acme beta" */
    bool open_nats;                 /* nats-server without authorization (for the
                                     * before/after figures of bench_auth only) */
    const char *tier_extra;         /* NULL: none; YAML lines added to tier free's entry,
                                     * indented 4, e.g. "    max_queued: 3\n" */
    const char *clusters_extra;     /* NULL: none; more entries of clusters: after local-free,
                                     * indented 2, e.g. "  - name: far\n    tier: free\n" */
    const char *builders_extra;     /* NULL: none; more entries of builders:, indented 2 */
    int nats_nodes;                 /* 0 or 1: one nats-server; 3: three (n1..n3) routed
                                     * into one cluster, each with JetStream and a
                                     * monitoring port; nats.url lists all three and
                                     * nats.replicas is 3. 0 takes
                                     * $SLIPWAY_TEST_NATS_NODES when set
                                     * (tools/test --cluster) */
} sw_harness_options;

/* Every project's webhook secret (GitHub's published test secret). */
#define SW_HARNESS_SECRET "It's a Secret to Everybody"
/* Tenant demo's read_token: opens its build pages (GET /builds/<id>). */
#define SW_HARNESS_READ_TOKEN "demo-read-token-0123456789"
/* Every project's API token when forge_api_url is set. */
#define SW_HARNESS_TOKEN "harness-token"
/* A project's forge repo name is "demo/<project>". */

/* One file of a commit: path inside the repository and its content. */
typedef struct sw_harness_file {
    const char *path;
    const char *content;
} sw_harness_file;

/* The result of a finished command. */
typedef struct sw_harness_result {
    int status; /* exit code; -1 when killed (by a signal or the deadline) */
    char *out;  /* everything it wrote on stdout (owned) */
    char *err;  /* everything it wrote on stderr (owned) */
} sw_harness_result;

/* Makes the temp dir, starts nats-server and git daemon. */
sw_harness *sw_harness_create(const sw_harness_options *opts);

/* Stops slipwayd and the extra ones (SIGINT: at once, a running build is
 * handed back; then SIGKILL after a deadline), git daemon and nats-server,
 * removes the temp dir, frees. Accepts NULL; nulls the pointer. */
void sw_harness_destroy(sw_harness **h_p);

/* The NATS URL of the harness's server. Borrowed. It runs the configuration
 * slipway-admin nats-config wrote for the harness's tenants: every client
 * needs credentials (slipwayd: nats.creds; the CLI: the operator's). */
const char *sw_harness_nats_url(const sw_harness *h);

/* Fills o's user and password with the operator's (every subject): for a
 * test's own connections to the last harness created. */
void sw_harness_as_operator(sw_bus_options *o);

/* A credentials file of the harness's NATS: "operator", a role ("builder"),
 * or "tenant:NAME". Borrowed until the next call. */
const char *sw_harness_creds(const sw_harness *h, const char *who);

/* Makes repo's project belong to tenant (default demo; one of opts.tenants).
 * Before sw_harness_start. */
void sw_harness_repo_tenant(sw_harness *h, const char *repo, const char *tenant);

/* The region: of repo's project (default "local", where local-free is); NULL:
 * none, so the dispatcher routes its builds by what they fetch. */
void sw_harness_repo_region(sw_harness *h, const char *repo, const char *region);

/* destroy checks that nats-server never refused one of Slipway's role users;
 * a test that provokes such refusals on purpose says so. */
void sw_harness_expect_refusals(sw_harness *h);

/* sw_harness_cli with the credentials file creds instead of the operator's. */
void sw_harness_cli_as(sw_harness *h, const char *creds, sw_harness_result *res,
                       int timeout_ms, ...);

/* http://127.0.0.1:<port> of the webhook gateway. Borrowed. */
const char *sw_harness_webhook_url(const sw_harness *h);

/* Stops, or stops (if running) and starts again on the same port and storage,
 * the harness's nats-server (on a cluster: every node; the restart waits for
 * a JetStream meta leader again). */
void sw_harness_nats_stop(sw_harness *h);
void sw_harness_nats_restart(sw_harness *h);

/* A cluster's nodes (opts.nats_nodes): how many there are (1 without one),
 * node i's monitoring port (0..n-1), a kill -9 of node i and its restart
 * (same ports and store). */
int sw_harness_nats_nodes(const sw_harness *h);
int sw_harness_nats_http_port(const sw_harness *h, int node);
void sw_harness_nats_kill_node(sw_harness *h, int node);
void sw_harness_nats_restart_node(sw_harness *h, int node);

/* The sha branch points at in repository repo (owned). */
char *sw_harness_repo_sha(sw_harness *h, const char *repo, const char *branch);

/* The temp dir (logs are in it). Borrowed. */
const char *sw_harness_dir(const sw_harness *h);

/* Commits files (terminated by an entry whose path is NULL) as the whole tree of
 * branch in repository repo (created as a bare repo on first use, default
 * branch main). Every repository is also a project of the same name, tenant
 * "demo". Call before sw_harness_start for the project to be configured. */
void sw_harness_repo_branch(sw_harness *h, const char *repo, const char *branch,
                            const sw_harness_file *files);

/* Shorthand: a repository whose branch main holds one .slipway.yml. */
void sw_harness_repo_pipeline(sw_harness *h, const char *repo, const char *pipeline);

/* Writes slipway.yaml and starts slipwayd with the given actors (NULL-terminated
 * list; none = all); returns once its log shows "slipwayd: ready". */
void sw_harness_start(sw_harness *h, ...) __attribute__((sentinel));

/* Writes slipway.yaml again, from opts (NULL: the options it has; zero fields
 * take the defaults) and every repository made so far, for a reload
 * (sw_harness_signal_slipwayd(h, SIGHUP)); nothing is restarted. */
void sw_harness_write_config(sw_harness *h, const sw_harness_options *opts);

/* Sends sig to the first slipwayd process. */
void sw_harness_signal_slipwayd(sw_harness *h, int sig);

/* The size of the first slipwayd's log so far: where to look from for what
 * comes next (sw_harness_await_log). */
size_t sw_harness_log_size(const sw_harness *h);

/* Waits (at most timeout_ms, else fails the test with the log's end) for the
 * first slipwayd's log past byte from to hold needle; returns the line that
 * holds it (owned). */
char *sw_harness_await_log(sw_harness *h, size_t from, const char *needle, int timeout_ms);

/* Starts another slipwayd with the same config and the given actors
 * (NULL-terminated), logging to <dir>/<name>.log, and waits until it is ready.
 * Returns its index for sw_harness_kill. It is stopped by sw_harness_destroy. */
int sw_harness_start_more(sw_harness *h, const char *name, ...) __attribute__((sentinel));

/* Kills the index-th extra slipwayd with SIGKILL, as a crashed host would die,
 * and reaps it. */
void sw_harness_kill(sw_harness *h, int index);

/* Sends sig to the index-th extra slipwayd process alone (not its group: a
 * SIGSTOPped builder's steps go on running, as on a frozen host). */
void sw_harness_signal(sw_harness *h, int index, int sig);

/* Kills the index-th extra slipwayd with SIGKILL and at once starts it again
 * with the same arguments, as a supervisor would; waits until it is ready. */
void sw_harness_restart_more(sw_harness *h, int index);

/* The pid of the first slipwayd (0 when it is not running). */
int sw_harness_slipwayd_pid(const sw_harness *h);

/* The pid of the index-th extra slipwayd (0 when it is not running). */
int sw_harness_more_pid(const sw_harness *h, int index);

/* Writes slipway.yaml and starts a slipwayd with the given actors (NULL-terminated;
 * none = all) without waiting for it to be ready; its log (stdout and stderr) is
 * the proc's output. For tests of its start-up; finish it with
 * sw_harness_proc_finish. */
sw_harness_proc *sw_harness_spawn_slipwayd(sw_harness *h, ...) __attribute__((sentinel));

/* Stops slipwayd (SIGINT; SIGKILL after 20 s) and returns its exit status,
 * -1 when it had to be killed or died of a signal. */
int sw_harness_stop(sw_harness *h);

/* The same with another signal to its process group (e.g. SIGTERM, which
 * drains its builders first). */
int sw_harness_stop_signal(sw_harness *h, int sig);

/* Waits at most timeout_ms for the index-th extra slipwayd to exit by itself
 * (after a signal or a drain with exit) and reaps it: its exit status, -1 when
 * it died of a signal; fails the test when it is still running. */
int sw_harness_await_exit(sw_harness *h, int index, int timeout_ms);

/* Rewrites slipway.yaml with opts (as sw_harness_create took them), e.g. for a
 * process started afterwards with other thresholds. */
void sw_harness_rewrite_config(sw_harness *h, const sw_harness_options *opts);

/* slipwayd's log so far (caller frees). */
char *sw_harness_slipwayd_log(const sw_harness *h);

/* Runs `slipway --nats URL ARGS...` (NULL-terminated) to completion, at most
 * timeout_ms; fills *res (free it with sw_harness_result_finish). */
void sw_harness_cli(sw_harness *h, sw_harness_result *res, int timeout_ms, ...)
    __attribute__((sentinel));

void sw_harness_result_finish(sw_harness_result *res);

/* Submits a build of project at ref (NULL: default) and returns its id (owned);
 * fails the test unless submit exits 0 with an id. */
char *sw_harness_submit(sw_harness *h, const char *project, const char *ref);

/* Runs `slipway show ID` and returns the value of "key: value" line key (owned),
 * or NULL when there is no such line. *status_out (may be NULL) gets the exit status. */
char *sw_harness_show_field(sw_harness *h, const char *build_id, const char *key, int *status_out);

/* A time of `slipway show --json` in ms ("started_ms", "finished_ms", ...): 0 when
 * it is null or the build is unknown. */
long long sw_harness_show_ms(sw_harness *h, const char *build_id, const char *key);

/* Waits (at most timeout_ms) for `slipway show ID` to say a final state; returns it (owned). */
char *sw_harness_await_final(sw_harness *h, const char *build_id, int timeout_ms);

/* Starts `slipway --nats URL ARGS...` (NULL-terminated) with its stdout on a pipe. */
sw_harness_proc *sw_harness_spawn(sw_harness *h, ...) __attribute__((sentinel));

/* Starts argv (argv[0] looked up in PATH; NULL-terminated) in the harness's
 * directory with its stdout and stderr on pipes, like sw_harness_spawn. */
sw_harness_proc *sw_harness_spawn_program(sw_harness *h, const char *const *argv);

/* Reads the process's stdout until it contains needle (true), or it closed
 * stdout, or timeout_ms passed (false). */
bool sw_harness_proc_await(sw_harness_proc *p, const char *needle, int timeout_ms);

/* The same for stderr. */
bool sw_harness_proc_await_stderr(sw_harness_proc *p, const char *needle, int timeout_ms);

/* The process id (its process group has the same id). */
int sw_harness_proc_pid(const sw_harness_proc *p);

/* What the process has written on stdout so far. Borrowed. */
const char *sw_harness_proc_output(const sw_harness_proc *p);

/* Reads the rest of stdout and waits for the exit, at most timeout_ms (then
 * kills it); fills *res; frees p and nulls the pointer. */
void sw_harness_proc_finish(sw_harness_proc **p_p, sw_harness_result *res, int timeout_ms);

/* Processes on this host whose command line holds marker (a step's script is
 * in its shell's command line, in a sandbox or a container alike). */
int sw_harness_count_processes(const char *marker);

/* Waits up to timeout_ms until none is left; false when some still run. */
bool sw_harness_await_no_processes(const char *marker, int timeout_ms);

/* Milliseconds on a monotonic clock. */
long long sw_harness_now_ms(void);

#endif
