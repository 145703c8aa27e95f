/*
 * pageauth.h - who may see a build's page (GET /builds/<id>).
 *
 * A request shows its key one of three ways:
 *   Authorization: Bearer <token>, or ?token=<token>: the tenant's
 *     `read_token` opens that tenant's builds, `web.read_token` every build;
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
    const char *exp, *sig;     /* ?exp=&sig= */
} sw_page_key;

/* True when the request shows any key at all (a wrong one included). */
bool sw_pageauth_presented(const sw_page_key *key);

/* True when key opens build_id. tenant is the build's tenant, or NULL before
 * its record is read: then only what opens every build (web.read_token) or
 * this one (a signed link) does. now_s: wall clock, seconds. */
bool sw_pageauth_allows(const sw_config *cfg, const sw_page_key *key, const char *build_id,
                        const char *tenant, int64_t now_s);

#endif
