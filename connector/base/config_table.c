/*
 * The configuration keys, one row each (see config_table.h). The row order
 * within a group is the order the loader reads them in.
 */
#include "config_table.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

/* A row whose value has a reader of its own. */
#define ROW(path, type, def, flags, doc)                                                           \
	{                                                                                          \
		path, type, def, 0, 0, CONFIG_NO_FIELD, 0, flags, doc                              \
	}
/* An integer of struct config, read by the generic loader. */
#define INT(path, field, def, min, max, doc)                                                       \
	{                                                                                          \
		path, CONFIG_INT, #def, min, max, offsetof(struct config, field),                  \
		    sizeof(((struct config *)0)->field), 0, doc                                    \
	}
/* An integer of one connection's struct connection_config. */
#define CONN_INT(path, field, def, min, max, doc)                                                  \
	{                                                                                          \
		path, CONFIG_INT, #def, min, max, offsetof(struct connection_config, field),       \
		    sizeof(((struct connection_config *)0)->field), CONFIG_IN_CONNECTION, doc      \
	}

/* A key of the test-only `testing` group (an int of struct config). */
#define TEST_INT(path, field, def, min, max, doc)                                                  \
	{                                                                                          \
		path, CONFIG_INT, #def, min, max, offsetof(struct config, testing.field),          \
		    sizeof(((struct config *)0)->testing.field), CONFIG_TEST_ONLY, doc             \
	}

/* clang-format off */
const struct config_key config_keys[] = {
	ROW("http", CONFIG_GROUP, NULL, 0, "the HTTP front end"),
	ROW("http.listen", CONFIG_STRING, "127.0.0.1:8080", 0,
	    "host:port to listen on; host is IPv4, localhost or [IPv6]; port 0 = any free port"),
	INT("http.max_body_bytes", http_max_body_bytes, 262144, 1024, 67108864,
	    "largest accepted request body in bytes; larger gets 413"),
	INT("http.max_connections", http_max_connections, 2048, 1, 10000,
	    "concurrent HTTP connections; an idle one holds no thread"),
	INT("http.request_timeout_seconds", http_request_timeout_seconds, 10, 1, 3600,
	    "idle close: seconds a keep-alive connection may sit silent"),
	INT("http.commit_timeout_ms", http_commit_timeout_ms, 3000, 100, 60000,
	    "longest wait for PostgreSQL to commit a delivery before it is spooled"),
	INT("http.max_connections_per_address", http_per_address_max, 256, 1, 10000,
	    "open connections from one client address"),
	INT("http.request_deadline_seconds", http_deadline_seconds, 30, 1, 3600,
	    "a request (headers and body) must arrive whole within this, else it is closed"),
	INT("http.event_threads", http_event_threads, 2, 1, 64,
	    "epoll threads holding the connections"),
	INT("http.handler_threads", http_handler_threads, 64, 1, 1024,
	    "threads answering requests that wait on PostgreSQL"),

	ROW("database", CONFIG_GROUP, NULL, 0, "PostgreSQL"),
	ROW("database.conninfo", CONFIG_STRING, "postgresql:///bookto_moneybird", 0,
	    "libpq conninfo or URI; BOOKTO_MONEYBIRD_DATABASE overrides it"),
	INT("database.pool_size", database_pool_size, 8, 1, 256,
	    "PostgreSQL connections kept open"),

	ROW("workers", CONFIG_GROUP, NULL, 0, "the sync workers"),
	INT("workers.count", workers_count, 2, 0, 64,
	    "sync worker threads; 0 = intake only"),
	INT("workers.max_attempts", workers_max_attempts, 15, 1, 1000,
	    "attempts per order before it is parked needs_attention"),

	ROW("reconcile", CONFIG_GROUP, NULL, 0, "the periodic reconciliation"),
	INT("reconcile.interval_seconds", reconcile_interval_seconds, 900, 0, 604800,
	    "how often serve compares its state with Moneybird; 0 = off, else at least 60"),

	ROW("log", CONFIG_GROUP, NULL, 0, "logging"),
	ROW("log.level", CONFIG_STRING, "info", 0, "debug | info | warn | error"),
	ROW("log.format", CONFIG_STRING, "logfmt", 0, "logfmt | json"),
	ROW("log.file", CONFIG_STRING, "", 0, "log file path; \"\" = stderr; SIGHUP reopens it"),

	ROW("spool", CONFIG_GROUP, NULL, 0, "the spool for deliveries while PostgreSQL is down"),
	ROW("spool.dir", CONFIG_STRING, "/var/lib/bookto-moneybird/spool", 0,
	    "folder where verified deliveries are fsynced while PostgreSQL is unreachable"),

	ROW("connections", CONFIG_LIST, NULL, CONFIG_REQUIRED,
	    "one group per bookto shop / Moneybird administration pair"),
	ROW("connections.*.name", CONFIG_STRING, NULL, CONFIG_REQUIRED,
	    "unique, [a-z0-9_-]{1,32}; appears in /webhooks/bookto/{name}"),
	ROW("connections.*.mapping", CONFIG_STRING, "mappings/default.cfg", 0,
	    "mapping file; relative: next to the config, then the installed share folder"),
	ROW("connections.*.time_zone", CONFIG_STRING, "Europe/Amsterdam", 0,
	    "the administration's IANA time zone, or UTC"),
	ROW("connections.*.bookto", CONFIG_GROUP, NULL, CONFIG_REQUIRED, "the bookto side"),
	ROW("connections.*.bookto.signing_secrets", CONFIG_SECRETS, NULL, CONFIG_REQUIRED,
	    "1..8 secrets that verify X-Bookto-Signature (several during a secret roll)"),
	CONN_INT("connections.*.bookto.timestamp_tolerance_seconds",
	         bookto_timestamp_tolerance_seconds, 300, 1, 86400,
	         "largest accepted age/skew of X-Bookto-Timestamp in seconds"),
	ROW("connections.*.moneybird", CONFIG_GROUP, NULL, CONFIG_REQUIRED, "the Moneybird side"),
	ROW("connections.*.moneybird.base_url", CONFIG_STRING, "https://moneybird.com/api/v2", 0,
	    "API base URL; https://, or http:// to a loopback host"),
	ROW("connections.*.moneybird.administration_id", CONFIG_STRING, NULL, CONFIG_REQUIRED,
	    "the administration's id: 1..20 digits in double quotes"),
	ROW("connections.*.moneybird.api_token", CONFIG_SECRET, NULL, CONFIG_REQUIRED,
	    "Moneybird API token"),
	ROW("connections.*.moneybird.rate_limit", CONFIG_GROUP, NULL, 0,
	    "client-side request budget"),
	CONN_INT("connections.*.moneybird.rate_limit.requests", moneybird_rate_limit_requests,
	         150, 1, 100000, "at most this many requests per per_seconds"),
	CONN_INT("connections.*.moneybird.rate_limit.per_seconds",
	         moneybird_rate_limit_per_seconds, 300, 1, 86400,
	         "the budget's window in seconds"),
	CONN_INT("connections.*.moneybird.contact_push_grace_seconds",
	         moneybird_contact_push_grace_seconds, 2, 0, 60,
	         "how long after an order Moneybird's contact pushes are trusted to have arrived; "
	         "0 = refresh the contact index instead"),

	ROW("console", CONFIG_GROUP, NULL, 0, "the bookkeeper's web console, a listener of serve's own"),
	ROW("console.listen", CONFIG_STRING, "127.0.0.1:8081", 0,
	    "HOST:PORT like http.listen; \"\" turns the console off"),
	INT("console.session_minutes", console_session_minutes, 480, 5, 10080,
	    "a sign-in lasts this long"),
	ROW("console.secure_cookies", CONFIG_BOOL, "false", 0,
	    "true behind TLS: the session cookie is only sent over HTTPS"),

	ROW("notify", CONFIG_GROUP, NULL, 0, "optional notifications; needs webhook_url or sendmail"),
	ROW("notify.webhook_url", CONFIG_SECRET, NULL, 0,
	    "Slack/Mattermost-compatible incoming webhook, https://"),
	ROW("notify.sendmail", CONFIG_STRING, NULL, 0,
	    "absolute path of a sendmail-compatible binary"),
	ROW("notify.email_to", CONFIG_STRING, NULL, 0, "one address; required with sendmail"),
	ROW("notify.email_from", CONFIG_STRING, "bookto-moneybird", 0, "one address"),
	INT("notify.interval_seconds", notify_interval_seconds, 900, 1, 86400,
	    "at most one message per cause per interval"),
	INT("notify.spool_age_seconds", notify_spool_age_seconds, 600, 1, 86400,
	    "a spooled delivery older than this is announced"),
	INT("notify.timeout_seconds", notify_timeout_seconds, 10, 1, 120, "per send"),

	ROW("testing", CONFIG_GROUP, NULL, CONFIG_TEST_ONLY, "for the test suite only"),
	TEST_INT("testing.lease_seconds", lease_seconds, 120, 1, 86400,
	         "the lease a worker holds a job under"),
	TEST_INT("testing.backoff_base_seconds", backoff_base_seconds, 10, 1, 3600,
	         "the first retry delay of the backoff"),
	TEST_INT("testing.budget_wait_ms", budget_wait_ms, 5000, 0, 60000,
	         "in-process wait for a rate budget slot (0 = always defer); at most a quarter lease"),
	TEST_INT("testing.stall_before_intent_ms", stall_before_intent_ms, 0, 0, 600000,
	         "a worker sleeps this long before it commits an invoice intent"),
	TEST_INT("testing.pause_probe_seconds", pause_probe_seconds, 30, 1, 86400,
	         "how often a paused connection is probed"),
	TEST_INT("testing.reconcile_interval_seconds", reconcile_interval_seconds, 0, 0, 604800,
	         "replaces a non-zero reconcile.interval_seconds (0 = keep it); never turns it on"),
	TEST_INT("testing.reconcile_wait_seconds", reconcile_wait_seconds, 120, 0, 86400,
	         "how long reconcile --repair waits for the repairs"),
};
/* clang-format on */

const size_t config_key_count = sizeof(config_keys) / sizeof(config_keys[0]);

const struct config_key *config_key_find(const char *path)
{
	for (size_t i = 0; i < config_key_count; i++)
		if (strcmp(config_keys[i].path, path) == 0)
			return &config_keys[i];
	return NULL;
}

const char *config_key_default(const char *path)
{
	const struct config_key *key = config_key_find(path);

	/* A missing row is a programming error the unit tests catch at once. */
	if (key == NULL || key->default_text == NULL)
		abort();
	return key->default_text;
}

long long config_key_int_default(const struct config_key *key)
{
	return strtoll(key->default_text, NULL, 10);
}

void config_key_store_int(const struct config_key *key, void *base, long long value)
{
	char *field = (char *)base + key->offset;

	if (key->size == sizeof(long)) {
		long stored = (long)value;

		memcpy(field, &stored, sizeof(stored));
	} else {
		int stored = (int)value;

		memcpy(field, &stored, sizeof(stored));
	}
}

void config_testing_defaults(struct config_testing *testing)
{
	struct config defaults;

	memset(&defaults, 0, sizeof(defaults));
	for (size_t i = 0; i < config_key_count; i++)
		if ((config_keys[i].flags & CONFIG_TEST_ONLY) && config_keys[i].type == CONFIG_INT)
			config_key_store_int(&config_keys[i], &defaults,
			                     config_key_int_default(&config_keys[i]));
	*testing = defaults.testing;
}

/* True when path is group_path "." leaf, with no further dot in leaf. */
static const char *child_name(const char *path, const char *group_path)
{
	size_t length = strlen(group_path);
	const char *leaf = path;

	if (length > 0) {
		if (strncmp(path, group_path, length) != 0 || path[length] != '.')
			return NULL;
		leaf = path + length + 1;
	}
	if (strchr(leaf, '.') != NULL)
		return NULL;
	return leaf;
}

size_t config_key_children(const char *group_path, const char **names, size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < config_key_count && count + 1 < max; i++) {
		const char *leaf = child_name(config_keys[i].path, group_path);

		if (leaf != NULL && strcmp(leaf, "*") != 0)
			names[count++] = leaf;
	}
	names[count] = NULL;
	return count;
}

void config_keys_print(FILE *out)
{
	static const char *const types[] = {
	    [CONFIG_GROUP] = "group",   [CONFIG_LIST] = "list",     [CONFIG_INT] = "int",
	    [CONFIG_STRING] = "string", [CONFIG_SECRET] = "secret", [CONFIG_SECRETS] = "secrets",
	    [CONFIG_BOOL] = "bool"};

	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *key = &config_keys[i];

		fprintf(out, "%s\t%s\t%s", key->path, types[key->type],
		        key->default_text != NULL ? key->default_text : "-");
		if (key->type == CONFIG_INT)
			fprintf(out, "\t%lld..%lld", key->min, key->max);
		else
			fprintf(out, "\t-");
		fprintf(out, "\t%s%s\t%s\n", (key->flags & CONFIG_REQUIRED) ? "required" : "",
		        (key->flags & CONFIG_TEST_ONLY) ? "test-only" : "", key->doc);
	}
}
