/* commands.c - slipway submit, and the helpers the commands share (connect, requests). */
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
                 "exit status: 0 the request is stored, 6 no such project, or REF does not\n"
                 "exist in its repository (asked at once; a repository this host cannot list\n"
                 "in --timeout leaves it to the builder), 7 NATS or Slipway\n"
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

    while ((opt = cli_getopt(argc, argv, "p:r:s:h", longopts)) != -1) {
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
    if ((status = cli_check_ref(c, reply->project, ref)) != CLI_OK) {
        slipway__api_reply__free_unpacked(reply, NULL);
        return status;
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

