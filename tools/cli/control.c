/* control.c - slipway cancel and slipway retry. */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"
#include "runtime/wire.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void cancel_usage(FILE *out)
{
    fprintf(out,
            "usage: slipway cancel BUILD [--reason TEXT]\n"
            "\n"
            "Cancels a build that has not ended. A queued build never starts; a running one\n"
            "has its step stopped (its container killed and removed) and ends cancelled.\n"
            "Who asked (user@host) and TEXT go into the build's log and record, and the\n"
            "forge's commit status says cancelled.\n"
            "\n"
            "exit status: 0 the build is cancelled (also when it already was), 6 no such\n"
            "build, 7 NATS or the scheduler cannot be reached, 9 the build had already ended\n"
            "(succeeded, failed, errored, timed out): nothing was changed.\n");
}

/* "user@host" for the record: who asked. */
static void whoami(char *buf, size_t n)
{
    const char *user = getenv("USER");
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0) {
        host[0] = '\0';
    }
    snprintf(buf, n, "%s@%s", user && user[0] ? user : "someone", host[0] ? host : "localhost");
}

int cli_cancel(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Slipway__CancelRequest req = SLIPWAY__CANCEL_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char subject[160], by[320];
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "r:h", longopts)) != -1) {
        switch (opt) {
        case 'r':
            req.reason = optarg;
            break;
        case 'h':
            cancel_usage(stdout);
            return CLI_OK;
        default:
            cancel_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0' || strchr(argv[optind], '.') ||
        strchr(argv[optind], '*') || strchr(argv[optind], '>')) {
        fprintf(stderr, "slipway cancel: %s\n",
                argc - optind == 1 ? "not a build id" : "give one BUILD");
        cancel_usage(stderr);
        return CLI_USAGE;
    }
    whoami(by, sizeof(by));
    req.build_id = argv[optind];
    req.by = by;
    sw_subject(subject, sizeof(subject), SW_CTL_CANCEL, req.build_id, NULL);
    if ((status = cli_request(c, subject, &req.base, &reply)) != CLI_OK) {
        return status;
    }
    if (reply->n_builds == 1) {
        printf("build %s: %s (%s)\n", req.build_id, sw_state_name(reply->builds[0]->state),
               reply->builds[0]->reason);
    } else {
        printf("build %s: cancelled\n", req.build_id);
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}

static const char retry_text[] =
    "usage: slipway retry BUILD\n"
    "\n"
    "Requests a new build of BUILD's project, ref and commit; its record names\n"
    "BUILD (retry_of, shown by `show` and `builds`). Prints the new build's id.\n"
    "\n"
    "exit status: 0 the request is stored, 6 no such build, 7 NATS or Slipway\n"
    "cannot be reached, 8 the build queue is full: nothing was stored, try again\n"
    "later.\n";

int cli_retry(cli *c, int argc, char **argv)
{
    Slipway__BuildRecord *rec = NULL;
    char request_id[64];
    int status;

    if ((status = cli_no_options(argc, argv, retry_text, 1)) >= 0) {
        return status;
    }
    if ((status = cli_get_build(c, argv[optind], &rec)) != CLI_OK) {
        return status;
    }
    if (cli_request_id(request_id, sizeof(request_id)) < 0) {
        fprintf(stderr, "slipway: cannot read /dev/urandom\n");
        slipway__build_record__free_unpacked(rec, NULL);
        return CLI_UNREACHABLE;
    }
    const char *user = getenv("USER");
    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    sw_build_retry_request(&br, rec); /* its commit, ref, ...; retry_of = BUILD */
    br.request_id = request_id;
    br.forge = "cli";
    br.author = (char *)(user ? user : "");
    status = cli_publish_request(c, &br);
    slipway__build_record__free_unpacked(rec, NULL);
    return status;
}
