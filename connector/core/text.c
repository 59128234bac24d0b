/* Small string helpers the planner and the template engine share. */
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A copy of text without leading and trailing whitespace; NULL without memory. */
char *text_trimmed_copy(const char *text)
{
	size_t length;

	if (text == NULL)
		text = "";
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	length = strlen(text);
	while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t' ||
	                      text[length - 1] == '\n' || text[length - 1] == '\r'))
		length--;
	return strndup(text, length);
}

bool text_blank(const char *text)
{
	if (text == NULL)
		return true;
	for (; *text != '\0'; text++)
		if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
			return false;
	return true;
}

size_t text_utf8_characters(const char *text)
{
	size_t count = 0;

	for (; *text != '\0'; text++)
		if (((unsigned char)*text & 0xC0) != 0x80)
			count++;
	return count;
}

int64_t text_int64(const char *text)
{
	char *end = NULL;
	long long value;

	if (text == NULL)
		return 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text)
		return 0;
	return (int64_t)value;
}

char *text_copy(const char *text, bool *out_of_memory)
{
	return text != NULL ? text_copy_n(text, strlen(text), out_of_memory) : NULL;
}

char *text_copy_n(const char *text, size_t length, bool *out_of_memory)
{
	char *copy = malloc(length + 1);

	if (copy == NULL) {
		*out_of_memory = true;
		return NULL;
	}
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}
