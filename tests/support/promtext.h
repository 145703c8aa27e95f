/*
 * promtext.h - a strict parser of the Prometheus text format 0.0.4, for tests.
 *
 * It refuses what the format forbids and what a scraper would choke on:
 * a bad metric or label name, an unknown escape in a label value or HELP, a
 * second HELP or TYPE of a name, a TYPE after the family's first sample, a
 * family's samples split in two groups, a duplicate series (same name and
 * label set in any order), a repeated label name, a bad value or timestamp,
 * a negative counter, a last line without its newline, and histograms whose
 * series lack _sum or _count, whose buckets are not in ascending le with
 * cumulative (non-decreasing) counts, or do not end with le="+Inf" equal to
 * _count. Blank lines and other comments are allowed, as the format says.
 */
#ifndef SW_PROMTEXT_H
#define SW_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define PROMTEXT_MAX_LABELS 16

typedef struct promtext_sample {
    char *name;
    char *family; /* the TYPE's name: "x" for x_bucket of histogram x */
    size_t nlabels;
    char *label[PROMTEXT_MAX_LABELS];
    char *value_of[PROMTEXT_MAX_LABELS]; /* unescaped */
    double value;
} promtext_sample;

typedef struct promtext {
    promtext_sample *samples;
    size_t nsamples;
    char **types; /* "name type" for each TYPE line */
    size_t ntypes;
} promtext;

/* Parses text (len bytes). 0, or -1 with what is wrong and its line in err. */
int promtext_parse(promtext *out, const char *text, size_t len, char *err, size_t errlen);
void promtext_finish(promtext *p);

/* The sum of the values of the samples called name whose labels include
 * every pair of match ("k=v,k2=v2"; NULL or "": any). *n_out (may be NULL)
 * gets how many matched. */
double promtext_sum(const promtext *p, const char *name, const char *match, size_t *n_out);

/* The TYPE of a family ("counter", ...), or NULL. */
const char *promtext_type(const promtext *p, const char *family);

#endif
