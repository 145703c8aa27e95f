/* pageauth.c - who may see a build's page (see pageauth.h). */
#include "runtime/pageauth.h"

#include "runtime/buildlink.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0) {
        return NULL;
    }
    const char *t = authorization + 7;
    while (*t == ' ') {
        t++;
    }
    return *t != '\0' ? t : NULL;
}

/* want == got in time that depends on neither's content nor length. */
static bool same_token(const char *want, const char *got)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    if (want == NULL || got == NULL) {
        return false;
    }
    SHA256((const unsigned char *)want, strlen(want), a);
    SHA256((const unsigned char *)got, strlen(got), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

bool sw_pageauth_presented(const sw_page_key *key)
{
    return key->authorization != NULL || key->token != NULL || key->cookie != NULL ||
           key->exp != NULL || key->sig != NULL;
}

/* Either of the tokens the request shows is want. */
static bool shows(const sw_page_key *key, const char *want)
{
    /* all compared, so which one matched does not show in the time */
    bool a = same_token(want, bearer(key->authorization));
    bool b = same_token(want, key->token);
    bool c = same_token(want, key->cookie);
    return a || b || c;
}

bool sw_pageauth_allows(const sw_config *cfg, const sw_page_key *key, const char *build_id,
                        const char *tenant, int64_t now_s)
{
    if (shows(key, cfg->web_read_token) || shows(key, cfg->web_control_token)) {
        return true;
    }
    if (sw_buildlink_valid(cfg->web_link_key, build_id, key->exp, key->sig, now_s)) {
        return true;
    }
    if (tenant == NULL) {
        return false;
    }
    const sw_tenant *t = sw_config_tenant(cfg, tenant);
    return t != NULL && (shows(key, t->read_token) || shows(key, t->control_token));
}

sw_page_scope sw_pageauth_scope(const sw_config *cfg, const sw_page_key *key,
                                const char **tenant_out)
{
    *tenant_out = NULL;
    if (shows(key, cfg->web_read_token) || shows(key, cfg->web_control_token)) {
        return SW_PAGE_SCOPE_ALL;
    }
    for (size_t i = 0; i < cfg->ntenants; i++) {
        const sw_tenant *t = &cfg->tenants[i];
        if (shows(key, t->read_token) || shows(key, t->control_token)) {
            *tenant_out = t->name;
            return SW_PAGE_SCOPE_TENANT;
        }
    }
    return SW_PAGE_SCOPE_NONE;
}

bool sw_pageauth_controls(const sw_config *cfg, const sw_page_key *key, const char *tenant)
{
    if (shows(key, cfg->web_control_token)) {
        return true;
    }
    const sw_tenant *t = tenant != NULL ? sw_config_tenant(cfg, tenant) : NULL;
    return t != NULL && shows(key, t->control_token);
}
