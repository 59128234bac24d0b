/* Hexadecimal digits, read one way for signatures and form fields (hex.c). */
#ifndef BM_HEX_H
#define BM_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* The value of one hex digit (either case); -1 for anything else. */
int hex_digit_value(char c);

/* Decodes exactly 2 * out_len hex digits from text[0, len) into out; false
 * for another length or a non-digit (out then holds no meaning). */
bool hex_decode(const char *text, size_t len, unsigned char *out, size_t out_len);

#endif
