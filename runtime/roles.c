/*
 * roles.c - the subjects of each actor role (see roles.h).
 *
 * Read with runtime/wire.h (subjects, streams, durables) and each actor's
 * header. JetStream API subjects, as cnats 3.4.1 sends them:
 *   publish into a stream      the subject itself; the ack comes to the inbox
 *   pull (durable D on S)      $JS.API.CONSUMER.INFO.S.D, ...MSG.NEXT.S.D, acks
 *                              to $JS.ACK.S.D.>
 *   follow (ordered, on S)     $JS.API.CONSUMER.CREATE.S (no name: the legacy
 *                              form; only roles trusted with all of S get it),
 *                              ...DELETE.S.*, flow control $JS.FC.S.>
 *   last message of a subject  $JS.API.STREAM.MSG.GET.S
 * Every role may read stream and consumer info (to wait for the scheduler's
 * set-up and to read backlogs) and subscribes to its own inbox only.
 */
#include "runtime/roles.h"

#include <string.h>

#define META "$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.CONSUMER.INFO.*.*"
#define PULL(S) "$JS.API.CONSUMER.MSG.NEXT." S ".*", "$JS.ACK." S ".>"
#define FOLLOW(S) "$JS.API.CONSUMER.CREATE." S, "$JS.API.CONSUMER.DELETE." S ".*", "$JS.FC." S ".>"
/* Answers to requests, by publish permission rather than allow_responses: the
 * inboxes of the service account's users (the operator's is the default) and
 * the reply subjects of tenants' requests through imports. With
 * allow_responses nats-server 2.9 remembers the reply subject of every
 * message delivered to the user for 2 minutes (stream deliveries and pulled
 * messages too) and, past 4096 of them, walks them all on each delivery: at a
 * few hundred builds a second that took 90% of the server's CPU. */
/* every process publishes its metrics registry (runtime/metrics_wire.h) */
#define METRICS "sw.metrics.*"
#define REPLIES "_INBOX.>", "_INBOX_gateway.>", "_INBOX_autoscaler.>", "_INBOX_web.>", "_R_.>"

static const char *const gateway_pub[] = {META, "sw.req.*", "sw.api.build", "sw.api.logs",
                                          "sw.api.admit", METRICS, NULL};
static const char *const gateway_sub[] = {"_INBOX_gateway.>", "sw.quota.*", NULL};

/* the scheduler sets up every stream and durable (and remakes LOGS) */
static const char *const scheduler_pub[] = {"$JS.API.>", PULL("REQUESTS"), PULL("ADVISORIES"),
                                            FOLLOW("EVENTS"), "sw.sched.*", "sw.events.>",
                                            "sw.logs.>", "sw.claims.>", "sw.ctl.cancel.*",
                                            "sw.quota.*", REPLIES, METRICS, NULL};
static const char *const scheduler_sub[] = {"_INBOX_scheduler.>", "sw.api.*", "sw.tapi.*.*",
                                            "sw.ctl.cancel.*", "sw.tctl.*.cancel.*",
                                            "sw.hb.>", NULL};

static const char *const dispatcher_pub[] = {META, PULL("SCHED"), FOLLOW("EVENTS"),
                                             "$JS.API.STREAM.MSG.GET.JOBS",
                                             "sw.jobs.*", "sw.events.>", METRICS, NULL};
static const char *const dispatcher_sub[] = {"_INBOX_dispatcher.>", "sw.hb.>", NULL};

static const char *const builder_pub[] = {META, PULL("JOBS"),
                                          "$JS.API.STREAM.MSG.GET.CLAIMS", "sw.claims.>",
                                          "sw.hb.*.*", "sw.logs.>", "sw.events.>",
                                          "sw.ctl.drain.*", METRICS, NULL};
static const char *const builder_sub[] = {"_INBOX_builder.>", "sw.ctl.cancel.*",
                                          "sw.ctl.drain.*", NULL};

static const char *const logsink_pub[] = {META, PULL("LOGS"), REPLIES, METRICS, NULL};
static const char *const logsink_sub[] = {"_INBOX_logsink.>", "sw.api.logs", "sw.tapi.*.logs",
                                          NULL};

static const char *const notifier_pub[] = {META, FOLLOW("EVENTS"), "sw.logs.>", METRICS, NULL};
static const char *const notifier_sub[] = {"_INBOX_notifier.>", NULL};

static const char *const autoscaler_pub[] = {META, "$JS.API.STREAM.MSG.GET.LEASES",
                                             "$JS.API.STREAM.MSG.DELETE.LEASES",
                                             "sw.lease.autoscaler.*", "sw.scale.>",
                                             "sw.ctl.drain.*", REPLIES, METRICS, NULL};
static const char *const autoscaler_sub[] = {"_INBOX_autoscaler.>", "sw.hb.>", "sw.jobs.*",
                                             "sw.scale.pool.*", "sw.api.pools", NULL};

/* the web pages: what `slipway logs -f`, show, builds, cancel and retry use */
static const char *const web_pub[] = {META, FOLLOW("EVENTS"), FOLLOW("LOGS"), "sw.api.build",
                                      "sw.api.builds", "sw.api.project", "sw.api.projects",
                                      "sw.api.builders", "sw.api.logs", "sw.ctl.cancel.*",
                                      "sw.req.*", METRICS, NULL};
static const char *const web_sub[] = {"_INBOX_web.>", "sw.metrics.*", NULL};

/* the operator: the CLI with every right (drain, all tenants' builds) */
static const char *const operator_pub[] = {">", NULL};
static const char *const operator_sub[] = {">", NULL};

static const sw_role roles[] = {
    {"gateway", gateway_pub, gateway_sub, false, false},
    {"scheduler", scheduler_pub, scheduler_sub, false, true},
    {"dispatcher", dispatcher_pub, dispatcher_sub, false, false},
    {"builder", builder_pub, builder_sub, true, false},
    {"logsink", logsink_pub, logsink_sub, false, false},
    {"notifier", notifier_pub, notifier_sub, false, false},
    {"autoscaler", autoscaler_pub, autoscaler_sub, false, false},
    {"web", web_pub, web_sub, false, false},
    {"operator", operator_pub, operator_sub, false, true}, /* ">" covers its answers */
};

const sw_role *sw_roles(size_t *n)
{
    *n = sizeof(roles) / sizeof(roles[0]);
    return roles;
}

const sw_role *sw_role_named(const char *name)
{
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(roles[i].name, name) == 0) {
            return &roles[i];
        }
    }
    return NULL;
}

const char *sw_role_of_actor(const char *kind)
{
    if (strcmp(kind, "webhook") == 0) {
        return "gateway";
    }
    const sw_role *r = sw_role_named(kind);
    return r != NULL && strcmp(kind, "operator") != 0 ? r->name : NULL;
}
