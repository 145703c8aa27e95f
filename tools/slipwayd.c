/*
 * slipwayd - hosts Slipway's actors: `slipwayd -c slipway.yaml [ACTOR ...]`.
 *
 * Every actor talks to the others only over NATS, so any set of them can run
 * in one process or spread over many. SIGINT/SIGTERM stop them cleanly;
 * SIGHUP reloads the config file (reload below); SIGUSR2 is ignored, said so
 * in the log; SIGPIPE is ignored.
 */
#include "actors/actors.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/reload.h"
#include "runtime/wire.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACTORS 256
#define RECONFIGURE_WAIT_MS 10000 /* per actor, for the reload's summary line */

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
} planned;

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
            "\n"
            "options:\n"
            "  -c, --config FILE    slipway.yaml (default: $SLIPWAY_CONFIG)\n"
            "  -h, --help           this text\n"
            "\n"
            "Logs go to stderr (level: SLIPWAY_LOG=debug|info|warn|error). A line with\n"
            "'slipwayd: ready' is printed once every actor has started. Exit status: 0 after a\n"
            "clean stop (SIGINT/SIGTERM, also while still waiting for NATS at start), 1 when\n"
            "the config or start-up fails, 2 on bad usage. SIGHUP reloads FILE (a file that\n"
            "does not load is refused and the running config stays); SIGUSR2 is ignored.\n");
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
            if (sw_config_builder(cfg, target) == NULL) {
                return sw_error_set(SW_ENOTFOUND, "%s has no builder '%s'", cfg->path, target);
            }
            return plan_one(plan, n, &sw_builder_impl, cfg, sw_config_builder(cfg, target)->name);
        }
        for (size_t i = 0; i < cfg->nbuilders && error == 0; i++) {
            error = plan_one(plan, n, &sw_builder_impl, cfg, cfg->builders[i].name);
        }
        return error;
    }
    return sw_error_set(SW_EINVALID,
                        "unknown actor '%s' (scheduler, dispatcher[:TIER], builder[:NAME], "
                        "logsink, webhook, notifier)",
                        arg);
}

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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = getenv("SLIPWAY_CONFIG");
    static planned plan[MAX_ACTORS];
    size_t nplan = 0;
    sw_config *cfg = NULL;
    sw_bus *bus = NULL;
    sigset_t sigs, stop_sigs;
    int opt, sig, status = 1;

    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
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
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sw_config_load(&cfg, config_path) < 0) {
        fprintf(stderr, "slipwayd: %s\n", sw_error_last());
        return 1;
    }
    if (optind == argc) {
        const char *all[] = {"logsink", "scheduler", "dispatcher", "builder", "notifier",
                             "webhook"};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
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

    sw_bus_options bopts = {.url = cfg->nats_url, .name = "slipwayd", .connect_wait_ms = 30000,
                            .cancel = stop_requested};
    sw_info("slipwayd", "connecting to %s", cfg->nats_url);
    if (sw_bus_connect(&bus, &bopts) < 0) {
        if (sw_error_last_code() == SW_ESTOPPED && sigwait(&stop_sigs, &sig) == 0) {
            /* a stop asked for, like any other: not a failure */
            sw_info("slipwayd", "%s while waiting for NATS at %s: stopping",
                    sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->nats_url);
            status = 0;
        } else {
            fprintf(stderr, "slipwayd: %s\n", sw_error_last());
        }
        goto out;
    }
    if (sw_wire_setup_streams(bus, cfg) < 0) {
        fprintf(stderr, "slipwayd: cannot set up the JetStream streams: %s\n", sw_error_last());
        goto out;
    }
    for (size_t i = 0; i < nplan; i++) {
        if (sw_actor_start(&plan[i].actor, plan[i].impl, plan[i].name, bus, &plan[i].ctx) < 0) {
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

    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            reload(&cfg, config_path, plan, nplan);
            continue;
        }
        if (sig == SIGUSR2) {
            sw_info("slipwayd", "SIGUSR2: ignored");
            continue;
        }
        sw_info("slipwayd", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    status = 0;

out:
    for (size_t i = nplan; i-- > 0;) {
        sw_actor_destroy(&plan[i].actor);
    }
    sw_bus_destroy(&bus);
    sw_config_destroy(&cfg);
    if (status == 0) {
        sw_info("slipwayd", "stopped");
    }
    return status;
}
