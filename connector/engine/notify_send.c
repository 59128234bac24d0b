#include "notify_send.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Appends to a fixed buffer, truncating (messages are capped on purpose). */
static void append(char *buffer, size_t size, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(buffer);

	if (used + 1 < size)
		snprintf(buffer + used, size - used, fmt, a, b);
}

/* True when cause is "KIND:..." for this kind. */
static bool cause_is(const char *cause, const char *kind)
{
	size_t len = strlen(kind);

	return strncmp(cause, kind, len) == 0 && cause[len] == ':';
}

void notify_text(const char *cause, int events, const char *lines, char *subject,
                 size_t subject_size, char *text, size_t text_size)
{
	const char *colon = strchr(cause, ':');
	const char *name = colon != NULL ? colon + 1 : cause;
	const char *hint = "";
	int kept = 0;
	char more[48] = "";

	if (cause_is(cause, "parked")) {
		snprintf(subject, subject_size, "bookto-moneybird: %d order%s of %s parked", events,
		         events == 1 ? "" : "s", name);
		hint = "They wait for a person: `bookto-moneybird show ORDER`, fix the cause, "
		       "then `bookto-moneybird retry ORDER`.";
	} else if (cause_is(cause, "paused")) {
		snprintf(subject, subject_size, "bookto-moneybird: connection %s paused", name);
		hint = "Moneybird refused its API token; nothing is booked until a call succeeds "
		       "(renew the token, then work resumes by itself).";
	} else if (cause_is(cause, "resumed")) {
		snprintf(subject, subject_size, "bookto-moneybird: connection %s resumed", name);
	} else if (cause_is(cause, "reconcile")) {
		snprintf(subject, subject_size,
		         "bookto-moneybird: reconciliation of %s found differences", name);
		hint = "`bookto-moneybird reconcile --connection NAME` lists them; --repair queues "
		       "the safe fixes.";
	} else {
		snprintf(subject, subject_size,
		         "bookto-moneybird: deliveries wait in the spool of %s", name);
		hint = "PostgreSQL was unreachable; they move into it once it is back. Do not "
		       "delete the spool folder.";
	}
	snprintf(text, text_size, "%s", subject);
	for (const char *line = lines; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		char one[600];

		snprintf(one, sizeof(one), "%.*s", (int)(len < 590 ? len : 590), line);
		append(text, text_size, "\n- %s%s", one, "");
		kept++;
		line = end != NULL ? end + 1 : NULL;
	}
	if (events > kept && kept > 0) {
		snprintf(more, sizeof(more), "%d", events - kept);
		append(text, text_size, "\n- ... and %s more%s", more, "");
	}
	if (hint[0] != '\0')
		append(text, text_size, "\n%s%s", hint, "");
}

static size_t discard_body(char *data, size_t size, size_t count, void *user)
{
	(void)data;
	(void)user;
	return size * count;
}

int notify_send_webhook(const char *url, const char *text, int timeout_seconds,
                        struct cn_error *err)
{
	cJSON *body = cJSON_CreateObject();
	char *json = NULL;
	CURL *curl = NULL;
	struct curl_slist *headers = NULL;
	long status = 0;
	CURLcode code;
	int rc = CN_ERR;
	int ok;

	if (body == NULL || cJSON_AddStringToObject(body, "text", text) == NULL ||
	    (json = cJSON_PrintUnformatted(body)) == NULL || (curl = curl_easy_init()) == NULL ||
	    (headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
		error_set(err, "out of memory preparing the notification");
		goto out;
	}
	ok = curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)timeout_seconds) == CURLE_OK;
	ok =
	    ok && curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)timeout_seconds) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body) == CURLE_OK;
	if (!ok) {
		error_set(err, "could not set up the notification request");
		goto out;
	}
	code = curl_easy_perform(curl);
	if (code != CURLE_OK) {
		/* curl_easy_strerror names the failure, never the URL. */
		error_set(err, "the notification webhook could not be reached: %s",
		          curl_easy_strerror(code));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		error_set(err, "the notification webhook answered HTTP %ld", status);
		goto out;
	}
	rc = CN_OK;
out:
	curl_slist_free_all(headers);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	cJSON_free(json);
	cJSON_Delete(body);
	return rc;
}

/* Waits for pid up to timeout_seconds, then kills it; its exit status or -1. */
static int wait_bounded(pid_t pid, int timeout_seconds)
{
	struct timespec step = {0, 20 * 1000 * 1000};
	long waited_ms = 0;
	int status = 0;

	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);

		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (done < 0 && errno != EINTR)
			return -1;
		if (waited_ms >= (long)timeout_seconds * 1000) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&step, NULL);
		waited_ms += 20;
	}
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int notify_send_email(const char *sendmail, const char *from, const char *to, const char *subject,
                      const char *text, int timeout_seconds, struct cn_error *err)
{
	char *const argv[] = {(char *)sendmail, "-i", "--", (char *)to, NULL};
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attributes;
	sigset_t none, defaults;
	char header[1024];
	int pipe_fds[2];
	pid_t pid;
	int status, written;

	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		error_set(err, "cannot start %s: %s", sendmail, strerror(errno));
		return CN_ERR;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	/* serve blocks its stop signals and ignores SIGPIPE; sendmail must not
	 * inherit either. */
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_init(&attributes);
	posix_spawnattr_setsigmask(&attributes, &none);
	posix_spawnattr_setsigdefault(&attributes, &defaults);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	status = posix_spawn(&pid, sendmail, &actions, &attributes, argv, environ);
	posix_spawnattr_destroy(&attributes);
	posix_spawn_file_actions_destroy(&actions);
	close(pipe_fds[0]);
	if (status != 0) {
		close(pipe_fds[1]);
		error_set(err, "cannot start %s: %s", sendmail, strerror(status));
		return CN_ERR;
	}
	/* from, to and subject hold no line breaks (checked, or built here). */
	snprintf(header, sizeof(header),
	         "From: %s\nTo: %s\nSubject: %s\nMIME-Version: 1.0\n"
	         "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n",
	         from, to, subject);
	written = write_all(pipe_fds[1], header, strlen(header)) == 0 &&
	          write_all(pipe_fds[1], text, strlen(text)) == 0 &&
	          write_all(pipe_fds[1], "\n", 1) == 0;
	close(pipe_fds[1]);
	status = wait_bounded(pid, timeout_seconds);
	if (!written || status != 0) {
		error_set(err, "%s %s", sendmail,
		          status < 0 ? "did not finish in time or was killed"
		                     : "failed (see its exit status in the mail log)");
		return CN_ERR;
	}
	return CN_OK;
}
