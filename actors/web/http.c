/* http.c - answers, keys and escaping for the web actor (see http.h). */
#include "actors/web/http.h"

#include "runtime/core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum MHD_Result sw_http_send(struct MHD_Connection *c, unsigned int status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body != NULL ? body : (char *)"",
                                        body != NULL ? MHD_RESPMEM_MUST_FREE
                                                     : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "connect-src 'self'; img-src 'self'; form-action 'self'; "
                            "frame-ancestors 'none'");
    if (status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"slipway\"");
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result sw_http_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
    return sw_http_send(c, status, "text/plain; charset=utf-8", sw_strdup(text), strlen(text));
}

enum MHD_Result sw_http_textf(struct MHD_Connection *c, unsigned int status, const char *fmt,
                              ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return sw_http_text(c, status, "");
    }
    return sw_http_send(c, status, "text/plain; charset=utf-8", text, (size_t)n);
}

const char *sw_http_arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

void sw_http_key(struct MHD_Connection *c, sw_page_key *key)
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SW_WEB_COOKIE);
    key->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    key->token = sw_http_arg(c, "token");
    key->cookie = cookie != NULL && cookie[0] != '\0' ? cookie : NULL;
    key->exp = sw_http_arg(c, "exp");
    key->sig = sw_http_arg(c, "sig");
}

void sw_html(sw_buf *b, const char *s)
{
    const char *run = s;
    if (s == NULL) {
        return;
    }
    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default: continue;
        }
        sw_buf_add(b, run, (size_t)(s - run));
        sw_buf_puts(b, esc);
        run = s + 1;
    }
    sw_buf_add(b, run, (size_t)(s - run));
}

void sw_html_query(sw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            sw_buf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            sw_buf_add(b, e, 3);
        }
    }
}

const char *sw_http_time(char *buf, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || gmtime_r(&t, &tm) == NULL) {
        buf[0] = '\0';
        return buf;
    }
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

const char *sw_http_duration(char *buf, size_t n, int64_t ms)
{
    if (ms < 0) {
        ms = 0;
    }
    if (ms < 1000) {
        snprintf(buf, n, "%lldms", (long long)ms);
    } else if (ms < 60000) {
        snprintf(buf, n, "%.1fs", (double)ms / 1000);
    } else if (ms < 3600000) {
        snprintf(buf, n, "%lldm %llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    } else {
        snprintf(buf, n, "%lldh %lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
    }
    return buf;
}

json_t *sw_json_text(const char *s)
{
    json_t *j = json_string(s != NULL ? s : "");
    if (j != NULL) {
        return j;
    }
    /* not UTF-8: keep the ASCII, mark the rest */
    char *copy = sw_strdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80) {
            *p = '?';
        }
    }
    j = json_string(copy);
    free(copy);
    return j != NULL ? j : json_string("");
}
