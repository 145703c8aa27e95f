/* record.c - the notifier's LMDB store (see record.h). */
#include "actors/notifier/record.h"

#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/core/lmdb.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ID 64 /* build ids come off the bus: longer ones are never stored */
#define VERSION 1
#define HEADER_LEN 18 /* version, kind, attempt (4), log_seq (4), touched_ms (8) */

struct sw_records {
    MDB_env *env;
    MDB_dbi builds; /* build id -> header + packed BuildRecord */
    MDB_dbi meta;   /* "seq" -> uint64 */
    uint64_t seq;
};

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "notifier store: %s: %s", what, mdb_strerror(rc));
}

void sw_record_init(sw_record *r)
{
    memset(r, 0, sizeof(*r));
    slipway__build_record__init(&r->rec);
}

void sw_record_clear(sw_record *r)
{
    sw_build_record_clear(&r->rec);
    sw_record_init(r);
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void *encode(const sw_record *r, size_t *len_out)
{
    size_t plen = protobuf_c_message_get_packed_size(&r->rec.base);
    unsigned char *buf = sw_calloc(HEADER_LEN + plen, 1);
    buf[0] = VERSION;
    buf[1] = (unsigned char)r->settled.kind;
    put_be(buf + 2, r->settled.attempt, 4);
    put_be(buf + 6, r->log_seq, 4);
    put_be(buf + 10, (uint64_t)r->touched_ms, 8);
    protobuf_c_message_pack(&r->rec.base, buf + HEADER_LEN);
    *len_out = HEADER_LEN + plen;
    return buf;
}

static int decode(sw_record *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    Slipway__BuildRecord *rec;
    if (len < HEADER_LEN || p[0] != VERSION || p[1] > SW_STATUS_CANCELLED) {
        return sw_error_set(SW_EINVALID, "notifier store: a record in an unknown format");
    }
    rec = slipway__build_record__unpack(NULL, len - HEADER_LEN, p + HEADER_LEN);
    if (rec == NULL) {
        return sw_error_set(SW_EINVALID, "notifier store: a record that does not unpack");
    }
    sw_record_init(out);
    sw_build_record_copy(&out->rec, rec);
    slipway__build_record__free_unpacked(rec, NULL);
    out->settled.kind = (sw_status_kind)p[1];
    out->settled.attempt = (uint32_t)get_be(p + 2, 4);
    out->log_seq = (uint32_t)get_be(p + 6, 4);
    out->touched_ms = (int64_t)get_be(p + 10, 8);
    return 0;
}

int sw_records_open(sw_records **out, const char *dir)
{
    static const char *const tables[] = {"builds", "meta", NULL};
    MDB_dbi dbis[2];
    sw_records *s = sw_calloc(1, sizeof(*s));
    MDB_txn *txn = NULL;
    MDB_val key = {3, "seq"}, val;
    int rc, error;

    if ((error = sw_lmdb_open(&s->env, "notifier record", dir, (size_t)1 << 30, tables, dbis)) <
        0) {
        free(s);
        return error;
    }
    s->builds = dbis[0];
    s->meta = dbis[1];
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
        error = lmdb_error(rc, "read");
        goto fail;
    }
    if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == sizeof(uint64_t)) {
        s->seq = get_be(val.mv_data, 8);
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        error = lmdb_error(rc, "commit");
        goto fail;
    }
    *out = s;
    return 0;

fail:
    if (s->env) {
        mdb_env_close(s->env);
    }
    free(s);
    return error;
}

void sw_records_destroy(sw_records **store_p)
{
    if (store_p == NULL || *store_p == NULL) {
        return;
    }
    mdb_env_close((*store_p)->env);
    free(*store_p);
    *store_p = NULL;
}

uint64_t sw_records_seq(const sw_records *store)
{
    return store->seq;
}

static bool valid_id(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) <= MAX_ID;
}

int sw_records_get(sw_records *store, const char *build_id, sw_record *out)
{
    MDB_txn *txn;
    MDB_val key, val;
    int rc, error;

    if (!valid_id(build_id)) {
        return sw_error_set(SW_ENOTFOUND, "no record of a build with that id");
    }
    key.mv_size = strlen(build_id);
    key.mv_data = (void *)build_id;
    if ((rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    rc = mdb_get(txn, store->builds, &key, &val);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return sw_error_set(SW_ENOTFOUND, "no record of build %s", build_id);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "get");
    }
    error = decode(out, val.mv_data, val.mv_size);
    mdb_txn_abort(txn);
    return error;
}

static int put_seq(sw_records *store, MDB_txn *txn, uint64_t seq)
{
    unsigned char buf[8];
    MDB_val key = {3, "seq"}, val = {8, buf};
    put_be(buf, seq, 8);
    return mdb_put(txn, store->meta, &key, &val, 0);
}

int sw_records_put(sw_records *store, const sw_record *r, uint64_t seq)
{
    MDB_txn *txn;
    MDB_val key, val;
    size_t len;
    void *buf;
    int rc;

    if (!valid_id(r->rec.build_id)) {
        return sw_error_set(SW_EINVALID, "notifier store: a build id of 1 to %d characters",
                            MAX_ID);
    }
    key.mv_size = strlen(r->rec.build_id);
    key.mv_data = r->rec.build_id;
    buf = encode(r, &len);
    val.mv_size = len;
    val.mv_data = buf;
    if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn)) != 0) {
        free(buf);
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_put(txn, store->builds, &key, &val, 0)) != 0 ||
        (seq != 0 && (rc = put_seq(store, txn, seq)) != 0)) {
        mdb_txn_abort(txn);
        free(buf);
        return lmdb_error(rc, "put");
    }
    free(buf);
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "commit");
    }
    if (seq != 0) {
        store->seq = seq;
    }
    return 0;
}

int sw_records_set_seq(sw_records *store, uint64_t seq)
{
    MDB_txn *txn;
    int rc;
    if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((rc = put_seq(store, txn, seq)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "put");
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "commit");
    }
    store->seq = seq;
    return 0;
}

int sw_records_scan(sw_records *store, bool (*fn)(const sw_record *r, void *closure), void *closure)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;

    if ((rc = mdb_txn_begin(store->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((rc = mdb_cursor_open(txn, store->builds, &cur)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        sw_record r;
        bool drop = true;
        if (decode(&r, val.mv_data, val.mv_size) == 0) {
            drop = fn(&r, closure);
            sw_record_clear(&r);
        }
        if (drop && (rc = mdb_cursor_del(cur, 0)) != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "scan");
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "commit");
    }
    return 0;
}
