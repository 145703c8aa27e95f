/* signature.c - webhook authenticity (see signature.h). */
#include "actors/webhook/signature.h"
#include "runtime/core/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define MAC_LEN 32

const char *sw_signature_header(sw_forge_type forge)
{
    switch (forge) {
    case SW_FORGE_GITHUB:
        return "X-Hub-Signature-256";
    case SW_FORGE_GITLAB:
        return "X-Gitlab-Token";
    case SW_FORGE_GITEA:
        return "X-Gitea-Signature";
    case SW_FORGE_BITBUCKET:
    case SW_FORGE_BITBUCKET_SERVER:
        return "X-Hub-Signature";
    case SW_FORGE_NONE:
        break;
    }
    return "";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Exactly 64 hex digits into 32 bytes; -1 otherwise. */
static int unhex(unsigned char out[MAC_LEN], const char *hex)
{
    if (strlen(hex) != 2 * MAC_LEN) {
        return -1;
    }
    for (size_t i = 0; i < MAC_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void mac(unsigned char out[MAC_LEN], const char *secret, const void *body, size_t len)
{
    unsigned int n = MAC_LEN;
    static const unsigned char empty = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), len ? body : &empty, len, out, &n);
}

/* GitLab sends the secret itself: compare digests, so that neither the time
 * nor an early length mismatch tells how much of a guess was right. */
static int check_token(const char *secret, const char *value)
{
    unsigned char a[MAC_LEN], b[MAC_LEN];
    unsigned int n = MAC_LEN;
    static const char key[] = "slipway token comparison";
    HMAC(EVP_sha256(), key, sizeof(key) - 1, (const unsigned char *)secret, strlen(secret), a,
         &n);
    HMAC(EVP_sha256(), key, sizeof(key) - 1, (const unsigned char *)value, strlen(value), b, &n);
    if (CRYPTO_memcmp(a, b, MAC_LEN) != 0) {
        return sw_error_set(SW_EINVALID, "X-Gitlab-Token does not match the project's secret");
    }
    return 0;
}

int sw_signature_check(sw_forge_type forge, const char *secret, const char *value,
                       const void *body, size_t len)
{
    const char *header = sw_signature_header(forge);
    unsigned char want[MAC_LEN], got[MAC_LEN];
    const char *hex;

    if (secret == NULL || secret[0] == '\0') {
        return sw_error_set(SW_EINVALID, "the project has no webhook secret");
    }
    if (value == NULL || value[0] == '\0') {
        return sw_error_set(SW_EINVALID, "no %s header: the delivery is not signed (set the "
                            "webhook's secret on the forge)", header);
    }
    if (forge == SW_FORGE_GITLAB) {
        return check_token(secret, value);
    }
    hex = value;
    if (forge != SW_FORGE_GITEA) {
        if (strncmp(value, "sha256=", 7) != 0) {
            return sw_error_set(SW_EINVALID, "%s must be 'sha256=<hex>'%s", header,
                                strncmp(value, "sha1=", 5) == 0 ? " (sha1 is not accepted)"
                                                                 : "");
        }
        hex = value + 7;
    }
    if (unhex(got, hex) < 0) {
        return sw_error_set(SW_EINVALID, "%s is not 64 hex digits", header);
    }
    mac(want, secret, body, len);
    if (CRYPTO_memcmp(want, got, MAC_LEN) != 0) {
        return sw_error_set(SW_EINVALID, "%s does not match the body and the project's secret",
                            header);
    }
    return 0;
}

void sw_signature_make(char out[72], const char *secret, const void *body, size_t len,
                       int prefixed)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char m[MAC_LEN];
    char *p = out;
    mac(m, secret, body, len);
    if (prefixed) {
        memcpy(p, "sha256=", 7);
        p += 7;
    }
    for (size_t i = 0; i < MAC_LEN; i++) {
        *p++ = digits[m[i] >> 4];
        *p++ = digits[m[i] & 15];
    }
    *p = '\0';
}
