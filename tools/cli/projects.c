/* projects.c - slipway projects: the projects of the running configuration. */
#include "tools/cli/cli.h"

#include "runtime/wire.h"

#include <stdio.h>

int cli_projects(cli *c, int argc, char **argv)
{
    static const char text[] =
        "usage: slipway projects\n"
        "\n"
        "Lists the projects of the configuration the scheduler runs with (slipway.yaml as\n"
        "last loaded: at start or by a SIGHUP to slipwayd): name, tenant, tier, forge\n"
        "(- when none), region and repository.\n"
        "\n"
        "exit status: 0 ok, 2 bad usage, 7 NATS or the scheduler cannot be reached.\n";
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    int status;

    if ((status = cli_no_options(argc, argv, text, 0)) >= 0) {
        return status;
    }
    if ((status = cli_api(c, SW_API_PROJECTS, &req, &reply)) != CLI_OK) {
        return status;
    }
    printf("%-20s  %-16s  %-12s  %-16s  %-12s  %s\n", "NAME", "TENANT", "TIER", "FORGE",
           "REGION", "REPOSITORY");
    for (size_t i = 0; i < reply->n_projects; i++) {
        const Slipway__ProjectInfo *p = reply->projects[i];
        printf("%-20s  %-16s  %-12s  %-16s  %-12s  %s\n", p->name, p->tenant, p->tier,
               p->forge[0] ? p->forge : "-", p->region, p->repository);
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}
