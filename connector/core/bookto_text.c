#include "bookto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookto_internal.h"

/* ---- match_ref ---- */

bool bookto_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

char bookto_ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Trims, folds ASCII case and, for a VAT number, drops separators. Returns
 * the normalised length, or -1 when out is too small. */
static long normalise_ref(const char *text, bool strip_separators, char *out, size_t out_size)
{
	const char *start = text;
	const char *end;
	size_t length = 0;

	while (bookto_is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && bookto_is_space(end[-1]))
		end--;
	for (const char *p = start; p < end; p++) {
		if (strip_separators && (bookto_is_space(*p) || *p == '.' || *p == '-'))
			continue;
		if (length + 1 >= out_size)
			return -1;
		out[length++] = ascii_lower(*p);
	}
	if (out_size == 0)
		return -1;
	out[length] = '\0';
	return (long)length;
}

int bookto_derive_match_ref(const char *vat_number, const char *peppol_id, const char *email,
                            char *out, size_t out_size)
{
	const char *sources[3] = {vat_number, peppol_id, email};

	if (out == NULL || out_size == 0)
		return CN_INVALID;
	out[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		long length;

		if (sources[i] == NULL)
			continue;
		length = normalise_ref(sources[i], i == 0, out, out_size);
		if (length < 0) {
			out[0] = '\0';
			return CN_INVALID;
		}
		if (length > 0)
			return 0;
	}
	return 0;
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
	size_t len;
	unsigned int min, code;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		min = 0x80;
		code = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		min = 0x800;
		code = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		min = 0x10000;
		code = p[0] & 0x07;
	} else {
		return 0;
	}
	if (left < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (p[i] & 0x3f);
	}
	if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return len;
}

int bookto_check_text(const char *body, size_t body_len, struct cn_error *err)
{
	const unsigned char *p = (const unsigned char *)body;
	size_t i = 0;

	while (i < body_len) {
		size_t len = utf8_sequence(p + i, body_len - i);

		if (len == 0) {
			error_set(err, "the body is not valid UTF-8 (byte %zu)", i);
			return CN_INVALID;
		}
		if (p[i] == '\0') {
			error_set(err, "the body contains a NUL byte (byte %zu)", i);
			return CN_INVALID;
		}
		/* An escape: \u0000 is a NUL once decoded; any other escaped
		 * character is skipped so that \\u0000 is not mistaken for one. */
		if (p[i] == '\\' && i + 1 < body_len) {
			if (p[i + 1] == 'u' && i + 5 < body_len &&
			    memcmp(p + i + 2, "0000", 4) == 0) {
				error_set(
				    err,
				    "the body contains a NUL character (\\u0000 at byte %zu), "
				    "which cannot be stored as text",
				    i);
				return CN_INVALID;
			}
			if (p[i + 1] != '\0')
				i++;
		}
		i += len;
	}
	return 0;
}

void bookto_utf8_sanitize(char *text)
{
	unsigned char *p = (unsigned char *)text;
	size_t left;

	if (text == NULL)
		return;
	left = strlen(text);
	while (left > 0) {
		size_t len = utf8_sequence(p, left);

		if (len == 0) {
			*p = '?';
			len = 1;
		}
		p += len;
		left -= len;
	}
}
