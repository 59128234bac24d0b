#include "notify.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "notify_send.h"
#include "stop_flag.h"
#include "store.h"
#include "store_notify.h"

#define NOTIFY_TICK_MS 1000
#define NOTIFY_MAX_ATTEMPTS 20
#define NOTIFY_SENDS_PER_TICK 20
#define SPOOL_SUFFIX ".delivery"

struct notify {
	const struct config *config;
	pthread_t thread;
	struct stop_flag stop;
	PGconn *conn;
	bool database_failing; /* logged once per outage */
	time_t spool_announced_at;
	char host[64];
};

/* Sends on every configured channel not done yet; *webhook_done and
 * *email_done say which are done afterwards. error gets the last failure. */
static void send_channels(struct notify *notify, const struct store_notification *message,
                          bool *webhook_done, bool *email_done, char *error, size_t error_size)
{
	const struct config *config = notify->config;
	char subject[256], text[STORE_NOTIFY_TEXT_MAX + 1024];
	char attempt[16], events[16];
	struct cn_error err = {""};

	notify_text(message->cause, message->events, message->lines, subject, sizeof(subject), text,
	            sizeof(text));
	snprintf(attempt, sizeof(attempt), "%d", message->attempts + 1);
	snprintf(events, sizeof(events), "%d", message->events);
	*webhook_done = message->webhook_done || config->notify_webhook_url == NULL;
	*email_done = message->email_done || config->notify_sendmail == NULL;
	if (!*webhook_done) {
		*webhook_done = notify_send_webhook(config->notify_webhook_url, text,
		                                    config->notify_timeout_seconds, &err) == CN_OK;
		metrics_notification("webhook", *webhook_done);
		if (!*webhook_done) {
			log_warn("notification_failed", "cause", message->cause, "channel",
			         "webhook", "attempt", attempt, "error", err.message, NULL);
			snprintf(error, error_size, "%s", err.message);
		} else {
			log_info("notification_sent", "cause", message->cause, "channel", "webhook",
			         "events", events, NULL);
		}
	}
	if (!*email_done) {
		*email_done = notify_send_email(config->notify_sendmail, config->notify_email_from,
		                                config->notify_email_to, subject, text,
		                                config->notify_timeout_seconds, &err) == CN_OK;
		metrics_notification("email", *email_done);
		if (!*email_done) {
			log_warn("notification_failed", "cause", message->cause, "channel", "email",
			         "attempt", attempt, "error", err.message, NULL);
			snprintf(error, error_size, "%s", err.message);
		} else {
			log_info("notification_sent", "cause", message->cause, "channel", "email",
			         "events", events, NULL);
		}
	}
}

/* Sends the due messages, each inside the transaction that claimed it. */
static int send_due(struct notify *notify, struct cn_error *err)
{
	for (int sent = 0; sent < NOTIFY_SENDS_PER_TICK && !stop_flag_raised(&notify->stop);
	     sent++) {
		struct store_notification message;
		bool found, webhook_done, email_done, given_up;
		char error[sizeof(err->message)] = "";
		int rc = store_notify_claim(notify->conn, notify->config->notify_interval_seconds,
		                            &message, &found, err);

		if (rc != CN_OK || !found)
			return rc;
		send_channels(notify, &message, &webhook_done, &email_done, error, sizeof(error));
		rc = store_notify_finish(notify->conn, &message, webhook_done, email_done,
		                         webhook_done && email_done, error,
		                         notify->config->notify_interval_seconds,
		                         NOTIFY_MAX_ATTEMPTS, &given_up, err);
		if (rc != CN_OK)
			return rc;
		if (given_up)
			log_error("notification_given_up", "cause", message.cause, "error", error,
			          NULL);
	}
	return CN_OK;
}

/* Spooled deliveries and the age of the oldest, from the files' times. */
static size_t spool_oldest(const char *dir, time_t now, long *age_seconds)
{
	DIR *handle = opendir(dir);
	struct dirent *item;
	size_t count = 0;

	*age_seconds = 0;
	if (handle == NULL)
		return 0;
	while ((item = readdir(handle)) != NULL) {
		size_t len = strlen(item->d_name);
		char path[4096];
		struct stat st;

		if (item->d_name[0] == '.' || len <= strlen(SPOOL_SUFFIX) ||
		    strcmp(item->d_name + len - strlen(SPOOL_SUFFIX), SPOOL_SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, item->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		count++;
		if (now - st.st_mtime > *age_seconds)
			*age_seconds = (long)(now - st.st_mtime);
	}
	closedir(handle);
	return count;
}

/* The spool fills while PostgreSQL is unreachable, so this message is sent
 * directly (not queued in PostgreSQL), at most once per interval. */
static void check_spool(struct notify *notify)
{
	const struct config *config = notify->config;
	time_t now = time(NULL);
	long age;
	size_t count = spool_oldest(config->spool_dir, now, &age);
	struct store_notification message;
	bool webhook_done, email_done;
	char error[256] = "";

	if (count == 0 || age < config->notify_spool_age_seconds ||
	    (notify->spool_announced_at != 0 &&
	     now - notify->spool_announced_at < config->notify_interval_seconds))
		return;
	memset(&message, 0, sizeof(message));
	snprintf(message.cause, sizeof(message.cause), "spool:%s", notify->host);
	message.events = 1;
	snprintf(message.lines, sizeof(message.lines),
	         "%zu deliver%s waiting, the oldest for %ld minute%s", count,
	         count == 1 ? "y" : "ies", age / 60, age / 60 == 1 ? "" : "s");
	send_channels(notify, &message, &webhook_done, &email_done, error, sizeof(error));
	/* A failed channel is tried again at the next interval, like a repeat. */
	notify->spool_announced_at = now;
}

static void tick(struct notify *notify)
{
	struct cn_error err = {""};
	int queued = 0;
	int rc = CN_OK;

	if (notify->conn == NULL || PQstatus(notify->conn) != CONNECTION_OK) {
		PQfinish(notify->conn);
		notify->conn = NULL;
		rc = store_connect(notify->config->database_conninfo, &notify->conn, &err);
	}
	if (rc == CN_OK)
		rc = store_notify_collect(notify->conn, notify->config->notify_interval_seconds,
		                          &queued, &err);
	if (rc == CN_OK)
		rc = send_due(notify, &err);
	if (rc != CN_OK && !notify->database_failing)
		log_warn("notify_database_failed", "error", err.message, NULL);
	notify->database_failing = rc != CN_OK;
	check_spool(notify);
}

static void *notify_main(void *arg)
{
	struct notify *notify = arg;

	while (!stop_flag_raised(&notify->stop)) {
		tick(notify);
		stop_flag_sleep_ms(&notify->stop, NOTIFY_TICK_MS);
	}
	PQfinish(notify->conn);
	notify->conn = NULL;
	return NULL;
}

int notify_start(const struct config *config, struct notify **out, struct cn_error *err)
{
	struct notify *notify;

	*out = NULL;
	if (config->notify_webhook_url == NULL && config->notify_sendmail == NULL)
		return CN_OK;
	notify = error_calloc_start(sizeof(*notify), "the notifier", err);
	if (notify == NULL)
		return CN_ERR;
	notify->config = config;
	if (gethostname(notify->host, sizeof(notify->host) - 1) != 0 || notify->host[0] == '\0')
		snprintf(notify->host, sizeof(notify->host), "this-host");
	/* It ends up in a mail subject: keep it to a host name's characters. */
	for (char *p = notify->host; *p != '\0'; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
		           *p) == NULL)
			*p = '-';
	if (!stop_flag_thread_start(&notify->stop, &notify->thread, notify_main, notify)) {
		free(notify);
		error_set(err, "cannot start the notifier thread");
		return CN_ERR;
	}
	metrics_notifications_enable();
	*out = notify;
	return CN_OK;
}

void notify_stop(struct notify *notify)
{
	if (notify == NULL)
		return;
	stop_flag_thread_stop(&notify->stop, notify->thread);
	free(notify);
}
