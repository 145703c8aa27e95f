/*
 * signature.h - is a webhook delivery genuine? Checked on the raw body bytes,
 * before any parsing, in constant time.
 *
 *   GitHub               X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
 *   Gitea / Forgejo      X-Gitea-Signature (X-Forgejo-Signature): <hex HMAC-SHA256>
 *   Bitbucket (both)     X-Hub-Signature: sha256=<hex HMAC-SHA256>
 *   GitLab               X-Gitlab-Token: <the secret itself>
 *
 * The legacy sha1= signatures are refused: SHA-1 HMACs are not accepted as proof.
 */
#ifndef SW_WEBHOOK_SIGNATURE_H
#define SW_WEBHOOK_SIGNATURE_H

#include "runtime/config.h"

#include <stddef.h>

/* The header that carries the proof for forge (its first choice). */
const char *sw_signature_header(sw_forge_type forge);

/*
 * 0 when value proves that body was sent by someone holding secret; otherwise
 * SW_EINVALID with sw_error_last() saying what was wrong (missing, malformed,
 * not matching), never what the right value would be. value may be NULL
 * (header absent). secret must be non-empty.
 */
int sw_signature_check(sw_forge_type forge, const char *secret, const char *value,
                       const void *body, size_t len);

/* "sha256=<hex>" (prefixed) or "<hex>" of HMAC-SHA256(secret, body) into out
 * (at least 72 bytes): what a forge would send; for tests and tools. */
void sw_signature_make(char out[72], const char *secret, const void *body, size_t len,
                       int prefixed);

#endif
