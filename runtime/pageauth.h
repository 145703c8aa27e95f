/*
 * pageauth.h - who may see a build's page (GET /builds/<id>).
 *
 * A request shows its key one of three ways:
 *   Authorization: Bearer <token>, ?token=<token>, or the slipway_token
 *     cookie: the tenant's `read_token` or `control_token` opens that
 *     tenant's builds, `web.read_token` or `web.control_token` every build;
 *   ?exp=<unix>&sig=<hex>: a signed link (runtime/buildlink.h) opens the one
 *     build it names until exp.
 * THE RULE: a request with no key at all is answered 401 before anything is
 * looked up; one whose key does not open the build is answered 404 with the
 * same body as a build that does not exist, so a key never tells which ids
 * exist. Tokens are compared in constant time (as SHA-256 digests, so their
 * lengths do not show either).
 */
#ifndef SW_PAGEAUTH_H
#define SW_PAGEAUTH_H

#include "runtime/config.h"

#include <stdbool.h>
#include <stdint.h>

/* What a request presented; NULL: absent. Borrowed. */
typedef struct sw_page_key {
    const char *authorization; /* the Authorization header as sent */
    const char *token;         /* ?token= */
    const char *cookie;        /* the slipway_token cookie the web page set */
    const char *exp, *sig;     /* ?exp=&sig= */
} sw_page_key;

/* True when the request shows any key at all (a wrong one included). */
bool sw_pageauth_presented(const sw_page_key *key);

/* True when key opens build_id. tenant is the build's tenant, or NULL before
 * its record is read: then only what opens every build (web.read_token) or
 * this one (a signed link) does. now_s: wall clock, seconds. */
bool sw_pageauth_allows(const sw_config *cfg, const sw_page_key *key, const char *build_id,
                        const char *tenant, int64_t now_s);

/* What a key opens in a list of builds. */
typedef enum {
    SW_PAGE_SCOPE_NONE = 0,
    SW_PAGE_SCOPE_TENANT, /* one tenant's builds */
    SW_PAGE_SCOPE_ALL,    /* every build (web.read_token, web.control_token) */
} sw_page_scope;

/* The builds key's token opens; SW_PAGE_SCOPE_TENANT sets *tenant_out (cfg's). */
sw_page_scope sw_pageauth_scope(const sw_config *cfg, const sw_page_key *key,
                                const char **tenant_out);

/* True when key may also cancel and retry a build of tenant: web.control_token,
 * or the tenant's control_token. A signed link never does. */
bool sw_pageauth_controls(const sw_config *cfg, const sw_page_key *key, const char *tenant);

#endif
