/*
 * buildlink.h - signed, expiring links to a build's page, which the notifier
 * puts in commit statuses (web.link_key, web.link_ttl):
 *
 *   <public_url>/builds/<id>?exp=<unix seconds>&sig=<hex>
 *
 * sig is HMAC-SHA256(link_key, "<id>\n<exp>") in lowercase hex. Such a link
 * shows that one build's page until exp, to whoever holds it.
 */
#ifndef SW_BUILDLINK_H
#define SW_BUILDLINK_H

#include <stdbool.h>
#include <stdint.h>

#define SW_BUILDLINK_SIG_LEN 64

/* Writes the signature of build_id until exp into hex (NUL-terminated). */
void sw_buildlink_sign(char hex[SW_BUILDLINK_SIG_LEN + 1], const char *key, const char *build_id,
                       int64_t exp);

/* "exp=<exp>&sig=<hex>", the query of a link to build_id; caller frees. */
char *sw_buildlink_query(const char *key, const char *build_id, int64_t exp);

/* True when sig (as a link carries it) signs build_id until exp (decimal
 * text) under key, and now_s is not past exp. Compares in constant time.
 * Any of the strings may be NULL (false). */
bool sw_buildlink_valid(const char *key, const char *build_id, const char *exp, const char *sig,
                        int64_t now_s);

#endif
