/*
 * drain.c - slipway drain and undrain: ask a builder over sw.ctl.drain.<builder>
 * to stop taking jobs (and finish what runs), or to take them again.
 *
 * DESIGN
 * The builder itself answers (an ApiReply, builders[0] its state), so an
 * unknown or stopped builder is "nobody listens" (exit 6) and a silent one a
 * timeout (exit 7). --wait follows the builder's heartbeats
 * (sw.hb.*.<builder>), subscribed before the request is sent: a builder sends
 * one at once when it becomes drained, before a process told to --exit stops,
 * so the drained state is seen even when the builder is gone right after. A
 * builder that sends no heartbeat for a while is asked again; one that no
 * longer answers before it said drained is reported (exit 6).
 */
#include "tools/cli/cli.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REASK_AFTER_MS 5000

typedef struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool drained;
    bool undrained; /* someone undrained it meanwhile */
    int64_t last_mono_ms;
} watch;

static void on_heartbeat(sw_msg *msg, void *closure)
{
    watch *w = closure;
    Slipway__Heartbeat *hb = slipway__heartbeat__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    if (hb != NULL) {
        pthread_mutex_lock(&w->lock);
        w->last_mono_ms = sw_clock_mono_ms();
        w->drained = w->drained || hb->drained;
        w->undrained = !hb->draining;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        slipway__heartbeat__free_unpacked(hb, NULL);
    }
    sw_msg_release(&msg);
}

static void print_state(const Slipway__BuilderInfo *b, bool exit_asked)
{
    printf("%s: %s", b->name, cli_builder_state(b));
    if (b->draining && !b->drained) {
        printf(", %u running", b->busy);
        for (size_t i = 0; i < b->n_builds; i++) {
            printf("%s%s", i ? "," : " (", b->builds[i]);
        }
        printf("%s", b->n_builds ? ")" : "");
    }
    if (b->holding_back && b->hold_reason[0]) {
        printf(" (%s)", b->hold_reason);
    }
    if (b->draining && exit_asked) {
        printf("; its process exits once drained");
    }
    printf("\n");
    fflush(stdout);
}

/* Sends one DrainRequest; *reply_out on success. Prints and returns the exit
 * code on failure. */
static int ask(cli *c, const char *builder, bool drain, bool exit_too,
               Slipway__ApiReply **reply_out)
{
    Slipway__DrainRequest req = SLIPWAY__DRAIN_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    char subject[160], by[256];
    const char *user = getenv("USER");
    char host[128] = "";
    int error, status;

    if ((status = cli_connect(c)) != CLI_OK) {
        return status;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(by, sizeof(by), "%s@%s (slipway %s)", user ? user : "?", host,
             drain ? "drain" : "undrain");
    req.builder = (char *)builder;
    req.drain = drain;
    req.exit = exit_too;
    req.by = by;
    sw_subject(subject, sizeof(subject), SW_CTL_DRAIN, builder, NULL);
    error = sw_wire_request(c->bus, subject, &req.base, &slipway__api_reply__descriptor,
                            c->timeout_ms, &reply);
    if (error == SW_ENOTFOUND) {
        fprintf(stderr, "slipway: no builder '%s' answers on %s (unknown, or not running)\n",
                builder, subject);
        return CLI_NOT_FOUND;
    }
    if (error < 0) {
        fprintf(stderr, "slipway: builder '%s' did not answer on %s: %s\n", builder, subject,
                error == SW_ETIMEDOUT ? "timed out" : sw_error_last());
        return CLI_UNREACHABLE;
    }
    *reply_out = (Slipway__ApiReply *)reply;
    if ((*reply_out)->error[0] != '\0' || (*reply_out)->n_builders < 1) {
        fprintf(stderr, "slipway: builder '%s': %s\n", builder,
                (*reply_out)->error[0] ? (*reply_out)->error : "an answer without its state");
        slipway__api_reply__free_unpacked(*reply_out, NULL);
        *reply_out = NULL;
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

/* Waits for a drained heartbeat (or answer) until deadline_mono (0: none). */
static int wait_drained(cli *c, const char *builder, bool exit_too, watch *w,
                        int64_t deadline_mono, int timeout_ms)
{
    char d[32];
    pthread_mutex_lock(&w->lock);
    for (;;) {
        int64_t now = sw_clock_mono_ms();
        if (w->drained) {
            pthread_mutex_unlock(&w->lock);
            printf("%s: drained\n", builder);
            return CLI_OK;
        }
        if (deadline_mono > 0 && now >= deadline_mono) {
            pthread_mutex_unlock(&w->lock);
            fprintf(stderr, "slipway: %s is still draining after %s (--timeout)\n", builder,
                    cli_duration(d, sizeof(d), timeout_ms));
            return CLI_DRAIN_TIMEOUT;
        }
        if (now - w->last_mono_ms >= REASK_AFTER_MS || w->undrained) {
            /* no heartbeat for a while, or undrained meanwhile: ask again (idempotent) */
            Slipway__ApiReply *reply = NULL;
            pthread_mutex_unlock(&w->lock);
            int status = ask(c, builder, true, exit_too, &reply);
            if (status != CLI_OK) {
                return status;
            }
            pthread_mutex_lock(&w->lock);
            w->last_mono_ms = sw_clock_mono_ms();
            w->undrained = false;
            w->drained = w->drained || reply->builders[0]->drained;
            slipway__api_reply__free_unpacked(reply, NULL);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
}

static void drain_usage(FILE *out)
{
    fprintf(out,
            "usage: slipway drain BUILDER [--wait] [--timeout D] [--exit]\n"
            "\n"
            "Asks BUILDER to take no new job and finish what it runs; prints its state.\n"
            "The same request again answers the same. `slipway undrain BUILDER` undoes it.\n"
            "\n"
            "  --wait        wait until it is drained (nothing runs any more)\n"
            "  --timeout D   with --wait: give up after D (e.g. 90s, 10m; default: no limit)\n"
            "  --exit        its slipwayd exits (status 0) once drained, after draining any\n"
            "                other builder it hosts\n"
            "\n"
            "exit status: 0 asked (with --wait: drained), 6 no such builder answers,\n"
            "7 NATS cannot be reached or the builder did not answer, 10 --wait: --timeout\n"
            "passed while builds still ran (they go on; the builder stays draining).\n");
}

int cli_drain(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"wait", no_argument, NULL, 'w'},     {"timeout", required_argument, NULL, 't'},
        {"exit", no_argument, NULL, 'x'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool wait_too = false, exit_too = false;
    int timeout_ms = 0, opt, status;
    Slipway__ApiReply *reply = NULL;
    sw_sub *sub = NULL;
    watch w;

    optind = 0; /* a full re-init: options may follow BUILDER (main parsed with "+") */
    while ((opt = cli_getopt(argc, argv, "wt:xh", longopts)) != -1) {
        switch (opt) {
        case 'w':
            wait_too = true;
            break;
        case 't':
            if (cli_parse_duration(optarg, &timeout_ms) < 0) {
                fprintf(stderr, "slipway drain: --timeout takes a duration such as 90s or 10m, "
                                "not '%s'\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 'x':
            exit_too = true;
            break;
        case 'h':
            drain_usage(stdout);
            return CLI_OK;
        default:
            drain_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "slipway drain: %s\n", optind == argc ? "name the builder" :
                                                                "one builder at a time");
        drain_usage(stderr);
        return CLI_USAGE;
    }
    if (timeout_ms > 0 && !wait_too) {
        fprintf(stderr, "slipway drain: --timeout goes with --wait\n");
        return CLI_USAGE;
    }
    const char *builder = argv[optind];
    if ((status = cli_connect(c)) != CLI_OK) {
        return status;
    }
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w.cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    int64_t deadline = timeout_ms > 0 ? sw_clock_mono_ms() + timeout_ms : 0;
    if (wait_too) {
        char subject[160];
        snprintf(subject, sizeof(subject), "sw.hb.*.%s", builder);
        if (sw_bus_subscribe(&sub, c->bus, subject, NULL, on_heartbeat, &w) < 0) {
            fprintf(stderr, "slipway: cannot follow %s's heartbeats: %s\n", builder,
                    sw_error_last());
            status = CLI_UNREACHABLE;
            goto cleanup;
        }
    }
    if ((status = ask(c, builder, true, exit_too, &reply)) != CLI_OK) {
        goto cleanup;
    }
    print_state(reply->builders[0], exit_too);
    if (wait_too && !reply->builders[0]->drained) {
        pthread_mutex_lock(&w.lock);
        w.last_mono_ms = sw_clock_mono_ms();
        w.undrained = false;
        pthread_mutex_unlock(&w.lock);
        status = wait_drained(c, builder, exit_too, &w, deadline, timeout_ms);
    }
    slipway__api_reply__free_unpacked(reply, NULL);

cleanup:
    sw_sub_destroy(&sub);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return status;
}

int cli_undrain(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const char text[] =
        "usage: slipway undrain BUILDER\n\n"
        "Lets a drained or draining BUILDER take jobs again; prints its state. A builder\n"
        "drained with --exit whose process is already stopping cannot be undrained.\n\n"
        "exit status: 0 done, 6 no such builder answers, 7 NATS cannot be reached or\n"
        "the builder did not answer.\n";
    Slipway__ApiReply *reply = NULL;
    int opt, status;

    optind = 0;
    while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1) {
        fputs(text, opt == 'h' ? stdout : stderr);
        return opt == 'h' ? CLI_OK : CLI_USAGE;
    }
    if (optind + 1 != argc) {
        fputs(text, stderr);
        return CLI_USAGE;
    }
    if ((status = ask(c, argv[optind], false, false, &reply)) != CLI_OK) {
        return status;
    }
    print_state(reply->builders[0], false);
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}
