#include "random_token.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

static void to_hex(const unsigned char *bytes, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

int random_bytes(unsigned char *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? CN_OK : CN_ERR;
}

int random_token_hex(char out[RANDOM_TOKEN_HEX])
{
	unsigned char bytes[RANDOM_TOKEN_BYTES];

	out[0] = '\0';
	if (random_bytes(bytes, sizeof(bytes)) != CN_OK)
		return CN_ERR;
	to_hex(bytes, sizeof(bytes), out);
	return CN_OK;
}

void random_sha256_hex(const char *text, char out[65])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)text, strlen(text), digest);
	to_hex(digest, sizeof(digest), out);
}
