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

#endif
