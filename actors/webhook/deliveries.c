/*
 * deliveries.c - the delivery record (see deliveries.h).
 *
 * Two tables in one environment: "ids" maps a request id to the time it was
 * accepted (8 bytes big-endian), "by_time" holds time + id with no value, so
 * that pruning walks the oldest first and never scans the whole record.
 */
#include "actors/webhook/deliveries.h"

#include "runtime/core/error.h"
#include "runtime/core/lmdb.h"
#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ID 256

struct sw_deliveries {
    MDB_env *env;
    MDB_dbi ids;
    MDB_dbi by_time;
};

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "delivery record: %s: %s", what, mdb_strerror(rc));
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

int sw_deliveries_open(sw_deliveries **out, const char *dir)
{
    static const char *const tables[] = {"ids", "by_time", NULL};
    sw_deliveries *d = sw_calloc(1, sizeof(*d));
    MDB_dbi dbis[2];
    int error;

    *out = NULL;
    if ((error = sw_lmdb_open(&d->env, "delivery record", dir, (size_t)4 << 30, tables, dbis)) <
        0) {
        free(d);
        return error;
    }
    d->ids = dbis[0];
    d->by_time = dbis[1];
    *out = d;
    return 0;
}

void sw_deliveries_close(sw_deliveries **d_p)
{
    if (d_p == NULL || *d_p == NULL) {
        return;
    }
    mdb_env_close((*d_p)->env);
    free(*d_p);
    *d_p = NULL;
}

static int check_id(const char *request_id)
{
    size_t n = strlen(request_id);
    if (n == 0 || n > MAX_ID) {
        return sw_error_set(SW_EINVALID, "delivery record: request id of %zu bytes (1 to %d)", n,
                            MAX_ID);
    }
    return 0;
}

int sw_deliveries_seen(sw_deliveries *d, const char *request_id, int64_t *at_ms_out)
{
    MDB_txn *txn = NULL;
    MDB_val key = {strlen(request_id), (void *)request_id}, val;
    int rc, error;

    if ((error = check_id(request_id)) < 0) {
        return error;
    }
    if ((rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn)) != 0) {
        return lmdb_error(rc, "read");
    }
    rc = mdb_get(txn, d->ids, &key, &val);
    if (rc == 0 && val.mv_size == 8 && at_ms_out != NULL) {
        *at_ms_out = (int64_t)get_be64(val.mv_data);
    }
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return lmdb_error(rc, "read");
    }
    return rc == 0;
}

int sw_deliveries_remember(sw_deliveries *d, const char *request_id, int64_t at_ms)
{
    unsigned char when[8], tkey[8 + MAX_ID];
    size_t n = strlen(request_id);
    MDB_val key = {n, (void *)request_id}, val = {8, when};
    MDB_val k2 = {8 + n, tkey}, empty = {0, NULL};
    MDB_txn *txn = NULL;
    int rc, error;

    if ((error = check_id(request_id)) < 0) {
        return error;
    }
    put_be64(when, (uint64_t)at_ms);
    memcpy(tkey, when, 8);
    memcpy(tkey + 8, request_id, n);
    if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "write");
    }
    rc = mdb_put(txn, d->ids, &key, &val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc != 0 || (rc = mdb_put(txn, d->by_time, &k2, &empty, 0)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "write");
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "write");
    }
    return 0;
}

int sw_deliveries_prune(sw_deliveries *d, int64_t before_ms, size_t max)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc, count = 0;

    if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "prune");
    }
    if ((rc = mdb_cursor_open(txn, d->by_time, &cur)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "prune");
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && (size_t)count < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8 || (int64_t)get_be64(k.mv_data) >= before_ms) {
            break;
        }
        MDB_val id = {k.mv_size - 8, (unsigned char *)k.mv_data + 8};
        int rc2 = mdb_del(txn, d->ids, &id, NULL);
        if ((rc2 != 0 && rc2 != MDB_NOTFOUND) || (rc2 = mdb_cursor_del(cur, 0)) != 0) {
            rc = rc2;
            break;
        }
        count++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "prune");
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "prune");
    }
    return count;
}

size_t sw_deliveries_count(sw_deliveries *d)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    size_t n = 0;
    if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_stat(txn, d->ids, &st) == 0) {
            n = st.ms_entries;
        }
        mdb_txn_abort(txn);
    }
    return n;
}
