/*
 * HMAC-SHA256 of a signed webhook payload (hmac.c): both bookto and
 * Moneybird sign "<timestamp>.<body>" with a shared secret.
 */
#ifndef BM_HMAC_H
#define BM_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define HMAC_SHA256_LEN 32

/* HMAC-SHA256(secret, "<prefix>.<body>") without copying the body; false when
 * OpenSSL fails. */
bool hmac_sha256_dotted(const char *secret, const char *prefix, const unsigned char *body,
                        size_t body_len, unsigned char out[HMAC_SHA256_LEN]);

#endif
