/* archive.c - the LMDB log archive (see archive.h). */
#include "actors/logsink/archive.h"

#include "runtime/error.h"
#include "runtime/lmdb.h"
#include "runtime/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ID 64

struct sw_archive {
    MDB_env *env;
    MDB_dbi chunks;
};

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "log archive: %s: %s", what, mdb_strerror(rc));
}

/* build id, NUL, attempt (4 bytes big-endian), seq (8 bytes big-endian) */
static size_t make_key(unsigned char *buf, const char *build_id, uint32_t attempt, uint64_t seq)
{
    size_t n = strlen(build_id);
    memcpy(buf, build_id, n);
    buf[n++] = '\0';
    for (int i = 0; i < 4; i++) {
        buf[n++] = (unsigned char)(attempt >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
        buf[n++] = (unsigned char)(seq >> (56 - 8 * i));
    }
    return n;
}

int sw_archive_open(sw_archive **out, const char *dir)
{
    static const char *const tables[] = {"chunks", NULL};
    sw_archive *a = sw_calloc(1, sizeof(*a));
    int error = sw_lmdb_open(&a->env, "log archive", dir, (size_t)16 << 30, tables, &a->chunks);
    if (error < 0) {
        free(a);
        return error;
    }
    *out = a;
    return 0;
}

void sw_archive_destroy(sw_archive **archive_p)
{
    if (archive_p == NULL || *archive_p == NULL) {
        return;
    }
    mdb_env_close((*archive_p)->env);
    free(*archive_p);
    *archive_p = NULL;
}

int sw_archive_put(sw_archive *archive, const Slipway__LogChunk *chunk, const void *packed,
                   size_t len)
{
    unsigned char kbuf[MAX_ID + 16];
    MDB_txn *txn;
    MDB_val key, val = {len, (void *)packed};
    int rc;

    if (chunk->build_id[0] == '\0' || strlen(chunk->build_id) > MAX_ID) {
        return sw_error_set(SW_EINVALID, "log chunk with a bad build id");
    }
    key.mv_data = kbuf;
    key.mv_size = make_key(kbuf, chunk->build_id, chunk->attempt, chunk->seq);
    if ((rc = mdb_txn_begin(archive->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_put(txn, archive->chunks, &key, &val, 0)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "put");
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "commit");
    }
    return 0;
}

int sw_archive_read(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, size_t max_bytes, Slipway__LogChunk ***chunks_out,
                    size_t *n_out, bool *more_out)
{
    unsigned char kbuf[MAX_ID + 16];
    size_t idlen = strlen(build_id), n = 0, cap = 16, bytes = 0;
    Slipway__LogChunk **chunks;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;

    *more_out = false;
    if (idlen == 0 || idlen > MAX_ID) {
        return sw_error_set(SW_EINVALID, "bad build id '%s'", build_id);
    }
    /* the first key after (after_attempt, after_seq) */
    key.mv_data = kbuf;
    if (after_seq == UINT64_MAX) { /* the next attempt's first chunk */
        key.mv_size = make_key(kbuf, build_id, after_attempt + 1, 0);
    } else {
        key.mv_size = make_key(kbuf, build_id, after_attempt, after_seq + 1);
    }
    chunks = sw_calloc(cap, sizeof(*chunks));
    if ((rc = mdb_txn_begin(archive->env, NULL, MDB_RDONLY, &txn)) != 0) {
        free(chunks);
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_cursor_open(txn, archive->chunks, &cur)) != 0) {
        mdb_txn_abort(txn);
        free(chunks);
        return lmdb_error(rc, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != idlen + 13 || memcmp(key.mv_data, build_id, idlen) != 0 ||
            ((unsigned char *)key.mv_data)[idlen] != '\0') {
            break;
        }
        if (n > 0 && bytes + val.mv_size > max_bytes) {
            *more_out = true;
            break;
        }
        Slipway__LogChunk *c = slipway__log_chunk__unpack(NULL, val.mv_size, val.mv_data);
        if (c == NULL) {
            continue;
        }
        if (n == cap) {
            cap *= 2;
            chunks = sw_realloc(chunks, cap * sizeof(*chunks));
        }
        chunks[n++] = c;
        bytes += val.mv_size;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    *chunks_out = chunks;
    *n_out = n;
    return 0;
}

void sw_archive_free(Slipway__LogChunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slipway__log_chunk__free_unpacked(chunks[i], NULL);
    }
    free(chunks);
}
