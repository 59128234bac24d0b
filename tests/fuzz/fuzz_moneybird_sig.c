/*
 * libFuzzer target: the Moneybird-Signature header parser and verifier. The
 * input is "<Moneybird-Signature>\n<body>". Checks, besides memory errors:
 * a parsed header has a sane v1 count, and a header built from the real
 * HMAC (t=now,v1=<hex>) over the body always verifies.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "moneybird_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"", "fuzz-mb-secret"};
	const int64_t now = 1714644927;
	char *text = fuzz_cstring(data, size);
	char *header = text;
	char *body = fuzz_split(header, '\n');
	size_t body_len = strlen(body);
	struct moneybird_sig sig;
	struct cn_error err;
	size_t matched = 99;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char *signed_text = NULL;
	char good[256];
	size_t signed_len;
	int used;

	if (moneybird_sig_parse(header, &sig, &err) == 0)
		CHECK(sig.v1_count >= 1 && sig.v1_count <= MONEYBIRD_SIG_MAX_V1);
	(void)moneybird_sig_verify(header, (const unsigned char *)body, body_len, secrets, 2, now,
	                           MONEYBIRD_SIG_TOLERANCE_SECONDS, &matched, &err);
	(void)moneybird_sig_token_equal(header, body);

	/* The real signature of this body verifies, and names secret 1. */
	signed_len = body_len + 32;
	signed_text = malloc(signed_len);
	CHECK(signed_text != NULL);
	used = snprintf(signed_text, signed_len, "%lld.%s", (long long)now, body);
	CHECK(used > 0 && (size_t)used < signed_len);
	CHECK(HMAC(EVP_sha256(), secrets[1], (int)strlen(secrets[1]),
	           (const unsigned char *)signed_text, (size_t)used, mac, &mac_len) != NULL);
	used = snprintf(good, sizeof(good), "t=%lld,v1=", (long long)now);
	for (unsigned int i = 0; i < mac_len; i++)
		used += snprintf(good + used, sizeof(good) - (size_t)used, "%02x", mac[i]);
	matched = 99;
	CHECK(moneybird_sig_verify(good, (const unsigned char *)body, body_len, secrets, 2, now,
	                           MONEYBIRD_SIG_TOLERANCE_SECONDS, &matched, &err) == 0);
	CHECK(matched == 1);
	free(signed_text);
	free(text);
	return 0;
}
