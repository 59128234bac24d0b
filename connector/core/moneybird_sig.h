/*
 * Moneybird webhook authenticity, pure: the `Moneybird-Signature` header
 * (`t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, one v1 per active secret during
 * a rotation; unknown schemes are ignored so a future scheme cannot be used
 * to downgrade) verified as HMAC-SHA256(secret, "<t>.<raw body>") in constant
 * time within a window around now, and the older `webhook_token` check.
 */
#ifndef BM_MONEYBIRD_SIG_H
#define BM_MONEYBIRD_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MONEYBIRD_SIG_TOLERANCE_SECONDS 300 /* Moneybird: reject beyond 5 minutes */
#define MONEYBIRD_SIG_MAX_V1 8              /* more digests than this are ignored */
#define MONEYBIRD_SIG_HEADER_MAX 2048
#define MONEYBIRD_SIG_DIGEST_LEN 32

struct moneybird_sig {
	int64_t timestamp;
	size_t v1_count;
	unsigned char v1[MONEYBIRD_SIG_MAX_V1][MONEYBIRD_SIG_DIGEST_LEN];
};

/* Parses the header. CN_INVALID when it has no (or a malformed, or a
 * repeated) t=, or no well-formed v1= at all; malformed v1 values and other
 * schemes are skipped. */
int moneybird_sig_parse(const char *header, struct moneybird_sig *out,
                        struct cn_error *err) MUST_CHECK;

/*
 * Verifies header over body against each secret (NULL or "" entries are
 * skipped). CN_OK when some v1 equals the HMAC under some secret and t is at
 * most tolerance_seconds away from now (either direction); *matched_secret
 * (may be NULL) gets that secret's index. CN_INVALID otherwise, with a
 * sentence that never contains a secret.
 */
int moneybird_sig_verify(const char *header, const unsigned char *body, size_t body_len,
                         const char *const *secrets, size_t secret_count, int64_t now,
                         int tolerance_seconds, size_t *matched_secret,
                         struct cn_error *err) MUST_CHECK;

/* Constant-time equality of the stored token and the payload's
 * webhook_token (time depends only on the lengths). False when either is
 * NULL or empty. */
bool moneybird_sig_token_equal(const char *expected, const char *given);

#endif
