/*
 * archive.h - the log archive: every LogChunk of every build, in LMDB, keyed by
 * (build, attempt, seq) so a build's log reads back in order.
 *
 * DESIGN
 * Chunks are written many to a transaction (sw_archive_put_batch): one commit,
 * and so one sync to disk, for a whole batch. A second, small table keeps per
 * (build, attempt) the first LOGS stream sequence seen of that attempt, to
 * fence a superseded attempt: a chunk of attempt a whose stream sequence is
 * above the first stream sequence of any attempt b > a of the same build was
 * sent after b had started (by a builder that lost the job) and is stale: it
 * is not stored. SW_ATTEMPT_VERDICT (the scheduler's verdict) is the highest
 * attempt of all, so it fences every real attempt after it.
 *
 * A chunk from the stream is stored as it came with its LOGS stream sequence
 * appended as LogChunk.stream_seq, so what the archive gives back says where
 * each chunk sat in LOGS (the web page's event ids; older chunks read 0).
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

/* True when id can name a build in the archive (1 to 64 bytes). */
bool sw_archive_valid_id(const char *id);

/* One chunk to store. packed (the bytes as they came) and build_id are borrowed. */
typedef struct sw_archive_entry {
    const char *build_id;
    uint32_t attempt;
    uint64_t seq;
    uint64_t stream_seq; /* its LOGS stream sequence; 0: not from the stream, never fenced */
    const void *packed;
    size_t len;
    bool stale;          /* out: fenced (see DESIGN), not stored */
} sw_archive_entry;

/* Stores the n entries in one transaction, in order (an entry sees the fences
 * of those before it), and sets each one's stale. Committed when it returns 0;
 * on an error nothing of the batch is stored. Storing the same (build, attempt,
 * seq) again replaces it. SW_EINVALID (nothing stored) for a bad build id. */
int sw_archive_put_batch(sw_archive *archive, sw_archive_entry *entries, size_t n);

/* Stores one chunk, never fenced (a batch of one with stream_seq 0). */
int sw_archive_put(sw_archive *archive, const Slipway__LogChunk *chunk, const void *packed,
                   size_t len);

/* The chunks of build_id after (after_attempt, after_seq), in order, up to about
 * max_bytes of them (at least one). *more is set when some were left. The caller
 * frees the array with sw_archive_free. */
int sw_archive_read(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, size_t max_bytes, Slipway__LogChunk ***chunks_out,
                    size_t *n_out, bool *more_out);
void sw_archive_free(Slipway__LogChunk **chunks, size_t n);

/* The same walk without unpacking: calls take(arg, packed, len) for each chunk
 * of build_id after (after_attempt, after_seq) in order, with the bytes as
 * stored (borrowed, valid during the call only), until take returns false (that
 * chunk is not taken; *more is set) or the build's chunks end. */
typedef bool (*sw_archive_take_fn)(void *arg, const void *packed, size_t len);
int sw_archive_scan(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, sw_archive_take_fn take, void *arg, bool *more_out);

#endif
