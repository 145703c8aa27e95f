/* options.c - the commands' options: errors that name the command typed, --help alone. */
#include "tools/cli/cli.h"

#include "tools/options.h"

#include <stdio.h>

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char who[64];
    snprintf(who, sizeof(who), "slipway %s", argv[0]);
    return sw_options_next(who, argc, argv, shortopts, longopts);
}

int cli_no_options(int argc, char **argv, const char *text, int nargs)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1) {
        if (opt == 'h') {
            fputs(text, stdout);
            return CLI_OK;
        }
        fputs(text, stderr);
        return CLI_USAGE;
    }
    if (argc - optind != nargs) {
        fputs(text, stderr);
        return CLI_USAGE;
    }
    return -1;
}
