#include "serve.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "bookto.h"
#include "committer.h"
#include "console.h"
#include "httpd.h"
#include "intake.h"
#include "log.h"
#include "mb_events.h"
#include "migrations.h"
#include "notify.h"
#include "reconcile.h"
#include "runtime.h"
#include "spool.h"
#include "store.h"
#include "sync.h"
#include "worker.h"

#define SPOOL_DRAIN_INTERVAL_MS 1000

struct serve_state {
	struct runtime *runtime;
	struct intake_context intake;
	struct sync_shared sync;
	pthread_mutex_t mutex;
	pthread_cond_t wake;
	bool stopping;                 /* guarded by mutex */
	time_t drain_paused_logged_at; /* the drain thread's own */
};

/*
 * Verifies a spool file again before it is stored: the folder is a place on
 * disk, not a proof, so a file is booked only when its body still carries a
 * valid signature of one of the connection's secrets. The timestamp
 * tolerance is deliberately not applied again: it guards the HTTP endpoint
 * against replays of old requests, which the deterministic delivery key
 * covers here, and an outage may well outlast it -- a delivery spooled
 * during a two-hour outage must still be booked.
 */
static int verify_spooled(const struct connection_config *connection,
                          const struct spool_entry *entry, int64_t *timestamp_out,
                          struct cn_error *err)
{
	struct cn_error verify_err = {""};
	int64_t timestamp = 0;

	if (entry->timestamp_header[0] == '\0' || entry->signature_header[0] == '\0') {
		error_set(err, "the file carries no signature (written by an older version or "
		               "not by the connector); check it and import it with `replay`");
		return CN_INVALID;
	}
	for (const char *p = entry->timestamp_header; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || timestamp > INT64_MAX / 10 - 9) {
			error_set(err, "the file's timestamp header is not unix seconds");
			return CN_INVALID;
		}
		timestamp = timestamp * 10 + (*p - '0');
	}
	if (bookto_verify_signature(
	        entry->timestamp_header, entry->signature_header, entry->body, entry->body_len,
	        (const char *const *)connection->bookto_signing_secrets,
	        connection->bookto_signing_secret_count, &verify_err) != CN_OK) {
		error_set(err,
		          "the file's signature does not verify with any signing secret of "
		          "connection %s (tampered, or signed with a removed secret)",
		          connection->name);
		return CN_INVALID;
	}
	*timestamp_out = timestamp;
	return CN_OK;
}

static int store_spooled(void *arg, const struct spool_entry *entry, struct cn_error *err)
{
	struct serve_state *state = arg;
	const struct config *config = state->intake.config;
	const struct connection_config *connection;
	struct intake_delivery delivery;
	enum intake_outcome outcome;
	size_t index = config->connection_count;
	int64_t timestamp = 0;
	int rc;

	for (size_t i = 0; i < config->connection_count; i++)
		if (strcmp(config->connections[i].name, entry->connection_name) == 0)
			index = i;
	if (index == config->connection_count) {
		error_set(err, "connection %s is no longer configured", entry->connection_name);
		return CN_INVALID;
	}
	connection = &config->connections[index];
	rc = verify_spooled(connection, entry, &timestamp, err);
	if (rc != CN_OK)
		return rc;
	memset(&delivery, 0, sizeof(delivery));
	delivery.connection_index = index;
	/* The key is derived again from what was verified, never taken from
	 * the file: a copied file is the same delivery, stored once. */
	intake_signed_delivery_key(connection->name, entry->timestamp_header,
	                           entry->signature_header, entry->body, entry->body_len,
	                           delivery.delivery_key);
	delivery.received_at_ms = entry->received_at_ms;
	delivery.signature_timestamp = timestamp;
	delivery.source = "spool";
	delivery.body = entry->body;
	delivery.body_len = entry->body_len;
	rc = intake_store(&state->intake, &delivery, &outcome, err);
	if (rc == CN_INVALID || rc == CN_ERR)
		return rc; /* set aside, or kept for the next drain: never a stop */
	if (rc != CN_OK) {
		/* Once a minute: the drain tries every second all through an outage. */
		time_t now = time(NULL);

		if (now - state->drain_paused_logged_at >= 60) {
			state->drain_paused_logged_at = now;
			log_warn("spool_drain_paused", "error", err->message, NULL);
		}
		return CN_RETRYABLE;
	}
	return CN_OK;
}

/* Moves spooled deliveries into PostgreSQL whenever it is reachable. */
static void *spool_drain_thread(void *arg)
{
	struct serve_state *state = arg;
	const char *dir = state->intake.config->spool_dir;

	pthread_mutex_lock(&state->mutex);
	while (!state->stopping) {
		struct timespec deadline;

		pthread_mutex_unlock(&state->mutex);
		if (spool_count(dir) > 0) {
			struct cn_error err = {""};
			size_t drained = 0, set_aside = 0;
			int rc = spool_drain(dir, store_spooled, state, &drained, &set_aside, &err);
			char count[24], aside[24];

			snprintf(count, sizeof(count), "%zu", drained);
			snprintf(aside, sizeof(aside), "%zu", set_aside);
			if (drained > 0 || set_aside > 0)
				log_info("spool_drained", "deliveries", count, "set_aside", aside,
				         NULL);
			if (rc == CN_ERR)
				log_error("spool_drain_failed", "error", err.message, NULL);
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += SPOOL_DRAIN_INTERVAL_MS / 1000;
		pthread_mutex_lock(&state->mutex);
		if (!state->stopping)
			pthread_cond_timedwait(&state->wake, &state->mutex, &deadline);
	}
	pthread_mutex_unlock(&state->mutex);
	return NULL;
}

static int check_database(struct runtime *runtime, struct cn_error *err)
{
	PGconn *conn = NULL;
	int rc;

	rc = store_connect(runtime->config->database_conninfo, &conn, err);
	if (rc != CN_OK)
		return rc;
	rc = migrations_check(conn, err);
	/* One transaction for every connection's row: one commit (one WAL
	 * flush) at start, not one per connection (issue 15: 1,000 connections). */
	if (rc == CN_OK)
		rc = store_exec(conn, "BEGIN", err);
	if (rc == CN_OK)
		rc = runtime_ensure_ids(runtime, conn, err);
	if (rc == CN_OK)
		rc = store_exec(conn, "COMMIT", err);
	PQfinish(conn);
	return rc;
}

/* Blocks until SIGTERM or SIGINT; SIGHUP reopens the log on the way. */
static void wait_for_stop_signal(const sigset_t *signals)
{
	for (;;) {
		int signal_number = 0;

		if (sigwait(signals, &signal_number) != 0)
			continue;
		if (signal_number == SIGHUP) {
			log_reopen();
			log_info("log_reopened", NULL);
			continue;
		}
		log_info("shutdown_requested", "signal",
		         signal_number == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
		return;
	}
}

/* The console is for people, not for bookto: serve goes on without it. */
static struct console *start_console(const struct runtime *runtime)
{
	struct console *console = NULL;
	struct cn_error err = {""};
	char port[16];

	if (console_start(runtime, &console, &err) != CN_OK) {
		log_error("console_not_started", "error", err.message, NULL);
		return NULL;
	}
	if (console != NULL) {
		snprintf(port, sizeof(port), "%u", console_port(console));
		log_info("console_serving", "host", runtime->config->console_listen_host, "port",
		         port, NULL);
	}
	return console;
}

/* glibc gives every thread that allocates while another holds an arena an
 * arena of its own, up to eight per core, and each keeps what was freed in it:
 * with serve's handler threads that grew RSS past the intake's 16 MB bound
 * (issue 14). Two arenas are enough for threads that mostly wait. An operator's
 * MALLOC_ARENA_MAX still wins. */
static void limit_malloc_arenas(void)
{
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, 2);
}

int serve_run(const struct config *config)
{
	struct serve_state state;
	struct httpd *httpd = NULL;
	struct worker_pool *workers = NULL;
	struct mb_events *mb_events = NULL;
	struct reconcile_periodic *reconcile = NULL;
	struct notify *notify = NULL;
	struct console *console = NULL;
	pthread_t drain_thread;
	bool drain_started = false;
	struct cn_error err = {""};
	sigset_t signals;
	char port[16];
	int exit_code = 1;

	limit_malloc_arenas();
	memset(&state, 0, sizeof(state));
	state.intake.config = config;
	pthread_mutex_init(&state.mutex, NULL);
	pthread_cond_init(&state.wake, NULL);
	if (runtime_create(config, &state.runtime, &err) != CN_OK)
		goto out;
	state.intake.runtime = state.runtime;
	state.sync.config = config;
	state.sync.runtime = state.runtime;

	/* Signals are taken synchronously by this thread; every thread created
	 * below inherits the blocked mask. SIGPIPE is never wanted. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (spool_check_dir(config->spool_dir, &err) != CN_OK) {
		fprintf(stderr, "bookto-moneybird: cannot serve: %s\n", err.message);
		log_error("serve_refused", "error", err.message, NULL);
		exit_code = 2;
		goto out;
	}
	if (runtime_load_mappings(state.runtime, stderr, &err) != CN_OK ||
	    runtime_load_zones(state.runtime, &err) != CN_OK ||
	    check_database(state.runtime, &err) != CN_OK) {
		fprintf(stderr, "bookto-moneybird: cannot serve: %s\n", err.message);
		log_error("serve_refused", "error", err.message, NULL);
		goto out;
	}
	if (store_pool_create(config->database_conninfo, config->database_pool_size,
	                      &state.intake.pool, &err) != CN_OK ||
	    committer_start(config->database_conninfo, config->http_commit_timeout_ms,
	                    &state.intake.committer, &err) != CN_OK ||
	    httpd_start(&state.intake, &httpd, &err) != CN_OK ||
	    worker_pool_start(&state.sync, config->workers_count, &workers, &err) != CN_OK ||
	    mb_events_start(state.runtime, &mb_events, &err) != CN_OK ||
	    reconcile_periodic_start(state.runtime, &reconcile, &err) != CN_OK ||
	    notify_start(config, &notify, &err) != CN_OK) {
		fprintf(stderr, "bookto-moneybird: cannot serve: %s\n", err.message);
		log_error("serve_refused", "error", err.message, NULL);
		goto out;
	}
	console = start_console(state.runtime);
	if (pthread_create(&drain_thread, NULL, spool_drain_thread, &state) != 0)
		goto out;
	drain_started = true;

	snprintf(port, sizeof(port), "%u", httpd_port(httpd));
	log_info("serving", "host", config->http_listen_host, "port", port, "version", BM_VERSION,
	         NULL);
	wait_for_stop_signal(&signals);
	exit_code = 0;
out:
	/* Stop accepting first and let in-flight requests finish; a periodic
	 * reconciliation stops before its next Moneybird call; then let each
	 * worker finish its job and give back its leases. */
	httpd_stop(httpd);
	console_stop(console);
	reconcile_periodic_stop(reconcile);
	notify_stop(notify);
	if (drain_started) {
		pthread_mutex_lock(&state.mutex);
		state.stopping = true;
		pthread_cond_broadcast(&state.wake);
		pthread_mutex_unlock(&state.mutex);
		pthread_join(drain_thread, NULL);
	}
	committer_stop(state.intake.committer);
	worker_pool_stop(workers);
	mb_events_stop(mb_events);
	store_pool_free(state.intake.pool);
	runtime_free(state.runtime);
	pthread_mutex_destroy(&state.mutex);
	pthread_cond_destroy(&state.wake);
	if (exit_code == 0)
		log_info("stopped", NULL);
	return exit_code;
}
