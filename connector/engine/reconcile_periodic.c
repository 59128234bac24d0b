#include "reconcile.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stop_flag.h"
#include "store.h"
#include "store_audit_chain.h"

#define PERIODIC_CHECK_SECONDS 5 /* how often the periodic thread looks at the clock */

/* ======================= the periodic run ======================= */

struct reconcile_periodic {
	const struct runtime *ctx;
	int interval_seconds; /* > 0 */
	int check_seconds;    /* how often the thread looks at the clock */
	pthread_t thread;
	struct stop_flag stop;
};

/* The configured interval (0 = off); testing.reconcile_interval_seconds may
 * shorten or lengthen a non-zero one (tests) but never turns the run on. */
static int periodic_interval_seconds(const struct config *config)
{
	if (config->reconcile_interval_seconds <= 0 ||
	    config->testing.reconcile_interval_seconds <= 0)
		return config->reconcile_interval_seconds;
	return config->testing.reconcile_interval_seconds;
}

static bool periodic_stopping(void *arg)
{
	struct reconcile_periodic *p = arg;

	return stop_flag_raised(&p->stop);
}

/* Waits seconds or until stop; true when stopping. */
static bool periodic_wait(struct reconcile_periodic *p, int seconds)
{
	stop_flag_sleep_ms(&p->stop, seconds * 1000);
	return stop_flag_raised(&p->stop);
}

static void periodic_log_report(const char *name, const struct reconcile_report *report)
{
	char run_id[24], invoices[24], orders[24], differences[24], calls[24];

	snprintf(run_id, sizeof(run_id), "%" PRId64, report->run_id);
	snprintf(invoices, sizeof(invoices), "%ld", report->invoices_checked);
	snprintf(orders, sizeof(orders), "%ld", report->orders_checked);
	snprintf(differences, sizeof(differences), "%zu", report->count);
	snprintf(calls, sizeof(calls), "%ld", report->moneybird_calls);
	if (report->count > 0)
		log_warn("reconcile_differences", "connection", name, "run_id", run_id,
		         "differences", differences, "invoices", invoices, "orders", orders,
		         "moneybird_calls", calls, "hint",
		         "run `bookto-moneybird reconcile` for the list", NULL);
	else
		log_info("reconcile_finished", "connection", name, "run_id", run_id, "differences",
		         differences, "invoices", invoices, "orders", orders, "moneybird_calls",
		         calls, NULL);
}

static void periodic_run_connection(struct reconcile_periodic *p, PGconn *conn, PGconn *budget_conn,
                                    size_t index)
{
	const struct config *config = p->ctx->config;
	const char *name = config->connections[index].name;
	int64_t connection_id = p->ctx->connections[index].id;
	struct reconcile_options options;
	struct reconcile_report report;
	struct cn_error err = {""};
	int64_t age = -1;
	bool locked = false;
	int rc;

	if (store_reconcile_try_lock(conn, connection_id, &locked, &err) != CN_OK) {
		log_debug("reconcile_waiting_for_database", "error", err.message, NULL);
		return;
	}
	if (!locked)
		return; /* another process or a `reconcile` command is running it */
	/* Another process may have run it recently: one run per interval. Read
	 * under the lock, so a run that just finished elsewhere is seen. */
	if (store_reconcile_last_run_age(conn, connection_id, &age, &err) != CN_OK) {
		log_debug("reconcile_waiting_for_database", "error", err.message, NULL);
		store_reconcile_unlock(conn, connection_id);
		return;
	}
	if (age >= 0 && age < p->interval_seconds - p->check_seconds) {
		store_reconcile_unlock(conn, connection_id);
		return;
	}
	memset(&options, 0, sizeof(options));
	options.trigger = "periodic";
	options.repair = false; /* report only: repairs are a person's decision */
	options.budget_wait_ms = 0;
	options.stop_requested = periodic_stopping;
	options.stop_ctx = p;
	memset(&report, 0, sizeof(report));
	rc = reconcile_connection(config, index, connection_id, conn, budget_conn, &options,
	                          &report, &err);
	if (rc != CN_OK && periodic_stopping(p))
		log_info("reconcile_interrupted", "connection", name, "error", err.message, NULL);
	else if (rc != CN_OK)
		log_warn("reconcile_failed", "connection", name, "error", err.message, NULL);
	else
		periodic_log_report(name, &report);
	reconcile_report_clear(&report);
	store_reconcile_unlock(conn, connection_id);
}

/* One round over every connection, on connections of its own. */
static void periodic_round(struct reconcile_periodic *p)
{
	const struct config *config = p->ctx->config;
	PGconn *conn = NULL, *budget_conn = NULL;
	struct cn_error err = {""};

	if (store_connect_on_chain(config->database_conninfo, STORE_AUDIT_CHAIN_RECONCILE, &conn,
	                           &err) != CN_OK ||
	    store_connect(config->database_conninfo, &budget_conn, &err) != CN_OK) {
		log_debug("reconcile_waiting_for_database", "error", err.message, NULL);
	} else {
		for (size_t i = 0; i < config->connection_count && !periodic_stopping(p); i++)
			periodic_run_connection(p, conn, budget_conn, i);
	}
	PQfinish(conn);
	PQfinish(budget_conn);
}

static void *periodic_main(void *arg)
{
	struct reconcile_periodic *p = arg;
	/* The first run comes one interval after start, not at once: a restart
	 * loop must not turn into a reconciliation loop. */
	time_t next_due = time(NULL) + p->interval_seconds;

	while (!periodic_wait(p, p->check_seconds)) {
		if (time(NULL) < next_due)
			continue;
		next_due = time(NULL) + p->interval_seconds;
		periodic_round(p);
	}
	return NULL;
}

int reconcile_periodic_start(const struct runtime *ctx, struct reconcile_periodic **out,
                             struct cn_error *err)
{
	struct reconcile_periodic *p;
	int interval = periodic_interval_seconds(ctx->config);
	char text[24];

	*out = NULL;
	if (interval <= 0) {
		log_info("reconcile_periodic_off", NULL);
		return CN_OK;
	}
	p = error_calloc_start(sizeof(*p), "the periodic reconciliation", err);
	if (p == NULL)
		return CN_ERR;
	p->ctx = ctx;
	p->interval_seconds = interval;
	p->check_seconds = interval < PERIODIC_CHECK_SECONDS ? interval : PERIODIC_CHECK_SECONDS;
	if (!stop_flag_thread_start(&p->stop, &p->thread, periodic_main, p)) {
		free(p);
		error_set(err, "cannot start the periodic reconciliation");
		return CN_ERR;
	}
	snprintf(text, sizeof(text), "%d", interval);
	log_info("reconcile_periodic_on", "interval_seconds", text, NULL);
	*out = p;
	return CN_OK;
}

void reconcile_periodic_stop(struct reconcile_periodic *p)
{
	if (p == NULL)
		return;
	stop_flag_thread_stop(&p->stop, p->thread);
	free(p);
}
