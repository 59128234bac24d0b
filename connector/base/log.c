/*
 * Logging. The destination is process-wide (like stderr itself): a mutex
 * guards the FILE and the level is an atomic, so log_enabled() is cheap and
 * is checked before any formatting.
 *
 * Journal mode: when stderr is the systemd journal (JOURNAL_STREAM names
 * stderr's device and inode, as systemd documents) and no log file is set,
 * lines carry no time stamp (the journal stamps each one) and start with a
 * syslog priority "<N>" that journald turns into the entry's priority.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define LOG_VALUE_MAX 512

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_min_level = LOG_LEVEL_INFO;
static atomic_int log_output_format = LOG_FORMAT_LOGFMT;
static atomic_bool log_journal; /* stderr is the journal and no file is set */
static FILE *log_stream;        /* NULL = stderr; guarded by log_mutex */
static char *log_path;          /* guarded by log_mutex */

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* sd-daemon(3) prefixes: debug, info, warning, err. */
static const char *const journal_priorities[] = {"<7>", "<6>", "<4>", "<3>"};

/* True when JOURNAL_STREAM is "DEV:INO" of the file stderr is open on. */
static bool stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat st;
	char tail;

	if (stream == NULL || sscanf(stream, "%llu:%llu%c", &device, &inode, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == device && (unsigned long long)st.st_ino == inode;
}

int log_level_parse(const char *text)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(text, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_format_parse(const char *text)
{
	if (strcmp(text, "logfmt") == 0)
		return LOG_FORMAT_LOGFMT;
	if (strcmp(text, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

int log_open(enum log_level level, enum log_format format, const char *file, struct cn_error *err)
{
	FILE *stream = NULL;
	char *path_copy = NULL;

	if (file != NULL && file[0] != '\0') {
		stream = fopen(file, "a");
		if (stream == NULL) {
			error_set(err, "cannot open log file %s: %s", file, strerror(errno));
			return CN_ERR;
		}
		setvbuf(stream, NULL, _IOLBF, 0);
		path_copy = strdup(file);
	}
	pthread_mutex_lock(&log_mutex);
	if (log_stream != NULL)
		fclose(log_stream);
	free(log_path);
	log_stream = stream;
	log_path = path_copy;
	atomic_store(&log_min_level, (int)level);
	atomic_store(&log_output_format, (int)format);
	atomic_store(&log_journal, stream == NULL && stderr_is_journal());
	pthread_mutex_unlock(&log_mutex);
	return CN_OK;
}

void log_reopen(void)
{
	pthread_mutex_lock(&log_mutex);
	if (log_path != NULL) {
		FILE *stream = fopen(log_path, "a");
		if (stream != NULL) {
			setvbuf(stream, NULL, _IOLBF, 0);
			if (log_stream != NULL)
				fclose(log_stream);
			log_stream = stream;
		}
	}
	pthread_mutex_unlock(&log_mutex);
}

void log_close(void)
{
	pthread_mutex_lock(&log_mutex);
	if (log_stream != NULL)
		fclose(log_stream);
	log_stream = NULL;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_mutex);
}

int log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&log_min_level);
}

struct line {
	char text[LOG_LINE_MAX];
	size_t len;
	size_t fields_start; /* after the priority prefix and "{" */
};

static void line_append(struct line *line, const char *text, size_t len)
{
	size_t room = sizeof(line->text) - 2 - line->len; /* keep room for "\n\0" */

	if (len > room)
		len = room;
	memcpy(line->text + line->len, text, len);
	line->len += len;
}

static void line_puts(struct line *line, const char *text)
{
	line_append(line, text, strlen(text));
}

static bool logfmt_needs_quotes(const char *value)
{
	if (value[0] == '\0')
		return true;
	for (const char *p = value; *p != '\0'; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
			return true;
	return false;
}

/* Appends value escaped for the format, capped at LOG_VALUE_MAX bytes. */
static void line_value(struct line *line, const char *value, bool json)
{
	bool quote = json || logfmt_needs_quotes(value);
	size_t written = 0;

	if (quote)
		line_puts(line, "\"");
	for (const char *p = value; *p != '\0' && written < LOG_VALUE_MAX; p++, written++) {
		unsigned char c = (unsigned char)*p;
		char escaped[8];

		if (c == '"' || c == '\\') {
			escaped[0] = '\\';
			escaped[1] = (char)c;
			line_append(line, escaped, 2);
		} else if (c == '\n') {
			line_puts(line, "\\n");
		} else if (c < 0x20) {
			snprintf(escaped, sizeof(escaped), "\\u%04x", c);
			line_puts(line, escaped);
		} else {
			line_append(line, (const char *)p, 1);
		}
	}
	if (*value != '\0' && written >= LOG_VALUE_MAX && strlen(value) > LOG_VALUE_MAX)
		line_puts(line, "...");
	if (quote)
		line_puts(line, "\"");
}

static void line_field(struct line *line, const char *key, const char *value, bool json)
{
	if (json) {
		line_puts(line, line->len > line->fields_start ? ",\"" : "\"");
		line_puts(line, key);
		line_puts(line, "\":");
	} else {
		if (line->len > line->fields_start)
			line_puts(line, " ");
		line_puts(line, key);
		line_puts(line, "=");
	}
	line_value(line, value, json);
}

void log_event(enum log_level level, const char *event, ...)
{
	bool json = atomic_load(&log_output_format) == LOG_FORMAT_JSON;
	bool journal = atomic_load(&log_journal);
	struct line line = {.len = 0, .fields_start = 0};
	char timestamp[40];
	struct timeval now;
	struct tm utc;
	va_list ap;

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &utc);
	snprintf(timestamp, sizeof(timestamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
	         utc.tm_sec, (long)(now.tv_usec / 1000));

	if (journal)
		line_puts(&line, journal_priorities[level]);
	if (json)
		line_puts(&line, "{");
	line.fields_start = line.len;
	if (!journal)
		line_field(&line, "ts", timestamp, json);
	line_field(&line, "level", level_names[level], json);
	line_field(&line, "event", event, json);
	va_start(ap, event);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		const char *value;

		if (key == NULL)
			break;
		value = va_arg(ap, const char *);
		line_field(&line, key, value != NULL ? value : "", json);
	}
	va_end(ap);
	if (json)
		line_puts(&line, "}");
	line.text[line.len++] = '\n';
	line.text[line.len] = '\0';

	pthread_mutex_lock(&log_mutex);
	fwrite(line.text, 1, line.len, log_stream != NULL ? log_stream : stderr);
	pthread_mutex_unlock(&log_mutex);
}
