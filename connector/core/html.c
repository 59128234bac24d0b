#include "html.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"

int html_text(struct dynbuf *out, const char *text)
{
	const char *start = text;
	int rc;

	if (text == NULL)
		return CN_OK;
	for (const char *p = text; *p != '\0'; p++) {
		const char *entity = NULL;

		switch (*p) {
		case '&':
			entity = "&amp;";
			break;
		case '<':
			entity = "&lt;";
			break;
		case '>':
			entity = "&gt;";
			break;
		case '"':
			entity = "&quot;";
			break;
		case '\'':
			entity = "&#39;";
			break;
		default:
			continue;
		}
		rc = dynbuf_add(out, start, (size_t)(p - start));
		if (rc == CN_OK)
			rc = dynbuf_adds(out, entity);
		if (rc != CN_OK)
			return rc;
		start = p + 1;
	}
	return dynbuf_adds(out, start);
}

int html_element(struct dynbuf *out, const char *open, const char *text, const char *close)
{
	int rc = dynbuf_adds(out, open);

	if (rc == CN_OK)
		rc = html_text(out, text);
	if (rc == CN_OK)
		rc = dynbuf_adds(out, close);
	return rc;
}

int html_url_component(struct dynbuf *out, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";

	if (text == NULL)
		return CN_OK;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		             (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		             *p == '~';
		int rc = plain ? dynbuf_add(out, p, 1) : dynbuf_add(out, escaped, 3);

		if (rc != CN_OK)
			return rc;
	}
	return CN_OK;
}

/* Decodes [value, end) into out; false when malformed or too long. */
static bool form_decode(const char *value, const char *end, char *out, size_t size)
{
	size_t len = 0;

	for (const char *p = value; p < end; p++) {
		int c = (unsigned char)*p;

		if (*p == '+') {
			c = ' ';
		} else if (*p == '%') {
			int hi;

			if (end - p < 3)
				return false;
			hi = hex_digit_value(p[1]);
			if (hi < 0 || hex_digit_value(p[2]) < 0)
				return false;
			c = hi * 16 + hex_digit_value(p[2]);
			p += 2;
		}
		if (c == 0 || len + 1 >= size)
			return false;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return true;
}

bool html_form_field(const char *form, const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *p = form;

	if (size == 0)
		return false;
	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&');

		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 &&
		    p[name_len] == '=')
			return form_decode(p + name_len + 1, end, out, size);
		p = *end == '&' ? end + 1 : NULL;
	}
	return false;
}

bool html_cookie_value(const char *header, const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *p = header;

	if (size == 0 || header == NULL)
		return false;
	while (*p != '\0') {
		const char *end;

		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 &&
		    p[name_len] == '=') {
			size_t len = (size_t)(end - p) - name_len - 1;

			if (len + 1 > size)
				return false;
			memcpy(out, p + name_len + 1, len);
			out[len] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}

bool html_token_equal(const char *a, const char *b)
{
	size_t a_len, b_len;
	unsigned char diff = 0;

	if (a == NULL || b == NULL || a[0] == '\0')
		return false;
	a_len = strlen(a);
	b_len = strlen(b);
	for (size_t i = 0; i < b_len; i++)
		diff |= (unsigned char)(b[i] ^ (i < a_len ? a[i] : 0));
	return diff == 0 && a_len == b_len;
}
