/* delivery.c - a delivery shared by an HTTP thread and the actor (see delivery.h). */
#include "actors/webhook/delivery.h"

#include "runtime/core/clock.h"
#include "runtime/core/mem.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sw_delivery_sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool answered;
    int status;
    char *json;
    unsigned retry_after_s;
};

char *sw_delivery_json(const char *status, ...)
{
    json_t *o = json_object();
    va_list ap;
    const char *k, *v;
    char *out;

    json_object_set_new(o, "status", json_string(status));
    va_start(ap, status);
    while ((k = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        if (v != NULL) {
            /* Values may quote what a client sent (a header): keep printable
             * ASCII only, so the answer is always valid JSON. */
            char *clean = sw_strdup(v);
            for (char *p = clean; *p; p++) {
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
                    *p = '?';
                }
            }
            json_object_set_new(o, k, json_string(clean));
            free(clean);
        }
    }
    va_end(ap);
    out = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (out == NULL) {
        abort();
    }
    return out;
}

void sw_delivery_answer(sw_delivery *d, int status, const char *json)
{
    sw_delivery_answer_retry(d, status, json, 0);
}

void sw_delivery_answer_retry(sw_delivery *d, int status, const char *json,
                              unsigned retry_after_s)
{
    sw_delivery_sync *s = d->sync;
    pthread_mutex_lock(&s->lock);
    if (!s->answered) {
        s->answered = true;
        s->status = status;
        s->json = sw_strdup(json);
        s->retry_after_s = retry_after_s;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

sw_delivery *sw_delivery_ref(sw_delivery *d)
{
    pthread_mutex_lock(&d->sync->lock);
    d->sync->refs++;
    pthread_mutex_unlock(&d->sync->lock);
    return d;
}

void sw_delivery_unref(sw_delivery *d)
{
    if (d == NULL) {
        return;
    }
    sw_delivery_sync *s = d->sync;
    pthread_mutex_lock(&s->lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left > 0) {
        return;
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->json);
    free(s);
    free(d->delivery_id);
    free(d->request_id);
    sw_hook_event_clear(&d->event);
    sw_config_release(&d->cfg);
    free(d);
}

void sw_delivery_await(sw_delivery *d, int64_t deadline_ms)
{
    sw_delivery_sync *s = d->sync;
    pthread_mutex_lock(&s->lock);
    while (!s->answered) {
        int64_t left = deadline_ms - sw_clock_mono_ms();
        if (left <= 0) {
            s->answered = true;
            s->status = 503;
            s->json = sw_delivery_json("error", "error",
                                     "the gateway did not get an answer from the bus in time; "
                                     "send the delivery again",
                                     NULL);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
}

sw_delivery *sw_delivery_new(void)
{
    sw_delivery *d = sw_calloc(1, sizeof(*d));
    sw_delivery_sync *s = sw_calloc(1, sizeof(*s));
    pthread_condattr_t attr;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    s->refs = 1;
    d->sync = s;
    return d;
}

int sw_delivery_status(const sw_delivery *d)
{
    return d->sync->status;
}

const char *sw_delivery_body(const sw_delivery *d)
{
    return d->sync->json;
}

unsigned sw_delivery_retry_after(const sw_delivery *d)
{
    return d->sync->retry_after_s;
}
