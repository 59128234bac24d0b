/*
 * The connector's configuration: libconfig file -> immutable struct config.
 * Loading validates every key (types, ranges, unknown keys) and reports each
 * problem as "file:line: sentence". Secret values may be literal, "env:NAME"
 * or "file:/path" (a world-readable file is refused); they are resolved at
 * load time and never printed.
 */
#ifndef BM_CONFIG_H
#define BM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define CONFIG_NAME_MAX 32
#define CONFIG_MAX_SECRETS 8

enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };
enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

struct connection_config {
	char name[CONFIG_NAME_MAX + 1]; /* [a-z0-9_-]{1,32} */
	char *mapping_path;             /* resolved: absolute or relative to cwd */
	char *time_zone;                /* IANA name, e.g. "Europe/Amsterdam" */

	char *bookto_signing_secrets[CONFIG_MAX_SECRETS]; /* resolved secret values */
	size_t bookto_signing_secret_count;               /* >= 1 */
	int bookto_timestamp_tolerance_seconds;           /* 1..86400, default 300 */

	char *moneybird_base_url;             /* https://..., or http:// on loopback */
	char *moneybird_administration_id;    /* digits, kept as a string */
	char *moneybird_api_token;            /* resolved secret value */
	int moneybird_rate_limit_requests;    /* default 150 */
	int moneybird_rate_limit_per_seconds; /* default 300 */

	/* how long contact pushes may take to land; default 2, 0 = never rely on them */
	int moneybird_contact_push_grace_seconds;
};

struct config {
	char *path; /* the file it was loaded from */

	char *http_listen_host;           /* from http.listen "host:port" */
	int http_listen_port;             /* 0..65535 (0 = any free port) */
	long http_max_body_bytes;         /* default 262144 */
	int http_max_connections;         /* default 2048 */
	int http_request_timeout_seconds; /* default 10 */
	int http_commit_timeout_ms;       /* default 3000: longest wait for an intake commit */
	int http_per_address_max;         /* default 256: open connections from one address */
	int http_deadline_seconds;        /* default 30: a request must arrive whole */
	int http_event_threads;           /* default 2: epoll threads holding the connections */
	int http_handler_threads;         /* default 64: threads answering (commit waits) */

	char *database_conninfo; /* BOOKTO_MONEYBIRD_DATABASE overrides */
	int database_pool_size;  /* default 8 */

	int workers_count;        /* default 2 */
	int workers_max_attempts; /* default 15 */

	int reconcile_interval_seconds; /* default 900 */

	enum log_level log_level;   /* default info */
	enum log_format log_format; /* default logfmt */
	char *log_file;             /* "" = stderr */

	char *spool_dir; /* default /var/lib/bookto-moneybird/spool */

	/* notify (optional): both channels NULL = no notifications */
	char *notify_webhook_url;     /* resolved secret; Slack/Mattermost incoming webhook */
	char *notify_sendmail;        /* absolute path of a sendmail-compatible binary */
	char *notify_email_to;        /* required with sendmail */
	char *notify_email_from;      /* default "bookto-moneybird" */
	int notify_interval_seconds;  /* at most one message per cause per interval; 900 */
	int notify_spool_age_seconds; /* spool older than this is announced; 600 */
	int notify_timeout_seconds;   /* per send; 10 */

	/* console (serve's web console for bookkeepers) */
	char *console_listen_host;   /* NULL = off (console.listen = "") */
	int console_listen_port;     /* default 8081 */
	int console_session_minutes; /* default 480 */
	bool console_secure_cookies; /* default false; true behind TLS */

	struct connection_config *connections;
	size_t connection_count; /* >= 1 */

	/* The `testing` group: knobs for the test suite only (config.example.cfg). */
	struct config_testing {
		int lease_seconds;              /* a worker's job lease; 120 */
		int backoff_base_seconds;       /* first retry delay; 10 */
		int budget_wait_ms;             /* in-process wait for a budget slot; 5000 */
		int stall_before_intent_ms;     /* plays a frozen worker; 0 */
		int pause_probe_seconds;        /* probe of a paused connection; 30 */
		int reconcile_interval_seconds; /* 0 = reconcile.interval_seconds */
		int reconcile_wait_seconds;     /* reconcile --repair's wait; 120 */
	} testing;
};

/* The `testing` group's defaults, as the table gives them. */
void config_testing_defaults(struct config_testing *testing);

/*
 * Loads and validates path. On success *out is a new config the caller owns
 * (free with config_free). On failure returns CN_INVALID: err holds the first
 * problem, and every problem found is written to `problems` (if not NULL),
 * one "file:line: sentence" per line.
 */
int config_load(const char *path, struct config **out, FILE *problems,
                struct cn_error *err) MUST_CHECK;

void config_free(struct config *config);

/* The connection with that name, or NULL. */
const struct connection_config *config_find_connection(const struct config *config,
                                                       const char *name);

#endif
