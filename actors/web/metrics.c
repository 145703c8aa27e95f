/* metrics.c - the web actor's /metrics aggregator (see metrics.h). */
#include "actors/web/metrics.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/metrics.h"
#include "runtime/metrics_wire.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LOG "web-metrics"
#define RENDER_MAX_SERIES 4096

typedef struct instance {
    char *name;
    int64_t started_ms;
    int64_t seen_ms;                /* mono: its last report came */
    bool live;                      /* false: retired (see DESIGN) */
    Slipway__MetricsReport *report; /* the last one, unpacked */
} instance;

struct sw_web_metrics {
    sw_bus *bus;
    sw_sub *sub;
    pthread_mutex_t lock; /* everything below */
    const sw_config *cfg;
    instance *instances; /* live first or not: in the order they came */
    size_t n, cap;
    sw_metrics *folded; /* the oldest retired instances' counters, summed */
    sw_metrics *own;    /* the aggregator's own counters (scrape errors) */
    sw_metric *scrape_errors;
};

static void instance_clear(instance *in)
{
    free(in->name);
    slipway__metrics_report__free_unpacked(in->report, NULL);
    memset(in, 0, sizeof(*in));
}

static size_t count_retired(const sw_web_metrics *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        n += !m->instances[i].live;
    }
    return n;
}

/* Retires the silent, then folds the oldest retired past the bound. Locked. */
static void expire(sw_web_metrics *m, int64_t now)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->instances[i].live && now - m->instances[i].seen_ms > SW_WEB_METRICS_EXPIRE_MS) {
            sw_info(LOG, "no metrics from %s for %d s: its gauges leave the sums",
                    m->instances[i].name, SW_WEB_METRICS_EXPIRE_MS / 1000);
            m->instances[i].live = false;
        }
    }
    size_t retired = count_retired(m);
    for (size_t i = 0; i < m->n && retired > SW_WEB_METRICS_RETIRED;) {
        if (m->instances[i].live) {
            i++;
            continue;
        }
        sw_metrics_merge_report(m->folded, m->instances[i].report, false);
        instance_clear(&m->instances[i]);
        memmove(&m->instances[i], &m->instances[i + 1], (m->n - i - 1) * sizeof(instance));
        m->n--;
        retired--;
    }
}

/* Keeps r (taking it) as the latest of its instance. Locked. */
static void keep(sw_web_metrics *m, Slipway__MetricsReport *r, int64_t now)
{
    instance *in = NULL;
    for (size_t i = 0; i < m->n; i++) {
        instance *e = &m->instances[i];
        if (strcmp(e->name, r->instance) != 0) {
            continue;
        }
        if (e->started_ms == r->started_ms) {
            in = e; /* its next report, or one that speaks again after silence */
        } else if (e->live) {
            sw_info(LOG, "%s started again: the last figures of the one before are kept", e->name);
            e->live = false;
        }
    }
    if (in == NULL) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 16;
            m->instances = sw_realloc(m->instances, m->cap * sizeof(*m->instances));
        }
        in = &m->instances[m->n++];
        memset(in, 0, sizeof(*in));
        in->name = sw_strdup(r->instance);
        in->started_ms = r->started_ms;
    }
    slipway__metrics_report__free_unpacked(in->report, NULL);
    in->report = r;
    in->seen_ms = now;
    in->live = !r->final;
    expire(m, now);
}

static void on_report(sw_msg *msg, void *closure)
{
    sw_web_metrics *m = closure;
    Slipway__MetricsReport *r =
        slipway__metrics_report__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    if (r == NULL || r->instance == NULL || r->instance[0] == '\0') {
        sw_debug(LOG, "a report on %s that does not unpack: dropped", sw_msg_subject(msg));
        slipway__metrics_report__free_unpacked(r, NULL);
    } else {
        pthread_mutex_lock(&m->lock);
        keep(m, r, sw_clock_mono_ms());
        pthread_mutex_unlock(&m->lock);
    }
    sw_msg_release(&msg);
}

int sw_web_metrics_create(sw_web_metrics **out, sw_bus *bus, const sw_config *cfg)
{
    sw_web_metrics *m = sw_calloc(1, sizeof(*m));
    int error;

    m->bus = bus;
    m->cfg = sw_config_retain(cfg);
    pthread_mutex_init(&m->lock, NULL);
    sw_metrics_create(&m->folded, RENDER_MAX_SERIES);
    sw_metrics_create(&m->own, SW_METRICS_MAX_SERIES);
    m->scrape_errors = sw_metrics_counter(m->own, "slipway_scrape_errors_total",
                                          "Questions of a /metrics render that got no answer.",
                                          (const char *[]){"what", NULL});
    if ((error = sw_bus_subscribe(&m->sub, bus, SW_METRICS_ALL, NULL, on_report, m)) < 0) {
        sw_web_metrics_destroy(&m);
        return error;
    }
    *out = m;
    return 0;
}

void sw_web_metrics_destroy(sw_web_metrics **m_p)
{
    sw_web_metrics *m = m_p != NULL ? *m_p : NULL;
    if (m == NULL) {
        return;
    }
    sw_sub_destroy(&m->sub); /* no callback runs after it */
    for (size_t i = 0; i < m->n; i++) {
        instance_clear(&m->instances[i]);
    }
    free(m->instances);
    sw_metrics_destroy(&m->folded);
    sw_metrics_destroy(&m->own);
    sw_config_release(&m->cfg);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *m_p = NULL;
}

void sw_web_metrics_reconfigure(sw_web_metrics *m, const sw_config *cfg)
{
    const sw_config *next = sw_config_retain(cfg);
    pthread_mutex_lock(&m->lock);
    const sw_config *old = m->cfg;
    m->cfg = next;
    pthread_mutex_unlock(&m->lock);
    sw_config_release(&old);
}

/* --- asked at render --------------------------------------------------------- */

/* Adds one registry into another (through a report: one merge path). */
static void merge_registry(sw_metrics *into, sw_metrics *from)
{
    Slipway__MetricsReport *r = sw_metrics_report(from, "", 0, false);
    sw_metrics_merge_report(into, r, true);
    sw_metrics_report_free(&r);
}

static bool queue_depths(sw_web_metrics *m, sw_metrics *out, const sw_config *cfg)
{
    sw_metric *depth = sw_metrics_gauge(out, "slipway_queue_depth",
                                        "Jobs of a cluster waiting in JOBS, not yet delivered "
                                        "to a builder.",
                                        (const char *[]){"cluster", NULL});
    sw_metric *unacked = sw_metrics_gauge(out, "slipway_queue_unacked",
                                          "Jobs of a cluster delivered to a builder, not acked "
                                          "yet (running, mostly).",
                                          (const char *[]){"cluster", NULL});
    bool ok = true;
    for (size_t i = 0; i < cfg->nclusters; i++) {
        const char *cluster = cfg->clusters[i].name;
        char durable[256];
        sw_consumer_counts counts;
        sw_durable_cluster(durable, sizeof(durable), cluster);
        if (sw_bus_consumer_state(m->bus, SW_STREAM_JOBS, durable, &counts) < 0) {
            sw_debug(LOG, "queue depth of %s: %s", cluster, sw_error_last());
            ok = false;
            continue;
        }
        sw_metric_set(depth, (const char *[]){cluster}, (double)counts.pending);
        sw_metric_set(unacked, (const char *[]){cluster}, (double)counts.ack_pending);
    }
    return ok;
}

/* As `slipway builders` says it. */
static const char *builder_state(const Slipway__BuilderInfo *b)
{
    return !b->alive         ? "silent"
           : b->drained      ? "drained"
           : b->draining     ? "draining"
           : b->holding_back ? "holding"
                             : "up";
}

static bool builders(sw_web_metrics *m, sw_metrics *out, const sw_config *cfg)
{
    static const char *const states[] = {"up", "holding", "draining", "drained", "silent"};
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    sw_metric *count = sw_metrics_gauge(out, "slipway_builders",
                                        "Builders the scheduler has heard from, by state.",
                                        (const char *[]){"cluster", "state", NULL});
    sw_metric *slots =
        sw_metrics_gauge(out, "slipway_slots", "Build slots of the builders that are not silent.",
                         (const char *[]){"cluster", NULL});
    sw_metric *busy = sw_metrics_gauge(out, "slipway_slots_busy",
                                       "Build slots running a build, of the builders that are "
                                       "not silent.",
                                       (const char *[]){"cluster", NULL});
    /* every cluster of the config and every state, 0 when none */
    for (size_t i = 0; i < cfg->nclusters; i++) {
        const char *cluster = cfg->clusters[i].name;
        for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
            sw_metric_set(count, (const char *[]){cluster, states[s]}, 0);
        }
        sw_metric_set(slots, (const char *[]){cluster}, 0);
        sw_metric_set(busy, (const char *[]){cluster}, 0);
    }
    if (sw_wire_request(m->bus, SW_API_BUILDERS, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_METRICS_ASK_MS, &reply) < 0) {
        sw_debug(LOG, "builders: %s", sw_error_last());
        return false;
    }
    const Slipway__ApiReply *r = (const Slipway__ApiReply *)reply;
    bool ok = r->code == 0;
    for (size_t i = 0; ok && i < r->n_builders; i++) {
        const Slipway__BuilderInfo *b = r->builders[i];
        /* a builder of a cluster the config does not name still has one */
        const char *cluster = b->cluster != NULL && b->cluster[0] ? b->cluster : "none";
        sw_metric_add(count, (const char *[]){cluster, builder_state(b)}, 1);
        if (b->alive) {
            sw_metric_add(slots, (const char *[]){cluster}, b->slots);
            sw_metric_add(busy, (const char *[]){cluster}, b->busy);
        }
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return ok;
}

int sw_web_metrics_render(sw_web_metrics *m, char **text_out, size_t *len_out)
{
    sw_metrics *out = NULL;
    size_t live = 0;

    sw_metrics_create(&out, RENDER_MAX_SERIES);
    pthread_mutex_lock(&m->lock);
    expire(m, sw_clock_mono_ms());
    const sw_config *cfg = sw_config_retain(m->cfg);
    merge_registry(out, m->folded);
    for (size_t i = 0; i < m->n; i++) {
        sw_metrics_merge_report(out, m->instances[i].report, m->instances[i].live);
        live += m->instances[i].live;
    }
    pthread_mutex_unlock(&m->lock);

    bool connected = sw_bus_connected(m->bus);
    bool depths_ok = queue_depths(m, out, cfg);
    bool builders_ok = builders(m, out, cfg);
    if (!depths_ok) {
        sw_metric_add(m->scrape_errors, (const char *[]){"queue_depth"}, 1);
    }
    if (!builders_ok) {
        sw_metric_add(m->scrape_errors, (const char *[]){"builders"}, 1);
    }
    /* both series always there, 0 until one fails */
    sw_metric_add(m->scrape_errors, (const char *[]){"queue_depth"}, 0);
    sw_metric_add(m->scrape_errors, (const char *[]){"builders"}, 0);
    merge_registry(out, m->own);
    sw_metric_set(sw_metrics_gauge(out, "slipway_metrics_instances",
                                   "slipwayd processes whose metrics came within the last "
                                   "minute.",
                                   NULL),
                  NULL, (double)live);
    sw_metric_set(sw_metrics_gauge(out, "slipway_up",
                                   "1 when this web actor is on NATS and the scheduler "
                                   "answered.",
                                   NULL),
                  NULL, connected && builders_ok ? 1 : 0);
    int error = sw_metrics_render(out, text_out, len_out);
    sw_metrics_destroy(&out);
    sw_config_release(&cfg);
    return error;
}
