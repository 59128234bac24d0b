/*
 * Project-wide result codes and the caller-supplied error message buffer.
 * Fallible functions return int: 0 on success or one of the negative codes
 * below, and write one readable sentence into a struct cn_error. The boundary
 * (HTTP handler, worker loop, CLI) logs or prints it once.
 */
#ifndef BM_ERROR_H
#define BM_ERROR_H

#include <stddef.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define PRINTF_LIKE(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))

enum cn_status {
	CN_OK = 0,
	CN_ERR = -1,       /* failure; the message says why */
	CN_NOT_FOUND = -2, /* the thing looked up does not exist */
	CN_DUPLICATE = -3, /* already present; nothing changed */
	CN_RETRYABLE = -4, /* transient: try again later */
	CN_INVALID = -5,   /* bad input; retrying will not help */
};

struct cn_error {
	char message[512];
};

/* Sets err->message (truncating safely); err may be NULL. */
void error_set(struct cn_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Prefixes an existing message with context: "context: previous message". */
void error_prefix(struct cn_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* The zeroed state of a component being started (size bytes); NULL with err
 * "out of memory starting <what>" when there is no memory for it. */
void *error_calloc_start(size_t size, const char *what, struct cn_error *err);

#endif
