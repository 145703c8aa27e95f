/*
 * slipwayd - hosts Slipway's actors: `slipwayd -c slipway.yaml [ACTOR ...]`.
 *
 * Every actor talks to the others only over NATS, so any set of them can run
 * in one process or spread over many.
 *
 * Signals are blocked in every thread and taken by sigwait in main, one
 * function each: SIGINT stops at once (running builds are handed back to run
 * elsewhere); SIGTERM first drains every builder this process hosts (it asks
 * each over sw.ctl.drain.<builder>, as `slipway drain` does) and stops once all
 * are drained, or at drain_grace, or on a second SIGTERM or a SIGINT, when
 * what still runs is handed back; a process without builders stops at once.
 * SIGUSR1 is an actor's request to stop (runtime/host.h: a builder drained with
 * exit) and is taken like SIGTERM. SIGHUP reloads the config file (reload
 * below); SIGUSR2 is ignored, said so in the log; SIGPIPE is ignored.
 *
 * The same wait loop publishes the process's metrics registry, which every
 * actor here shares (runtime/metrics.h), on sw.metrics.<host>:<pid> every
 * SW_METRICS_PUBLISH_MS (5 s), and once more, final, after the actors have
 * stopped (runtime/metrics_wire.h; the web actor sums them).
 */
#include "actors/actors.h"
#include "runtime/core/clock.h"
#include "runtime/creds.h"
#include "runtime/core/error.h"
#include "runtime/host.h"
#include "runtime/metrics_wire.h"
#include "runtime/core/log.h"
#include "runtime/reload.h"
#include "runtime/roles.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include "tools/options.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ACTORS 256
#define RECONFIGURE_WAIT_MS 10000 /* per actor, for the reload's summary line */
#define DRAIN_ASK_TIMEOUT_MS 2000

/* The bus's cancel hook while it waits for NATS at start: a SIGINT or SIGTERM
 * is pending (they are blocked, and taken by sigwait once running). */
static bool stop_requested(void *closure)
{
    sigset_t pending;
    (void)closure;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

typedef struct planned {
    const sw_actor_impl *impl;
    sw_actor_ctx ctx;
    char name[128];
    char target[128]; /* ctx.target's copy: it outlives the config it came from */
    sw_actor *actor;
    sw_bus *bus;      /* borrowed from the connections (one per role, or one for all) */
} planned;

/* The NATS connections of this process: one per role of its actors when the
 * credentials are a directory of per-role files, else one for all. */
#define MAX_CONNS 8
typedef struct conns {
    sw_bus *bus[MAX_CONNS];
    const char *role[MAX_CONNS]; /* NULL: the one shared connection */
    size_t n;
    sw_bus *setup; /* the one that sets up the streams; NULL: wait for the scheduler */
} conns;

/* SIGHUP: reads the config file again and hands it to every actor, which
 * swaps it in on its own thread (sw_actor_reconfigure); what needs a restart
 * keeps its running value and is named in a warning (runtime/reload.h). A
 * file that does not load is refused and the running config stays. */
static void reload(sw_config **cfg_p, const char *path, planned *plan, size_t nplan)
{
    sw_config *next = NULL;
    sw_reload changes;

    sw_info("slipwayd", "SIGHUP: reloading %s", path);
    if (sw_config_load(&next, path) < 0) {
        sw_err("slipwayd", "%s: not reloaded; the running configuration stays", sw_error_last());
        return;
    }
    sw_reload_compare(&changes, next, *cfg_p);
    for (size_t i = 0; i < changes.nrestart; i++) {
        sw_warn("slipwayd", "%s", changes.restart[i]);
    }
    for (size_t i = 0; i < nplan; i++) {
        if (sw_actor_reconfigure(plan[i].actor, next, RECONFIGURE_WAIT_MS) < 0) {
            sw_warn("slipwayd", "%s: %s", plan[i].name, sw_error_last());
        }
        plan[i].ctx.cfg = next;
    }
    sw_info("slipwayd", "reloaded %s: %s%s", path, changes.summary,
            changes.nrestart > 0 ? "; some changes wait for a restart (see above)" : "");
    sw_reload_finish(&changes);
    sw_config_destroy(cfg_p); /* an actor or worker that still reads it holds its own */
    *cfg_p = next;
}

/* --- stopping ------------------------------------------------------------ */

typedef struct stopping {
    planned *plan;
    size_t nplan;
    sw_config **cfg_p;   /* the running config: SIGHUP replaces it */
    const char *config_path;
    bool draining;       /* SIGTERM taken: waiting for the builders to drain */
    int64_t deadline_ms; /* mono: drain_grace runs out */
    sw_bus *metrics_bus; /* the process registry goes out on it (metrics_due) */
    int64_t metrics_next_ms;
} stopping;

/* The process's metrics (runtime/metrics_wire.h): who it is, since when. */
static char metrics_instance[300];
static int64_t metrics_started_ms;

/* Publishes the process registry when SW_METRICS_PUBLISH_MS has passed since
 * the last time (the wait loop comes here at least once a second). */
static void metrics_due(stopping *st)
{
    int64_t now = sw_clock_mono_ms();
    if (st->metrics_bus == NULL || now < st->metrics_next_ms) {
        return;
    }
    st->metrics_next_ms = now + SW_METRICS_PUBLISH_MS;
    if (sw_metrics_publish(st->metrics_bus, sw_metrics_process(), metrics_instance,
                           metrics_started_ms, false) < 0) {
        sw_debug("slipwayd", "metrics not published: %s", sw_error_last());
    }
}

static size_t count_builders(const stopping *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->nplan; i++) {
        n += st->plan[i].impl == &sw_builder_impl;
    }
    return n;
}

/* Asks every builder of this process to drain and exit once drained (the
 * same request again answers the same); returns how many are not drained yet
 * or did not answer. */
static size_t drain_builders(const stopping *st, const char *by)
{
    size_t left = 0;
    for (size_t i = 0; i < st->nplan; i++) {
        Slipway__DrainRequest req = SLIPWAY__DRAIN_REQUEST__INIT;
        ProtobufCMessage *reply = NULL;
        char subject[160];
        if (st->plan[i].impl != &sw_builder_impl) {
            continue;
        }
        req.builder = (char *)st->plan[i].ctx.target;
        req.drain = true;
        req.exit = true;
        req.by = (char *)by;
        sw_subject(subject, sizeof(subject), SW_CTL_DRAIN, req.builder, NULL);
        if (sw_wire_request(st->plan[i].bus, subject, &req.base, &slipway__api_reply__descriptor,
                            DRAIN_ASK_TIMEOUT_MS, &reply) < 0) {
            sw_warn("slipwayd", "cannot ask %s to drain: %s", st->plan[i].name, sw_error_last());
            left++;
            continue;
        }
        const Slipway__ApiReply *r = (const Slipway__ApiReply *)reply;
        if (r->n_builders < 1 || !r->builders[0]->drained) {
            left++;
        }
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    return left;
}

/* Starts draining (why: what asked); true when there is nothing to wait for. */
static bool start_drain(stopping *st, const char *why)
{
    char grace[32];
    size_t n = count_builders(st);
    if (n == 0) {
        sw_info("slipwayd", "%s: stopping", why);
        return true;
    }
    st->draining = true;
    st->deadline_ms = sw_clock_mono_ms() + (int64_t)(*st->cfg_p)->drain_grace_ms;
    snprintf(grace, sizeof(grace), "%llus",
             (unsigned long long)((*st->cfg_p)->drain_grace_ms / 1000));
    sw_info("slipwayd",
            "%s: draining %zu builder%s, then stopping (at most drain_grace %s; SIGINT or "
            "another SIGTERM stops at once and hands running builds back)",
            why, n, n == 1 ? "" : "s", grace);
    if (drain_builders(st, why) == 0) {
        sw_info("slipwayd", "every builder is drained: stopping");
        return true;
    }
    return false;
}

/* Each returns true when the process is to stop now. */
static bool on_sigint(stopping *st)
{
    sw_info("slipwayd", "SIGINT: stopping now%s",
            st->draining ? "; running builds are handed back" : "");
    return true;
}

static bool on_sigterm(stopping *st)
{
    if (st->draining) {
        sw_info("slipwayd", "second SIGTERM: stopping now; running builds are handed back");
        return true;
    }
    return start_drain(st, "SIGTERM");
}

static bool on_stop_request(stopping *st)
{
    if (!st->draining) {
        return start_drain(st, "a builder asked the process to stop");
    }
    if (drain_builders(st, "SIGTERM") == 0) {
        sw_info("slipwayd", "every builder is drained: stopping");
        return true;
    }
    return false;
}

/* Once a second without a signal. */
static bool on_wait_tick(stopping *st)
{
    if (!st->draining) {
        return false;
    }
    if (sw_clock_mono_ms() >= st->deadline_ms) {
        sw_warn("slipwayd", "drain_grace passed with builds still running: stopping; they are "
                            "handed back");
        return true;
    }
    if (drain_builders(st, "SIGTERM") == 0) {
        sw_info("slipwayd", "every builder is drained: stopping");
        return true;
    }
    return false;
}

/* Takes signals until one of them (or the drain) says stop. */
static void wait_for_stop(stopping *st, const sigset_t *sigs)
{
    for (;;) {
        struct timespec second = {1, 0};
        int sig = sigtimedwait(sigs, NULL, &second);
        metrics_due(st);
        if (sig == SIGHUP) {
            reload(st->cfg_p, st->config_path, st->plan, st->nplan);
            continue;
        }
        if (sig == SIGUSR2) {
            sw_info("slipwayd", "SIGUSR2: ignored");
            continue;
        }
        bool stop = sig == SIGINT    ? on_sigint(st)
                    : sig == SIGTERM ? on_sigterm(st)
                    : sig == SW_HOST_STOP_SIGNAL ? on_stop_request(st)
                                                 : on_wait_tick(st);
        if (stop) {
            return;
        }
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipwayd -c FILE [ACTOR ...]\n"
            "\n"
            "Hosts Slipway's actors; all of them when no ACTOR is named.\n"
            "\n"
            "ACTOR is one of:\n"
            "  scheduler            turns requests into builds, keeps their records, answers queries\n"
            "  dispatcher[:TIER]    places jobs of a tier (every tier without :TIER) on clusters\n"
            "  builder[:NAME]       runs jobs (every builder in FILE without :NAME)\n"
            "  logsink              archives build logs and serves them\n"
            "  webhook              the HTTP gateway for forge webhooks (webhook.listen)\n"
            "  notifier             sets commit statuses on the forges\n"
            "  autoscaler           grows and shrinks autoscaled clusters' builder pools\n"
            "  web                  the web pages, live logs and /metrics (web.listen; in\n"
            "                       the default set only when web.listen is set)\n"
            "\n"
            "options:\n"
            "  -c, --config FILE    slipway.yaml (default: $SLIPWAY_CONFIG)\n"
            "      --setup          create or update the streams and consumers (as the\n"
            "                       scheduler does at start) and exit: for a deploy that\n"
            "                       starts gateways or builders before any scheduler\n"
            "      --creds PATH     NATS credentials: a file, or a directory with one\n"
            "                       <role>.creds per actor role (slipway-admin nats-config);\n"
            "                       default $SLIPWAY_CREDS, else nats.creds in FILE\n"
            "  -h, --help           this text\n"
            "      --version        slipwayd and its version\n"
            "\n"
            "Logs go to stderr (level: SLIPWAY_LOG=debug|info|warn|error). A line with\n"
            "'slipwayd: ready' is printed once every actor has started.\n"
            "\n"
            "SIGTERM drains the builders of this process (they take nothing new and finish\n"
            "what runs), then stops; past drain_grace (default 10m), on a second SIGTERM\n"
            "or on SIGINT, running builds are handed back to run elsewhere and it stops at\n"
            "once. Exit status: 0 after a clean stop (also while still waiting for NATS at\n"
            "start), 1 when the config or start-up fails, 2 on bad usage. SIGHUP reloads\n"
            "FILE (a file that does not load is refused and the running config stays);\n"
            "SIGUSR2 is ignored.\n");
}

static int plan_one(planned *plan, size_t *n, const sw_actor_impl *impl, const sw_config *cfg,
                    const char *target)
{
    if (*n >= MAX_ACTORS) {
        return sw_error_set(SW_EINVALID, "too many actors (at most %d)", MAX_ACTORS);
    }
    planned *p = &plan[(*n)++];
    p->impl = impl;
    p->ctx.cfg = cfg;
    if (target != NULL) {
        snprintf(p->target, sizeof(p->target), "%s", target);
        p->ctx.target = p->target;
        snprintf(p->name, sizeof(p->name), "%s:%s", impl->kind, target);
    } else {
        snprintf(p->name, sizeof(p->name), "%s", impl->kind);
    }
    return 0;
}

/* Turns one ACTOR argument into planned actors. */
static int plan_arg(planned *plan, size_t *n, const sw_config *cfg, const char *arg)
{
    const char *colon = strchr(arg, ':');
    size_t kind_len = colon ? (size_t)(colon - arg) : strlen(arg);
    const char *target = colon ? colon + 1 : NULL;
    int error = 0;

    if (kind_len == 9 && strncmp(arg, "scheduler", 9) == 0 && !colon) {
        return plan_one(plan, n, &sw_scheduler_impl, cfg, NULL);
    }
    if (kind_len == 7 && strncmp(arg, "logsink", 7) == 0 && !colon) {
        return plan_one(plan, n, &sw_logsink_impl, cfg, NULL);
    }
    if (kind_len == 7 && strncmp(arg, "webhook", 7) == 0 && !colon) {
        return plan_one(plan, n, &sw_webhook_impl, cfg, NULL);
    }
    if (kind_len == 8 && strncmp(arg, "notifier", 8) == 0 && !colon) {
        return plan_one(plan, n, &sw_notifier_impl, cfg, NULL);
    }
    if (kind_len == 3 && strncmp(arg, "web", 3) == 0 && !colon) {
        return plan_one(plan, n, &sw_web_impl, cfg, NULL);
    }
    if (kind_len == 10 && strncmp(arg, "autoscaler", 10) == 0 && !colon) {
        return plan_one(plan, n, &sw_autoscaler_impl, cfg, NULL);
    }
    if (kind_len == 10 && strncmp(arg, "dispatcher", 10) == 0) {
        if (target != NULL) {
            if (sw_config_tier(cfg, target) == NULL) {
                return sw_error_set(SW_ENOTFOUND, "%s has no tier '%s'", cfg->path, target);
            }
            return plan_one(plan, n, &sw_dispatcher_impl, cfg, sw_config_tier(cfg, target)->name);
        }
        for (size_t i = 0; i < cfg->ntiers && error == 0; i++) {
            error = plan_one(plan, n, &sw_dispatcher_impl, cfg, cfg->tiers[i].name);
        }
        return error;
    }
    if (kind_len == 7 && strncmp(arg, "builder", 7) == 0) {
        if (target != NULL) {
            sw_builder_config found;
            if (sw_config_builder_resolve(cfg, target, &found) < 0) {
                return sw_error_last_code();
            }
            return plan_one(plan, n, &sw_builder_impl, cfg, target);
        }
        for (size_t i = 0; i < cfg->nbuilders && error == 0; i++) {
            error = plan_one(plan, n, &sw_builder_impl, cfg, cfg->builders[i].name);
        }
        return error;
    }
    return sw_error_set(SW_EINVALID,
                        "unknown actor '%s' (scheduler, dispatcher[:TIER], builder[:NAME], "
                        "logsink, webhook, notifier, autoscaler)",
                        arg);
}

/* Connects as creds (a file, or NULL for none); *out gets the bus. */
static int connect_as(sw_bus **out, const sw_config *cfg, const char *creds_file,
                      const char *name, bool *setup)
{
    sw_creds creds = {0};
    int error;
    if (creds_file != NULL && sw_creds_load(&creds, creds_file) < 0) {
        return sw_error_last_code();
    }
    sw_bus_options bopts = {.url = cfg->nats_url, .name = name, .connect_wait_ms = 30000,
                            .cancel = stop_requested, .user = creds.user,
                            .password = creds.password, .inbox_prefix = creds.inbox};
    error = sw_bus_connect(out, &bopts);
    if (error == 0 && creds_file != NULL) {
        sw_info("slipwayd", "on NATS as user '%s' (%s)", creds.user, creds_file);
    }
    /* no credentials, or a user that is no role (a single all-rights user):
     * this process sets the streams up; a role that may not, waits for it */
    const sw_role *role = creds.user != NULL ? sw_role_named(creds.user) : NULL;
    *setup = role == NULL || role->setup;
    sw_creds_clear(&creds);
    return error;
}

/* Opens the connections the planned actors need and gives each its bus. */
static int connect_all(conns *cs, planned *plan, size_t nplan, const sw_config *cfg,
                       const char *creds_path)
{
    bool setup = false;
    int error;

    if (!sw_creds_is_dir(creds_path)) {
        if ((error = connect_as(&cs->bus[0], cfg, creds_path, "slipwayd", &setup)) < 0) {
            return error;
        }
        cs->n = 1;
        cs->setup = setup ? cs->bus[0] : NULL;
        for (size_t i = 0; i < nplan; i++) {
            plan[i].bus = cs->bus[0];
        }
        return 0;
    }
    for (size_t i = 0; i < nplan; i++) {
        const char *role = sw_role_of_actor(plan[i].impl->kind);
        size_t k = 0;
        while (k < cs->n && strcmp(cs->role[k], role) != 0) {
            k++;
        }
        if (k == cs->n) {
            char file[4096], name[64];
            if (cs->n == MAX_CONNS) {
                return sw_error_set(SW_EINVALID, "more than %d roles in one process", MAX_CONNS);
            }
            sw_creds_role_path(file, sizeof(file), creds_path, role);
            snprintf(name, sizeof(name), "slipwayd %s", role);
            if ((error = connect_as(&cs->bus[k], cfg, file, name, &setup)) < 0) {
                return error;
            }
            cs->role[k] = role;
            cs->n++;
            if (setup && cs->setup == NULL) {
                cs->setup = cs->bus[k];
            }
        }
        plan[i].bus = cs->bus[k];
    }
    return 0;
}

/* Makes the streams and consumers, trying again while JetStream answers
 * "timed out" or "temporarily unavailable" (a cluster that has just started
 * or restarted is electing their leaders), for at most SETUP_WAIT_MS. */
#define SETUP_WAIT_MS 30000
static int setup_streams(sw_bus *bus, const sw_config *cfg)
{
    int64_t deadline = sw_clock_mono_ms() + SETUP_WAIT_MS;
    bool said = false;
    int error;

    while ((error = sw_wire_setup_streams(bus, cfg)) == SW_ETIMEDOUT &&
           sw_clock_mono_ms() < deadline) {
        if (!said) {
            sw_info("slipwayd", "JetStream is not answering yet (%s); trying again for up to "
                    "%d s", sw_error_last(), SETUP_WAIT_MS / 1000);
            said = true;
        }
        for (int t = 0; t < 5; t++) {
            if (stop_requested(NULL)) {
                return sw_error_set(SW_ESTOPPED, "stopped setting up JetStream");
            }
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return error;
}

/* --setup: makes the streams and consumers as the scheduler would, and exits. */
static int setup_and_exit(sw_config *cfg, const char *creds_path)
{
    char file[4096];
    sw_bus *bus = NULL;
    bool setup = false;
    int status = 1;

    if (creds_path == NULL || creds_path[0] == '\0') {
        creds_path = cfg->nats_creds;
    }
    if (sw_creds_is_dir(creds_path)) {
        creds_path = sw_creds_role_path(file, sizeof(file), creds_path, "scheduler");
    }
    if (connect_as(&bus, cfg, creds_path, "slipwayd setup", &setup) < 0) {
        fprintf(stderr, "slipwayd: %s\n", sw_error_last());
    } else if (sw_wire_setup_streams(bus, cfg) < 0) {
        fprintf(stderr, "slipwayd: cannot set up the JetStream streams: %s\n", sw_error_last());
    } else {
        sw_info("slipwayd", "streams and consumers set up");
        status = 0;
    }
    sw_bus_destroy(&bus);
    sw_config_destroy(&cfg);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"creds", required_argument, NULL, 'C'},
        {"setup", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = getenv("SLIPWAY_CONFIG");
    const char *creds_path = getenv("SLIPWAY_CREDS");
    static planned plan[MAX_ACTORS];
    conns cs = {0};
    size_t nplan = 0;
    sw_config *cfg = NULL;
    sigset_t sigs, stop_sigs;
    int opt, sig, status = 1, error;
    bool setup_only = false;

    while ((opt = sw_options_next("slipwayd", argc, argv, "c:h", longopts)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            creds_path = optarg;
            break;
        case 'S':
            setup_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            sw_options_version(stdout, "slipwayd");
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL || config_path[0] == '\0') {
        fprintf(stderr, "slipwayd: no config file: give -c FILE (or set SLIPWAY_CONFIG)\n");
        usage(stderr);
        return 2;
    }

    /* Signals are taken by sigwait in main only; threads inherit the mask. */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    sigs = stop_sigs;
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR2);
    sigaddset(&sigs, SW_HOST_STOP_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sw_config_load(&cfg, config_path) < 0) {
        fprintf(stderr, "slipwayd: %s\n", sw_error_last());
        return 1;
    }
    sw_metrics_instance(metrics_instance, sizeof(metrics_instance));
    metrics_started_ms = sw_clock_wall_ms();
    char *exposed = sw_config_exposure_warning(cfg);
    if (exposed != NULL) {
        sw_warn("slipwayd", "%s", exposed);
        free(exposed);
    }
    if (setup_only) {
        return setup_and_exit(cfg, creds_path);
    }
    if (optind == argc) {
        const char *all[] = {"logsink",  "scheduler", "dispatcher", "builder",
                             "notifier", "webhook",   "autoscaler", "web"};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            if (strcmp(all[i], "web") == 0 && cfg->web_listen == NULL) {
                continue; /* the pages are served where web.listen is set */
            }
            if (plan_arg(plan, &nplan, cfg, all[i]) < 0) {
                fprintf(stderr, "slipwayd: %s\n", sw_error_last());
                goto out;
            }
        }
    }
    for (int i = optind; i < argc; i++) {
        if (plan_arg(plan, &nplan, cfg, argv[i]) < 0) {
            fprintf(stderr, "slipwayd: %s\n", sw_error_last());
            status = sw_error_last_code() == SW_EINVALID ? 2 : 1;
            goto out;
        }
    }

    if (creds_path == NULL || creds_path[0] == '\0') {
        creds_path = cfg->nats_creds;
    }
    sw_info("slipwayd", "connecting to %s", cfg->nats_url);
    if ((error = connect_all(&cs, plan, nplan, cfg, creds_path)) < 0) {
        if (error == SW_ESTOPPED && sigwait(&stop_sigs, &sig) == 0) {
            /* a stop asked for, like any other: not a failure */
            sw_info("slipwayd", "%s while waiting for NATS at %s: stopping",
                    sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->nats_url);
            status = 0;
        } else {
            fprintf(stderr, "slipwayd: %s\n", sw_error_last());
        }
        goto out;
    }
    if (cs.setup != NULL && (error = setup_streams(cs.setup, cfg)) < 0) {
        if (error == SW_ESTOPPED) {
            status = 0;
        } else {
            fprintf(stderr, "slipwayd: cannot set up the JetStream streams: %s\n",
                    sw_error_last());
        }
        goto out;
    }
    /* every durable answering (on a cluster: has a leader) before the actors
     * bind to them; after a set-up that made them, only an election waits */
    if ((error = sw_wire_await_streams(cs.bus[0], cfg, stop_requested, NULL)) < 0) {
        if (error == SW_ESTOPPED) {
            status = 0;
        } else {
            fprintf(stderr, "slipwayd: cannot read the JetStream set-up: %s\n", sw_error_last());
        }
        goto out;
    }
    for (size_t i = 0; i < nplan; i++) {
        if (sw_actor_start(&plan[i].actor, plan[i].impl, plan[i].name, plan[i].bus,
                           &plan[i].ctx) < 0) {
            fprintf(stderr, "slipwayd: cannot start %s: %s\n", plan[i].name, sw_error_last());
            goto out;
        }
    }
    {
        char names[2048] = "";
        for (size_t i = 0; i < nplan; i++) {
            strncat(names, i ? ", " : "", sizeof(names) - strlen(names) - 1);
            strncat(names, plan[i].name, sizeof(names) - strlen(names) - 1);
        }
        sw_info("slipwayd", "slipwayd: ready (%zu actors: %s)", nplan, names);
    }

    {
        stopping st = {.plan = plan, .nplan = nplan, .cfg_p = &cfg, .config_path = config_path,
                       .metrics_bus = cs.bus[0]};
        wait_for_stop(&st, &sigs);
    }
    status = 0;

out:
    /* every pull stops fetching at once (a hundred builders: one fetch timeout,
     * not a hundred one after another), then each actor stops in turn */
    for (size_t i = 0; i < nplan; i++) {
        sw_actor_quiesce(plan[i].actor);
    }
    for (size_t i = nplan; i-- > 0;) {
        sw_actor_destroy(&plan[i].actor);
    }
    /* the last figures of this instance, once its actors have stopped (not
     * waited for when NATS is away: the web actor retires it after 60 s) */
    if (status == 0 && cs.n > 0 && sw_bus_connected(cs.bus[0]) &&
        (sw_metrics_publish(cs.bus[0], sw_metrics_process(), metrics_instance,
                            metrics_started_ms, true) < 0 ||
         sw_bus_flush(cs.bus[0], 1000) < 0)) {
        sw_debug("slipwayd", "last metrics not published: %s", sw_error_last());
    }
    for (size_t i = 0; i < cs.n; i++) {
        sw_bus_destroy(&cs.bus[i]);
    }
    sw_config_destroy(&cfg);
    if (status == 0) {
        sw_info("slipwayd", "stopped");
    }
    return status;
}
