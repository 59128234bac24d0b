/*
 * Unpredictable bytes from OpenSSL's RAND_bytes: console session ids, CSRF
 * tokens and password salts. A failure of the generator is an error, never
 * a weaker fallback.
 */
#ifndef BM_RANDOM_TOKEN_H
#define BM_RANDOM_TOKEN_H

#include <stddef.h>

#include "error.h"

#define RANDOM_TOKEN_BYTES 32
#define RANDOM_TOKEN_HEX (RANDOM_TOKEN_BYTES * 2 + 1)

/* RANDOM_TOKEN_BYTES random bytes as lowercase hex into out. */
int random_token_hex(char out[RANDOM_TOKEN_HEX]) MUST_CHECK;

/* len random bytes into out. */
int random_bytes(unsigned char *out, size_t len) MUST_CHECK;

/* Lowercase hex SHA-256 of text into out (65 bytes): what is stored of a
 * session id. */
void random_sha256_hex(const char *text, char out[65]);

#endif
