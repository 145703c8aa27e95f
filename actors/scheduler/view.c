/* view.c - the scheduler's LMDB view of builds (see view.h). */
#include "actors/scheduler/view.h"

#include "actors/scheduler/buildmetrics.h"

#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/core/lmdb.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ID 64 /* build ids come off the bus: longer ones are refused */
#define SW_VIEW_BATCH 512 /* events in one transaction at most */

struct sw_view {
    MDB_env *env;
    MDB_dbi builds; /* build id -> BuildRecord */
    MDB_dbi order;  /* created_ms (8 bytes, big-endian) + build id -> "" */
    MDB_dbi meta;   /* "seq" -> uint64 */
    MDB_dbi lanes;  /* project \0 lane \0 order key -> "": builds not ended, per lane */
    uint64_t seq;
    /* builds waiting (not started, not ended) per tenant: counted at open,
     * kept by sw_view_apply; a tenant's entry stays once made */
    struct waiting {
        char *tenant;
        uint32_t n;
    } *waiting;
    size_t nwaiting;
    /* the open batch: events applied, not committed yet (sw_view_flush), and
     * each of them packed, to be applied again should the batch be lost */
    MDB_txn *batch;
    bool recovering; /* applying a lost batch again: its builds were counted */
    struct pending {
        uint64_t seq;
        void *bytes;
        size_t len;
    } *pending;
    size_t npending, cpending;
};

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "scheduler view: %s: %s", what, mdb_strerror(rc));
}

/* Received, queued, placed or to be placed again: not started, not ended. */
static bool is_waiting(int state)
{
    return state == SLIPWAY__BUILD_STATE__RECEIVED || state == SLIPWAY__BUILD_STATE__QUEUED ||
           state == SLIPWAY__BUILD_STATE__DISPATCHED ||
           state == SLIPWAY__BUILD_STATE__RESCHEDULING;
}

static uint32_t *waiting_of(sw_view *view, const char *tenant, bool make)
{
    for (size_t i = 0; i < view->nwaiting; i++) {
        if (strcmp(view->waiting[i].tenant, tenant) == 0) {
            return &view->waiting[i].n;
        }
    }
    if (!make) {
        return NULL;
    }
    view->waiting = sw_realloc(view->waiting, (view->nwaiting + 1) * sizeof(*view->waiting));
    view->waiting[view->nwaiting].tenant = sw_strdup(tenant);
    view->waiting[view->nwaiting].n = 0;
    return &view->waiting[view->nwaiting++].n;
}

/* One pass over every record: the waiting builds per tenant, and the builds
 * in each state of the metrics' gauge (buildmetrics.h). */
static int count_waiting(sw_view *view, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;

    sw_buildmetrics_reset();
    if ((rc = mdb_cursor_open(txn, view->builds, &cur)) != 0) {
        return lmdb_error(rc, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        Slipway__BuildRecord *rec = slipway__build_record__unpack(NULL, val.mv_size, val.mv_data);
        if (rec != NULL && is_waiting(rec->state)) {
            (*waiting_of(view, rec->tenant, true))++;
        }
        if (rec != NULL) {
            sw_buildmetrics_moved(NULL, SLIPWAY__BUILD_STATE__UNKNOWN, rec->tier, rec->state);
        }
        slipway__build_record__free_unpacked(rec, NULL);
    }
    mdb_cursor_close(cur);
    return 0;
}


int sw_view_open(sw_view **out, const char *dir)
{
    static const char *const tables[] = {"builds", "order", "meta", "lanes", NULL};
    MDB_dbi dbis[4];
    sw_view *view = calloc(1, sizeof(*view));
    MDB_txn *txn = NULL;
    MDB_val key = {3, "seq"}, val;
    int rc, error;

    if (view == NULL) {
        abort();
    }
    if ((error = sw_lmdb_open(&view->env, "scheduler view", dir, (size_t)4 << 30, tables,
                              dbis)) < 0) {
        free(view);
        return error;
    }
    view->builds = dbis[0];
    view->order = dbis[1];
    view->meta = dbis[2];
    view->lanes = dbis[3];
    if ((rc = mdb_txn_begin(view->env, NULL, 0, &txn)) != 0) {
        error = lmdb_error(rc, "read");
        goto fail;
    }
    if (mdb_get(txn, view->meta, &key, &val) == 0 && val.mv_size == sizeof(uint64_t)) {
        memcpy(&view->seq, val.mv_data, sizeof(uint64_t));
    }
    if ((error = count_waiting(view, txn)) < 0) {
        mdb_txn_abort(txn);
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        error = lmdb_error(rc, "commit");
        goto fail;
    }
    *out = view;
    return 0;

fail:
    if (view->env) {
        mdb_env_close(view->env);
    }
    free(view);
    return error;
}

void sw_view_destroy(sw_view **view_p)
{
    if (view_p == NULL || *view_p == NULL) {
        return;
    }
    (void)sw_view_flush(*view_p);
    free((*view_p)->pending);
    mdb_env_close((*view_p)->env);
    for (size_t i = 0; i < (*view_p)->nwaiting; i++) {
        free((*view_p)->waiting[i].tenant);
    }
    free((*view_p)->waiting);
    free(*view_p);
    *view_p = NULL;
}

uint64_t sw_view_seq(sw_view *view)
{
    return view->seq;
}

uint32_t sw_view_waiting(sw_view *view, const char *tenant)
{
    uint32_t *n = waiting_of(view, tenant, false);
    return n != NULL ? *n : 0;
}

static void order_key(unsigned char *buf, int64_t created_ms, const char *id, size_t *len)
{
    uint64_t ms = (uint64_t)created_ms;
    for (int i = 0; i < 8; i++) {
        buf[i] = (unsigned char)(ms >> (56 - 8 * i));
    }
    size_t idlen = strlen(id);
    memcpy(buf + 8, id, idlen);
    *len = 8 + idlen;
}

/* The lanes key of rec (0: it is in no lane). */
static size_t lane_key(unsigned char *buf, size_t n, const Slipway__BuildRecord *rec)
{
    char lane[200];
    size_t plen = strlen(rec->project), llen, olen;

    sw_build_lane(lane, sizeof(lane), rec);
    llen = strlen(lane);
    if (llen == 0 || plen + llen + 2 + 8 + MAX_ID > n) {
        return 0;
    }
    memcpy(buf, rec->project, plen + 1);
    memcpy(buf + plen + 1, lane, llen + 1);
    order_key(buf + plen + llen + 2, rec->created_ms, rec->build_id, &olen);
    return plen + llen + 2 + olen;
}

/* Keeps rec's entry in the lanes table: there while it has not ended. */
static int update_lane(sw_view *view, MDB_txn *txn, const Slipway__BuildRecord *rec)
{
    unsigned char kbuf[512];
    MDB_val k = {lane_key(kbuf, sizeof(kbuf), rec), kbuf}, v = {0, ""};
    int rc;

    if (k.mv_size == 0) {
        return 0;
    }
    if (sw_state_is_final(rec->state)) {
        rc = mdb_del(txn, view->lanes, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    } else {
        rc = mdb_put(txn, view->lanes, &k, &v, 0);
    }
    return rc == 0 ? 0 : lmdb_error(rc, "lanes");
}

/* The record of key in txn into rec (left empty when there is none). */
static void load_record(sw_view *view, MDB_txn *txn, MDB_val *key, Slipway__BuildRecord *rec)
{
    MDB_val val;
    if (mdb_get(txn, view->builds, key, &val) == 0) {
        Slipway__BuildRecord *stored =
            slipway__build_record__unpack(NULL, val.mv_size, val.mv_data);
        if (stored != NULL) {
            sw_build_record_copy(rec, stored);
            slipway__build_record__free_unpacked(stored, NULL);
        }
    }
}

/* Applies ev (at seq, 0: none) in txn and keeps view->seq and the waiting
 * counts. *broken: an LMDB call failed, so txn must be aborted. */
static int apply_in(sw_view *view, MDB_txn *txn, const Slipway__BuildEvent *ev, uint64_t seq,
                    bool *broken)
{
    MDB_val key = {strlen(ev->build_id), ev->build_id}, val;
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    void *packed = NULL;
    size_t len;
    int rc, result;
    bool was_waiting;
    int was;
    char was_tier[128];

    *broken = true;
    load_record(view, txn, &key, &rec);
    was = rec.state;
    snprintf(was_tier, sizeof(was_tier), "%s", rec.tier != NULL ? rec.tier : "");
    was_waiting = is_waiting(rec.state);
    result = sw_build_apply(&rec, ev);
    if (result == SW_APPLY_CHANGED) {
        packed = sw_wire_pack(&rec.base, &len);
        val.mv_data = packed;
        val.mv_size = len;
        if ((rc = mdb_put(txn, view->builds, &key, &val, 0)) != 0) {
            result = lmdb_error(rc, "put build");
            goto done;
        }
        if (ev->kind == SLIPWAY__EVENT_KIND__CREATED) {
            unsigned char okey[8 + MAX_ID];
            size_t olen;
            order_key(okey, rec.created_ms, rec.build_id, &olen);
            MDB_val k = {olen, okey}, v = {0, ""};
            if ((rc = mdb_put(txn, view->order, &k, &v, 0)) != 0) {
                result = lmdb_error(rc, "put order");
                goto done;
            }
        }
        if ((ev->kind == SLIPWAY__EVENT_KIND__CREATED || sw_state_is_final(rec.state)) &&
            (rc = update_lane(view, txn, &rec)) < 0) {
            result = rc;
            goto done;
        }
    }
    if (seq != 0) {
        MDB_val mk = {3, "seq"}, mv = {sizeof(seq), &seq};
        if ((rc = mdb_put(txn, view->meta, &mk, &mv, 0)) != 0) {
            result = lmdb_error(rc, "put seq");
            goto done;
        }
        view->seq = seq;
    }
    *broken = false;
    if (result == SW_APPLY_CHANGED && was_waiting != is_waiting(rec.state) &&
        rec.tenant != NULL && rec.tenant[0] != '\0') {
        uint32_t *n = waiting_of(view, rec.tenant, true);
        if (was_waiting) {
            *n -= *n > 0 ? 1 : 0;
        } else {
            (*n)++;
        }
    }
    if (result == SW_APPLY_CHANGED) {
        sw_buildmetrics_moved(was_tier, was, rec.tier, rec.state);
        if (!sw_state_is_final(was) && sw_state_is_final(rec.state) && !view->recovering) {
            sw_buildmetrics_finished(&rec);
        }
    }
    /* an illegal event is consumed (its seq is recorded) but reported */
done:
    free(packed);
    sw_build_record_clear(&rec);
    return result;
}

/* The committed state again (seq, waiting counts) after a batch was lost. */
static void reread(sw_view *view)
{
    MDB_txn *txn;
    MDB_val key = {3, "seq"}, val;

    view->seq = 0;
    for (size_t i = 0; i < view->nwaiting; i++) {
        view->waiting[i].n = 0;
    }
    if (mdb_txn_begin(view->env, NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }
    if (mdb_get(txn, view->meta, &key, &val) == 0 && val.mv_size == sizeof(uint64_t)) {
        memcpy(&view->seq, val.mv_data, sizeof(uint64_t));
    }
    (void)count_waiting(view, txn);
    mdb_txn_abort(txn);
}

static void pending_clear(sw_view *view)
{
    for (size_t i = 0; i < view->npending; i++) {
        free(view->pending[i].bytes);
    }
    view->npending = 0;
}

/* The batch is lost (an LMDB call or its commit failed): back to what is
 * committed, then its events again one transaction each, as they came; an
 * event that fails again is reported and skipped, as it would have been
 * without batching. Returns the first such error, or 0. */
static int recover(sw_view *view)
{
    int first = 0;

    if (view->batch != NULL) {
        mdb_txn_abort(view->batch);
        view->batch = NULL;
    }
    reread(view);
    view->recovering = true;
    for (size_t i = 0; i < view->npending; i++) {
        struct pending *p = &view->pending[i];
        Slipway__BuildEvent *ev = slipway__build_event__unpack(NULL, p->len, p->bytes);
        MDB_txn *txn = NULL;
        bool broken = true;
        int rc;
        if (ev == NULL || (p->seq != 0 && p->seq <= view->seq)) {
            slipway__build_event__free_unpacked(ev, NULL);
            continue;
        }
        if ((rc = mdb_txn_begin(view->env, NULL, 0, &txn)) != 0) {
            rc = lmdb_error(rc, "begin");
        } else if ((rc = apply_in(view, txn, ev, p->seq, &broken)) >= 0 || !broken) {
            int crc = mdb_txn_commit(txn);
            rc = crc == 0 ? 0 : lmdb_error(crc, "commit");
            txn = NULL;
        }
        if (txn != NULL) {
            mdb_txn_abort(txn);
        }
        if (rc < 0) {
            reread(view); /* what apply_in changed in memory did not land */
            first = first < 0 ? first : rc;
        }
        slipway__build_event__free_unpacked(ev, NULL);
    }
    view->recovering = false;
    pending_clear(view);
    return first;
}

int sw_view_flush(sw_view *view)
{
    int rc;

    if (view->batch == NULL) {
        return 0;
    }
    rc = mdb_txn_commit(view->batch);
    view->batch = NULL;
    if (rc != 0) {
        int error = lmdb_error(rc, "commit");
        int again = recover(view);
        return again < 0 ? again : error;
    }
    pending_clear(view);
    return 0;
}

int sw_view_apply(sw_view *view, const Slipway__BuildEvent *ev, uint64_t seq)
{
    int rc, result;
    bool broken;

    if (seq != 0 && seq <= view->seq) {
        return SW_APPLY_IGNORED;
    }
    if (ev->build_id == NULL || ev->build_id[0] == '\0' || strlen(ev->build_id) > MAX_ID) {
        return sw_error_set(SW_EINVALID, "event without a build id of 1 to %d characters",
                            MAX_ID);
    }
    if (view->batch == NULL && (rc = mdb_txn_begin(view->env, NULL, 0, &view->batch)) != 0) {
        view->batch = NULL;
        return lmdb_error(rc, "begin");
    }
    result = apply_in(view, view->batch, ev, seq, &broken);
    if (broken) {
        char why[512];
        snprintf(why, sizeof(why), "%s", sw_error_last());
        (void)recover(view);
        return sw_error_set(SW_EIO, "%s", why);
    }
    if (view->npending == view->cpending) {
        view->cpending = view->cpending ? view->cpending * 2 : 64;
        view->pending = sw_realloc(view->pending, view->cpending * sizeof(*view->pending));
    }
    struct pending *p = &view->pending[view->npending++];
    p->seq = seq;
    p->bytes = sw_wire_pack(&ev->base, &p->len);
    if (view->npending >= SW_VIEW_BATCH) {
        char why[512];
        snprintf(why, sizeof(why), "%s", sw_error_last());
        if ((rc = sw_view_flush(view)) < 0) {
            return rc;
        }
        if (result < 0) {
            sw_error_set(result, "%s", why);
        }
    }
    return result;
}

/* The batch when one is open (it sees what is not committed yet), else a
 * new read-only transaction that the caller aborts (*own). */
static int read_txn(sw_view *view, MDB_txn **txn, bool *own)
{
    int rc;
    if (view->batch != NULL) {
        *txn = view->batch;
        *own = false;
        return 0;
    }
    *own = true;
    if ((rc = mdb_txn_begin(view->env, NULL, MDB_RDONLY, txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    return 0;
}

int sw_view_get(sw_view *view, const char *build_id, Slipway__BuildRecord **out)
{
    MDB_txn *txn;
    bool own;
    MDB_val key = {strlen(build_id), (void *)build_id}, val;
    int rc, error = 0;

    if (key.mv_size == 0 || key.mv_size > MAX_ID) {
        return sw_error_set(SW_ENOTFOUND, "no build '%s'", build_id);
    }
    if ((rc = read_txn(view, &txn, &own)) < 0) {
        return rc;
    }
    rc = mdb_get(txn, view->builds, &key, &val);
    if (rc == MDB_NOTFOUND) {
        error = sw_error_set(SW_ENOTFOUND, "no build %s", build_id);
    } else if (rc != 0) {
        error = lmdb_error(rc, "get");
    } else if ((*out = slipway__build_record__unpack(NULL, val.mv_size, val.mv_data)) == NULL) {
        error = sw_error_set(SW_EIO, "scheduler view: record of %s is damaged", build_id);
    }
    if (own) {
        mdb_txn_abort(txn);
    }
    return error;
}

int sw_view_list(sw_view *view, const char *tenant, size_t limit, Slipway__BuildRecord ***out,
                 size_t *n_out)
{
    char next[SW_VIEW_CURSOR_MAX];
    sw_view_query q = {.tenant = tenant, .limit = limit};
    return sw_view_find(view, &q, out, n_out, next);
}

static bool matches(const Slipway__BuildRecord *rec, const sw_view_query *q)
{
    if (q->tenant != NULL && q->tenant[0] != '\0' && strcmp(rec->tenant, q->tenant) != 0) {
        return false;
    }
    if (q->project != NULL && q->project[0] != '\0' && strcmp(rec->project, q->project) != 0) {
        return false;
    }
    if (q->state != 0 && (int)rec->state != q->state) {
        return false;
    }
    return q->ref == NULL || q->ref[0] == '\0' ||
           strcmp(sw_ref_display(rec->ref), sw_ref_display(q->ref)) == 0;
}

/* "<created_ms>.<build id>" of an order key, and back. */
static void cursor_of(char *next, const MDB_val *key)
{
    const unsigned char *k = key->mv_data;
    uint64_t ms = 0;
    for (int i = 0; i < 8; i++) {
        ms = ms << 8 | k[i];
    }
    snprintf(next, SW_VIEW_CURSOR_MAX, "%llu.%.*s", (unsigned long long)ms,
             (int)(key->mv_size - 8), (const char *)k + 8);
}

static int parse_cursor(const char *cursor, unsigned char *buf, size_t *len)
{
    char *end = NULL;
    unsigned long long ms = strtoull(cursor, &end, 10);
    if (cursor[0] < '0' || cursor[0] > '9' || *end != '.' || end[1] == '\0' ||
        strlen(end + 1) > MAX_ID) {
        return sw_error_set(SW_EINVALID, "'%s' is not a cursor of sw.api.builds", cursor);
    }
    order_key(buf, (int64_t)ms, end + 1, len);
    return 0;
}

int sw_view_find(sw_view *view, const sw_view_query *q, Slipway__BuildRecord ***out,
                 size_t *n_out, char *next)
{
    MDB_txn *txn;
    bool own;
    MDB_cursor *cur;
    MDB_val key, val;
    unsigned char start[8 + MAX_ID + 1];
    size_t n = 0, read = 0, slen = 0;
    Slipway__BuildRecord **list;
    int rc;

    next[0] = '\0';
    if (q->cursor != NULL && q->cursor[0] != '\0' &&
        (rc = parse_cursor(q->cursor, start, &slen)) < 0) {
        return rc;
    }
    if ((rc = read_txn(view, &txn, &own)) < 0) {
        return rc;
    }
    if ((rc = mdb_cursor_open(txn, view->order, &cur)) != 0) {
        if (own) {
            mdb_txn_abort(txn);
        }
        return lmdb_error(rc, "cursor");
    }
    list = sw_calloc(q->limit ? q->limit : 1, sizeof(*list));
    if (slen > 0) {
        /* the first key at or after the cursor's, then the one before it; none at or
         * after it: the last key is before it */
        key.mv_data = start;
        key.mv_size = slen;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        rc = mdb_cursor_get(cur, &key, &val, rc == 0 ? MDB_PREV : MDB_LAST);
    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    }
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_PREV)) {
        if (n >= q->limit || (q->scan > 0 && read >= q->scan)) {
            /* more remain: the cursor is the last key looked at, the one after this */
            break;
        }
        MDB_val bkey = {key.mv_size - 8, (char *)key.mv_data + 8}, bval;
        if (key.mv_size <= 8 || mdb_get(txn, view->builds, &bkey, &bval) != 0) {
            continue;
        }
        read++;
        Slipway__BuildRecord *rec = slipway__build_record__unpack(NULL, bval.mv_size, bval.mv_data);
        if (rec == NULL) {
            continue;
        }
        if (!matches(rec, q)) {
            slipway__build_record__free_unpacked(rec, NULL);
            continue;
        }
        list[n++] = rec;
        cursor_of(next, &key);
    }
    if (rc != 0) {
        next[0] = '\0'; /* the oldest was reached */
    } else if (q->scan > 0 && read >= q->scan && n < q->limit) {
        /* stopped reading: the cursor goes past what was read, matched or not */
        mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        cursor_of(next, &key);
    }
    mdb_cursor_close(cur);
    if (own) {
        mdb_txn_abort(txn);
    }
    *out = list;
    *n_out = n;
    return 0;
}

void sw_view_list_free(Slipway__BuildRecord **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slipway__build_record__free_unpacked(list[i], NULL);
    }
    free(list);
}

int sw_view_lane(sw_view *view, const char *project, const char *lane,
                 Slipway__BuildRecord ***out, size_t *n_out)
{
    MDB_txn *txn;
    bool own;
    MDB_cursor *cur;
    unsigned char prefix[512];
    size_t plen = strlen(project), llen = strlen(lane), n = 0, cap = 8;
    MDB_val key, val;
    Slipway__BuildRecord **list;
    int rc;

    *out = NULL;
    *n_out = 0;
    if (plen + llen + 2 > sizeof(prefix) || llen == 0) {
        return 0;
    }
    memcpy(prefix, project, plen + 1);
    memcpy(prefix + plen + 1, lane, llen + 1);
    if ((rc = read_txn(view, &txn, &own)) < 0) {
        return rc;
    }
    if ((rc = mdb_cursor_open(txn, view->lanes, &cur)) != 0) {
        if (own) {
            mdb_txn_abort(txn);
        }
        return lmdb_error(rc, "cursor");
    }
    list = calloc(cap, sizeof(*list));
    if (list == NULL) {
        abort();
    }
    key.mv_data = prefix;
    key.mv_size = plen + llen + 2;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && key.mv_size > plen + llen + 2 + 8 &&
         memcmp(key.mv_data, prefix, plen + llen + 2) == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const char *id = (const char *)key.mv_data + plen + llen + 2 + 8;
        MDB_val bkey = {key.mv_size - (plen + llen + 2 + 8), (void *)id}, bval;
        Slipway__BuildRecord *rec;
        if (mdb_get(txn, view->builds, &bkey, &bval) != 0 ||
            (rec = slipway__build_record__unpack(NULL, bval.mv_size, bval.mv_data)) == NULL) {
            continue;
        }
        if (n == cap) {
            cap *= 2;
            list = realloc(list, cap * sizeof(*list));
            if (list == NULL) {
                abort();
            }
        }
        list[n++] = rec;
    }
    mdb_cursor_close(cur);
    if (own) {
        mdb_txn_abort(txn);
    }
    *out = list;
    *n_out = n;
    return 0;
}
