#include "moneybird_sig.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "hmac.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses t's value: 1..12 digits (no sign, no junk). */
static bool parse_timestamp(const char *text, size_t len, int64_t *out)
{
	int64_t value = 0;

	if (len == 0 || len > 12)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		value = value * 10 + (text[i] - '0');
	}
	*out = value;
	return true;
}

int moneybird_sig_parse(const char *header, struct moneybird_sig *out, struct cn_error *err)
{
	bool have_t = false;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (header == NULL || header[0] == '\0') {
		error_set(err, "the Moneybird-Signature header is missing");
		return CN_INVALID;
	}
	if (strlen(header) > MONEYBIRD_SIG_HEADER_MAX) {
		error_set(err, "the Moneybird-Signature header is too long");
		return CN_INVALID;
	}
	p = header;
	while (*p != '\0') {
		const char *start, *end, *eq;
		size_t key_len, value_len;

		while (is_space(*p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		if (*p == ',')
			p++;
		while (end > start && is_space(end[-1]))
			end--;
		eq = memchr(start, '=', (size_t)(end - start));
		if (eq == NULL)
			continue; /* not key=value: nothing we know */
		key_len = (size_t)(eq - start);
		value_len = (size_t)(end - eq - 1);
		if (key_len == 1 && start[0] == 't') {
			if (have_t || !parse_timestamp(eq + 1, value_len, &out->timestamp)) {
				error_set(err, "the Moneybird-Signature header has a %s t= value",
				          have_t ? "repeated" : "malformed");
				return CN_INVALID;
			}
			have_t = true;
		} else if (key_len == 2 && start[0] == 'v' && start[1] == '1') {
			if (out->v1_count < MONEYBIRD_SIG_MAX_V1 &&
			    hex_decode(eq + 1, value_len, out->v1[out->v1_count],
			               MONEYBIRD_SIG_DIGEST_LEN))
				out->v1_count++;
		}
		/* Any other scheme is ignored, never trusted. */
	}
	if (!have_t) {
		error_set(err, "the Moneybird-Signature header has no t= timestamp");
		return CN_INVALID;
	}
	if (out->v1_count == 0) {
		error_set(err, "the Moneybird-Signature header has no v1= signature");
		return CN_INVALID;
	}
	return CN_OK;
}

/* HMAC-SHA256(secret, "<t>.<body>"). */
static bool hmac_digest(const char *secret, int64_t timestamp, const unsigned char *body,
                        size_t body_len, unsigned char out[MONEYBIRD_SIG_DIGEST_LEN])
{
	char prefix[32];
	int prefix_len = snprintf(prefix, sizeof(prefix), "%" PRId64, timestamp);

	if (prefix_len <= 0 || (size_t)prefix_len >= sizeof(prefix))
		return false;
	return hmac_sha256_dotted(secret, prefix, body, body_len, out);
}

int moneybird_sig_verify(const char *header, const unsigned char *body, size_t body_len,
                         const char *const *secrets, size_t secret_count, int64_t now,
                         int tolerance_seconds, size_t *matched_secret, struct cn_error *err)
{
	struct moneybird_sig sig;
	int64_t skew;
	bool matched = false;
	size_t match_index = 0;
	int rc = moneybird_sig_parse(header, &sig, err);

	if (rc != CN_OK)
		return rc;
	skew = now - sig.timestamp;
	if (skew > tolerance_seconds || skew < -(int64_t)tolerance_seconds) {
		error_set(err,
		          "the Moneybird-Signature timestamp is %" PRId64
		          " seconds away from now (more than %d)",
		          skew < 0 ? -skew : skew, tolerance_seconds);
		return CN_INVALID;
	}
	for (size_t s = 0; s < secret_count; s++) {
		unsigned char expected[MONEYBIRD_SIG_DIGEST_LEN];

		if (secrets[s] == NULL || secrets[s][0] == '\0')
			continue;
		if (!hmac_digest(secrets[s], sig.timestamp, body, body_len, expected)) {
			error_set(err, "computing the webhook signature failed");
			return CN_ERR;
		}
		/* Every digest is compared, matched or not, in constant time. */
		for (size_t v = 0; v < sig.v1_count; v++) {
			if (CRYPTO_memcmp(expected, sig.v1[v], MONEYBIRD_SIG_DIGEST_LEN) == 0 &&
			    !matched) {
				matched = true;
				match_index = s;
			}
		}
		OPENSSL_cleanse(expected, sizeof(expected));
	}
	if (!matched) {
		error_set(err, "no v1 signature of the Moneybird-Signature header matches the "
		               "webhook's signing secret");
		return CN_INVALID;
	}
	if (matched_secret != NULL)
		*matched_secret = match_index;
	return CN_OK;
}

bool moneybird_sig_token_equal(const char *expected, const char *given)
{
	size_t expected_len, given_len;
	unsigned char diff = 0;

	if (expected == NULL || given == NULL || expected[0] == '\0' || given[0] == '\0')
		return false;
	expected_len = strlen(expected);
	given_len = strlen(given);
	/* Walk the given token whole so the time does not say where it differs. */
	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)(given[i] ^ expected[i % expected_len]);
	return diff == 0 && expected_len == given_len;
}
