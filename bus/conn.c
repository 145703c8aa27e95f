/*
 * conn.c - one NATS connection (sw_bus): connect, reconnect forever, core
 * publish, request/reply, flush.
 *
 * DESIGN
 * cnats does the work; this file picks the options that Slipway needs (see
 * /work/shared/NATS_NOTES.md): SendAsap so nothing waits for the 1 ms flusher,
 * reconnect forever every 250 ms, requests fail at once while disconnected
 * instead of waiting out their timeout. The first connect is bounded by
 * connect_wait_ms: with 0 it is a single try, otherwise cnats keeps retrying in
 * the background (RetryOnFailedConnect) while we poll the status until the
 * deadline (or until opts->cancel says stop). Connection events are logged from
 * cnats' callback thread; their closure is NULL so they never touch a freed
 * sw_bus. While the connection is down, cnats' asynchronous errors (an ordered
 * consumer's "Missed Server Heartbeat" every few seconds, its failed re-creation)
 * are consequences of the outage already reported once by on_disconnected, so
 * they are logged at debug level only.
 */
#include "bus/internal.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RECONNECT_WAIT_MS 250
#define CONNECT_TRY_MS 2000
#define PING_INTERVAL_MS 5000
#define DEFAULT_REQUEST_TIMEOUT_MS 5000

/* Connections this process is closing on purpose: cnats reports their end as a
 * disconnect before it marks them closed, and that is no outage to warn about. */
static atomic_int closing;

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)closure;
    if (natsConnection_IsClosed(nc) || atomic_load(&closing) > 0) {
        return; /* sw_bus_destroy, not an outage */
    }
    sw_warn("bus", "disconnected from NATS; reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    (void)closure;
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    sw_info("bus", "reconnected to NATS at %s", url);
}

/* cnats 3.4.1 retries a failed first connect synchronously (forever, with
 * MaxReconnect -1) unless a connected callback is set; with one, Connect returns
 * NATS_NOT_YET_CONNECTED at once and keeps trying in the background. */
static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
}

static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    sw_debug("bus", "NATS connection closed");
}

/* The server's refusals per connection (sw_bus_refusals). Looked up by the
 * natsConnection, so the callback never holds a pointer into a freed sw_bus. */
#define MAX_WATCHED 64
static struct {
    const natsConnection *nc;
    unsigned count;
    char text[256];
} refusals[MAX_WATCHED];
static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;

static void refusal_watch(const natsConnection *nc, bool on)
{
    pthread_mutex_lock(&refusals_lock);
    for (size_t i = 0; i < MAX_WATCHED; i++) {
        if (on ? refusals[i].nc == NULL : refusals[i].nc == nc) {
            refusals[i].nc = on ? nc : NULL;
            refusals[i].count = 0;
            refusals[i].text[0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&refusals_lock);
}

static void refusal_note(const natsConnection *nc, const char *text)
{
    pthread_mutex_lock(&refusals_lock);
    for (size_t i = 0; i < MAX_WATCHED; i++) {
        if (refusals[i].nc == nc) {
            refusals[i].count++;
            snprintf(refusals[i].text, sizeof(refusals[i].text), "%s", text);
            break;
        }
    }
    pthread_mutex_unlock(&refusals_lock);
}

unsigned sw_bus_refusals(sw_bus *bus, char *buf, size_t n)
{
    unsigned count = 0;
    if (n > 0) {
        buf[0] = '\0';
    }
    pthread_mutex_lock(&refusals_lock);
    for (size_t i = 0; i < MAX_WATCHED; i++) {
        if (refusals[i].nc == bus->nc) {
            count = refusals[i].count;
            if (n > 0) {
                snprintf(buf, n, "%s", refusals[i].text);
            }
            break;
        }
    }
    pthread_mutex_unlock(&refusals_lock);
    return count;
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
                           void *closure)
{
    const char *subject = sub != NULL ? natsSubscription_GetSubject(sub) : NULL;
    if (err == NATS_NOT_PERMITTED) {
        const char *text = NULL;
        natsConnection_GetLastError(nc, &text);
        refusal_note(nc, text != NULL && text[0] ? text : "Permissions Violation");
        sw_warn("bus", "NATS refused: %s", text != NULL ? text : "permissions violation");
        return;
    }
    sw_log_level level =
        natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED ? SW_LOG_WARN : SW_LOG_DEBUG;
    (void)closure;
    sw_log(level, "bus", "NATS asynchronous error%s%s: %s", subject ? " on " : "",
           subject ? subject : "", natsStatus_GetText(err));
}

/* url: one URL, or several separated by commas (blanks around each are
 * dropped): cnats connects to any of them and reconnects to the others (and to
 * those the cluster announces). */
static natsStatus set_servers(natsOptions *o, const char *url)
{
    char *copy = sw_strdup(url);
    int n = 0, max = 1;
    natsStatus s;

    for (const char *c = url; *c != '\0'; c++) {
        max += *c == ',';
    }
    const char **servers = sw_calloc((size_t)max, sizeof(*servers));
    for (char *tok = copy, *end; tok != NULL && n < max; tok = end) {
        if ((end = strchr(tok, ',')) != NULL) {
            *end++ = '\0';
        }
        tok += strspn(tok, " \t");
        size_t len = strlen(tok);
        while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t')) {
            tok[--len] = '\0';
        }
        if (len > 0) {
            servers[n++] = tok;
        }
    }
    s = n <= 1 ? natsOptions_SetURL(o, n == 1 ? servers[0] : url)
               : natsOptions_SetServers(o, servers, n);
    free(servers);
    free(copy);
    return s;
}

static int make_options(natsOptions **out, const sw_bus_options *opts)
{
    natsOptions *o = NULL;
    natsStatus s;
    int64_t try_ms = CONNECT_TRY_MS;

    if (opts->connect_wait_ms > 0 && opts->connect_wait_ms < try_ms) {
        try_ms = opts->connect_wait_ms;
    }
    s = natsOptions_Create(&o);
    if (s == NATS_OK) {
        s = set_servers(o, opts->url);
    }
    if (s == NATS_OK && opts->name != NULL) {
        s = natsOptions_SetName(o, opts->name);
    }
    if (s == NATS_OK && opts->user != NULL) {
        s = natsOptions_SetUserInfo(o, opts->user, opts->password ? opts->password : "");
    }
    if (s == NATS_OK && opts->inbox_prefix != NULL) {
        s = natsOptions_SetCustomInboxPrefix(o, opts->inbox_prefix);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetSendAsap(o, true);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(o, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(o, RECONNECT_WAIT_MS);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(o, try_ms);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetPingInterval(o, PING_INTERVAL_MS);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetFailRequestsOnDisconnect(o, true);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, NULL);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectedCB(o, on_reconnected, NULL);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetClosedCB(o, on_closed, NULL);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetErrorHandler(o, on_async_error, NULL);
    }
    if (s == NATS_OK && opts->connect_wait_ms > 0) {
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, NULL);
    }
    if (s != NATS_OK) {
        natsOptions_Destroy(o);
        return sw_bus_fail(s, 0, "cannot set up NATS options for %s", opts->url);
    }
    *out = o;
    return 0;
}

/* Whether the server refused nc's credentials (cnats then closes it soon). */
static bool auth_refused(natsConnection *nc)
{
    const char *text = NULL;
    natsStatus e = natsConnection_GetLastError(nc, &text);
    return e == NATS_CONNECTION_AUTH_FAILED ||
           (text != NULL && strstr(text, "Authorization Violation") != NULL);
}

/* Waits until nc is connected (0), deadline (monotonic ms) passes (SW_ETIMEDOUT),
 * the server refuses the credentials (SW_EDENIED) or opts->cancel returns true
 * (SW_ESTOPPED). */
static int wait_connected(natsConnection *nc, const sw_bus_options *opts, int64_t deadline)
{
    for (;;) {
        natsConnStatus st = natsConnection_Status(nc);
        if (st == NATS_CONN_STATUS_CONNECTED) {
            return 0;
        }
        if (auth_refused(nc)) {
            return SW_EDENIED;
        }
        if (opts->cancel != NULL && opts->cancel(opts->cancel_closure)) {
            return SW_ESTOPPED;
        }
        if (st == NATS_CONN_STATUS_CLOSED || sw_clock_mono_ms() >= deadline) {
            return SW_ETIMEDOUT;
        }
        nats_Sleep(10);
    }
}

static int refused(const sw_bus_options *opts)
{
    return sw_error_set(SW_EDENIED,
                        "NATS at %s refused the credentials of user '%s' (Authorization "
                        "Violation): check the credentials file (--creds, nats.creds or "
                        "SLIPWAY_CREDS)",
                        opts->url, opts->user ? opts->user : "(none given)");
}

int sw_bus_connect(sw_bus **out, const sw_bus_options *opts)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    sw_bus *bus = NULL;
    natsStatus s;
    int64_t deadline = sw_clock_mono_ms() + (opts != NULL ? opts->connect_wait_ms : 0);
    int error = -1;

    *out = NULL;
    if (opts == NULL || opts->url == NULL || opts->url[0] == '\0') {
        return sw_error_set(SW_EINVALID, "no NATS URL given (expected nats://host:port)");
    }
    if ((error = make_options(&o, opts)) < 0) {
        goto cleanup;
    }
    s = natsConnection_Connect(&nc, o);
    if (s == NATS_NOT_YET_CONNECTED) {
        int waited = wait_connected(nc, opts, deadline);
        if (waited == SW_ESTOPPED) {
            error = sw_error_set(SW_ESTOPPED, "stopped waiting for NATS at %s", opts->url);
            goto cleanup;
        }
        if (waited == SW_EDENIED) {
            error = refused(opts);
            goto cleanup;
        }
        if (waited < 0) {
            error = sw_error_set(SW_EBUS,
                                 "cannot reach NATS at %s within %d ms (is nats-server running?)",
                                 opts->url, opts->connect_wait_ms);
            goto cleanup;
        }
    } else if (s == NATS_CONNECTION_AUTH_FAILED ||
               strstr(sw_bus_last_detail(), "Authorization Violation") != NULL) {
        error = refused(opts);
        goto cleanup;
    } else if (s != NATS_OK) {
        const char *detail = sw_bus_last_detail();
        error = sw_error_set(SW_EBUS, "cannot reach NATS at %s: %s (is nats-server running?)",
                             opts->url, detail[0] ? detail : natsStatus_GetText(s));
        goto cleanup;
    }

    jsOptions_Init(&jo);
    jo.Wait = opts->request_timeout_ms > 0 ? opts->request_timeout_ms
                                           : DEFAULT_REQUEST_TIMEOUT_MS;
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s != NATS_OK) {
        error = sw_bus_fail(s, 0, "cannot set up JetStream on %s", opts->url);
        goto cleanup;
    }

    bus = sw_calloc(1, sizeof(*bus));
    bus->nc = nc;
    bus->js = js;
    bus->url = sw_strdup(opts->url);
    bus->request_timeout_ms = (int)jo.Wait;
    refusal_watch(nc, true);
    nc = NULL;
    js = NULL;
    *out = bus;
    error = 0;

cleanup:
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
    return error;
}

void sw_bus_destroy(sw_bus **bus_p)
{
    sw_bus *bus = bus_p != NULL ? *bus_p : NULL;
    if (bus == NULL) {
        return;
    }
    *bus_p = NULL;
    if (natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED) {
        natsConnection_FlushTimeout(bus->nc, 1000);
    }
    atomic_fetch_add(&closing, 1);
    refusal_watch(bus->nc, false);
    jsCtx_Destroy(bus->js);
    natsConnection_Close(bus->nc);
    natsConnection_Destroy(bus->nc);
    atomic_fetch_sub(&closing, 1);
    free(bus->url);
    free(bus);
}

bool sw_bus_connected(sw_bus *bus)
{
    return natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED;
}

uint64_t sw_bus_reconnects(sw_bus *bus)
{
    natsStatistics *stats = NULL;
    uint64_t reconnects = 0;
    if (natsStatistics_Create(&stats) == NATS_OK &&
        natsConnection_GetStats(bus->nc, stats) == NATS_OK) {
        natsStatistics_GetCounts(stats, NULL, NULL, NULL, NULL, &reconnects);
    }
    natsStatistics_Destroy(stats);
    return reconnects;
}

int sw_bus_flush(sw_bus *bus, int timeout_ms)
{
    natsStatus s = natsConnection_FlushTimeout(bus->nc, timeout_ms > 0 ? timeout_ms : 1);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot flush to NATS at %s", bus->url);
    }
    return 0;
}

int sw_bus_publish(sw_bus *bus, const char *subject, const void *data, size_t len)
{
    natsStatus s;
    if (len > INT_MAX) {
        return sw_error_set(SW_EINVALID, "message for %s too large (%zu bytes)", subject, len);
    }
    s = natsConnection_Publish(bus->nc, subject, data, (int)len);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot publish on %s", subject);
    }
    return 0;
}

int sw_bus_request(sw_bus *bus, const char *subject, const void *data, size_t len,
                   int timeout_ms, sw_msg **reply_out)
{
    natsMsg *reply = NULL;
    natsStatus s;

    *reply_out = NULL;
    if (len > INT_MAX) {
        return sw_error_set(SW_EINVALID, "request for %s too large (%zu bytes)", subject, len);
    }
    if (!sw_bus_connected(bus)) {
        return sw_error_set(SW_EBUS, "cannot send a request on %s: not connected to NATS at %s "
                            "(reconnecting)", subject, bus->url);
    }
    s = natsConnection_Request(&reply, bus->nc, subject, data, (int)len,
                               timeout_ms > 0 ? timeout_ms : 1);
    if (s == NATS_NO_RESPONDERS) {
        return sw_error_set(SW_ENOTFOUND, "no one answers requests on %s", subject);
    }
    if (s == NATS_TIMEOUT) {
        return sw_error_set(SW_ETIMEDOUT, "no answer on %s within %d ms", subject, timeout_ms);
    }
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "request on %s failed", subject);
    }
    *reply_out = sw_msg_wrap(reply, SW_MSG_CORE, NULL);
    return 0;
}

int sw_bus_respond(sw_bus *bus, const sw_msg *request, const void *data, size_t len)
{
    const char *reply = sw_msg_reply(request);
    if (reply == NULL) {
        return sw_error_set(SW_EINVALID, "cannot answer a message on %s: it has no reply subject",
                            sw_msg_subject(request));
    }
    return sw_bus_publish(bus, reply, data, len);
}

void sw_bus_shutdown(int timeout_ms)
{
    natsStatus s = nats_CloseAndWait(timeout_ms > 0 ? timeout_ms : 0);
    if (s != NATS_OK && s != NATS_NOT_INITIALIZED) {
        sw_warn("bus", "the NATS library did not shut down cleanly within %d ms: %s", timeout_ms,
                natsStatus_GetText(s));
    }
}
