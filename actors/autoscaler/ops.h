/*
 * ops.h - provider calls on their own threads, answered as actor mail.
 *
 * A provider call blocks (a command, a process), so each runs on a thread of
 * its own with its own provider object, opened from a retained config: calls
 * never share state and a reload never pulls a provider from under one. The
 * answer comes back to the actor as mail (tag given, payload an sw_op_result).
 * sw_ops_reap joins the threads that are done; sw_ops_finish joins them all
 * (at stop; each call is bounded by its provider's timeouts).
 */
#ifndef SW_AUTOSCALE_OPS_H
#define SW_AUTOSCALE_OPS_H

#include "runtime/actor.h"
#include "runtime/config.h"

#include <stddef.h>

typedef enum sw_op_kind { SW_OP_CREATE = 1, SW_OP_DESTROY, SW_OP_LIST } sw_op_kind;

typedef struct sw_op_result {
    sw_op_kind kind;
    char cluster[72];
    char builder[72];    /* create and destroy */
    int error;           /* 0 or SW_E* */
    char message[512];   /* what failed */
    char **names;        /* list: the builders the provider has */
    size_t nnames;
    int64_t took_ms;
} sw_op_result;

typedef struct sw_ops sw_ops;

sw_ops *sw_ops_new(sw_actor *actor, int tag);

/* Starts kind for builder (NULL for list) of the cluster named cluster in cfg. */
void sw_ops_start(sw_ops *ops, const sw_config *cfg, const char *cluster, sw_op_kind kind,
                  const char *builder);

/* Calls under way. */
size_t sw_ops_running(const sw_ops *ops);

void sw_ops_reap(sw_ops *ops);

/* Joins every call and frees. Accepts NULL; nulls the pointer. */
void sw_ops_finish(sw_ops **ops_p);

const char *sw_op_kind_name(sw_op_kind kind);

#endif
