/* Small string helpers the planner and the template engine share (text.c). */
#ifndef BM_TEXT_H
#define BM_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A copy of text without leading and trailing whitespace; NULL without memory.
 * NULL text is "". */
char *text_trimmed_copy(const char *text);

/* True for NULL and for text of only spaces, tabs and line ends. */
bool text_blank(const char *text);

/* The number of UTF-8 characters in text (continuation bytes not counted). */
size_t text_utf8_characters(const char *text);

/* A decimal integer such as a PostgreSQL column's text; 0 for NULL, for text
 * that does not start with a number, and on overflow. */
int64_t text_int64(const char *text);

/* A copy of text (NULL stays NULL), or of its first length bytes; on
 * allocation failure NULL with *out_of_memory set, so a loader can go on
 * and report the failure once at the end. */
char *text_copy(const char *text, bool *out_of_memory);
char *text_copy_n(const char *text, size_t length, bool *out_of_memory);

#endif
