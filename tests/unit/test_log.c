/*
 * log: under systemd (JOURNAL_STREAM names stderr's device and inode) lines
 * go to stderr without a time stamp and with a syslog priority prefix; a
 * JOURNAL_STREAM naming another file, a malformed one, or a log file keep
 * the time-stamped format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "unit_main.h"

struct capture {
	char path[256];
	int saved_stderr;
};

/* Points stderr at a fresh temporary file. */
static void capture_start(struct capture *capture)
{
	int fd;

	snprintf(capture->path, sizeof(capture->path), "/tmp/bm-test-log.XXXXXX");
	fd = mkstemp(capture->path);
	assert_true(fd >= 0);
	fflush(stderr);
	capture->saved_stderr = dup(STDERR_FILENO);
	assert_true(capture->saved_stderr >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Restores stderr; returns what was written (caller frees). */
static char *capture_end(struct capture *capture)
{
	FILE *file;
	char *text = calloc(1, 8192);
	size_t len;

	fflush(stderr);
	assert_int_equal(dup2(capture->saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(capture->saved_stderr);
	file = fopen(capture->path, "r");
	assert_non_null(file);
	assert_non_null(text);
	len = fread(text, 1, 8191, file);
	text[len] = '\0';
	fclose(file);
	unlink(capture->path);
	return text;
}

/* JOURNAL_STREAM as systemd sets it for the file stderr is open on now. */
static void set_journal_stream_to_stderr(void)
{
	struct stat st;
	char value[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", value, 1), 0);
}

static char *log_two_lines(enum log_format format, const char *file)
{
	struct capture capture;
	struct cn_error err = {""};

	capture_start(&capture);
	set_journal_stream_to_stderr();
	assert_int_equal(log_open(LOG_LEVEL_DEBUG, format, file, &err), CN_OK);
	log_info("order_synced", "order_id", "o-1", NULL);
	log_error("worker_failed", "reason", "a b", NULL);
	log_close();
	unsetenv("JOURNAL_STREAM");
	return capture_end(&capture);
}

static void test_journal_logfmt(void **state)
{
	char *text = log_two_lines(LOG_FORMAT_LOGFMT, "");

	(void)state;
	assert_string_equal(text, "<6>level=info event=order_synced order_id=o-1\n"
	                          "<3>level=error event=worker_failed reason=\"a b\"\n");
	free(text);
}

static void test_journal_json(void **state)
{
	char *text = log_two_lines(LOG_FORMAT_JSON, NULL);

	(void)state;
	assert_string_equal(
	    text, "<6>{\"level\":\"info\",\"event\":\"order_synced\",\"order_id\":\"o-1\"}\n"
	          "<3>{\"level\":\"error\",\"event\":\"worker_failed\",\"reason\":\"a b\"}\n");
	free(text);
}

static void test_other_stream_keeps_time_stamps(void **state)
{
	struct capture capture;
	struct cn_error err = {""};
	char *text;

	(void)state;
	capture_start(&capture);
	assert_int_equal(setenv("JOURNAL_STREAM", "1:1", 1), 0);
	assert_int_equal(log_open(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, "", &err), CN_OK);
	log_warn("spool_full", NULL);
	log_close();
	text = capture_end(&capture);
	assert_true(strncmp(text, "ts=", 3) == 0);
	assert_non_null(strstr(text, " level=warn event=spool_full\n"));
	free(text);

	capture_start(&capture);
	set_journal_stream_to_stderr();
	assert_int_equal(setenv("JOURNAL_STREAM", "12:34:56", 1), 0);
	assert_int_equal(log_open(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, "", &err), CN_OK);
	log_info("malformed", NULL);
	log_close();
	unsetenv("JOURNAL_STREAM");
	text = capture_end(&capture);
	assert_true(strncmp(text, "ts=", 3) == 0);
	free(text);
}

static void test_log_file_keeps_time_stamps(void **state)
{
	char path[] = "/tmp/bm-test-logfile.XXXXXX";
	int fd = mkstemp(path);
	char *stderr_text;
	char line[512] = "";
	FILE *file;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	stderr_text = log_two_lines(LOG_FORMAT_LOGFMT, path);
	assert_string_equal(stderr_text, "");
	file = fopen(path, "r");
	assert_non_null(file);
	assert_non_null(fgets(line, sizeof(line), file));
	fclose(file);
	unlink(path);
	assert_true(strncmp(line, "ts=", 3) == 0);
	assert_non_null(strstr(line, " level=info event=order_synced order_id=o-1\n"));
	free(stderr_text);
}

UNIT_TEST_MAIN(NULL, NULL, cmocka_unit_test(test_journal_logfmt),
               cmocka_unit_test(test_journal_json),
               cmocka_unit_test(test_other_stream_keeps_time_stamps),
               cmocka_unit_test(test_log_file_keeps_time_stamps))
