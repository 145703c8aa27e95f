/* routes.c - the dispatcher's routing memory in LMDB (see routes.h). */
#include "actors/dispatcher/routes.h"

#include "actors/dispatcher/route.h"
#include "runtime/core/error.h"
#include "runtime/core/lmdb.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sequence of events that teach nothing is written this often. */
#define SEQ_EVERY 512
/* events learned in one transaction at most */
#define BATCH_MAX 512
#define MAX_KEY 400

struct sw_routes {
    MDB_env *env;
    MDB_dbi mixes, meta;
    uint64_t seq;     /* applied, in memory */
    uint64_t written; /* ... and in the store */
    MDB_txn *batch;   /* learned, not committed yet (sw_routes_flush) */
    uint64_t batch_seq; /* the sequence the batch writes */
    int nbatch;
};

static int lmdb_error(int rc, const char *what)
{
    return sw_error_set(SW_EIO, "dispatcher routes: %s: %s", what, mdb_strerror(rc));
}

int sw_routes_open(sw_routes **out, const char *dir)
{
    static const char *const tables[] = {"mixes", "meta", NULL};
    MDB_dbi dbis[2];
    sw_routes *r = sw_calloc(1, sizeof(*r));
    MDB_txn *txn = NULL;
    MDB_val key = {3, "seq"}, val;
    int rc, error;

    if ((error = sw_lmdb_open(&r->env, "dispatcher routes", dir, (size_t)1 << 30, tables,
                              dbis)) < 0) {
        free(r);
        return error;
    }
    r->mixes = dbis[0];
    r->meta = dbis[1];
    if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0) {
        mdb_env_close(r->env);
        free(r);
        return lmdb_error(rc, "read");
    }
    if (mdb_get(txn, r->meta, &key, &val) == 0 && val.mv_size == sizeof(uint64_t)) {
        memcpy(&r->seq, val.mv_data, sizeof(uint64_t));
    }
    mdb_txn_abort(txn);
    r->written = r->seq;
    *out = r;
    return 0;
}

static int put_seq(sw_routes *r, MDB_txn *txn, uint64_t seq)
{
    MDB_val key = {3, "seq"}, val = {sizeof(seq), &seq};
    int rc = mdb_put(txn, r->meta, &key, &val, 0);
    return rc == 0 ? 0 : lmdb_error(rc, "put seq");
}

/* Writes the sequence applied in a transaction of its own. */
static int write_seq(sw_routes *r)
{
    MDB_txn *txn;
    int rc, error;
    if (r->seq == r->written || r->batch != NULL) {
        return 0; /* an open batch writes it */
    }
    if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if ((error = put_seq(r, txn, r->seq)) < 0) {
        mdb_txn_abort(txn);
        return error;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        return lmdb_error(rc, "commit");
    }
    r->written = r->seq;
    return 0;
}

void sw_routes_destroy(sw_routes **routes_p)
{
    if (routes_p == NULL || *routes_p == NULL) {
        return;
    }
    sw_routes *r = *routes_p;
    *routes_p = NULL;
    (void)sw_routes_flush(r);
    (void)write_seq(r); /* at worst the next start reads a few events again */
    mdb_env_close(r->env);
    free(r);
}

uint64_t sw_routes_seq(const sw_routes *routes)
{
    return routes->seq;
}

/* "<project>" or "<project>\0<branch>": a key per mix. */
static size_t mix_key(char *buf, const char *project, const char *branch)
{
    size_t p = strlen(project), b = branch != NULL ? strlen(branch) : 0;
    if (p + 1 + b > MAX_KEY) {
        return 0;
    }
    memcpy(buf, project, p);
    if (b == 0) {
        return p;
    }
    buf[p] = '\0';
    memcpy(buf + p + 1, branch, b);
    return p + 1 + b;
}

static int get_mix(sw_routes *r, MDB_txn *txn, const char *project, const char *branch,
                   Slipway__RouteMix **out)
{
    char k[MAX_KEY];
    MDB_val key = {mix_key(k, project, branch), k}, val;
    int rc;
    *out = NULL;
    if (key.mv_size == 0) {
        return 0;
    }
    if ((rc = mdb_get(txn, r->mixes, &key, &val)) == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return lmdb_error(rc, "get");
    }
    *out = slipway__route_mix__unpack(NULL, val.mv_size, val.mv_data);
    return 0; /* one that does not unpack is learned anew */
}

/* Learns ev's profile into the mix of project (branch NULL) or of its branch. */
static int learn_into(sw_routes *r, MDB_txn *txn, const Slipway__BuildEvent *ev,
                      const char *branch, uint32_t half_life, bool *learned)
{
    const Slipway__SourceProfile *p = ev->profile;
    Slipway__RouteMix *mix = NULL, fresh = SLIPWAY__ROUTE_MIX__INIT;
    char k[MAX_KEY];
    MDB_val key = {mix_key(k, p->project, branch), k}, val;
    int error, rc = 0;

    if (key.mv_size == 0 || (error = get_mix(r, txn, p->project, branch, &mix)) < 0) {
        return key.mv_size == 0 ? 0 : error;
    }
    Slipway__RouteMix *m = mix != NULL ? mix : &fresh;
    if (sw_route_learn(m, ev->build_id, p, half_life)) {
        val.mv_size = slipway__route_mix__get_packed_size(m);
        val.mv_data = sw_calloc(1, val.mv_size ? val.mv_size : 1);
        slipway__route_mix__pack(m, val.mv_data);
        rc = mdb_put(txn, r->mixes, &key, &val, 0);
        free(val.mv_data);
        *learned = true;
    }
    if (mix != NULL) {
        slipway__route_mix__free_unpacked(mix, NULL);
    } else {
        /* fresh is on the stack: free what learning gave it */
        for (size_t i = 0; i < fresh.n_hosts; i++) {
            slipway__route_host__free_unpacked(fresh.hosts[i], NULL);
        }
        for (size_t i = 0; i < fresh.n_recent; i++) {
            free(fresh.recent[i]);
        }
        free(fresh.hosts);
        free(fresh.recent);
    }
    return rc == 0 ? 0 : lmdb_error(rc, "put");
}

int sw_routes_flush(sw_routes *r)
{
    int rc;
    if (r->batch == NULL) {
        return 0;
    }
    rc = mdb_txn_commit(r->batch);
    r->batch = NULL;
    r->nbatch = 0;
    if (rc != 0) {
        /* what the batch learned is lost until the next start reads it again */
        return lmdb_error(rc, "commit");
    }
    r->written = r->batch_seq;
    return 0;
}

int sw_routes_apply(sw_routes *r, const Slipway__BuildEvent *ev, uint64_t seq,
                    uint32_t half_life)
{
    const Slipway__SourceProfile *p = ev->profile;
    bool learned = false;
    int rc, error;

    if (seq != 0 && seq <= r->seq) {
        return 0;
    }
    if (ev->kind != SLIPWAY__EVENT_KIND__FINISHED || p == NULL || p->project == NULL ||
        p->project[0] == '\0') {
        r->seq = seq > r->seq ? seq : r->seq;
        if (r->batch != NULL && seq != 0) {
            /* the open batch writes it when it is committed */
            if ((error = put_seq(r, r->batch, r->seq)) < 0) {
                mdb_txn_abort(r->batch);
                r->batch = NULL;
                r->nbatch = 0;
                return error;
            }
            r->batch_seq = r->seq;
            return 0;
        }
        if (r->seq - r->written >= SEQ_EVERY) {
            return write_seq(r);
        }
        return 0;
    }
    if (r->batch == NULL && (rc = mdb_txn_begin(r->env, NULL, 0, &r->batch)) != 0) {
        r->batch = NULL;
        return lmdb_error(rc, "begin");
    }
    if ((error = learn_into(r, r->batch, ev, NULL, half_life, &learned)) < 0 ||
        (p->branch != NULL && p->branch[0] != '\0' &&
         (error = learn_into(r, r->batch, ev, p->branch, half_life, &learned)) < 0) ||
        (seq != 0 && (error = put_seq(r, r->batch, seq)) < 0)) {
        /* the batch is lost with it: learned again at the next start */
        mdb_txn_abort(r->batch);
        r->batch = NULL;
        r->nbatch = 0;
        return error;
    }
    if (seq != 0) {
        r->seq = r->batch_seq = seq;
    }
    if (++r->nbatch >= BATCH_MAX && (error = sw_routes_flush(r)) < 0) {
        return error;
    }
    return learned ? 1 : 0;
}

int sw_routes_mix(sw_routes *r, const char *project, const char *branch,
                  Slipway__RouteMix **out)
{
    MDB_txn *txn;
    int rc, error = 0;

    *out = NULL;
    /* the open batch sees what it learned */
    if (r->batch != NULL) {
        txn = r->batch;
    } else if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &txn)) != 0) {
        return lmdb_error(rc, "begin");
    }
    if (branch != NULL && branch[0] != '\0') {
        error = get_mix(r, txn, project, branch, out);
        if (*out != NULL && (*out)->learned == 0) {
            slipway__route_mix__free_unpacked(*out, NULL);
            *out = NULL;
        }
    }
    if (error == 0 && *out == NULL) {
        error = get_mix(r, txn, project, NULL, out);
    }
    if (txn != r->batch) {
        mdb_txn_abort(txn);
    }
    return error;
}
