/*
 * pages.c - the builds list and a build's page, rendered on the server. The
 * page's log is filled by slipway.js from the build's event stream (stream.c):
 * one renderer for the lines whether they are old or live.
 */
#include "actors/web/site.h"

#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/pageauth.h"
#include "runtime/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX 500 /* the scheduler's own bound on one answer */

/* The projects of the running config (forge, repository), for commit links. */
static Slipway__ApiReply *projects(const sw_web_req *r)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;
    if (sw_wire_request(r->bus, SW_API_PROJECTS, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_ASK_MS, &msg) < 0) {
        return NULL;
    }
    return (Slipway__ApiReply *)msg;
}

static const Slipway__ProjectInfo *project_of(const Slipway__ApiReply *p, const char *name)
{
    for (size_t i = 0; p != NULL && i < p->n_projects; i++) {
        if (strcmp(p->projects[i]->name, name) == 0) {
            return p->projects[i];
        }
    }
    return NULL;
}

static void commit_cell(sw_buf *b, const Slipway__ApiReply *p, const Slipway__BuildRecord *rec)
{
    char url[512];
    const Slipway__ProjectInfo *pi = project_of(p, rec->project);
    if (rec->sha == NULL || rec->sha[0] == '\0') {
        sw_buf_puts(b, "<span class=\"dim\">-</span>");
        return;
    }
    sw_web_commit_url(url, sizeof(url), pi ? pi->forge : NULL, pi ? pi->repository : NULL,
                      rec->sha);
    char short_sha[9];
    snprintf(short_sha, sizeof(short_sha), "%s", rec->sha);
    if (url[0]) {
        sw_buf_puts(b, "<a class=\"sha\" href=\"");
        sw_html(b, url);
        sw_buf_puts(b, "\">");
        sw_html(b, short_sha);
        sw_buf_puts(b, "</a>");
    } else {
        sw_buf_puts(b, "<code class=\"sha\" title=\"");
        sw_html(b, rec->sha);
        sw_buf_puts(b, "\">");
        sw_html(b, short_sha);
        sw_buf_puts(b, "</code>");
    }
}

static int64_t duration_ms(const Slipway__BuildRecord *rec, int64_t now_ms)
{
    if (rec->started_ms <= 0) {
        return -1;
    }
    return (rec->finished_ms > 0 ? rec->finished_ms : now_ms) - rec->started_ms;
}

/* The filters of the list, from the query; the scheduler applies them. */
typedef struct filters {
    const char *project, *state, *ref;
    const char *cursor; /* the page after the one that gave it (ApiReply.next_cursor) */
    size_t limit;
} filters;

static void filter_form(sw_buf *b, const filters *f)
{
    static const char *const states[] = {"received",  "queued",   "dispatched", "running",
                                         "rescheduling", "succeeded", "failed", "errored",
                                         "cancelled", "timed_out"};
    sw_buf_puts(b, "<form class=\"filters\" method=\"get\" action=\"/builds\">"
                   "<label>Project <input name=\"project\" value=\"");
    sw_html(b, f->project);
    sw_buf_puts(b, "\"></label> <label>Ref <input name=\"ref\" value=\"");
    sw_html(b, f->ref);
    sw_buf_puts(b, "\"></label> <label>State <select name=\"state\"><option value=\"\">any"
                   "</option>");
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        sw_buf_printf(b, "<option%s>%s</option>",
                      f->state && strcmp(f->state, states[i]) == 0 ? " selected" : "",
                      states[i]);
    }
    sw_buf_puts(b, "</select></label> <button type=\"submit\">Filter</button></form>\n");
}

static void next_link(sw_buf *b, const filters *f, const char *cursor)
{
    sw_buf_puts(b, "<p class=\"paging\"><a id=\"older\" href=\"/builds?");
    if (f->project) {
        sw_buf_puts(b, "project=");
        sw_html_query(b, f->project);
        sw_buf_puts(b, "&amp;");
    }
    if (f->ref) {
        sw_buf_puts(b, "ref=");
        sw_html_query(b, f->ref);
        sw_buf_puts(b, "&amp;");
    }
    if (f->state) {
        sw_buf_puts(b, "state=");
        sw_html_query(b, f->state);
        sw_buf_puts(b, "&amp;");
    }
    sw_buf_printf(b, "limit=%zu&amp;cursor=", f->limit);
    sw_html_query(b, cursor);
    sw_buf_puts(b, "\">Older builds</a></p>\n");
}

static void row(sw_buf *b, const Slipway__ApiReply *p, const Slipway__BuildRecord *rec,
                int64_t now_ms)
{
    char t[64], d[32];
    const char *state = sw_state_name(rec->state);
    sw_buf_printf(b, "<tr class=\"build st-%s\" data-build=\"", state);
    sw_html(b, rec->build_id);
    sw_buf_printf(b, "\"><td><span class=\"badge st-%s\">%s</span></td><td><a href=\"/builds/",
                  state, state);
    sw_html(b, rec->build_id);
    sw_buf_puts(b, "\">");
    sw_html(b, rec->build_id);
    sw_buf_puts(b, "</a></td><td>");
    sw_html(b, rec->project);
    sw_buf_puts(b, "</td><td class=\"ref\">");
    sw_html(b, sw_ref_display(rec->ref));
    sw_buf_puts(b, "</td><td>");
    commit_cell(b, p, rec);
    sw_buf_printf(b, "</td><td>%s</td><td>", sw_build_trigger(rec));
    sw_html(b, rec->author);
    sw_buf_printf(b, "</td><td class=\"time\">%s</td>",
                  sw_http_time(t, sizeof(t), rec->created_ms));
    sw_buf_printf(b, "<td class=\"time\">%s</td>", sw_http_time(t, sizeof(t), rec->started_ms));
    int64_t ms = duration_ms(rec, now_ms);
    sw_buf_printf(b, "<td class=\"num\">%s</td></tr>\n",
                  ms >= 0 ? sw_http_duration(d, sizeof(d), ms) : "");
}

enum MHD_Result sw_web_list(const sw_web_req *r)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;
    const char *tenant = NULL;
    filters f = {.project = sw_http_arg(r->c, "project"),
                 .state = sw_http_arg(r->c, "state"),
                 .ref = sw_http_arg(r->c, "ref"),
                 .limit = LIST_DEFAULT};
    const char *limit = sw_http_arg(r->c, "limit");

    sw_page_scope scope = sw_pageauth_scope(r->cfg, &r->key, &tenant);
    if (scope == SW_PAGE_SCOPE_NONE) {
        return sw_web_ask_key(r); /* no key, or one that opens no list: the same page */
    }
    if (limit != NULL) {
        char *end;
        unsigned long n = strtoul(limit, &end, 10);
        if (*end != '\0' || n == 0 || n > LIST_MAX) {
            return sw_http_text(r->c, MHD_HTTP_BAD_REQUEST,
                                "limit must be a number from 1 to 500; older builds are on "
                                "the next pages (the \"Older builds\" link)\n");
        }
        f.limit = n;
    }
    if (f.state != NULL && sw_state_parse(f.state) == SLIPWAY__BUILD_STATE__UNKNOWN) {
        return sw_http_text(r->c, MHD_HTTP_BAD_REQUEST,
                            "state must be one of received, queued, dispatched, running, "
                            "rescheduling, succeeded, failed, errored, cancelled, timed_out\n");
    }
    f.cursor = sw_http_arg(r->c, "cursor");
    req.limit = (uint32_t)f.limit;
    req.tenant = (char *)(tenant != NULL ? tenant : "");
    req.project = (char *)(f.project ? f.project : "");
    req.ref = (char *)(f.ref ? f.ref : "");
    req.state = f.state ? sw_state_parse(f.state) : SLIPWAY__BUILD_STATE__UNKNOWN;
    req.cursor = (char *)(f.cursor ? f.cursor : "");
    if (sw_wire_request(r->bus, SW_API_BUILDS, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_ASK_MS, &msg) < 0) {
        return sw_http_textf(r->c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "the scheduler cannot be asked now: %s\n", sw_error_last());
    }
    Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
    if (reply->error[0] != '\0') {
        enum MHD_Result ret = sw_http_textf(r->c, MHD_HTTP_BAD_REQUEST,
                                            "the scheduler refused the list: %s\n", reply->error);
        slipway__api_reply__free_unpacked(reply, NULL);
        return ret;
    }
    Slipway__ApiReply *p = projects(r);
    int64_t now_ms = sw_clock_wall_ms();
    sw_buf b = {0};

    sw_web_head(&b, "Slipway: builds");
    sw_buf_puts(&b, "<main><h1>Builds</h1>\n");
    filter_form(&b, &f);
    sw_buf_puts(&b, "<table class=\"builds\"><thead><tr><th>State</th><th>Build</th>"
                    "<th>Project</th><th>Ref</th><th>Commit</th><th>Trigger</th>"
                    "<th>Author</th><th>Queued (UTC)</th><th>Started (UTC)</th>"
                    "<th>Duration</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < reply->n_builds; i++) {
        row(&b, p, reply->builds[i], now_ms);
    }
    sw_buf_puts(&b, "</tbody></table>\n");
    if (reply->n_builds == 0) {
        sw_buf_puts(&b, "<p class=\"empty\">No builds here.</p>\n");
    }
    if (reply->next_cursor != NULL && reply->next_cursor[0] != '\0') {
        next_link(&b, &f, reply->next_cursor);
    }
    sw_buf_puts(&b, "</main>\n");
    sw_web_foot(&b);
    if (p != NULL) {
        slipway__api_reply__free_unpacked(p, NULL);
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return sw_http_send(r->c, MHD_HTTP_OK, "text/html; charset=utf-8", b.data, b.len);
}

/* One "name: value" of the header, value escaped; nothing when value is empty. */
static void field(sw_buf *b, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0') {
        return;
    }
    sw_buf_printf(b, "<dt>%s</dt><dd>", name);
    sw_html(b, value);
    sw_buf_puts(b, "</dd>");
}

static void header(sw_buf *b, const sw_web_req *r, const Slipway__BuildRecord *rec,
                   const Slipway__ProjectInfo *pi)
{
    char t[64], url[512], attempt[64];
    const char *state = sw_state_name(rec->state);
    sw_buf_printf(b, "<section class=\"head\"><h1><span id=\"state\" class=\"badge st-%s\">%s"
                     "</span> ",
                  state, state);
    sw_html(b, rec->project);
    sw_buf_puts(b, " <span class=\"ref\">");
    sw_html(b, sw_ref_display(rec->ref));
    sw_buf_puts(b, "</span> <span class=\"dim\">#");
    sw_html(b, rec->build_id);
    sw_buf_puts(b, "</span></h1>\n");
    if (rec->message[0]) {
        sw_buf_puts(b, "<p class=\"message\">");
        sw_html(b, rec->message);
        sw_buf_puts(b, "</p>\n");
    }
    sw_buf_puts(b, "<dl class=\"facts\">");
    sw_buf_puts(b, "<dt>Commit</dt><dd id=\"sha\">");
    sw_web_commit_url(url, sizeof(url), pi ? pi->forge : NULL, pi ? pi->repository : NULL,
                      rec->sha);
    if (url[0]) {
        sw_buf_puts(b, "<a href=\"");
        sw_html(b, url);
        sw_buf_puts(b, "\">");
        sw_html(b, rec->sha);
        sw_buf_puts(b, "</a>");
    } else {
        sw_html(b, rec->sha[0] ? rec->sha : "-");
    }
    sw_buf_puts(b, "</dd>");
    field(b, "Trigger", sw_build_trigger(rec));
    field(b, "Author", rec->author);
    snprintf(attempt, sizeof(attempt), "%u", rec->attempt);
    sw_buf_puts(b, "<dt>Attempt</dt><dd id=\"attempt\">");
    sw_html(b, attempt);
    sw_buf_puts(b, "</dd><dt>Builder</dt><dd id=\"builder\">");
    sw_html(b, rec->builder[0] ? rec->builder : "-");
    sw_buf_puts(b, "</dd>");
    field(b, "Queued (UTC)", sw_http_time(t, sizeof(t), rec->created_ms));
    sw_buf_puts(b, "<dt>Started (UTC)</dt><dd id=\"started\">");
    sw_html(b, sw_http_time(t, sizeof(t), rec->started_ms));
    sw_buf_puts(b, "</dd><dt>Duration</dt><dd id=\"duration\">");
    if (rec->started_ms > 0) {
        sw_html(b, sw_http_duration(t, sizeof(t),
                                    (rec->finished_ms > 0 ? rec->finished_ms
                                                          : r->now_s * 1000) -
                                        rec->started_ms));
    }
    sw_buf_puts(b, "</dd>");
    if (rec->image[0]) {
        char *image = sw_asprintf("%s@%s", rec->image, rec->digest);
        field(b, "Image", image);
        free(image);
    }
    if (rec->retry_of[0]) {
        sw_buf_puts(b, "<dt>Retry of</dt><dd><a href=\"/builds/");
        sw_html(b, rec->retry_of);
        sw_buf_puts(b, "\">");
        sw_html(b, rec->retry_of);
        sw_buf_puts(b, "</a></dd>");
    }
    sw_buf_puts(b, "<dt>Reason</dt><dd id=\"reason\">");
    sw_html(b, rec->reason);
    sw_buf_puts(b, "</dd></dl>\n");
}

static void controls(sw_buf *b, const sw_web_req *r, const Slipway__BuildRecord *rec,
                     const char *q)
{
    bool may = sw_pageauth_controls(r->cfg, &r->key, rec->tenant);
    sw_buf_puts(b, "<div class=\"tools\">");
    if (may) {
        sw_buf_puts(b, "<button type=\"button\" class=\"action\" data-action=\"cancel\" "
                       "id=\"cancel\">Cancel</button>"
                       "<button type=\"button\" class=\"action\" data-action=\"retry\" "
                       "id=\"retry\">Retry</button>");
    }
    sw_buf_puts(b, "<label><input type=\"checkbox\" id=\"timestamps\"> Timestamps</label>"
                   "<a href=\"/builds/");
    sw_html(b, rec->build_id);
    sw_buf_puts(b, "/log.txt");
    if (q[0]) {
        sw_buf_puts(b, "?");
        sw_html(b, q);
    }
    sw_buf_puts(b, "\" id=\"raw\">Raw log</a><span id=\"live\" class=\"live\"></span>"
                   "<button type=\"button\" id=\"follow\" hidden>Follow the log</button>"
                   "<span id=\"action-result\"></span></div>\n");
}

enum MHD_Result sw_web_build(const sw_web_req *r, const char *id)
{
    Slipway__BuildRecord *rec = NULL;
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;
    enum MHD_Result answered;
    char q[256], title[256];
    sw_buf b = {0};

    if (sw_web_record(r, id, &rec, &answered) < 0) {
        return answered;
    }
    req.project = rec->project;
    Slipway__ApiReply *p = NULL;
    if (sw_wire_request(r->bus, SW_API_PROJECT, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_ASK_MS, &msg) == 0) {
        p = (Slipway__ApiReply *)msg;
    }
    sw_web_link_query(r, q, sizeof(q));
    snprintf(title, sizeof(title), "%s %s: %s", rec->project, sw_ref_display(rec->ref),
             sw_state_name(rec->state));
    sw_web_head(&b, title);
    sw_buf_puts(&b, "<main>\n");
    header(&b, r, rec, p != NULL ? p->project : NULL);
    controls(&b, r, rec, q);
    sw_buf_puts(&b, "<div id=\"log\" class=\"log\" data-build=\"");
    sw_html(&b, rec->build_id);
    sw_buf_printf(&b, "\" data-tail=\"%u\" data-q=\"", r->cfg->web_tail_lines);
    sw_html(&b, q);
    sw_buf_printf(&b, "\" data-state=\"%s\"></div>\n<noscript><p>The log is shown live with "
                      "JavaScript; without it, read the <a href=\"/builds/",
                  sw_state_name(rec->state));
    sw_html(&b, rec->build_id);
    sw_buf_puts(&b, "/log.txt\">raw log</a>.</p></noscript>\n</main>\n");
    sw_web_foot(&b);
    if (p != NULL) {
        slipway__api_reply__free_unpacked(p, NULL);
    }
    slipway__build_record__free_unpacked(rec, NULL);
    return sw_http_send(r->c, MHD_HTTP_OK, "text/html; charset=utf-8", b.data, b.len);
}
