/*
 * One line per event, logfmt or JSON, to stderr or a file (SIGHUP reopens it).
 * Fields are key/value string pairs ending with NULL:
 *
 *   log_info("delivery_accepted", "connection", name, "order_id", id, NULL);
 *
 * The level is checked before anything is formatted. Never pass a secret or
 * a full request body; values are escaped and each is capped in length.
 */
#ifndef BM_LOG_H
#define BM_LOG_H

#include "config.h"
#include "error.h"

/* Opens the log destination ("" or NULL = stderr). Safe to call again. */
int log_open(enum log_level level, enum log_format format, const char *file,
             struct cn_error *err) MUST_CHECK;

/* Reopens the log file after rotation (called on SIGHUP). */
void log_reopen(void);

void log_close(void);

int log_enabled(enum log_level level);

/* Writes one line; use the macros below. */
void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));

/* Parses "debug|info|warn|error" and "logfmt|json"; -1 when unknown. */
int log_level_parse(const char *text);
int log_format_parse(const char *text);

/* Logs at level only when that level is enabled (arguments unevaluated
 * otherwise). */
#define log_at(level, ...)                                                                         \
	do {                                                                                       \
		if (log_enabled(level))                                                            \
			log_event(level, __VA_ARGS__);                                             \
	} while (0)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
