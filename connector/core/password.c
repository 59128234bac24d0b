#include "password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "pbkdf2-sha256$"

static bool derive(const char *password, const unsigned char *salt, size_t salt_len, int iterations,
                   unsigned char key[PASSWORD_HASH_BYTES])
{
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
	                         EVP_sha256(), PASSWORD_HASH_BYTES, key) == 1;
}

int password_hash(const char *password, const unsigned char salt[PASSWORD_SALT_BYTES],
                  int iterations, char out[PASSWORD_STRING_MAX])
{
	unsigned char key[PASSWORD_HASH_BYTES];
	unsigned char salt_b64[64], key_b64[64];

	out[0] = '\0';
	if (iterations < 1000)
		return CN_INVALID;
	if (!derive(password, salt, PASSWORD_SALT_BYTES, iterations, key))
		return CN_ERR;
	EVP_EncodeBlock(salt_b64, salt, PASSWORD_SALT_BYTES);
	EVP_EncodeBlock(key_b64, key, PASSWORD_HASH_BYTES);
	OPENSSL_cleanse(key, sizeof(key));
	snprintf(out, PASSWORD_STRING_MAX, PREFIX "%d$%s$%s", iterations, (char *)salt_b64,
	         (char *)key_b64);
	return CN_OK;
}

/* Decodes standard base64 text of an expected decoded length. */
static bool decode_b64(const char *text, size_t text_len, unsigned char *out, size_t want)
{
	unsigned char buf[96];
	size_t padding = 0;
	int len;

	if (text_len == 0 || text_len % 4 != 0 || text_len > 128 || want > sizeof(buf))
		return false;
	len = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)text_len);
	while (padding < 2 && padding < text_len && text[text_len - 1 - padding] == '=')
		padding++;
	if (len < 0 || (size_t)len - padding != want)
		return false;
	memcpy(out, buf, want);
	return true;
}

bool password_verify(const char *password, const char *stored)
{
	unsigned char salt[PASSWORD_SALT_BYTES], expected[PASSWORD_HASH_BYTES];
	unsigned char key[PASSWORD_HASH_BYTES];
	const char *p, *salt_end;
	char *end = NULL;
	long iterations;
	bool ok;

	if (password == NULL || stored == NULL || strncmp(stored, PREFIX, strlen(PREFIX)) != 0)
		return false;
	p = stored + strlen(PREFIX);
	iterations = strtol(p, &end, 10);
	if (end == p || *end != '$' || iterations < 1000 || iterations > 100000000)
		return false;
	p = end + 1;
	salt_end = strchr(p, '$');
	if (salt_end == NULL || !decode_b64(p, (size_t)(salt_end - p), salt, sizeof(salt)) ||
	    !decode_b64(salt_end + 1, strlen(salt_end + 1), expected, sizeof(expected)))
		return false;
	if (!derive(password, salt, sizeof(salt), (int)iterations, key))
		return false;
	ok = CRYPTO_memcmp(key, expected, sizeof(key)) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

const char *password_weakness(const char *password)
{
	size_t len = strlen(password);

	if (len < PASSWORD_MIN_LENGTH)
		return "the password must be at least 10 characters long";
	if (len > PASSWORD_MAX_LENGTH)
		return "the password must be at most 1024 characters long";
	for (const char *p = password; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			return "the password must be one line";
	return NULL;
}
