#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "intake.h"
#include "plan.h"
#include "runtime.h"
#include "store_ops.h"

#include "cli_ops_common.h"

/* ---- replay ---- */

#define REPLAY_PROGRESS_INTERVAL_MS 100

struct replay_counts {
	size_t seen;
	size_t accepted;
	size_t duplicate;
	size_t parked;
	size_t ignored;
	size_t invalid;
};

struct replay_run {
	struct intake_context intake;
	size_t connection_index;
	PGconn *conn; /* for the parked check */
	struct replay_counts counts;
	size_t total; /* known for files, 0 for stdin */
	bool progress;
	int64_t last_progress_ms;
};

static void replay_progress(struct replay_run *run, bool final)
{
	int64_t now = cli_ops_now_ms();
	char bar[31];

	if (!run->progress)
		return;
	if (!final && now - run->last_progress_ms < REPLAY_PROGRESS_INTERVAL_MS)
		return;
	run->last_progress_ms = now;
	if (final) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		return;
	}
	if (run->total > 0) {
		size_t filled = run->counts.seen * 30 / run->total;

		memset(bar, '#', filled);
		memset(bar + filled, '.', 30 - filled);
		bar[30] = '\0';
		fprintf(stderr,
		        "\r[%s] %zu/%zu  accepted %zu  duplicate %zu  parked %zu  invalid %zu", bar,
		        run->counts.seen, run->total, run->counts.accepted, run->counts.duplicate,
		        run->counts.parked, run->counts.invalid);
	} else {
		fprintf(stderr, "\r%zu read  accepted %zu  duplicate %zu  parked %zu  invalid %zu",
		        run->counts.seen, run->counts.accepted, run->counts.duplicate,
		        run->counts.parked, run->counts.invalid);
	}
	fflush(stderr);
}

/* A problem with one payload: printed on its own line under the bar. */
static void replay_note(struct replay_run *run, const char *where, const char *what)
{
	if (run->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "bookto-moneybird: %s: %s\n", where, what);
}

/* Stores one payload; CN_RETRYABLE stops the run (the database went away). */
static int replay_one(struct replay_run *run, const char *where, const unsigned char *body,
                      size_t body_len)
{
	struct intake_delivery delivery;
	enum intake_outcome outcome = INTAKE_ACCEPTED;
	struct bookto_order *order = NULL;
	struct cn_error err = {""};
	char state[24] = "";

	run->counts.seen++;
	if ((long)body_len > run->intake.config->http_max_body_bytes) {
		run->counts.invalid++;
		replay_note(run, where, "larger than http.max_body_bytes; not imported");
		return CN_OK;
	}
	memset(&delivery, 0, sizeof(delivery));
	delivery.connection_index = run->connection_index;
	intake_new_delivery_key(delivery.delivery_key);
	delivery.received_at_ms = cli_ops_now_ms();
	delivery.signature_timestamp = 0; /* replayed: no signature to record */
	delivery.source = "replay";
	delivery.body = body;
	delivery.body_len = body_len;
	if (intake_store(&run->intake, &delivery, &outcome, &err) != CN_OK) {
		cli_one_line(err.message);
		replay_note(run, where, err.message);
		run->counts.seen--;
		return CN_RETRYABLE;
	}
	switch (outcome) {
	case INTAKE_DUPLICATE:
		run->counts.duplicate++;
		break;
	case INTAKE_IGNORED:
		run->counts.ignored++;
		replay_note(run, where, "not an order.paid event; kept as ignored");
		break;
	case INTAKE_INVALID_JSON:
		run->counts.invalid++;
		replay_note(run, where, "not a JSON object; kept as invalid_json, no order made");
		break;
	case INTAKE_UNUSABLE:
		run->counts.invalid++;
		replay_note(run, where, err.message);
		break;
	case INTAKE_ACCEPTED:
	case INTAKE_SPOOLED:
		/* Parked at intake (amounts, VAT treatment, ...)? */
		if (bookto_parse_order((const char *)body, body_len, &order, &err) == CN_OK &&
		    order->order_id[0] != '\0' &&
		    store_ops_order_state(
		        run->conn, run->intake.runtime->connections[run->connection_index].id,
		        order->order_id, state, &err) == CN_OK &&
		    strcmp(state, "needs_attention") != 0)
			run->counts.accepted++;
		else
			run->counts.parked++;
		bookto_order_free(order);
		break;
	}
	replay_progress(run, false);
	return CN_OK;
}

static bool blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return false;
	return true;
}

static int replay_stdin(struct replay_run *run)
{
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t got;
	size_t line_number = 0;
	int rc = CN_OK;

	while (rc == CN_OK && (got = getline(&line, &line_cap, stdin)) >= 0) {
		char where[48];
		size_t len = (size_t)got;

		line_number++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (blank(line, len))
			continue;
		snprintf(where, sizeof(where), "stdin line %zu", line_number);
		rc = replay_one(run, where, (const unsigned char *)line, len);
	}
	free(line);
	return rc;
}

static int replay_files(struct replay_run *run, const char *const *paths, size_t count,
                        size_t *unreadable)
{
	int rc = CN_OK;

	for (size_t i = 0; i < count && rc == CN_OK; i++) {
		FILE *file = fopen(paths[i], "rb");
		unsigned char *body = NULL;
		size_t len = 0;

		if (file == NULL) {
			replay_note(run, paths[i], strerror(errno));
			(*unreadable)++;
			run->counts.seen++;
			continue;
		}
		if (cli_ops_read_file_capped(file, (size_t)run->intake.config->http_max_body_bytes,
		                             &body, &len) != CN_OK) {
			replay_note(run, paths[i], "cannot be read");
			(*unreadable)++;
			run->counts.seen++;
		} else {
			rc = replay_one(run, paths[i], body, len);
		}
		free(body);
		fclose(file);
	}
	return rc;
}

int cli_ops_replay(const struct config *config, int argc, char **argv)
{
	struct cli_ops_args args;
	struct replay_run run;
	struct cn_error err = {""};
	struct runtime *runtime = NULL;
	struct mapping *mapping = NULL;
	int64_t connection_id = 0;
	size_t unreadable = 0;
	bool from_stdin;
	int stored;
	int rc = cli_ops_parse_args(argc, argv, "connection", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	memset(&run, 0, sizeof(run));
	if (args.positional_count == 0)
		return cli_usage(cli_ops_usage_text,
		                 "replay needs FILE... or - (JSON lines on stdin)");
	from_stdin = args.positional_count == 1 && strcmp(args.positional[0], "-") == 0;
	for (size_t i = 0; !from_stdin && i < args.positional_count; i++)
		if (strcmp(args.positional[i], "-") == 0)
			return cli_usage(cli_ops_usage_text,
			                 "replay reads either files or - (stdin), not both");
	rc = cli_ops_pick_connection(config, "replay", args.connection, &run.connection_index);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (mapping_load(config->connections[run.connection_index].mapping_path, &mapping, stderr,
	                 &err) != CN_OK)
		return cli_usage(cli_ops_usage_text,
		                 "the mapping of connection %s is not valid: %s",
		                 config->connections[run.connection_index].name, err.message);
	/* intake_store looks the connection up in the runtime; only ours is filled. */
	run.intake.config = config;
	if (runtime_create(config, &runtime, &err) != CN_OK) {
		rc = cli_fail("%s", err.message);
		goto out;
	}
	run.intake.runtime = runtime;
	runtime->connections[run.connection_index].mapping = mapping;
	mapping = NULL; /* the runtime's now */
	rc = cli_ops_connect_database(config, &run.conn);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (store_connection_ensure(
	        run.conn, config->connections[run.connection_index].name,
	        config->connections[run.connection_index].moneybird_administration_id,
	        &connection_id, &err) != CN_OK ||
	    store_pool_create(config->database_conninfo, 1, &run.intake.pool, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	runtime->connections[run.connection_index].id = connection_id;
	run.total = from_stdin ? 0 : args.positional_count;
	run.progress = isatty(STDERR_FILENO) == 1;
	if (from_stdin)
		stored = replay_stdin(&run);
	else
		stored = replay_files(&run, args.positional, args.positional_count, &unreadable);
	replay_progress(&run, true);
	printf("Replayed %zu payload%s into connection %s: %zu accepted, %zu duplicate, "
	       "%zu parked, %zu ignored, %zu invalid.\n",
	       run.counts.seen, run.counts.seen == 1 ? "" : "s",
	       config->connections[run.connection_index].name, run.counts.accepted,
	       run.counts.duplicate, run.counts.parked, run.counts.ignored,
	       run.counts.invalid + unreadable);
	if (stored != CN_OK) {
		rc =
		    cli_fail("the database stopped taking payloads; the rest was not imported. Run "
		             "the same replay again once it is back: what was stored is skipped as "
		             "duplicate");
		goto out;
	}
	if (run.counts.parked > 0)
		printf("Parked orders need attention: `bookto-moneybird status` and `show ORDER` "
		       "say why; `retry ORDER` after fixing it.\n");
	rc = run.counts.invalid + unreadable > 0 ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
out:
	store_pool_free(run.intake.pool);
	PQfinish(run.conn);
	runtime_free(runtime);
	mapping_free(mapping);
	return rc;
}
