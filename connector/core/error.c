#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void error_set(struct cn_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void error_prefix(struct cn_error *err, const char *fmt, ...)
{
	char prefix[256];
	char previous[sizeof(err->message)];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(previous, err->message, sizeof(previous));
	snprintf(err->message, sizeof(err->message), "%s: %s", prefix, previous);
}

void *error_calloc_start(size_t size, const char *what, struct cn_error *err)
{
	void *state = calloc(1, size);

	if (state == NULL)
		error_set(err, "out of memory starting %s", what);
	return state;
}
