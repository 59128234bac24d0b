/*
 * The console's HTML and form plumbing, pure so it can be tested alone:
 * escaping every value written into a page (text and attribute context
 * alike), percent-encoding a value for a URL, decoding an
 * application/x-www-form-urlencoded body or query field, picking one cookie
 * out of a Cookie header, and comparing secret tokens in constant time.
 * Everything written from outside data goes through html_text(): a buyer
 * named <script> is shown, never run.
 */
#ifndef BM_HTML_H
#define BM_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "dynbuf.h"
#include "error.h"

/* Appends text with & < > " ' escaped (safe in element text and in a quoted
 * attribute); NULL appends nothing. CN_INVALID past the buffer's cap. */
int html_text(struct dynbuf *out, const char *text) MUST_CHECK;

/* Appends a printf-formatted fragment of trusted markup, then nothing more:
 * callers never pass outside data as the format. */
#define html_raw(out, ...) dynbuf_addf(out, __VA_ARGS__)

/* Appends open (trusted markup), text escaped as html_text does, then close
 * (trusted markup): one element with outside text inside. */
int html_element(struct dynbuf *out, const char *open, const char *text,
                 const char *close) MUST_CHECK;

/* Appends text percent-encoded for a URL path segment or query value
 * (everything but A-Z a-z 0-9 - . _ ~). */
int html_url_component(struct dynbuf *out, const char *text) MUST_CHECK;

/*
 * Finds field `name` in an urlencoded body or query string (a=1&b=2) and
 * decodes it ('+' is a space, %XX a byte) into out (size bytes, always
 * NUL-terminated). Returns false when absent, malformed, longer than
 * size - 1 or holding a NUL byte.
 */
bool html_form_field(const char *form, const char *name, char *out, size_t size);

/* Finds cookie `name` in a Cookie header ("a=1; b=2") into out; false when
 * absent or too long. */
bool html_cookie_value(const char *header, const char *name, char *out, size_t size);

/* True when a and b are equal, comparing in time that depends only on the
 * length of b (the expected token); NULL or empty a is never equal. */
bool html_token_equal(const char *a, const char *b);

#endif
