/* profile_event.c - a source profile for the FINISHED event (see profile_event.h). */
#include "actors/builder/profile/profile_event.h"

#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Slipway__SourceProfile *sw_profile_event(const sw_profile *p, const char *project,
                                         const char *branch)
{
    Slipway__SourceProfile *msg = sw_calloc(1, sizeof(*msg));
    slipway__source_profile__init(msg);
    msg->project = (char *)(project != NULL ? project : "");
    msg->branch = (char *)(branch != NULL ? branch : "");
    msg->dropped = (uint32_t)p->dropped;
    msg->n_sources = p->n;
    if (p->n > 0) {
        Slipway__Source *items = sw_calloc(p->n, sizeof(*items));
        msg->sources = sw_calloc(p->n, sizeof(*msg->sources));
        for (size_t i = 0; i < p->n; i++) {
            slipway__source__init(&items[i]);
            items[i].host = p->v[i].host;
            items[i].kind = p->v[i].kind;
            items[i].what = p->v[i].what;
            items[i].file = p->v[i].file;
            items[i].line = p->v[i].line;
            msg->sources[i] = &items[i];
        }
    }
    return msg;
}

void sw_profile_event_free(Slipway__SourceProfile **msg_p)
{
    if (msg_p == NULL || *msg_p == NULL) {
        return;
    }
    Slipway__SourceProfile *msg = *msg_p;
    *msg_p = NULL;
    if (msg->n_sources > 0) {
        free(msg->sources[0]); /* the items were one array */
    }
    free(msg->sources);
    free(msg);
}

typedef struct count {
    const char *host;
    size_t n;
} count;

static int most_first(const void *a, const void *b)
{
    const count *x = a, *y = b;
    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    return strcmp(x->host, y->host);
}

const char *sw_profile_summary(const sw_profile *p, char *buf, size_t n)
{
    count *c = sw_calloc(p->n + 1, sizeof(*c));
    size_t nc = 0, used = 0;

    for (size_t i = 0; i < p->n; i++) {
        size_t j = 0;
        while (j < nc && strcmp(c[j].host, p->v[i].host) != 0) {
            j++;
        }
        if (j == nc) {
            c[nc++].host = p->v[i].host;
        }
        c[j].n++;
    }
    qsort(c, nc, sizeof(*c), most_first);
    buf[0] = '\0';
    for (size_t i = 0; i < nc && used < n; i++) {
        int k = c[i].n > 1 ? snprintf(buf + used, n - used, "%s%s ×%zu", i ? ", " : "",
                                      c[i].host, c[i].n)
                           : snprintf(buf + used, n - used, "%s%s", i ? ", " : "", c[i].host);
        if (k < 0 || (size_t)k >= n - used) {
            break;
        }
        used += (size_t)k;
    }
    free(c);
    return buf;
}
