/*
 * options.h - the command line of Slipway's programs: getopt_long with errors
 * that name the command typed ("slipway builds: unrecognized option '--x'"),
 * and the one version string (meson's project version, SW_VERSION).
 */
#ifndef SW_OPTIONS_H
#define SW_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

/* getopt_long(argc, argv, shortopts, longopts) that prints its own errors:
 * "WHO: unrecognized option '--x'", "WHO: option '--limit' requires an
 * argument", ... on stderr, and returns '?' for every one of them. shortopts
 * is as getopt_long's (a leading '+' kept; no leading ':'). */
int sw_options_next(const char *who, int argc, char **argv, const char *shortopts,
                    const struct option *longopts);

/* "PROGRAM VERSION\n" on out (--version). */
void sw_options_version(FILE *out, const char *program);

#endif
