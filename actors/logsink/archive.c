/* archive.c - the LMDB log archive (see archive.h). */
#include "actors/logsink/archive.h"

#include "runtime/core/error.h"
#include "runtime/core/lmdb.h"
#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ID 64

struct sw_archive {
    MDB_env *env;
    MDB_dbi tables[2];
};

#define CHUNKS(a) ((a)->tables[0])   /* (build, attempt, seq) -> packed LogChunk */
#define ATTEMPTS(a) ((a)->tables[1]) /* (build, attempt) -> first stream seq, 8 bytes BE */

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "log archive: %s: %s", what, mdb_strerror(rc));
}

static size_t put_be(unsigned char *buf, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        buf[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
    return (size_t)bytes;
}

static uint64_t get_be(const unsigned char *buf, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | buf[i];
    }
    return v;
}

/* build id, NUL, attempt (4 bytes big-endian) */
static size_t make_attempt_key(unsigned char *buf, const char *build_id, uint32_t attempt)
{
    size_t n = strlen(build_id);
    memcpy(buf, build_id, n);
    buf[n++] = '\0';
    return n + put_be(buf + n, attempt, 4);
}

/* build id, NUL, attempt (4 bytes big-endian), seq (8 bytes big-endian) */
static size_t make_key(unsigned char *buf, const char *build_id, uint32_t attempt, uint64_t seq)
{
    size_t n = make_attempt_key(buf, build_id, attempt);
    return n + put_be(buf + n, seq, 8);
}

bool sw_archive_valid_id(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) <= MAX_ID;
}

int sw_archive_open(sw_archive **out, const char *dir)
{
    static const char *const tables[] = {"chunks", "attempts", NULL};
    sw_archive *a = sw_calloc(1, sizeof(*a));
    int error = sw_lmdb_open(&a->env, "log archive", dir, (size_t)16 << 30, tables, a->tables);
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

/* True when a later attempt of e's build began before e was sent (see archive.h). */
static int is_stale(MDB_cursor *attempts, const sw_archive_entry *e, bool *stale_out)
{
    unsigned char kbuf[MAX_ID + 8];
    size_t idlen = strlen(e->build_id);
    MDB_val key, val;
    int rc;

    *stale_out = false;
    if (e->stream_seq == 0 || e->attempt == UINT32_MAX) {
        return 0; /* nothing can fence it */
    }
    key.mv_data = kbuf;
    key.mv_size = make_attempt_key(kbuf, e->build_id, e->attempt + 1);
    for (rc = mdb_cursor_get(attempts, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(attempts, &key, &val, MDB_NEXT)) {
        if (key.mv_size != idlen + 5 || memcmp(key.mv_data, e->build_id, idlen + 1) != 0) {
            return 0; /* past the build's attempts */
        }
        if (val.mv_size == 8 && get_be(val.mv_data, 8) < e->stream_seq) {
            *stale_out = true;
            return 0;
        }
    }
    return rc == MDB_NOTFOUND ? 0 : lmdb_error(rc, "read attempts");
}

/* Records e's stream seq as its attempt's first unless an earlier one is known. */
static int note_attempt(MDB_txn *txn, MDB_dbi attempts, const sw_archive_entry *e)
{
    unsigned char kbuf[MAX_ID + 8], vbuf[8];
    MDB_val key = {make_attempt_key(kbuf, e->build_id, e->attempt), kbuf}, val;
    int rc;

    if (e->stream_seq == 0) {
        return 0;
    }
    rc = mdb_get(txn, attempts, &key, &val);
    if (rc == 0 && val.mv_size == 8 && get_be(val.mv_data, 8) <= e->stream_seq) {
        return 0;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return lmdb_error(rc, "read attempts");
    }
    put_be(vbuf, e->stream_seq, 8);
    val.mv_size = sizeof(vbuf);
    val.mv_data = vbuf;
    if ((rc = mdb_put(txn, attempts, &key, &val, 0)) != 0) {
        return lmdb_error(rc, "put attempt");
    }
    return 0;
}

/* LogChunk.stream_seq (field 8, a varint) as protobuf encodes it, into buf
 * (11 bytes at most); 0: nothing (the field's default). Appended to a chunk as
 * it came, it reads back as that chunk with stream_seq set: a field given
 * twice takes its last value, so a sender's own stream_seq never counts. */
static size_t stream_seq_field(unsigned char *buf, uint64_t seq)
{
    size_t n = 0;
    if (seq == 0) {
        return 0;
    }
    buf[n++] = (8 << 3) | 0;
    while (seq >= 0x80) {
        buf[n++] = (unsigned char)(seq | 0x80);
        seq >>= 7;
    }
    buf[n++] = (unsigned char)seq;
    return n;
}

int sw_archive_put_batch(sw_archive *archive, sw_archive_entry *entries, size_t n)
{
    unsigned char kbuf[MAX_ID + 16];
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc, error = -1;

    for (size_t i = 0; i < n; i++) {
        if (!sw_archive_valid_id(entries[i].build_id)) {
            return sw_error_set(SW_EINVALID, "log chunk with a bad build id");
        }
        entries[i].stale = false;
    }
    if ((rc = mdb_txn_begin(archive->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_cursor_open(txn, ATTEMPTS(archive), &cur)) != 0) {
        error = lmdb_error(rc, "cursor");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        sw_archive_entry *e = &entries[i];
        MDB_val key = {make_key(kbuf, e->build_id, e->attempt, e->seq), kbuf};
        unsigned char suffix[11];
        size_t nsuffix = stream_seq_field(suffix, e->stream_seq);
        MDB_val val = {e->len + nsuffix, NULL};
        if ((error = is_stale(cur, e, &e->stale)) < 0) {
            goto cleanup;
        }
        if (e->stale) {
            continue;
        }
        if ((error = note_attempt(txn, ATTEMPTS(archive), e)) < 0) {
            goto cleanup;
        }
        if ((rc = mdb_put(txn, CHUNKS(archive), &key, &val, MDB_RESERVE)) != 0) {
            error = lmdb_error(rc, "put");
            goto cleanup;
        }
        memcpy(val.mv_data, e->packed, e->len);
        memcpy((unsigned char *)val.mv_data + e->len, suffix, nsuffix);
    }
    mdb_cursor_close(cur);
    cur = NULL;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    error = rc == 0 ? 0 : lmdb_error(rc, "commit");

cleanup:
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    return error;
}

int sw_archive_put(sw_archive *archive, const Slipway__LogChunk *chunk, const void *packed,
                   size_t len)
{
    sw_archive_entry e = {.build_id = chunk->build_id, .attempt = chunk->attempt,
                          .seq = chunk->seq, .packed = packed, .len = len};
    return sw_archive_put_batch(archive, &e, 1);
}

int sw_archive_scan(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, sw_archive_take_fn take, void *arg, bool *more_out)
{
    unsigned char kbuf[MAX_ID + 16];
    size_t idlen = strlen(build_id);
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;

    *more_out = false;
    if (idlen == 0 || idlen > MAX_ID) {
        return sw_error_set(SW_EINVALID, "bad build id '%s'", build_id);
    }
    if (after_seq == UINT64_MAX && after_attempt == UINT32_MAX) {
        return 0; /* after the verdict: nothing */
    }
    /* the first key after (after_attempt, after_seq) */
    key.mv_data = kbuf;
    if (after_seq == UINT64_MAX) { /* the next attempt's first chunk */
        key.mv_size = make_key(kbuf, build_id, after_attempt + 1, 0);
    } else {
        key.mv_size = make_key(kbuf, build_id, after_attempt, after_seq + 1);
    }
    if ((rc = mdb_txn_begin(archive->env, NULL, MDB_RDONLY, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_cursor_open(txn, CHUNKS(archive), &cur)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != idlen + 13 || memcmp(key.mv_data, build_id, idlen) != 0 ||
            ((unsigned char *)key.mv_data)[idlen] != '\0') {
            break;
        }
        if (!take(arg, val.mv_data, val.mv_size)) {
            *more_out = true;
            break;
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

typedef struct unpacked {
    Slipway__LogChunk **chunks;
    size_t n, cap, bytes, max_bytes;
} unpacked;

static bool take_unpacked(void *arg, const void *packed, size_t len)
{
    unpacked *u = arg;
    if (u->n > 0 && u->bytes + len > u->max_bytes) {
        return false;
    }
    Slipway__LogChunk *c = slipway__log_chunk__unpack(NULL, len, packed);
    if (c == NULL) {
        return true; /* skipped */
    }
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 16;
        u->chunks = sw_realloc(u->chunks, u->cap * sizeof(*u->chunks));
    }
    u->chunks[u->n++] = c;
    u->bytes += len;
    return true;
}

int sw_archive_read(sw_archive *archive, const char *build_id, uint32_t after_attempt,
                    uint64_t after_seq, size_t max_bytes, Slipway__LogChunk ***chunks_out,
                    size_t *n_out, bool *more_out)
{
    unpacked u = {.max_bytes = max_bytes};
    int error = sw_archive_scan(archive, build_id, after_attempt, after_seq, take_unpacked, &u,
                                more_out);
    if (error < 0) {
        sw_archive_free(u.chunks, u.n);
        return error;
    }
    *chunks_out = u.chunks;
    *n_out = u.n;
    return 0;
}

void sw_archive_free(Slipway__LogChunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slipway__log_chunk__free_unpacked(chunks[i], NULL);
    }
    free(chunks);
}
