/* intake.c - the webhook gateway's HTTP side (see intake.h). */
#include "actors/webhook/intake.h"

#include "runtime/httplisten.h"
#include "actors/webhook/signature.h"
#include "actors/webhook/webpage.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/metrics.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_CONNECTIONS 256
#define MAX_DELIVERY_ID 128
#define ANSWER_MARGIN_MS 1000
#define BODY_BUDGET 4 /* bodies of the maximum size held at once */
#define DISCARD_LIMIT ((size_t)64 << 20)
#define RETRY_AFTER_S 5 /* a 503's Retry-After unless the owner says otherwise */
#define LOG "webhook"

struct sw_intake {
    struct MHD_Daemon *daemon;
    _Atomic size_t reserved; /* body bytes the connections may hold, all together */
    /* The config requests begin with (retained), swapped by a reload. Taking
     * it is a load and a retain, which must not meet the swap's release of
     * the old one in between: both happen under cfg_lock. */
    pthread_mutex_t cfg_lock;
    const sw_config *cfg;
    sw_bus *bus;
    sw_intake_cb cb;
    void *closure;
    _Atomic uint64_t counters[SW_INTAKE_NCOUNTERS];
};

/* Per-request state of a POST to /hooks/..., kept in MHD's con_cls. */
typedef struct request {
    const sw_config *cfg;    /* retained: the config the request began with, to its end */
    const sw_project *project;
    const char *route;
    sw_forge_type forge;     /* the route's forge (bitbucket: as the project says) */
    char *body;
    size_t len, cap;
    size_t reserved;         /* this request's share of sw_intake.reserved */
    bool refused;            /* the body passed the limit: 413 once it is over */
    size_t discarded;        /* bytes let go by since */
    int64_t started_ms;
    int64_t started_us;      /* for Server-Timing */
} request;

/* --- answers --------------------------------------------------------------- */

static sw_metric *deliveries_metric;

static void deliveries_register(void)
{
    deliveries_metric = sw_metrics_counter(
        sw_metrics_process(), "slipway_webhook_deliveries_total",
        "Answers to POST /hooks/<forge>/<project>, by the URL's forge and the HTTP status.",
        (const char *[]){"forge", "code", NULL});
}

/* Counts an answer to a hook URL (slipway_webhook_deliveries_total): the
 * forge is the URL's when it is one of the routes, else "other". */
static void count_answer(const char *url, unsigned int status)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static const char *const forges[] = {"github", "gitlab", "gitea", "forgejo", "bitbucket"};
    const char *forge = "other";
    char code[16];

    if (url == NULL || strncmp(url, "/hooks/", 7) != 0) {
        return;
    }
    size_t flen = strcspn(url + 7, "/");
    for (size_t i = 0; i < sizeof(forges) / sizeof(forges[0]); i++) {
        if (strlen(forges[i]) == flen && strncmp(url + 7, forges[i], flen) == 0) {
            forge = forges[i];
        }
    }
    snprintf(code, sizeof(code), "%u", status);
    pthread_once(&once, deliveries_register);
    sw_metric_add(deliveries_metric, (const char *[]){forge, code}, 1);
}

/* retry_after_s: the Retry-After of a 503 or 429 (0: RETRY_AFTER_S). */
static enum MHD_Result respond_timed(struct MHD_Connection *c, unsigned int status,
                                     const char *json, int64_t started_us,
                                     unsigned retry_after_s)
{
    size_t n = strlen(json);
    char *text = sw_calloc(1, n + 2);
    memcpy(text, json, n);
    text[n] = '\n';
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (status == 503 || status == 429) {
        char after[16];
        snprintf(after, sizeof(after), "%u", retry_after_s > 0 ? retry_after_s : RETRY_AFTER_S);
        MHD_add_response_header(r, "Retry-After", after);
    }
    if (started_us > 0) {
        char timing[64];
        snprintf(timing, sizeof(timing), "gateway;dur=%.3f",
                 (double)(sw_clock_mono_us() - started_us) / 1000.0);
        MHD_add_response_header(r, "Server-Timing", timing);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *json)
{
    return respond_timed(c, status, json, 0, 0);
}

/* An error answer that says only what (generic), with the detail for the
 * operator in the server's log. */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned int status, const char *url,
                              const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned int status, const char *url,
                              const char *what, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    sw_info(LOG, "%s %u: %s: %s", url, status, what, detail);
    count_answer(url, status);
    char *json = sw_delivery_json("error", "error", what, NULL);
    enum MHD_Result r = respond(c, status, json);
    free(json);
    return r;
}

/* An error answer: {"status":"error","error":...}, logged. What it says goes
 * to whoever sent the request: the request's own faults, never a file path,
 * a setting or another internal detail (log those with refuse()). */
static enum MHD_Result fail(struct MHD_Connection *c, unsigned int status, const char *url,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result fail(struct MHD_Connection *c, unsigned int status, const char *url,
                            const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sw_info(LOG, "%s %u: %s", url, status, msg);
    count_answer(url, status);
    char *json = sw_delivery_json("error", "error", msg, NULL);
    enum MHD_Result r = respond(c, status, json);
    free(json);
    return r;
}

/* --- headers ------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The first of the header names (up to 4, NULL after the last) present. */
static const char *header_any(struct MHD_Connection *c, const char *const names[4])
{
    for (int i = 0; i < 4 && names[i] != NULL; i++) {
        const char *v = header(c, names[i]);
        if (v != NULL) {
            return v;
        }
    }
    return NULL;
}

/* The headers each forge puts its event, delivery id and proof in, first
 * choice first (Gitea also sends Forgejo's and Gogs' names). */
typedef struct forge_headers {
    const char *event[4];
    const char *delivery[4];
    const char *signature[4];
} forge_headers;

static const forge_headers *headers_of(sw_forge_type forge)
{
    static const forge_headers github = {
        {"X-GitHub-Event"}, {"X-GitHub-Delivery"}, {"X-Hub-Signature-256"}};
    /* Idempotency-Key stays the same across GitLab's own retries. */
    static const forge_headers gitlab = {
        {"X-Gitlab-Event"}, {"Idempotency-Key", "X-Gitlab-Event-UUID"}, {"X-Gitlab-Token"}};
    static const forge_headers gitea = {
        {"X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event"},
        {"X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery"},
        {"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"}};
    static const forge_headers bitbucket = {
        {"X-Event-Key"}, {"X-Request-UUID", "X-Request-Id"}, {"X-Hub-Signature"}};
    switch (forge) {
    case SW_FORGE_GITHUB:
        return &github;
    case SW_FORGE_GITLAB:
        return &gitlab;
    case SW_FORGE_GITEA:
        return &gitea;
    default:
        return &bitbucket;
    }
}

/* A delivery id fit for a subject-free message id: printable ASCII without
 * spaces, at most MAX_DELIVERY_ID bytes. When the forge sent none, the body's
 * digest stands in: the same body sent again is the same delivery. */
static char *delivery_id(const char *value, const char *body, size_t len)
{
    if (value != NULL) {
        size_t n = strlen(value);
        bool ok = n <= MAX_DELIVERY_ID;
        for (size_t i = 0; ok && i < n; i++) {
            ok = value[i] > 0x20 && value[i] < 0x7f;
        }
        if (ok) {
            return sw_strdup(value);
        }
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * 16 + 1];
    SHA256((const unsigned char *)body, len, md);
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return sw_asprintf("body-%s", hex);
}

/* --- routing ------------------------------------------------------------- */

/* The config now, retained for the caller. */
static const sw_config *current(sw_intake *in)
{
    pthread_mutex_lock(&in->cfg_lock);
    const sw_config *cfg = sw_config_retain(in->cfg);
    pthread_mutex_unlock(&in->cfg_lock);
    return cfg;
}

static bool content_type_is_json(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    while (*ct == ' ') {
        ct++;
    }
    size_t n = strcspn(ct, "; ");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static bool forge_fits_route(sw_forge_type project, sw_forge_type route)
{
    if (route == SW_FORGE_BITBUCKET) {
        return project == SW_FORGE_BITBUCKET || project == SW_FORGE_BITBUCKET_SERVER;
    }
    return project == route;
}

/* First call of a POST /hooks/...: route, project, type and size checks,
 * against cfg. Returns NULL with an answer queued in *answered when refused. */
static request *begin_with(sw_intake *in, const sw_config *cfg, struct MHD_Connection *c,
                           const char *url, enum MHD_Result *answered)
{
    static const struct {
        const char *name;
        sw_forge_type forge;
    } routes[] = {
        {"github", SW_FORGE_GITHUB}, {"gitlab", SW_FORGE_GITLAB},
        {"gitea", SW_FORGE_GITEA},   {"forgejo", SW_FORGE_GITEA},
        {"bitbucket", SW_FORGE_BITBUCKET},
    };
    const char *rest = url + strlen("/hooks/");
    size_t flen = strcspn(rest, "/");
    const char *pname = rest[flen] == '/' ? rest + flen + 1 : "";
    const char *route = NULL;
    sw_forge_type forge = SW_FORGE_NONE;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strlen(routes[i].name) == flen && strncmp(rest, routes[i].name, flen) == 0) {
            route = routes[i].name;
            forge = routes[i].forge;
        }
    }
    if (route == NULL) {
        *answered = fail(c, MHD_HTTP_NOT_FOUND, url,
                         "no such hook: the hook URLs are /hooks/{github,gitlab,gitea,bitbucket}/"
                         "<project>");
        return NULL;
    }
    if (pname[0] == '\0' || strchr(pname, '/') != NULL) {
        *answered = fail(c, MHD_HTTP_NOT_FOUND, url,
                         "no project in the hook URL: use /hooks/%s/<project>", route);
        return NULL;
    }
    const sw_project *p = sw_config_project(cfg, pname);
    if (p == NULL) {
        *answered = refuse(c, MHD_HTTP_NOT_FOUND, url, "unknown project",
                           "no project named '%s' in %s", pname, cfg->path);
        return NULL;
    }
    if (!forge_fits_route(p->forge.type, forge)) {
        *answered = refuse(c, MHD_HTTP_NOT_FOUND, url, "unknown project",
                           "project '%s' is not a %s project (its forge is %s in %s)", pname,
                           route, sw_forge_name(p->forge.type), cfg->path);
        return NULL;
    }
    if (!content_type_is_json(header(c, "Content-Type"))) {
        const char *ct = header(c, "Content-Type");
        *answered = fail(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, url,
                         "content type '%s' is not accepted: set the webhook's content type to "
                         "application/json",
                         ct ? ct : "(none)");
        return NULL;
    }
    const char *cl = header(c, "Content-Length");
    unsigned long long clen = 0;
    if (cl != NULL) {
        char *end;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        if (errno != 0 || *end != '\0' || clen > cfg->webhook_max_body) {
            *answered = fail(c, MHD_HTTP_CONTENT_TOO_LARGE, url,
                             "the body (%s bytes) is over the limit of %llu bytes", cl,
                             (unsigned long long)cfg->webhook_max_body);
            return NULL;
        }
    }

    /* Memory: a body is held while it is read and parsed (parsing costs about
     * twice its size again), so the bodies held at once are bounded by a
     * budget of BODY_BUDGET limits; past it the forge is asked to come back. A
     * body without a Content-Length reserves the whole limit. */
    size_t want = cl != NULL ? (size_t)clen : (size_t)cfg->webhook_max_body;
    size_t before = atomic_fetch_add(&in->reserved, want);
    if (before + want > BODY_BUDGET * (size_t)cfg->webhook_max_body && before > 0) {
        atomic_fetch_sub(&in->reserved, want);
        *answered = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, url,
                           "the gateway is busy; send the delivery again",
                           "it holds %zu bytes of other deliveries", before);
        return NULL;
    }

    request *r = sw_calloc(1, sizeof(*r));
    r->reserved = want;
    r->cfg = sw_config_retain(cfg);
    r->project = p;
    r->route = route;
    r->forge = forge == SW_FORGE_BITBUCKET ? p->forge.type : forge;
    r->started_ms = sw_clock_mono_ms();
    r->started_us = sw_clock_mono_us();
    r->cap = cl != NULL ? (size_t)clen + 1 : 64 * 1024;
    r->body = malloc(r->cap);
    if (r->body == NULL) {
        abort();
    }
    return r;
}

/* begin_with the config now; the request keeps it to its end. */
static request *begin(sw_intake *in, struct MHD_Connection *c, const char *url,
                      enum MHD_Result *answered)
{
    const sw_config *cfg = current(in);
    request *r = begin_with(in, cfg, c, url, answered);
    sw_config_release(&cfg);
    return r;
}

/* Appends a piece of the body; false when it would pass the limit. */
static bool append(request *r, const char *data, size_t n)
{
    if (n > r->cfg->webhook_max_body - r->len) {
        return false;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap;
        while (r->len + n + 1 > cap) {
            cap *= 2;
        }
        if (cap > r->cfg->webhook_max_body + 1) {
            cap = r->cfg->webhook_max_body + 1;
        }
        r->body = sw_realloc(r->body, cap);
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return true;
}

/* The whole body is in: authenticity, then the payload, then the owner. */
static enum MHD_Result finish(sw_intake *in, struct MHD_Connection *c, const char *url,
                              request *r)
{
    const sw_project *p = r->project;
    sw_hook_event ev = {0};
    enum MHD_Result ret;

    if (p->forge.secret == NULL) {
        return refuse(c, MHD_HTTP_UNAUTHORIZED, url, "signature mismatch",
                      "project '%s' has no webhook secret: set projects[].forge.secret in %s "
                      "and the same secret on the forge",
                      p->name, r->cfg->path);
    }
    if (sw_signature_check(r->forge, p->forge.secret, header_any(c, headers_of(r->forge)->signature), r->body,
                           r->len) < 0) {
        return fail(c, MHD_HTTP_UNAUTHORIZED, url, "signature mismatch: %s", sw_error_last());
    }
    if (sw_hook_normalize(&ev, r->forge, header_any(c, headers_of(r->forge)->event), r->body, r->len) < 0) {
        return fail(c, MHD_HTTP_BAD_REQUEST, url, "%s", sw_error_last());
    }
    if (ev.kind == SW_HOOK_PING) {
        sw_hook_event_clear(&ev);
        char *json = sw_delivery_json("ok", "message", "pong", NULL);
        count_answer(url, MHD_HTTP_OK);
        ret = respond(c, MHD_HTTP_OK, json);
        free(json);
        return ret;
    }
    if (ev.kind == SW_HOOK_IGNORED || ev.kind == SW_HOOK_DELETE || ev.skip_ci) {
        sw_info(LOG, "%s 202: ignored (%s)", url, ev.reason ? ev.reason : "no build");
        char *json = sw_delivery_json("ignored", "reason", ev.reason ? ev.reason : "no build",
                                    NULL);
        sw_hook_event_clear(&ev);
        count_answer(url, MHD_HTTP_ACCEPTED);
        ret = respond(c, MHD_HTTP_ACCEPTED, json);
        free(json);
        return ret;
    }

    sw_delivery *d = sw_delivery_new();
    d->cfg = sw_config_retain(r->cfg);
    d->project = p;
    d->route = r->route;
    d->delivery_id = delivery_id(header_any(c, headers_of(r->forge)->delivery), r->body, r->len);
    d->request_id = sw_asprintf("%s:%s", r->route, d->delivery_id);
    d->event = ev;
    d->received_ms = r->started_ms;
    free(r->body); /* not needed any more: let a big body go before the wait */
    r->body = NULL;
    r->cap = 0;

    in->cb(in->closure, sw_delivery_ref(d));
    sw_delivery_await(d, sw_clock_mono_ms() + (int64_t)r->cfg->webhook_publish_timeout_ms +
                        ANSWER_MARGIN_MS);
    count_answer(url, (unsigned int)sw_delivery_status(d));
    ret = respond_timed(c, (unsigned int)sw_delivery_status(d), sw_delivery_body(d),
                        r->started_us, sw_delivery_retry_after(d));
    sw_delivery_unref(d);
    return ret;
}

void sw_intake_count(sw_intake *in, sw_intake_counter which)
{
    assert(which < SW_INTAKE_NCOUNTERS);
    atomic_fetch_add(&in->counters[which], 1);
}

uint64_t sw_intake_counted(sw_intake *in, sw_intake_counter which)
{
    assert(which < SW_INTAKE_NCOUNTERS);
    return atomic_load(&in->counters[which]);
}

static enum MHD_Result healthz(sw_intake *in, struct MHD_Connection *c)
{
    bool up = sw_bus_connected(in->bus);
    json_t *o = json_pack("{s:s, s:s, s:I}", "status", up ? "ok" : "error", "nats",
                          up ? "connected" : "disconnected", "queue_full_refusals",
                          (json_int_t)sw_intake_counted(in, SW_INTAKE_QUEUE_FULL));
    char *json = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    if (json == NULL) {
        abort();
    }
    json_decref(o);
    enum MHD_Result r = respond(c, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, json);
    free(json);
    return r;
}

/* The counters in Prometheus' text format. */
static enum MHD_Result metrics(sw_intake *in, struct MHD_Connection *c)
{
    static const char *const answers[SW_INTAKE_NCOUNTERS] = {"accepted", "duplicate",
                                                             "queue_full", "unavailable",
                                                             "over_quota"};
    char text[1024];
    int n = snprintf(text, sizeof(text),
                     "# HELP slipway_webhook_answers_total Deliveries that asked for a "
                     "build, by answer.\n"
                     "# TYPE slipway_webhook_answers_total counter\n");
    for (int i = 0; i < SW_INTAKE_NCOUNTERS && n > 0 && (size_t)n < sizeof(text); i++) {
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "slipway_webhook_answers_total{answer=\"%s\"} %llu\n", answers[i],
                      (unsigned long long)sw_intake_counted(in, (sw_intake_counter)i));
    }
    n += snprintf(text + n, sizeof(text) - (size_t)n,
                  "# HELP slipway_webhook_nats_connected 1 while the gateway is connected to "
                  "NATS.\n"
                  "# TYPE slipway_webhook_nats_connected gauge\n"
                  "slipway_webhook_nats_connected %d\n",
                  sw_bus_connected(in->bus) ? 1 : 0);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* GET /builds/<id> here unless the pages have a listener of their own. */
static enum MHD_Result build_page(sw_intake *in, struct MHD_Connection *c, const char *url)
{
    const sw_config *cfg = current(in);
    enum MHD_Result ret;
    if (cfg->web_listen != NULL) {
        ret = fail(c, MHD_HTTP_NOT_FOUND, url, "nothing here: webhooks go to POST "
                                               "/hooks/<forge>/<project>");
    } else {
        ret = sw_webpage_answer(c, cfg, in->bus, url + strlen("/builds/"));
    }
    sw_config_release(&cfg);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    sw_intake *in = cls;
    request *r = *con_cls;
    enum MHD_Result answered = MHD_YES;

    if (r == NULL) {
        if (strncmp(url, "/hooks/", 7) != 0) {
            bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
            if (get && strcmp(url, "/healthz") == 0) {
                return healthz(in, c);
            }
            if (get && strcmp(url, "/metrics") == 0) {
                return metrics(in, c);
            }
            if (get && strncmp(url, "/builds/", 8) == 0) {
                return build_page(in, c, url);
            }
            return fail(c, MHD_HTTP_NOT_FOUND, url,
                        "nothing here: webhooks go to POST /hooks/<forge>/<project>");
        }
        if (strcmp(method, "POST") != 0) {
            return fail(c, MHD_HTTP_METHOD_NOT_ALLOWED, url, "webhooks are sent with POST, not %s",
                        method);
        }
        r = begin(in, c, url, &answered);
        if (r == NULL) {
            return answered;
        }
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* libmicrohttpd takes an answer only once the body is in: past the
         * limit, keep nothing and let the rest go by, then answer 413; a
         * sender that keeps going far past it is cut off. */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!r->refused && !append(r, upload_data, n)) {
            r->refused = true;
            free(r->body);
            r->body = NULL;
            sw_info(LOG, "%s: the body passed the limit of %llu bytes; discarding the rest", url,
                    (unsigned long long)r->cfg->webhook_max_body);
        }
        if (r->refused) {
            r->discarded += n;
            if (r->discarded > DISCARD_LIMIT) {
                sw_info(LOG, "%s: closing the connection after %zu bytes past the limit", url,
                        r->discarded);
                return MHD_NO;
            }
        }
        return MHD_YES;
    }
    if (r->refused) {
        return fail(c, MHD_HTTP_CONTENT_TOO_LARGE, url, "the body is over the limit of %llu bytes",
                    (unsigned long long)r->cfg->webhook_max_body);
    }
    return finish(in, c, url, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sw_intake *in = cls;
    request *r = *con_cls;
    if (r != NULL) {
        atomic_fetch_sub(&in->reserved, r->reserved);
        sw_config_release(&r->cfg);
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

int sw_intake_start(sw_intake **out, const sw_config *cfg, sw_bus *bus, sw_intake_cb cb,
                    void *closure)
{
    sw_intake *in = sw_calloc(1, sizeof(*in));
    int error;

    *out = NULL;
    pthread_mutex_init(&in->cfg_lock, NULL);
    in->cfg = sw_config_retain(cfg);
    in->bus = bus;
    in->cb = cb;
    in->closure = closure;
    if ((error = sw_listen_start(&in->daemon, "webhook.listen", cfg->webhook_listen,
                                 MAX_CONNECTIONS, on_request, in, on_completed, in)) < 0) {
        sw_config_release(&in->cfg);
        pthread_mutex_destroy(&in->cfg_lock);
        free(in);
        return error;
    }
    *out = in;
    return 0;
}

void sw_intake_stop(sw_intake **intake_p)
{
    sw_intake *in = intake_p != NULL ? *intake_p : NULL;
    if (in == NULL) {
        return;
    }
    *intake_p = NULL;
    MHD_stop_daemon(in->daemon);
    sw_config_release(&in->cfg);
    pthread_mutex_destroy(&in->cfg_lock);
    free(in);
}

void sw_intake_reconfigure(sw_intake *in, const sw_config *cfg)
{
    const sw_config *old;
    pthread_mutex_lock(&in->cfg_lock);
    old = in->cfg;
    in->cfg = sw_config_retain(cfg);
    pthread_mutex_unlock(&in->cfg_lock);
    sw_config_release(&old); /* freed here, or by the last request that began with it */
}
