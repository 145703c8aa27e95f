/* msgqueue.c - bus messages to one reader thread (see msgqueue.h). */
#include "runtime/msgqueue.h"

#include "runtime/core/clock.h"
#include "runtime/core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct node {
    struct node *next;
    sw_msgq_item item;
} node;

struct sw_msgq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    node *head, *tail;
    size_t n, max;
    bool overflowed;
};

sw_msgq *sw_msgq_create(size_t max)
{
    sw_msgq *q = sw_calloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->max = max;
    return q;
}

bool sw_msgq_push(sw_msgq *q, int kind, sw_msg *msg)
{
    node *n = sw_calloc(1, sizeof(*n));
    n->item.kind = kind;
    n->item.msg = msg;
    pthread_mutex_lock(&q->lock);
    if (q->max > 0 && q->n >= q->max) {
        q->overflowed = true;
        pthread_mutex_unlock(&q->lock);
        sw_msg_release(&n->item.msg);
        free(n);
        return false;
    }
    if (q->tail) {
        q->tail->next = n;
    } else {
        q->head = n;
    }
    q->tail = n;
    q->n++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return true;
}

bool sw_msgq_pop(sw_msgq *q, int timeout_ms, sw_msgq_item *out)
{
    struct timespec ts;
    sw_clock_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&q->lock);
    while (q->head == NULL && timeout_ms > 0) {
        if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) != 0) {
            break;
        }
    }
    node *n = q->head;
    if (n != NULL) {
        q->head = n->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->n--;
    }
    pthread_mutex_unlock(&q->lock);
    if (n == NULL) {
        return false;
    }
    *out = n->item;
    free(n);
    return true;
}

bool sw_msgq_overflowed(sw_msgq *q)
{
    pthread_mutex_lock(&q->lock);
    bool over = q->overflowed;
    pthread_mutex_unlock(&q->lock);
    return over;
}

void sw_msgq_destroy(sw_msgq **q_p)
{
    sw_msgq *q = q_p != NULL ? *q_p : NULL;
    if (q == NULL) {
        return;
    }
    *q_p = NULL;
    for (node *n = q->head, *next; n != NULL; n = next) {
        next = n->next;
        sw_msg_release(&n->item.msg);
        free(n);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}
