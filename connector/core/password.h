/*
 * Console passwords: PBKDF2-HMAC-SHA256 (OpenSSL) with a per-user random
 * salt and a high iteration count, stored as one self-describing string
 * "pbkdf2-sha256$ITERATIONS$SALT_BASE64$HASH_BASE64", so the count can be
 * raised later without breaking stored hashes. Pure: the caller brings the
 * salt (password_salt() in base draws it), so vectors can be tested.
 */
#ifndef BM_PASSWORD_H
#define BM_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PASSWORD_ITERATIONS 600000 /* OWASP's figure for PBKDF2-HMAC-SHA256 */
#define PASSWORD_SALT_BYTES 16
#define PASSWORD_HASH_BYTES 32
#define PASSWORD_STRING_MAX 160
#define PASSWORD_MIN_LENGTH 10
#define PASSWORD_MAX_LENGTH 1024

/* Hashes password with salt into out ("pbkdf2-sha256$..."). CN_INVALID for
 * an iteration count below 1000; CN_ERR when OpenSSL fails. */
int password_hash(const char *password, const unsigned char salt[PASSWORD_SALT_BYTES],
                  int iterations, char out[PASSWORD_STRING_MAX]) MUST_CHECK;

/* True when password matches the stored string (constant-time compare of
 * the derived key); false for a malformed string. */
bool password_verify(const char *password, const char *stored);

/* NULL when the password is acceptable, else a sentence saying why not. */
const char *password_weakness(const char *password);

#endif
