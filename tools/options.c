/* options.c - getopt_long with errors in the command's name; --version (see options.h). */
#include "tools/options.h"

#include <stdbool.h>
#include <string.h>

#ifndef SW_VERSION
#error "SW_VERSION comes from meson.build (the project's version)"
#endif

int sw_options_next(const char *who, int argc, char **argv, const char *shortopts,
                    const struct option *longopts)
{
    char spec[64];
    const char *rest = shortopts[0] == '+' ? shortopts + 1 : shortopts;
    int opt;

    /* a leading ':' (after '+') tells a missing argument (':') from an unknown option */
    snprintf(spec, sizeof(spec), "%s:%s", shortopts[0] == '+' ? "+" : "", rest);
    opterr = 0;
    opt = getopt_long(argc, argv, spec, longopts, NULL);
    if (opt != '?' && opt != ':') {
        return opt;
    }
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    bool is_long = strncmp(word, "--", 2) == 0;
    if (opt == ':') {
        if (is_long) {
            fprintf(stderr, "%s: option '%s' requires an argument\n", who, word);
        } else {
            fprintf(stderr, "%s: option requires an argument -- '%c'\n", who, optopt);
        }
    } else if (is_long && optopt != 0 && strchr(word, '=') != NULL) {
        fprintf(stderr, "%s: option '%.*s' doesn't allow an argument\n", who,
                (int)strcspn(word, "="), word);
    } else if (is_long && optopt == 0) {
        fprintf(stderr, "%s: unrecognized option '%s'\n", who, word);
    } else {
        fprintf(stderr, "%s: invalid option -- '%c'\n", who, optopt);
    }
    return '?';
}

void sw_options_version(FILE *out, const char *program)
{
    fprintf(out, "%s %s\n", program, SW_VERSION);
}
