/* HMAC-SHA256 of "<prefix>.<body>" through OpenSSL's EVP_MAC. */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

bool hmac_sha256_dotted(const char *secret, const char *prefix, const unsigned char *body,
                        size_t body_len, unsigned char out[HMAC_SHA256_LEN])
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t out_len = 0;
	bool ok = false;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) != 1)
		goto out;
	if (EVP_MAC_update(ctx, (const unsigned char *)prefix, strlen(prefix)) != 1)
		goto out;
	if (EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1)
		goto out;
	if (body_len > 0 && EVP_MAC_update(ctx, body, body_len) != 1)
		goto out;
	if (EVP_MAC_final(ctx, out, &out_len, HMAC_SHA256_LEN) != 1)
		goto out;
	ok = out_len == HMAC_SHA256_LEN;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}
