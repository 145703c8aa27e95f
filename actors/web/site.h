/*
 * site.h - the web actor's pages, one function per kind of URL, all called on
 * libmicrohttpd's connection threads (server.c routes to them):
 *
 *   GET  /, /builds                 the builds list (pages.c)
 *   GET  /builds/<id>               a build's page (pages.c)
 *   GET  /builds/<id>/events        its live stream, server-sent events (stream.c)
 *   GET  /builds/<id>/log.txt       its raw log, Range honoured (logtext.c)
 *   GET  /builds/<id>/lines         earlier lines for the page, JSON (logtext.c)
 *   POST /builds/<id>/cancel|retry  (control.c)
 *
 * Every page of a build asks the scheduler for its record first and checks the
 * key against its tenant (sw_web_record): THE RULE of runtime/pageauth.h.
 */
#ifndef SW_WEB_SITE_H
#define SW_WEB_SITE_H

#include "actors/web/http.h"
#include "bus/bus.h"
#include "runtime/config.h"
#include "slipway.pb-c.h"

#include <stdbool.h>

#define SW_WEB_ASK_MS 3000 /* how long a page waits for the scheduler or the logsink */

typedef struct sw_web_req {
    struct MHD_Connection *c;
    const sw_config *cfg; /* retained for the request */
    sw_bus *bus;
    sw_page_key key;
    int64_t now_s;
    const bool *stopping; /* set when the server stops: streams end */
} sw_web_req;

/* The record of build id when the request's key opens it: 0 and *rec_out (the
 * caller's, slipway__build_record__free_unpacked). Otherwise the answer is
 * queued here (401 no key, 404 no such build or not for this key, 503 no
 * scheduler) and *answered holds what to return. */
int sw_web_record(const sw_web_req *r, const char *id, Slipway__BuildRecord **rec_out,
                  enum MHD_Result *answered);

/* Answers 401 with the page that asks for a token. */
enum MHD_Result sw_web_ask_key(const sw_web_req *r);

/* The query of a signed link ("exp=..&sig=..") the page passes on to its
 * stream and log, or "" (written into buf). */
const char *sw_web_link_query(const sw_web_req *r, char *buf, size_t n);

enum MHD_Result sw_web_list(const sw_web_req *r);
enum MHD_Result sw_web_build(const sw_web_req *r, const char *id);
enum MHD_Result sw_web_events(const sw_web_req *r, const char *id);
enum MHD_Result sw_web_logtxt(const sw_web_req *r, const char *id);
enum MHD_Result sw_web_lines(const sw_web_req *r, const char *id);
enum MHD_Result sw_web_control(const sw_web_req *r, const char *id, const char *action);

/* The page's frame: everything before the content (title escaped) and after. */
void sw_web_head(sw_buf *b, const char *title);
void sw_web_foot(sw_buf *b);

/* The commit's page on its forge (https clone URLs of github, gitlab, gitea,
 * bitbucket), into buf; "" when unknown. */
const char *sw_web_commit_url(char *buf, size_t n, const char *forge, const char *repository,
                              const char *sha);

#endif
