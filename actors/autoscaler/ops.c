/*
 * ops.c - provider calls on their own threads (see ops.h).
 */
#include "actors/autoscaler/ops.h"

#include "actors/autoscaler/provider.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct op {
    struct op *next;
    pthread_t thread;
    atomic_bool done;
    sw_actor *actor;
    int tag;
    const sw_config *cfg; /* retained */
    sw_op_result *result; /* posted to the actor */
} op;

struct sw_ops {
    sw_actor *actor;
    int tag;
    op *list;
};

const char *sw_op_kind_name(sw_op_kind kind)
{
    return kind == SW_OP_CREATE ? "create" : kind == SW_OP_DESTROY ? "destroy" : "list";
}

static void free_result(void *p)
{
    sw_op_result *r = p;
    if (r != NULL) {
        for (size_t i = 0; i < r->nnames; i++) {
            free(r->names[i]);
        }
        free(r->names);
        free(r);
    }
}

static void *run(void *arg)
{
    op *o = arg;
    sw_op_result *r = o->result;
    const sw_cluster *cluster = sw_config_cluster(o->cfg, r->cluster);
    sw_provider *p = NULL;
    int64_t t0 = sw_clock_mono_ms();
    int error;

    if (cluster == NULL || cluster->autoscale == NULL) {
        error = sw_error_set(SW_ENOTFOUND, "cluster %s is not autoscaled any more", r->cluster);
    } else if ((error = sw_provider_open(&p, o->cfg, cluster)) == 0) {
        error = r->kind == SW_OP_CREATE    ? sw_provider_create(p, r->builder)
                : r->kind == SW_OP_DESTROY ? sw_provider_destroy(p, r->builder)
                                           : sw_provider_list(p, &r->names, &r->nnames);
    }
    r->error = error;
    if (error < 0) {
        snprintf(r->message, sizeof(r->message), "%s", sw_error_last());
    }
    r->took_ms = sw_clock_mono_ms() - t0;
    sw_provider_close(&p);
    sw_config_release(&o->cfg);
    o->result = NULL;
    sw_actor_post(o->actor, o->tag, r, free_result);
    atomic_store(&o->done, true);
    return NULL;
}

sw_ops *sw_ops_new(sw_actor *actor, int tag)
{
    sw_ops *ops = sw_calloc(1, sizeof(*ops));
    ops->actor = actor;
    ops->tag = tag;
    return ops;
}

void sw_ops_start(sw_ops *ops, const sw_config *cfg, const char *cluster, sw_op_kind kind,
                  const char *builder)
{
    op *o = sw_calloc(1, sizeof(*o));
    o->actor = ops->actor;
    o->tag = ops->tag;
    o->cfg = sw_config_retain(cfg);
    o->result = sw_calloc(1, sizeof(*o->result));
    o->result->kind = kind;
    snprintf(o->result->cluster, sizeof(o->result->cluster), "%s", cluster);
    snprintf(o->result->builder, sizeof(o->result->builder), "%s", builder ? builder : "");
    atomic_init(&o->done, false);
    if (pthread_create(&o->thread, NULL, run, o) != 0) {
        /* no thread: answer at once, as a failure */
        sw_op_result *r = o->result;
        r->error = SW_EIO;
        snprintf(r->message, sizeof(r->message), "%s %s: cannot start a thread",
                 sw_op_kind_name(kind), builder ? builder : cluster);
        sw_config_release(&o->cfg);
        sw_actor_post(ops->actor, ops->tag, r, free_result);
        free(o);
        return;
    }
    o->next = ops->list;
    ops->list = o;
}

size_t sw_ops_running(const sw_ops *ops)
{
    size_t n = 0;
    for (const op *o = ops->list; o != NULL; o = o->next) {
        n += !atomic_load(&o->done);
    }
    return n;
}

static void reap(sw_ops *ops, bool all)
{
    op **pp = &ops->list;
    while (*pp != NULL) {
        op *o = *pp;
        if (all || atomic_load(&o->done)) {
            pthread_join(o->thread, NULL);
            *pp = o->next;
            free(o);
        } else {
            pp = &o->next;
        }
    }
}

void sw_ops_reap(sw_ops *ops)
{
    reap(ops, false);
}

void sw_ops_finish(sw_ops **ops_p)
{
    if (*ops_p == NULL) {
        return;
    }
    reap(*ops_p, true);
    free(*ops_p);
    *ops_p = NULL;
}
