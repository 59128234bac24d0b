#include "console_internal.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reconcile.h"
#include "stop_flag.h"

static bool runner_stopping(void *arg)
{
	struct console *console = arg;

	return stop_flag_read_shared(&console->mutex, &console->stopping);
}

/* One console-started run (report only: repairs stay a person's decision
 * through `reconcile --repair`), under the same per-connection lock as
 * every other run. */
static void run_one(struct console *console, size_t index)
{
	const struct config *config = console->config;
	const char *name = config->connections[index].name;
	int64_t connection_id = console->runtime->connections[index].id;
	PGconn *conn = NULL, *budget_conn = NULL;
	struct reconcile_options options;
	struct reconcile_report report;
	struct cn_error err = {""};
	bool locked = false;

	memset(&options, 0, sizeof(options));
	memset(&report, 0, sizeof(report));
	options.trigger = "console";
	options.budget_wait_ms = 10000;
	options.stop_requested = runner_stopping;
	options.stop_ctx = console;
	if (store_connect(config->database_conninfo, &conn, &err) != CN_OK ||
	    store_connect(config->database_conninfo, &budget_conn, &err) != CN_OK ||
	    store_reconcile_try_lock(conn, connection_id, &locked, &err) != CN_OK) {
		log_warn("console_reconcile_failed", "connection", name, "error", err.message,
		         NULL);
	} else if (!locked) {
		log_info("console_reconcile_skipped", "connection", name, "reason",
		         "another reconciliation of this connection is running", NULL);
	} else {
		if (reconcile_connection(config, index, connection_id, conn, budget_conn, &options,
		                         &report, &err) != CN_OK)
			log_warn("console_reconcile_failed", "connection", name, "error",
			         err.message, NULL);
		else
			log_info("console_reconcile_finished", "connection", name, NULL);
		store_reconcile_unlock(conn, connection_id);
	}
	reconcile_report_clear(&report);
	PQfinish(conn);
	PQfinish(budget_conn);
}

static void *runner_main(void *arg)
{
	struct console *console = arg;

	pthread_mutex_lock(&console->mutex);
	while (!console->stopping) {
		size_t index = console->runtime->count;

		for (size_t i = 0; i < console->runtime->count && index == console->runtime->count;
		     i++)
			if (console->reconcile_wanted[i])
				index = i;
		if (index == console->runtime->count) {
			pthread_cond_wait(&console->wake, &console->mutex);
			continue;
		}
		console->reconcile_wanted[index] = false;
		console->reconcile_running[index] = true;
		pthread_mutex_unlock(&console->mutex);
		run_one(console, index);
		pthread_mutex_lock(&console->mutex);
		console->reconcile_running[index] = false;
	}
	pthread_mutex_unlock(&console->mutex);
	return NULL;
}

int console_runner_start(struct console *console, struct cn_error *err)
{
	size_t count = console->runtime->count;

	console->reconcile_wanted = calloc(count + 1, sizeof(bool));
	console->reconcile_running = calloc(count + 1, sizeof(bool));
	if (console->reconcile_wanted == NULL || console->reconcile_running == NULL ||
	    pthread_create(&console->runner, NULL, runner_main, console) != 0) {
		error_set(err, "cannot start the console's reconcile runner");
		return CN_ERR;
	}
	console->runner_started = true;
	return CN_OK;
}

void console_runner_stop(struct console *console)
{
	if (!console->runner_started)
		return;
	stop_flag_raise_shared(&console->mutex, &console->wake, &console->stopping);
	pthread_join(console->runner, NULL);
	console->runner_started = false;
}

bool console_runner_request(struct console *console, size_t index)
{
	bool accepted;

	pthread_mutex_lock(&console->mutex);
	accepted = !console->reconcile_wanted[index] && !console->reconcile_running[index];
	if (accepted) {
		console->reconcile_wanted[index] = true;
		pthread_cond_signal(&console->wake);
	}
	pthread_mutex_unlock(&console->mutex);
	return accepted;
}
