/*
 * A growable byte buffer with a hard cap, after curl's dynbuf: every buffer
 * that grows from outside input (HTTP bodies, Moneybird responses, rendered
 * text, files read whole) is one of these, so no input can make the process
 * allocate past the cap its owner chose. The content is always
 * NUL-terminated (the terminator is not counted and does not count against
 * the cap). Not thread-safe; one owner at a time.
 */
#ifndef BM_DYNBUF_H
#define BM_DYNBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct dynbuf {
	char *data; /* NULL until something was added */
	size_t len;
	size_t alloc;
	size_t max; /* the most bytes of content it may ever hold */
};

/* An empty buffer that will hold at most `max` bytes (plus the NUL). */
void dynbuf_init(struct dynbuf *buf, size_t max);

/*
 * Appends len bytes. CN_OK; CN_INVALID when the content would pass the cap
 * (nothing is added, the buffer is unchanged); CN_ERR without memory.
 */
int dynbuf_add(struct dynbuf *buf, const void *data, size_t len) MUST_CHECK;
int dynbuf_adds(struct dynbuf *buf, const char *text) MUST_CHECK;
int dynbuf_addf(struct dynbuf *buf, const char *fmt, ...) PRINTF_LIKE(2, 3) MUST_CHECK;
int dynbuf_vaddf(struct dynbuf *buf, const char *fmt, va_list ap) MUST_CHECK;

/* Empties the content and keeps the allocation. */
void dynbuf_reset(struct dynbuf *buf);
/* Frees the memory; the buffer is empty again (same cap). */
void dynbuf_free(struct dynbuf *buf);

/* The content ("" when empty) and its length. */
const char *dynbuf_ptr(const struct dynbuf *buf);
size_t dynbuf_len(const struct dynbuf *buf);

/* Hands the content to the caller (free it) and empties the buffer; an empty
 * buffer gives a new "" (NULL without memory). */
char *dynbuf_take(struct dynbuf *buf);

#endif
