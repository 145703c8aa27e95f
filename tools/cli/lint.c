/*
 * lint.c - slipway lint [FILE]: the pipeline file read by the builder's own
 * parser (actors/builder/pipeline.h), its mistake as "FILE:line:col: what".
 * Needs no NATS.
 */
#include "tools/cli/cli.h"

#include "actors/builder/pipeline.h"
#include "runtime/core/error.h"

#include <stdio.h>

static const char lint_text[] =
    "usage: slipway lint [FILE]\n"
    "\n"
    "Reads FILE (default ./.slipway.yml) with the builder's own parser: prints\n"
    "\"FILE: ok, N steps\", or the mistake as FILE:LINE:COLUMN: what is wrong.\n"
    "\n"
    "exit status: 0 the pipeline is good, 1 it is not (the message says where),\n"
    "2 bad usage, 6 no such file (or it cannot be read).\n";

int cli_lint(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    sw_pipeline *pipeline = NULL;
    int opt, rc;

    (void)c;
    while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1) {
        fputs(lint_text, opt == 'h' ? stdout : stderr);
        return opt == 'h' ? CLI_OK : CLI_USAGE;
    }
    if (argc - optind > 1) {
        fputs(lint_text, stderr);
        return CLI_USAGE;
    }
    const char *path = optind < argc ? argv[optind] : ".slipway.yml";
    if ((rc = sw_pipeline_load(&pipeline, path)) < 0) {
        fprintf(stderr, "%s\n", sw_error_last());
        return rc == SW_EINVALID ? CLI_LINT_BAD : CLI_NOT_FOUND;
    }
    printf("%s: ok, %zu step%s\n", path, pipeline->nsteps, pipeline->nsteps == 1 ? "" : "s");
    sw_pipeline_destroy(&pipeline);
    return CLI_OK;
}
