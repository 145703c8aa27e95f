/* webpage.c - GET /builds/<id> with its key check (see webpage.h). */
#include "actors/webhook/webpage.h"

#include "actors/webhook/buildpage.h"
#include "runtime/pageauth.h"
#include "runtime/core/clock.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

#define LOG "webhook"
#define PAGE_TIMEOUT_MS 3000

typedef struct check {
    const sw_config *cfg;
    const sw_page_key *key;
    const char *build_id;
    int64_t now_s;
} check;

static bool allow(void *closure, const char *tenant)
{
    const check *k = closure;
    return sw_pageauth_allows(k->cfg, k->key, k->build_id, tenant, k->now_s);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status, char *text,
                                 bool challenge)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
                                                             MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (challenge) {
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"slipway\"");
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

enum MHD_Result sw_webpage_answer(struct MHD_Connection *c, const sw_config *cfg, sw_bus *bus,
                                  const char *id)
{
    sw_page_key key = {
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .token = arg(c, "token"),
        .exp = arg(c, "exp"),
        .sig = arg(c, "sig"),
    };
    check k = {.cfg = cfg, .key = &key, .build_id = id, .now_s = sw_clock_wall_ms() / 1000};
    char *page = NULL;

    if (!sw_pageauth_presented(&key)) {
        sw_debug(LOG, "GET /builds/%.64s 401: no key", id);
        return send_text(c, MHD_HTTP_UNAUTHORIZED,
                         sw_strdup("a build page needs a key: Authorization: Bearer <read token>, "
                                "?token=<read token>, or the signed link of a commit status\n"),
                         true);
    }
    int status = sw_buildpage_render(bus, id, PAGE_TIMEOUT_MS, allow, &k, &page);
    if (status == 404) {
        sw_debug(LOG, "GET /builds/%.64s 404: no such build, or the key does not open it", id);
    }
    return send_text(c, (unsigned int)status, page != NULL ? page : sw_strdup(""), false);
}
