/* A growable byte buffer with a hard cap (see dynbuf.h). */
#include "dynbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYNBUF_FIRST_ALLOC 256

void dynbuf_init(struct dynbuf *buf, size_t max)
{
	buf->data = NULL;
	buf->len = 0;
	buf->alloc = 0;
	buf->max = max;
}

/* Room for `extra` more bytes and the NUL, doubling but never past max + 1. */
static int reserve(struct dynbuf *buf, size_t extra)
{
	size_t needed;
	size_t alloc;
	char *grown;

	if (extra > buf->max - buf->len)
		return CN_INVALID;
	needed = buf->len + extra + 1;
	if (needed <= buf->alloc)
		return CN_OK;
	alloc = buf->alloc != 0 ? buf->alloc : DYNBUF_FIRST_ALLOC;
	while (alloc < needed)
		alloc = alloc > SIZE_MAX / 2 ? needed : alloc * 2;
	if (alloc > buf->max + 1)
		alloc = buf->max + 1;
	grown = realloc(buf->data, alloc);
	if (grown == NULL)
		return CN_ERR;
	buf->data = grown;
	buf->alloc = alloc;
	return CN_OK;
}

int dynbuf_add(struct dynbuf *buf, const void *data, size_t len)
{
	int status = reserve(buf, len);

	if (status != CN_OK)
		return status;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return CN_OK;
}

int dynbuf_adds(struct dynbuf *buf, const char *text)
{
	return dynbuf_add(buf, text, strlen(text));
}

int dynbuf_vaddf(struct dynbuf *buf, const char *fmt, va_list ap)
{
	va_list copy;
	int needed;
	int status;

	va_copy(copy, ap);
	needed = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (needed < 0)
		return CN_ERR;
	status = reserve(buf, (size_t)needed);
	if (status != CN_OK)
		return status;
	vsnprintf(buf->data + buf->len, (size_t)needed + 1, fmt, ap);
	buf->len += (size_t)needed;
	return CN_OK;
}

int dynbuf_addf(struct dynbuf *buf, const char *fmt, ...)
{
	va_list ap;
	int status;

	va_start(ap, fmt);
	status = dynbuf_vaddf(buf, fmt, ap);
	va_end(ap);
	return status;
}

void dynbuf_reset(struct dynbuf *buf)
{
	buf->len = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

void dynbuf_free(struct dynbuf *buf)
{
	free(buf->data);
	dynbuf_init(buf, buf->max);
}

const char *dynbuf_ptr(const struct dynbuf *buf)
{
	return buf->data != NULL ? buf->data : "";
}

size_t dynbuf_len(const struct dynbuf *buf)
{
	return buf->len;
}

char *dynbuf_take(struct dynbuf *buf)
{
	char *data = buf->data != NULL ? buf->data : strdup("");

	dynbuf_init(buf, buf->max);
	return data;
}
