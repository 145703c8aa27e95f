/*
 * archive.h - the log archive: every LogChunk of every build, in LMDB, keyed by
 * (build, attempt, seq) so a build's log reads back in order.
 */
#ifndef SW_ARCHIVE_H
#define SW_ARCHIVE_H

#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_archive sw_archive;

int sw_archive_open(sw_archive **out, const char *dir);
void sw_archive_destroy(sw_archive **archive_p);

/* Stores one chunk (the packed bytes as they came); committed when it returns 0.
 * Storing the same (build, attempt, seq) again replaces it. */
int sw_archive_put(sw_archive *archive, const Slipway__LogChunk *chunk, const void *packed,
                   size_t len);

/* The chunks of build_id after (after_attempt, after_seq), in order, up to about
 * max_bytes of them (at least one). *more is set when some were left. The caller
 * frees the array with sw_archive_free. */
int sw_archive_read(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, size_t max_bytes, Slipway__LogChunk ***chunks_out,
                    size_t *n_out, bool *more_out);
void sw_archive_free(Slipway__LogChunk **chunks, size_t n);

#endif
