/*
 * What the parts of the bookto module share and nothing else uses: text
 * helpers, the formatting of amounts and rates in park reasons, and
 * bookto's ISO 8601 times. bookto_sig.c (signature, timestamp),
 * bookto_values.c (money, rates, times), bookto_text.c (text checks,
 * match_ref) and bookto.c (the payload) together implement bookto.h.
 */
#ifndef BM_BOOKTO_INTERNAL_H
#define BM_BOOKTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ASCII white space (space, tab, CR, LF, VT, FF). */
bool bookto_is_space(char c);

/* ASCII upper case; other bytes unchanged. */
char bookto_ascii_upper(char c);

/* "1.21", "-0.50": cents as euros for sentences. */
void bookto_format_cents(int64_t cents, char *out, size_t out_size);

/* 2100 -> "21", 550 -> "5.5", 525 -> "5.25" (hundredths to a plain decimal). */
void bookto_format_rate(int64_t hundredths, char *out, size_t out_size);

/* Shortest text that reads back as the same double ("0.1", not 0.1000...01). */
void bookto_format_number(double value, char *out, size_t out_size);

/* "YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" -> unix seconds. */
bool bookto_parse_iso8601(const char *text, int64_t *epoch);

#endif
