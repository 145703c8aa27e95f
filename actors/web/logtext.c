/*
 * logtext.c - a build's log as text (GET /builds/<id>/log.txt, one range of
 * bytes honoured) and earlier lines for the page (GET /builds/<id>/lines).
 * Both read the archive through a logmerge (logread.h), so they show what
 * `slipway logs` shows.
 */
#include "actors/web/logread.h"
#include "actors/web/site.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TEXT_MAX ((size_t)512 << 20) /* past this, log.txt says to use `slipway logs` */
#define LINES_MAX 20000                  /* lines one /lines answer gives at most */

typedef struct text_read {
    sw_buf text;
    bool cut;
} text_read;

static bool add_text(void *closure, const Slipway__LogChunk *chunk)
{
    text_read *t = closure;
    for (size_t i = 0; i < chunk->n_lines; i++) {
        const Slipway__LogLine *line = chunk->lines[i];
        if (line->stream == SLIPWAY__LOG_STREAM__SYSTEM) {
            sw_buf_puts(&t->text, "[slipway] ");
        }
        sw_buf_puts(&t->text, line->text);
        sw_buf_add(&t->text, "\n", 1);
    }
    if (t->text.len > LOG_TEXT_MAX) {
        t->cut = true;
        return false;
    }
    return true;
}

/* Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" against a body of
 * size total: 1 with [*from, *to] (inclusive), 0 for none (or a form not
 * honoured: several ranges), -1 when it cannot be satisfied. */
static int parse_range(const char *h, size_t total, size_t *from, size_t *to)
{
    unsigned long long a = 0, b = 0;
    char *end;
    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL) {
        return 0;
    }
    h += 6;
    if (*h == '-') { /* the last n bytes */
        b = strtoull(h + 1, &end, 10);
        if (*end != '\0' || end == h + 1) {
            return 0;
        }
        if (b == 0 || total == 0) {
            return -1;
        }
        *from = b >= total ? 0 : total - (size_t)b;
        *to = total - 1;
        return 1;
    }
    a = strtoull(h, &end, 10);
    if (end == h || *end != '-') {
        return 0;
    }
    h = end + 1;
    if (*h == '\0') {
        b = total ? total - 1 : 0;
    } else {
        b = strtoull(h, &end, 10);
        if (*end != '\0' || b < a) {
            return 0;
        }
    }
    if (a >= total) {
        return -1;
    }
    *from = (size_t)a;
    *to = b >= total ? total - 1 : (size_t)b;
    return 1;
}

enum MHD_Result sw_web_logtxt(const sw_web_req *r, const char *id)
{
    Slipway__BuildRecord *rec = NULL;
    enum MHD_Result answered;
    text_read t = {0};
    sw_logmerge merged;
    size_t from = 0, to = 0;
    char header[96];

    if (sw_web_record(r, id, &rec, &answered) < 0) {
        return answered;
    }
    slipway__build_record__free_unpacked(rec, NULL);
    sw_logmerge_init(&merged);
    if (sw_logread(r->bus, id, SW_WEB_ASK_MS, &merged, add_text, &t) < 0 && t.text.len == 0) {
        return sw_http_textf(r->c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "the log archive cannot be read now: %s\n", sw_error_last());
    }
    if (t.cut) {
        sw_buf_free(&t.text);
        return sw_http_text(r->c, MHD_HTTP_CONTENT_TOO_LARGE,
                            "this log is over 512 MiB: read it with `slipway logs BUILD`\n");
    }
    const char *range = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Range");
    int ranged = parse_range(range, t.text.len, &from, &to);
    struct MHD_Response *resp;
    unsigned int status = MHD_HTTP_OK;
    if (ranged < 0) {
        snprintf(header, sizeof(header), "bytes */%zu", t.text.len);
        sw_buf_free(&t.text);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
    } else if (ranged > 0) {
        snprintf(header, sizeof(header), "bytes %zu-%zu/%zu", from, to, t.text.len);
        char *part = sw_calloc(1, to - from + 1);
        memcpy(part, t.text.data + from, to - from + 1);
        sw_buf_free(&t.text);
        resp = MHD_create_response_from_buffer(to - from + 1, part, MHD_RESPMEM_MUST_FREE);
        status = MHD_HTTP_PARTIAL_CONTENT;
    } else {
        resp = MHD_create_response_from_buffer(t.text.len, t.text.data ? t.text.data : (char *)"",
                                               t.text.data ? MHD_RESPMEM_MUST_FREE
                                                           : MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (status != MHD_HTTP_OK) {
        MHD_add_response_header(resp, "Content-Range", header);
    }
    enum MHD_Result ret = MHD_queue_response(r->c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

typedef struct lines_read {
    uint64_t line;       /* lines counted so far */
    uint64_t from, upto; /* wanted: from <= line number < upto */
    json_t *lines;
} lines_read;

static bool add_lines(void *closure, const Slipway__LogChunk *chunk)
{
    lines_read *l = closure;
    for (size_t i = 0; i < chunk->n_lines && l->line + 1 < l->upto; i++) {
        const Slipway__LogLine *line = chunk->lines[i];
        l->line++;
        if (l->line >= l->from) {
            json_array_append_new(l->lines, json_pack("[iIo]", (int)line->stream,
                                                      (json_int_t)line->at_ms,
                                                      sw_json_text(line->text)));
        }
    }
    return l->line + 1 < l->upto;
}

enum MHD_Result sw_web_lines(const sw_web_req *r, const char *id)
{
    Slipway__BuildRecord *rec = NULL;
    enum MHD_Result answered;
    const char *before = sw_http_arg(r->c, "before"), *count = sw_http_arg(r->c, "count");
    unsigned long long upto = before ? strtoull(before, NULL, 10) : 0;
    unsigned long long n = count ? strtoull(count, NULL, 10) : 1000;
    sw_logmerge merged;

    if (sw_web_record(r, id, &rec, &answered) < 0) {
        return answered;
    }
    slipway__build_record__free_unpacked(rec, NULL);
    if (upto < 2 || n == 0 || n > LINES_MAX) {
        return sw_http_text(r->c, MHD_HTTP_BAD_REQUEST,
                            "give ?before=LINE (the first line shown, 2 or more) and "
                            "&count=N (1 to 20000)\n");
    }
    lines_read l = {.from = upto > n ? upto - n : 1, .upto = upto, .lines = json_array()};
    sw_logmerge_init(&merged);
    if (sw_logread(r->bus, id, SW_WEB_ASK_MS, &merged, add_lines, &l) < 0) {
        json_decref(l.lines);
        return sw_http_textf(r->c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "the log archive cannot be read now: %s\n", sw_error_last());
    }
    json_t *answer = json_pack("{sIso}", "from", (json_int_t)l.from, "lines", l.lines);
    char *body = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    return sw_http_send(r->c, MHD_HTTP_OK, "application/json", body, strlen(body));
}
