#include "console_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "status.h"

#define RECONCILE_RUNS_SHOWN 20

/* Cells of a run row, escaped; times in the connection's zone. */
static int run_row(struct console_request *req, struct dynbuf *out,
                   const struct store_ops_table *runs, size_t r)
{
	static const size_t text_columns[] = {0, 1, 2, 6, 7, 8, 9, 10, 11};
	const char *connection = store_ops_cell(runs, r, 1);
	int rc = html_raw(out, "<tr>");

	for (size_t i = 0; rc == CN_OK && i < sizeof(text_columns) / sizeof(text_columns[0]); i++) {
		const char *cell = store_ops_cell(runs, r, text_columns[i]);

		if (text_columns[i] == 6) {
			rc = html_raw(out, "<td>");
			if (rc == CN_OK)
				rc = console_time(req, out, connection, store_ops_cell(runs, r, 4));
			if (rc == CN_OK)
				rc = html_raw(out, "</td><td>");
			if (rc == CN_OK)
				rc = console_time(req, out, connection, store_ops_cell(runs, r, 5));
			if (rc == CN_OK)
				rc = html_raw(out, "</td>");
		}
		if (rc == CN_OK)
			rc = html_element(out, "<td>", cell != NULL ? cell : "—", "</td>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tr>");
	return rc;
}

static int runs_table(struct console_request *req, struct dynbuf *out,
                      const struct store_ops_table *runs)
{
	int rc;

	if (runs->rows == 0)
		return html_raw(out, "<p>No reconciliation has run yet.</p>");
	rc = html_raw(out, "<div class=\"scroll\"><table class=\"runs\"><thead><tr><th>Run</th>"
	                   "<th>Connection</th><th>Started by</th><th>Started</th>"
	                   "<th>Finished</th><th>Status</th><th>Invoices</th><th>Orders</th>"
	                   "<th>Differences</th><th>Repairs queued</th><th>Error</th></tr>"
	                   "</thead><tbody>");
	for (size_t r = 0; rc == CN_OK && r < runs->rows; r++)
		rc = run_row(req, out, runs, r);
	if (rc == CN_OK)
		rc = html_raw(out, "</tbody></table></div>");
	return rc;
}

static int differences_table(struct dynbuf *out, const struct store_ops_table *d)
{
	int rc = html_raw(out, "<h2>Differences of these runs (%zu)</h2>", d->rows);

	if (rc != CN_OK || d->rows == 0)
		return rc == CN_OK
		           ? html_raw(out, "<p>None: the connector and Moneybird agree.</p>")
		           : rc;
	rc = html_raw(out, "<div class=\"scroll\"><table class=\"differences\"><thead><tr>"
	                   "<th>Run</th><th>Kind</th><th>Order</th><th>Number</th>"
	                   "<th>Connection</th><th>Moneybird invoice</th><th>Detail</th>"
	                   "<th>Repair</th></tr></thead><tbody>");
	for (size_t r = 0; rc == CN_OK && r < d->rows; r++) {
		rc = html_raw(out, "<tr>");
		for (size_t c = 0; rc == CN_OK && c < d->columns; c++) {
			const char *cell = store_ops_cell(d, r, c);

			rc = html_element(out, "<td>", cell != NULL ? cell : "—", "</td>");
		}
		if (rc == CN_OK)
			rc = html_raw(out, "</tr>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tbody></table></div>");
	return rc;
}

/* The operator's form: one connection, report only. */
static int run_form(struct console_request *req, struct dynbuf *out)
{
	const struct runtime *runtime = req->console->runtime;
	int rc = html_raw(out, "<form class=\"reconcile\" method=\"post\" action=\"/reconcile\">");

	if (rc == CN_OK)
		rc = console_csrf_field(req, out);
	if (rc == CN_OK)
		rc = html_raw(out, "<label>Connection <select name=\"connection\">");
	for (size_t i = 0; rc == CN_OK && i < runtime->count; i++) {
		rc = html_element(out, "<option value=\"", runtime->connections[i].config->name,
		                  "\">");
		if (rc == CN_OK)
			rc = html_text(out, runtime->connections[i].config->name);
		if (rc == CN_OK)
			rc = html_raw(out, "</option>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</select></label><button type=\"submit\">Run a reconciliation"
		                   "</button><span class=\"hint\">It compares every order with "
		                   "Moneybird and lists the differences; it changes nothing.</span>"
		                   "</form>");
	return rc;
}

int console_page_reconcile(struct console_request *req, struct console_reply *reply)
{
	struct store_ops_table runs = {0}, differences = {0};
	struct cn_error err = {""};
	struct dynbuf *out = &reply->html;
	int rc = status_reconcile_history(req->db, RECONCILE_RUNS_SHOWN, &runs, &differences, &err);

	if (rc != CN_OK) {
		store_ops_table_free(&runs);
		store_ops_table_free(&differences);
		log_warn("console_database_error", "error", err.message, NULL);
		return console_error_page(
		    req, reply, 503,
		    "The reconciliations cannot be read just now; try again in "
		    "a minute.");
	}
	rc = console_page_begin(req, out, "Reconcile");
	if (rc == CN_OK &&
	    MHD_lookup_connection_value(req->mhd, MHD_GET_ARGUMENT_KIND, "started") != NULL)
		rc =
		    html_raw(out, "<p class=\"notice\">The reconciliation was started; reload this "
		                  "page in a moment to see its result.</p>");
	if (rc == CN_OK &&
	    MHD_lookup_connection_value(req->mhd, MHD_GET_ARGUMENT_KIND, "busy") != NULL)
		rc = html_raw(out, "<p class=\"notice\">A reconciliation of that connection is "
		                   "already waiting or running.</p>");
	if (rc == CN_OK && console_is_operator(req))
		rc = run_form(req, out);
	if (rc == CN_OK)
		rc = html_raw(out, "<h2>Recent runs</h2>");
	if (rc == CN_OK)
		rc = runs_table(req, out, &runs);
	if (rc == CN_OK)
		rc = differences_table(out, &differences);
	if (rc == CN_OK)
		rc = console_page_end(out);
	store_ops_table_free(&runs);
	store_ops_table_free(&differences);
	return rc;
}
