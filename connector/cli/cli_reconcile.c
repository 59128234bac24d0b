#include "cli_reconcile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "migrations.h"
#include "reconcile.h"
#include "store.h"

#define EXIT_DIFFERENCES 3 /* beside cli_common.h's CLI_EXIT_* */
#define CLI_BUDGET_WAIT_MS 60000
#define REPAIR_POLL_MS 500

/* ======================= the command ======================= */

struct cli_progress {
	const char *connection;
	bool tty;
};

static void show_progress(void *ctx, size_t done, size_t total)
{
	struct cli_progress *progress = ctx;
	int width = 30;
	int filled = total == 0 ? width : (int)((double)done / (double)total * width);

	if (!progress->tty)
		return;
	fprintf(stderr, "\r%s: [%.*s%*s] %zu/%zu invoices", progress->connection, filled,
	        "##############################", width - filled, "", done, total);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Writes text as a JSON string body (without quotes). */
static void json_text(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
}

static void print_json_report(FILE *out, const char *name, const struct reconcile_report *r,
                              const char *label)
{
	fprintf(out,
	        "\"%s\":{\"run_id\":%" PRId64 ",\"invoices_checked\":%ld,"
	        "\"orders_checked\":%ld,\"moneybird_calls\":%ld,\"repairs_queued\":%ld,"
	        "\"differences\":[",
	        label, r->run_id, r->invoices_checked, r->orders_checked, r->moneybird_calls,
	        r->repairs_queued);
	for (size_t i = 0; i < r->count; i++) {
		const struct reconcile_difference *d = &r->items[i];

		fprintf(out, "%s{\"kind\":\"%s\",\"connection\":\"", i > 0 ? "," : "", d->kind);
		json_text(out, name);
		fprintf(out, "\",\"order_id\":");
		if (d->order_id[0] != '\0') {
			fputc('"', out);
			json_text(out, d->order_id);
			fputc('"', out);
		} else {
			fprintf(out, "null");
		}
		fprintf(out, ",\"moneybird_invoice_id\":");
		if (d->invoice_id[0] != '\0')
			fprintf(out, "\"%s\"", d->invoice_id);
		else
			fprintf(out, "null");
		fprintf(out, ",\"detail\":\"");
		json_text(out, d->detail);
		fprintf(out, "\",\"repairable\":%s,\"repair\":\"%s\"}",
		        d->repairable ? "true" : "false", d->repair_queued ? "queued" : "none");
	}
	fprintf(out, "],\"known\":{\"needs_attention\":%ld,\"skipped\":%ld,\"orders\":[", r->parked,
	        r->skipped);
	for (size_t i = 0; i < r->known_count; i++) {
		fprintf(out, "%s{\"order_id\":\"", i > 0 ? "," : "");
		json_text(out, r->known[i].order_id);
		fprintf(out, "\",\"state\":\"%s\",\"reason\":\"", r->known[i].state);
		json_text(out, r->known[i].reason);
		fprintf(out, "\"}");
	}
	fprintf(out, "]}}");
}

/* The parked and skipped orders, under their own heading. */
static void print_known(const struct reconcile_report *r)
{
	if (r->parked == 0 && r->skipped == 0)
		return;
	printf("  Parked and skipped orders (known, not differences): %ld parked "
	       "(needs_attention; `retry` queues them again), %ld skipped.\n",
	       r->parked, r->skipped);
	printf("  %-20s %-16s %s\n", "ORDER", "STATE", "REASON");
	for (size_t i = 0; i < r->known_count; i++) {
		char reason[sizeof(r->known[i].reason)];

		snprintf(reason, sizeof(reason), "%s", r->known[i].reason);
		for (char *p = reason; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		printf("  %-20s %-16s %s\n", r->known[i].order_id, r->known[i].state,
		       reason[0] != '\0' ? reason : "-");
	}
	if ((long)r->known_count < r->parked + r->skipped)
		printf("  ... and %ld more (see `bookto-moneybird status`).\n",
		       r->parked + r->skipped - (long)r->known_count);
}

static void print_table(const char *name, const struct reconcile_report *r, bool repair)
{
	printf("Connection %s: %ld invoices and %ld orders checked with %ld Moneybird calls.\n",
	       name, r->invoices_checked, r->orders_checked, r->moneybird_calls);
	print_known(r);
	if (r->count == 0) {
		printf("  No differences.\n");
		return;
	}
	printf("  %-18s %-20s %-20s %-8s %s\n", "KIND", "ORDER", "INVOICE", "REPAIR", "DETAIL");
	for (size_t i = 0; i < r->count; i++) {
		const struct reconcile_difference *d = &r->items[i];

		printf("  %-18s %-20s %-20s %-8s %s\n", d->kind,
		       d->order_id[0] != '\0' ? d->order_id : "-",
		       d->invoice_id[0] != '\0' ? d->invoice_id : "-",
		       d->repair_queued ? "queued"
		       : d->repairable  ? (repair ? "failed" : "yes")
		                        : "no",
		       d->detail);
	}
}

/* Waits (bounded) until the repaired orders are no longer queued. */
static int wait_for_repairs(PGconn *conn, const struct reconcile_report *report, bool quiet,
                            int wait_seconds, struct cn_error *err)
{
	int64_t *pks = calloc(report->count + 1, sizeof(*pks));
	size_t n = 0, unsettled = 0;
	int waited_ms = 0, limit_ms = wait_seconds * 1000;
	int rc = CN_OK;

	if (pks == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	for (size_t i = 0; i < report->count; i++)
		if (report->items[i].repair_queued)
			pks[n++] = report->items[i].order_pk;
	if (!quiet && n > 0)
		fprintf(stderr, "Waiting up to %d s for %zu queued repairs...\n", limit_ms / 1000,
		        n);
	while (n > 0) {
		rc = store_reconcile_count_unsettled(conn, pks, n, &unsettled, err);
		if (rc != CN_OK || unsettled == 0 || waited_ms >= limit_ms)
			break;
		usleep(REPAIR_POLL_MS * 1000);
		waited_ms += REPAIR_POLL_MS;
	}
	if (!quiet && unsettled > 0)
		fprintf(stderr, "%zu repairs are still queued (is `serve` running?).\n", unsettled);
	free(pks);
	return rc;
}

static const char reconcile_usage_text[] =
    "usage: bookto-moneybird reconcile [--connection NAME] [--since YYYY-MM-DD] [--repair] "
    "[--json]\n";

struct reconcile_args {
	const char *only;
	const char *since;
	bool repair;
	bool json;
	bool help; /* the usage was printed: exit 0 */
};

static int parse_args(int argc, char **argv, struct reconcile_args *args)
{
	memset(args, 0, sizeof(*args));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--connection") == 0 && i + 1 < argc) {
			args->only = argv[++i];
		} else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			args->since = argv[++i];
			if (!reconcile_date_valid(args->since))
				return cli_usage(reconcile_usage_text,
				                 "--since takes a date as YYYY-MM-DD");
		} else if (strcmp(argv[i], "--repair") == 0) {
			args->repair = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			args->json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(reconcile_usage_text, stdout);
			args->help = true;
			return 0;
		} else {
			return cli_usage(reconcile_usage_text, "reconcile: unknown argument %s",
			                 argv[i]);
		}
	}
	return 0;
}

/* Prints one connection's report (or failure); the first has no comma. */
static void print_one(const struct connection_config *cc, const struct reconcile_args *args,
                      bool first, const struct reconcile_report *report,
                      const struct reconcile_report *after)
{
	const struct reconcile_report *final =
	    args->repair && report->repairs_queued > 0 ? after : report;

	if (args->json) {
		printf("%s{\"name\":\"%s\",", first ? "" : ",", cc->name);
		print_json_report(stdout, cc->name, report, "run");
		if (final == after) {
			printf(",");
			print_json_report(stdout, cc->name, after, "after_repair");
		}
		printf(",\"differences_remaining\":%zu}", final->count);
	} else {
		print_table(cc->name, report, args->repair);
		if (final == after) {
			printf("After the repairs:\n");
			print_table(cc->name, after, false);
		}
	}
}

/* Reconciles connection i (and with --repair, again after the repairs);
 * adds what remains to *remaining. Returns 0 or the failure's exit code. */
static int reconcile_one(const struct config *config, size_t i, const struct reconcile_args *args,
                         PGconn *conn, PGconn *budget_conn, bool first, long *remaining)
{
	const struct connection_config *cc = &config->connections[i];
	struct reconcile_options options;
	struct reconcile_report report, after;
	struct cli_progress progress = {cc->name, !args->json && isatty(STDERR_FILENO) == 1};
	struct cn_error err = {""};
	int64_t connection_id = 0;
	bool locked = false;
	int exit_code = 0;
	int rc;

	memset(&report, 0, sizeof(report));
	memset(&after, 0, sizeof(after));
	rc = store_connection_ensure(conn, cc->name, cc->moneybird_administration_id,
	                             &connection_id, &err);
	if (rc == CN_OK)
		rc = store_reconcile_try_lock(conn, connection_id, &locked, &err);
	if (rc == CN_OK && !locked) {
		error_set(&err,
		          "another reconciliation of connection %s is running; try "
		          "again when it has finished",
		          cc->name);
		rc = CN_ERR;
	}
	memset(&options, 0, sizeof(options));
	options.since = args->since;
	options.repair = args->repair;
	options.trigger = "command";
	options.budget_wait_ms = CLI_BUDGET_WAIT_MS;
	options.progress = show_progress;
	options.progress_ctx = &progress;
	if (rc == CN_OK)
		rc = reconcile_connection(config, i, connection_id, conn, budget_conn, &options,
		                          &report, &err);
	if (rc == CN_OK && args->repair && report.repairs_queued > 0) {
		rc = wait_for_repairs(conn, &report, args->json,
		                      config->testing.reconcile_wait_seconds, &err);
		options.repair = false;
		if (rc == CN_OK)
			rc = reconcile_connection(config, i, connection_id, conn, budget_conn,
			                          &options, &after, &err);
	}
	if (locked)
		store_reconcile_unlock(conn, connection_id);
	if (rc != CN_OK) {
		if (args->json)
			printf("%s{\"name\":\"%s\",\"error\":\"", first ? "" : ",", cc->name);
		if (args->json) {
			json_text(stdout, err.message);
			printf("\"}");
		}
		exit_code = cli_fail("reconciling connection %s failed: %s", cc->name, err.message);
	} else {
		*remaining +=
		    (long)(args->repair && report.repairs_queued > 0 ? after : report).count;
		print_one(cc, args, first, &report, &after);
	}
	reconcile_report_clear(&report);
	reconcile_report_clear(&after);
	return exit_code;
}

int cli_reconcile(const struct config *config, int argc, char **argv)
{
	struct reconcile_args args;
	PGconn *conn = NULL, *budget_conn = NULL;
	struct cn_error err = {""};
	long remaining = 0;
	bool first = true;
	int exit_code = parse_args(argc, argv, &args);

	if (exit_code != 0 || args.help)
		return exit_code;
	if (args.only != NULL && config_find_connection(config, args.only) == NULL) {
		fprintf(stderr, "bookto-moneybird: no connection named %s is configured\n",
		        args.only);
		return CLI_EXIT_USAGE;
	}
	if (store_connect(config->database_conninfo, &conn, &err) != CN_OK ||
	    store_connect(config->database_conninfo, &budget_conn, &err) != CN_OK ||
	    migrations_check(conn, &err) != CN_OK) {
		exit_code = cli_fail("%s", err.message);
		goto out;
	}
	if (args.json)
		printf("{\"connections\":[");
	for (size_t i = 0; i < config->connection_count; i++) {
		int one;

		if (args.only != NULL && strcmp(config->connections[i].name, args.only) != 0)
			continue;
		one = reconcile_one(config, i, &args, conn, budget_conn, first, &remaining);
		if (one != 0)
			exit_code = one;
		first = false;
	}
	if (args.json)
		printf("],\"differences_remaining\":%ld}\n", remaining);
	else if (exit_code == 0)
		printf("%ld difference%s remain%s.\n", remaining, remaining == 1 ? "" : "s",
		       remaining == 1 ? "s" : "");
	if (exit_code == 0 && remaining > 0)
		exit_code = EXIT_DIFFERENCES;
out:
	PQfinish(conn);
	PQfinish(budget_conn);
	return exit_code;
}
