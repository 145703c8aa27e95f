/*
 * mask.h - replaces every occurrence of a project's secret values with *** in a
 * build's output, as it streams.
 *
 * DESIGN
 * sw_mask holds the secrets as an Aho-Corasick automaton: built once, read-only
 * afterwards, so one mask may serve any number of threads. Each output stream
 * (stdout, stderr) has its own sw_mask_stream, fed the pieces of its lines as they
 * come (a line longer than SW_SANDBOX_MAX_LINE comes in several pieces). A stream
 * hands back at once all of a piece except its tail when that tail could still be
 * the start of a secret, which it holds until the next piece says; a piece that
 * ends a line hands back everything. So a secret split between two pieces (even
 * between two log batches) is masked, and no line waits for the next one.
 *
 * What is masked: at each position, left to right, the longest secret that starts
 * there becomes ***, and the scan goes on after it (so of two secrets where one is a
 * prefix of the other, the longer wins where both match). Output is cut into lines
 * and no line of a secret holds a '\n', so each line of a multi-line value (a PEM
 * key) is a secret of its own, without its trailing '\r'. Lines shorter than
 * SW_MASK_MIN_LEN characters are not masked: "ab" or "}" would turn ordinary text
 * into *** all over the log (the config refuses such secrets). Time is linear in
 * the output, whatever it holds.
 */
#ifndef SW_MASK_H
#define SW_MASK_H

#include <stdbool.h>
#include <stddef.h>

/* Lines of secret values shorter than this are not masked. */
#define SW_MASK_MIN_LEN 4

/* What a secret becomes in the log. */
#define SW_MASK_REPLACEMENT "***"

typedef struct sw_mask sw_mask;
typedef struct sw_mask_stream sw_mask_stream;

/* A mask for n secret values (NUL-terminated; copied, nothing of values is kept).
 * n == 0 gives a mask that masks nothing. Never fails (out of memory aborts). */
sw_mask *sw_mask_create(const char *const *values, size_t n);

void sw_mask_destroy(sw_mask **mask_p);

/* How many distinct lines of secret values the mask looks for (0: it masks nothing,
 * and a caller may skip it altogether). */
size_t sw_mask_count(const sw_mask *mask);

/* Masks a one-off NUL-terminated string in place (a line of Slipway's own, an
 * error's reason): the text only gets shorter. Returns text. */
char *sw_mask_text(const sw_mask *mask, char *text);

/* The masking state of one output stream; mask is borrowed and must outlive it. */
sw_mask_stream *sw_mask_stream_create(const sw_mask *mask);

void sw_mask_stream_destroy(sw_mask_stream **stream_p);

/* Feeds the next piece of the stream's output: len bytes of text (no '\n' in it;
 * NULL when len is 0), line_ends true when the piece is the last of its line.
 * Sets *out and *out_len to the masked text to hand over now: NUL-terminated, owned
 * by the stream, valid until the next call on it. Returns true when it is to be
 * handed over as a line (a piece of one): when *out_len > 0, or when the line ends
 * and nothing of it was handed over yet (an empty line stays a line). Returns false
 * when the whole piece is held back: it could still be the start of a secret. */
bool sw_mask_stream_feed(sw_mask_stream *stream, const char *text, size_t len, bool line_ends,
                         const char **out, size_t *out_len);

/* Ends the output: hands over what is held back, as sw_mask_stream_feed with an
 * empty piece that ends the line would, but returns true only when *out_len > 0
 * (no empty line is made up). Call it for each stream when a step's output ends:
 * its last piece need not have ended a line. The stream is then ready for new
 * output. */
bool sw_mask_stream_flush(sw_mask_stream *stream, const char **out, size_t *out_len);

#endif
