/* site.c - what every page of a build does first (see site.h). */
#include "actors/web/site.h"

#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "web"
#define NOT_FOUND "no such build\n"

/* The page a request without a key gets: where to put one. */
enum MHD_Result sw_web_ask_key(const sw_web_req *r)
{
    sw_buf b = {0};
    sw_web_head(&b, "Slipway: a key is needed");
    sw_buf_puts(&b, "<main class=\"narrow\"><h1>A key is needed</h1>\n"
                    "<p>Build pages open with a read token: the tenant's <code>read_token</code>, "
                    "the operator's <code>web.read_token</code>, or the signed link of a commit "
                    "status. The token is kept in a cookie of this site.</p>\n"
                    "<form method=\"get\"><label>Token <input type=\"password\" name=\"token\" "
                    "autocomplete=\"current-password\" required></label> "
                    "<button type=\"submit\">Open</button></form></main>\n");
    sw_web_foot(&b);
    return sw_http_send(r->c, MHD_HTTP_UNAUTHORIZED, "text/html; charset=utf-8", b.data, b.len);
}

int sw_web_record(const sw_web_req *r, const char *id, Slipway__BuildRecord **rec_out,
                  enum MHD_Result *answered)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;

    *rec_out = NULL;
    if (!sw_pageauth_presented(&r->key)) {
        *answered = sw_web_ask_key(r);
        return SW_EDENIED;
    }
    if (!sw_build_id_valid(id)) {
        *answered = sw_http_text(r->c, MHD_HTTP_NOT_FOUND, NOT_FOUND);
        return SW_ENOTFOUND;
    }
    req.build_id = (char *)id;
    if (sw_wire_request(r->bus, SW_API_BUILD, &req.base, &slipway__api_reply__descriptor,
                        SW_WEB_ASK_MS, &msg) < 0) {
        *answered = sw_http_textf(r->c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the scheduler cannot be asked now: %s\n", sw_error_last());
        return SW_EBUS;
    }
    Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
    if (reply->n_builds == 0 && reply->code != SW_ENOTFOUND && reply->error[0] != '\0') {
        *answered = sw_http_textf(r->c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the scheduler cannot answer now: %s\n", reply->error);
        slipway__api_reply__free_unpacked(reply, NULL);
        return SW_EBUS;
    }
    if (reply->n_builds == 0 ||
        !sw_pageauth_allows(r->cfg, &r->key, id, reply->builds[0]->tenant, r->now_s)) {
        /* the same answer, whichever it was */
        sw_debug(LOG, "build %.64s: 404 (no such build, or the key does not open it)", id);
        slipway__api_reply__free_unpacked(reply, NULL);
        *answered = sw_http_text(r->c, MHD_HTTP_NOT_FOUND, NOT_FOUND);
        return SW_ENOTFOUND;
    }
    /* the record alone is the caller's */
    Slipway__BuildRecord *rec = reply->builds[0];
    reply->builds[0] = NULL;
    reply->n_builds = 0;
    slipway__api_reply__free_unpacked(reply, NULL);
    *rec_out = rec;
    return 0;
}

const char *sw_web_link_query(const sw_web_req *r, char *buf, size_t n)
{
    buf[0] = '\0';
    if (r->key.exp != NULL && r->key.sig != NULL && strlen(r->key.exp) < 32 &&
        strlen(r->key.sig) < 200) {
        snprintf(buf, n, "exp=%s&sig=%s", r->key.exp, r->key.sig);
    }
    return buf;
}

void sw_web_head(sw_buf *b, const char *title)
{
    sw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>");
    sw_html(b, title);
    sw_buf_puts(b, "</title><link rel=\"stylesheet\" href=\"/assets/slipway.css\">"
                   "<script src=\"/assets/slipway.js\" defer></script></head>\n<body>\n"
                   "<header class=\"top\"><a class=\"brand\" href=\"/builds\">Slipway</a>"
                   "<nav><a href=\"/builds\">Builds</a></nav></header>\n");
}

void sw_web_foot(sw_buf *b)
{
    sw_buf_puts(b, "</body></html>\n");
}

/* "https://host/owner/name" of an https clone URL (".git" dropped), or NULL. */
static char *web_base(const char *repository)
{
    size_t n;
    if (repository == NULL || strncmp(repository, "https://", 8) != 0 ||
        strchr(repository, '@') != NULL || strpbrk(repository, "\"'<> ") != NULL) {
        return NULL;
    }
    char *base = sw_strdup(repository);
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        base[--n] = '\0';
    }
    if (n > 4 && strcmp(base + n - 4, ".git") == 0) {
        base[n - 4] = '\0';
    }
    return base;
}

const char *sw_web_commit_url(char *buf, size_t n, const char *forge, const char *repository,
                              const char *sha)
{
    static const struct {
        const char *forge, *path;
    } paths[] = {{"github", "/commit/"}, {"gitlab", "/-/commit/"}, {"gitea", "/commit/"},
                 {"bitbucket", "/commits/"}};
    buf[0] = '\0';
    if (forge == NULL || sha == NULL || sha[0] == '\0') {
        return buf;
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (strcmp(forge, paths[i].forge) == 0) {
            char *base = web_base(repository);
            if (base != NULL) {
                snprintf(buf, n, "%s%s%s", base, paths[i].path, sha);
                free(base);
            }
            break;
        }
    }
    return buf;
}
