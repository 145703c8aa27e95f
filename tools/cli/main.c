/*
 * slipway - the command line of Slipway: submit builds, follow their logs, list
 * builds and builders. It talks to Slipway over NATS only.
 */
#include "tools/cli/cli.h"

#include "runtime/creds.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "tools/options.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipway [--nats URL] [--creds FILE] [--timeout MS] [--nats-wait DURATION]\n"
            "               COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  submit --project P [--ref REF] [--sha SHA]   request a build; prints its id\n"
            "  logs [-f] BUILD                             print a build's log (-f: follow it)\n"
            "  builds [--limit N] [--tenant T] [--project P] [--state S] [--ref R] [--json]\n"
            "                                              list builds, newest first\n"
            "  show [--json] BUILD                         one build's record; exits with its\n"
            "                                              result once it has ended\n"
            "  cancel BUILD [--reason TEXT]                stop a build; it ends cancelled\n"
            "  retry BUILD                                 build the same commit again\n"
            "  projects                                    the projects of the running config\n"
            "  builders [--json]                           builders, their state and load\n"
            "  drain BUILDER [--wait] [--timeout D] [--exit]\n"
            "                                              stop a builder taking jobs\n"
            "  undrain BUILDER                             let it take jobs again\n"
            "  pools                                       autoscaled pools: size, pressure, why\n"
            "  sources [--project P] [--config FILE] [PATH]\n"
            "                                              what a checkout's builds fetch, by region\n"
            "  lint [FILE]                                 check a pipeline file (./.slipway.yml)\n"
            "\n"
            "options:\n"
            "  --nats URL      NATS server, or several comma-separated (default: $SLIPWAY_NATS\n"
            "                  or nats://127.0.0.1:4222)\n"
            "  --creds FILE    NATS credentials (default: $SLIPWAY_CREDS; none: a server\n"
            "                  without authorization). An operator's see every tenant; a\n"
            "                  tenant's (slipway-admin nats-config) only that tenant's builds\n"
            "  --timeout MS    how long to wait for an answer (default 5000)\n"
            "  --nats-wait DURATION\n"
            "                  logs -f: how long NATS may stay away before slipway gives up\n"
            "                  with status 7 (default 30s; e.g. 500ms, 10s, 2m); the build\n"
            "                  goes on, and `slipway logs -f BUILD` picks it up again\n"
            "  -h, --help      this text; `slipway COMMAND --help` for a command's\n"
            "  --version       slipway and its version\n"
            "\n"
            "exit status: 0 ok (logs -f, show: the build succeeded), 1 the build failed (lint:\n"
            "the pipeline file has a mistake), 2 bad usage,\n"
            "3 the build errored, 4 it timed out, 5 it was cancelled, 6 no such build or\n"
            "project (or builder), 7 NATS or Slipway cannot be reached, 8 the build queue is\n"
            "full (try again later: nothing was stored), 9 cancel: the build had already\n"
            "ended, 10 drain --wait: --timeout passed before the builder was drained, 11 the\n"
            "credentials do not allow it (refused by NATS or by Slipway), 12 submit: the\n"
            "tenant's plan allows no more queued builds (try again later).\n"
            "\n"
            "The library's own log lines (NATS reconnects and the like) are shown only when\n"
            "SLIPWAY_LOG is set (debug, info, warn, error).\n");
}

int cli_parse_duration(const char *text, int *ms_out)
{
    static const struct {
        const char *unit;
        long long mult;
    } units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}};
    char *end = NULL;
    long long n;

    if (text[0] < '0' || text[0] > '9') {
        return -1;
    }
    n = strtoll(text, &end, 10);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (n <= 0 || n > INT_MAX / units[i].mult) {
                return -1;
            }
            *ms_out = (int)(n * units[i].mult);
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nats", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"nats-wait", required_argument, NULL, 'w'},
        {"creds", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    cli c = {.nats_url = getenv("SLIPWAY_NATS"), .creds_path = getenv("SLIPWAY_CREDS"),
             .timeout_ms = 5000, .nats_wait_ms = 30000};
    int opt, status;

    signal(SIGPIPE, SIG_IGN);
    if (getenv("SLIPWAY_LOG") == NULL) {
        /* the CLI says in its own words what went wrong; the bus's log is for daemons */
        sw_log_set_level(SW_LOG_ERROR);
    }
    if (c.nats_url == NULL || c.nats_url[0] == '\0') {
        c.nats_url = "nats://127.0.0.1:4222";
    }
    /* options before the command only ("+") */
    while ((opt = sw_options_next("slipway", argc, argv, "+h", longopts)) != -1) {
        switch (opt) {
        case 'C':
            c.creds_path = optarg;
            break;
        case 'n':
            c.nats_url = optarg;
            break;
        case 't':
            c.timeout_ms = atoi(optarg);
            if (c.timeout_ms <= 0) {
                fprintf(stderr, "slipway: --timeout takes a positive number of milliseconds\n");
                return CLI_USAGE;
            }
            break;
        case 'w':
            if (cli_parse_duration(optarg, &c.nats_wait_ms) < 0) {
                fprintf(stderr, "slipway: --nats-wait takes a positive duration such as 500ms, "
                                "30s or 2m, not '%s'\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        case 'V':
            sw_options_version(stdout, "slipway");
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[optind];
    int cargc = argc - optind;
    char **cargv = argv + optind;
    optind = 0; /* each command parses its own options (0: glibc starts afresh, so
                 * options may follow operands again, e.g. `cancel ID --reason X`) */

    if (strcmp(cmd, "submit") == 0) {
        status = cli_submit(&c, cargc, cargv);
    } else if (strcmp(cmd, "logs") == 0) {
        status = cli_logs(&c, cargc, cargv);
    } else if (strcmp(cmd, "builds") == 0) {
        status = cli_builds(&c, cargc, cargv);
    } else if (strcmp(cmd, "show") == 0) {
        status = cli_show(&c, cargc, cargv);
    } else if (strcmp(cmd, "builders") == 0) {
        status = cli_builders(&c, cargc, cargv);
    } else if (strcmp(cmd, "cancel") == 0) {
        status = cli_cancel(&c, cargc, cargv);
    } else if (strcmp(cmd, "retry") == 0) {
        status = cli_retry(&c, cargc, cargv);
    } else if (strcmp(cmd, "projects") == 0) {
        status = cli_projects(&c, cargc, cargv);
    } else if (strcmp(cmd, "drain") == 0) {
        status = cli_drain(&c, cargc, cargv);
    } else if (strcmp(cmd, "undrain") == 0) {
        status = cli_undrain(&c, cargc, cargv);
    } else if (strcmp(cmd, "pools") == 0) {
        status = cli_pools(&c, cargc, cargv);
    } else if (strcmp(cmd, "sources") == 0) {
        status = cli_sources(&c, cargc, cargv);
    } else if (strcmp(cmd, "lint") == 0) {
        status = cli_lint(&c, cargc, cargv);
    } else if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        status = CLI_OK;
    } else {
        fprintf(stderr, "slipway: unknown command '%s'\n\n", cmd);
        usage(stderr);
        status = CLI_USAGE;
    }
    sw_bus_destroy(&c.bus);
    sw_creds_clear(&c.creds);
    return status;
}
