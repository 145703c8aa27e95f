/*
 * http.h - what every page of the web actor does with libmicrohttpd: answers
 * with the same safety headers, the key a request shows, HTML escaping.
 */
#ifndef SW_WEB_HTTP_H
#define SW_WEB_HTTP_H

#include "runtime/core/buf.h"
#include "runtime/pageauth.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#define SW_WEB_COOKIE "slipway_token"

/* Queues an answer of status with body (taken: freed here) of type, e.g.
 * "text/html; charset=utf-8". Every answer: no caching, no sniffing, no
 * referrer (a ?token= must not leak into other sites' logs), scripts and
 * styles from this server only. */
enum MHD_Result sw_http_send(struct MHD_Connection *c, unsigned int status, const char *type,
                             char *body, size_t len);

/* The same for a NUL-terminated text/plain body (copied). */
enum MHD_Result sw_http_text(struct MHD_Connection *c, unsigned int status, const char *text);

/* The same, the text formatted. */
enum MHD_Result sw_http_textf(struct MHD_Connection *c, unsigned int status, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* A query argument, NULL when absent or empty. */
const char *sw_http_arg(struct MHD_Connection *c, const char *name);

/* The key the request shows (pageauth.h): borrowed from c for the request. */
void sw_http_key(struct MHD_Connection *c, sw_page_key *key);

/* Appends s to b with & < > " ' escaped. */
void sw_html(sw_buf *b, const char *s);

/* Appends s to b percent-encoded for a URL's query. */
void sw_html_query(sw_buf *b, const char *s);

/* A JSON string of s, its bytes that are not UTF-8 shown as '?' (a log line
 * may hold anything a program printed). */
json_t *sw_json_text(const char *s);

/* "2026-12-03 09:50:12" (UTC) of a wall-clock ms; "" for 0. Returns buf. */
const char *sw_http_time(char *buf, size_t n, int64_t ms);

/* "1h 2m", "3m 12s", "4.2s", "350ms". Returns buf. */
const char *sw_http_duration(char *buf, size_t n, int64_t ms);

#endif
