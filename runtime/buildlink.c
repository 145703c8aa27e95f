/* buildlink.c - signed, expiring build links (see buildlink.h). */
#include "runtime/buildlink.h"

#include "runtime/core/mem.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

void sw_buildlink_sign(char hex[SW_BUILDLINK_SIG_LEN + 1], const char *key, const char *build_id,
                       int64_t exp)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *msg = sw_asprintf("%s\n%lld", build_id, (long long)exp);

    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md,
         &mdlen);
    for (unsigned int i = 0; i < mdlen && i < SW_BUILDLINK_SIG_LEN / 2; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    hex[SW_BUILDLINK_SIG_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    free(msg);
}

char *sw_buildlink_query(const char *key, const char *build_id, int64_t exp)
{
    char hex[SW_BUILDLINK_SIG_LEN + 1];
    sw_buildlink_sign(hex, key, build_id, exp);
    return sw_asprintf("exp=%lld&sig=%s", (long long)exp, hex);
}

/* exp as a link carries it: 1 to 18 decimal digits, no sign, no leading zero. */
static bool parse_exp(const char *text, int64_t *out)
{
    size_t n = strlen(text);
    int64_t v = 0;
    if (n == 0 || n > 18 || (text[0] == '0' && n > 1)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
}

bool sw_buildlink_valid(const char *key, const char *build_id, const char *exp, const char *sig,
                        int64_t now_s)
{
    char want[SW_BUILDLINK_SIG_LEN + 1];
    int64_t when;

    if (key == NULL || build_id == NULL || exp == NULL || sig == NULL ||
        strlen(sig) != SW_BUILDLINK_SIG_LEN || !parse_exp(exp, &when) || now_s > when) {
        return false;
    }
    sw_buildlink_sign(want, key, build_id, when);
    return CRYPTO_memcmp(want, sig, SW_BUILDLINK_SIG_LEN) == 0;
}
