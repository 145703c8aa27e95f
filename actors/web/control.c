/*
 * control.c - POST /builds/<id>/cancel and /builds/<id>/retry from the page.
 *
 * Only a key that controls the build (runtime/pageauth.h: web.control_token
 * or the tenant's control_token) may; a read token gets 403. The request must
 * carry the header X-Slipway-Action: a browser sends a custom header across
 * sites only after a CORS preflight, which this server never grants, so
 * another site cannot make a visitor's browser cancel builds (the token is in
 * a cookie). Answers are JSON: {"state": ..., "reason": ...} for a cancel,
 * {"build": "<new id>"} for a retry.
 */
#include "actors/web/site.h"

#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOG "web"

static enum MHD_Result json_answer(const sw_web_req *r, unsigned int status, json_t *j)
{
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return sw_http_send(r->c, status, "application/json", body, strlen(body));
}

static enum MHD_Result refuse(const sw_web_req *r, unsigned int status, const char *why)
{
    return json_answer(r, status, json_pack("{ss}", "error", why));
}

static enum MHD_Result cancel(const sw_web_req *r, const Slipway__BuildRecord *rec)
{
    Slipway__CancelRequest req = SLIPWAY__CANCEL_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;
    char subject[160];
    req.build_id = rec->build_id;
    req.by = "the web page";
    req.reason = (char *)sw_http_arg(r->c, "reason");
    sw_subject(subject, sizeof(subject), SW_CTL_CANCEL, rec->build_id, NULL);
    if (sw_wire_request(r->bus, subject, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_ASK_MS, &msg) < 0) {
        return refuse(r, MHD_HTTP_SERVICE_UNAVAILABLE, sw_error_last());
    }
    Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
    enum MHD_Result ret;
    if (reply->n_builds == 1) {
        const Slipway__BuildRecord *now = reply->builds[0];
        bool ended = sw_state_is_final(now->state) &&
                     now->state != SLIPWAY__BUILD_STATE__CANCELLED;
        ret = json_answer(r, ended ? MHD_HTTP_CONFLICT : MHD_HTTP_OK,
                          json_pack("{ssso}", "state", sw_state_name(now->state), "reason",
                                    sw_json_text(now->reason)));
    } else if (reply->error[0] != '\0') {
        ret = refuse(r, MHD_HTTP_SERVICE_UNAVAILABLE, reply->error);
    } else {
        ret = json_answer(r, MHD_HTTP_OK, json_pack("{ss}", "state", "cancelled"));
    }
    sw_info(LOG, "build %s: cancel asked from the web page", rec->build_id);
    slipway__api_reply__free_unpacked(reply, NULL);
    return ret;
}

static enum MHD_Result retry(const sw_web_req *r, const Slipway__BuildRecord *rec)
{
    unsigned char rnd[16];
    char request_id[64], subject[160], build_id[13];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        return refuse(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no randomness for a request id");
    }
    int n = snprintf(request_id, sizeof(request_id), "web:");
    for (size_t i = 0; i < sizeof(rnd); i++) {
        n += snprintf(request_id + n, sizeof(request_id) - (size_t)n, "%02x", rnd[i]);
    }
    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    sw_build_retry_request(&br, rec);
    br.request_id = request_id;
    br.forge = "web";
    br.author = "the web page";
    sw_subject(subject, sizeof(subject), "sw.req", rec->tenant, NULL);
    if (sw_wire_js_publish(r->bus, subject, &br.base, request_id, NULL) < 0) {
        return refuse(r, sw_error_last_code() == SW_EFULL ? MHD_HTTP_TOO_MANY_REQUESTS
                                                          : MHD_HTTP_SERVICE_UNAVAILABLE,
                      sw_error_last());
    }
    sw_wire_build_id(build_id, rec->tenant, request_id);
    sw_info(LOG, "build %s: retried from the web page as %s", rec->build_id, build_id);
    return json_answer(r, MHD_HTTP_ACCEPTED, json_pack("{ss}", "build", build_id));
}

enum MHD_Result sw_web_control(const sw_web_req *r, const char *id, const char *action)
{
    Slipway__BuildRecord *rec = NULL;
    enum MHD_Result answered, ret;
    const char *site = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Sec-Fetch-Site");

    if (MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "X-Slipway-Action") == NULL ||
        (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)) {
        return refuse(r, MHD_HTTP_FORBIDDEN,
                      "send the X-Slipway-Action header from this site's own page");
    }
    if (sw_web_record(r, id, &rec, &answered) < 0) {
        return answered;
    }
    if (!sw_pageauth_controls(r->cfg, &r->key, rec->tenant)) {
        ret = refuse(r, MHD_HTTP_FORBIDDEN,
                     "this key reads builds but does not control them: use a control_token");
    } else if (strcmp(action, "cancel") == 0) {
        ret = cancel(r, rec);
    } else {
        ret = retry(r, rec);
    }
    slipway__build_record__free_unpacked(rec, NULL);
    return ret;
}
