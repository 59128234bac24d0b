#include "bookto.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "hmac.h"

#define SIGNATURE_PREFIX "sha256="
#define SIGNATURE_HEX_LEN 64

/* ---- signature ---- */

/* Parses "sha256=<64 hex>" (hex in either case) into 32 bytes. */
static bool signature_decode(const char *header, unsigned char out[HMAC_SHA256_LEN])
{
	size_t prefix_len = strlen(SIGNATURE_PREFIX);
	const char *hex;

	if (header == NULL || strncmp(header, SIGNATURE_PREFIX, prefix_len) != 0)
		return false;
	hex = header + prefix_len;
	return hex_decode(hex, strlen(hex), out, HMAC_SHA256_LEN);
}

int bookto_verify_signature(const char *timestamp_header, const char *signature_header,
                            const unsigned char *body, size_t body_len, const char *const *secrets,
                            size_t secret_count, struct cn_error *err)
{
	unsigned char sent[HMAC_SHA256_LEN];
	unsigned char expected[HMAC_SHA256_LEN];
	bool matched = false;
	bool usable_secret = false;
	int rc = CN_INVALID;

	if (timestamp_header == NULL || (body == NULL && body_len > 0)) {
		error_set(err, "signature does not match: timestamp or body missing");
		goto out;
	}
	if (!signature_decode(signature_header, sent)) {
		error_set(err, "signature header is not \"sha256=\" followed by 64 hex digits");
		goto out;
	}
	for (size_t i = 0; secrets != NULL && i < secret_count; i++) {
		/* An empty key would let anyone sign; it never matches. */
		if (secrets[i] == NULL || secrets[i][0] == '\0')
			continue;
		usable_secret = true;
		if (!hmac_sha256_dotted(secrets[i], timestamp_header, body, body_len, expected)) {
			error_set(err, "could not compute HMAC-SHA256");
			rc = CN_ERR;
			goto out;
		}
		if (CRYPTO_memcmp(sent, expected, sizeof(sent)) == 0)
			matched = true;
	}
	if (!usable_secret) {
		error_set(err, "signature does not match: no signing secret is configured");
		goto out;
	}
	if (!matched) {
		error_set(err, "signature does not match");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(expected, sizeof(expected));
	return rc;
}

void bookto_sign(const char *secret, const char *timestamp, const unsigned char *body,
                 size_t body_len, char out[72])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[HMAC_SHA256_LEN];
	size_t prefix_len = strlen(SIGNATURE_PREFIX);

	out[0] = '\0';
	if (secret == NULL || timestamp == NULL || (body == NULL && body_len > 0))
		return;
	if (!hmac_sha256_dotted(secret, timestamp, body, body_len, mac))
		return;
	memcpy(out, SIGNATURE_PREFIX, prefix_len);
	for (size_t i = 0; i < HMAC_SHA256_LEN; i++) {
		out[prefix_len + 2 * i] = digits[mac[i] >> 4];
		out[prefix_len + 2 * i + 1] = digits[mac[i] & 0x0f];
	}
	out[prefix_len + SIGNATURE_HEX_LEN] = '\0';
}

/* ---- timestamp ---- */

int bookto_check_timestamp(const char *timestamp_header, time_t now, int tolerance_seconds,
                           int64_t *timestamp_out, struct cn_error *err)
{
	int64_t timestamp = 0;
	uint64_t distance;
	int rc = CN_INVALID;

	if (timestamp_header == NULL || timestamp_header[0] == '\0') {
		error_set(err, "timestamp header is empty");
		goto out;
	}
	if (tolerance_seconds < 0) {
		error_set(err, "timestamp tolerance is negative");
		goto out;
	}
	for (const char *p = timestamp_header; *p != '\0'; p++) {
		int digit = *p - '0';

		if (*p < '0' || *p > '9') {
			error_set(err, "timestamp header is not unix seconds in decimal digits");
			goto out;
		}
		if (timestamp > (INT64_MAX - digit) / 10) {
			error_set(err, "timestamp header is out of range");
			goto out;
		}
		timestamp = timestamp * 10 + digit;
	}
	/* Unsigned subtraction: exact for any two int64 values in order. */
	if (timestamp >= (int64_t)now)
		distance = (uint64_t)timestamp - (uint64_t)(int64_t)now;
	else
		distance = (uint64_t)(int64_t)now - (uint64_t)timestamp;
	if (distance > (uint64_t)tolerance_seconds) {
		error_set(err, "timestamp %lld is more than %d seconds %s the current time",
		          (long long)timestamp, tolerance_seconds,
		          timestamp > (int64_t)now ? "ahead of" : "behind");
		goto out;
	}
	if (timestamp_out != NULL)
		*timestamp_out = timestamp;
	rc = 0;
out:
	return rc;
}
