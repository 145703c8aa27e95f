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
    return key->authorization != NULL || key->token != NULL || key->exp != NULL ||
           key->sig != NULL;
}

/* Either of the tokens the request shows is want. */
static bool shows(const sw_page_key *key, const char *want)
{
    /* both compared, so which one matched does not show in the time */
    bool a = same_token(want, bearer(key->authorization));
    bool b = same_token(want, key->token);
    return a || b;
}

bool sw_pageauth_allows(const sw_config *cfg, const sw_page_key *key, const char *build_id,
                        const char *tenant, int64_t now_s)
{
    if (shows(key, cfg->web_read_token)) {
        return true;
    }
    if (sw_buildlink_valid(cfg->web_link_key, build_id, key->exp, key->sig, now_s)) {
        return true;
    }
    if (tenant == NULL) {
        return false;
    }
    const sw_tenant *t = sw_config_tenant(cfg, tenant);
    return t != NULL && shows(key, t->read_token);
}
