#include "console_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "status.h"

/* The orders-per-state table of one connection, each count a link to the
 * filtered order list. */
static int state_counts(struct dynbuf *out, const struct status_connection *c)
{
	int rc = html_raw(out, "<table class=\"counts\"><tr>");

	for (size_t s = 0; rc == CN_OK && s < ORDER_STATE_COUNT; s++) {
		rc = html_raw(out, "<th>");
		if (rc == CN_OK)
			rc = console_state(out, order_state_names[s]);
		if (rc == CN_OK)
			rc = html_raw(out, "</th>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tr><tr>");
	for (size_t s = 0; rc == CN_OK && s < ORDER_STATE_COUNT; s++) {
		rc = html_raw(
		    out, "<td><a href=\"/orders?state=%s&amp;connection=", order_state_names[s]);
		if (rc == CN_OK)
			rc = html_url_component(out, c->connection->name);
		if (rc == CN_OK)
			rc = html_raw(out, "\">%" PRId64 "</a></td>", c->db.orders[s]);
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tr></table>");
	return rc;
}

static int oldest_and_budget(struct console_request *req, struct dynbuf *out,
                             const struct status_connection *c)
{
	const char *name = c->connection->name;
	char text[160];
	int rc = html_raw(out, "<dt>Oldest unsynced order</dt><dd>");

	if (rc == CN_OK && c->db.has_oldest_unsynced) {
		rc = html_raw(out, "<a href=\"");
		if (rc == CN_OK)
			rc = console_order_href(out, name, c->db.oldest_order_id);
		if (rc == CN_OK)
			rc = html_element(out, "\">",
			                  c->db.oldest_order_number[0] != '\0'
			                      ? c->db.oldest_order_number
			                      : c->db.oldest_order_id,
			                  "</a> ");
		if (rc == CN_OK)
			rc = console_state(out, c->db.oldest_state);
		if (rc == CN_OK)
			rc = html_raw(out, " received ");
		if (rc == CN_OK)
			rc = console_time(req, out, name, c->db.oldest_received_at);
	} else if (rc == CN_OK) {
		rc = html_raw(out, "none: every order is booked");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</dd>");
	if (c->budget_known)
		snprintf(text, sizeof(text), "%d of %d Moneybird requests left in this window%s",
		         c->budget.remaining, c->budget.requests,
		         c->budget.paused_until_ms > 0 ? " (paused by a 429)" : "");
	else
		snprintf(text, sizeof(text), "unknown");
	if (rc == CN_OK)
		rc = console_fact(out, "Rate budget", text);
	if (rc == CN_OK)
		rc = console_fact(out, "Paused",
		                  c->db.paused ? c->db.paused_reason
		                               : "no, the connection is working");
	return rc;
}

static int last_reconcile(struct console_request *req, struct dynbuf *out,
                          const struct status_connection *c, const struct store_ops_table *runs)
{
	const char *name = c->connection->name;
	int rc = html_raw(out, "<dt>Last reconcile</dt><dd>");

	for (size_t r = 0; rc == CN_OK && r < runs->rows; r++) {
		if (strcmp(store_ops_cell(runs, r, 1), name) != 0 ||
		    store_ops_cell(runs, r, 5) == NULL)
			continue;
		rc = console_time(req, out, name, store_ops_cell(runs, r, 5));
		if (rc == CN_OK)
			rc = html_element(out, ": ", store_ops_cell(runs, r, 6), ", ");
		if (rc == CN_OK)
			rc = html_text(out, store_ops_cell(runs, r, 9));
		if (rc == CN_OK)
			rc =
			    html_raw(out, " difference(s) <a href=\"/reconcile\">details</a></dd>");
		return rc;
	}
	if (rc == CN_OK)
		rc = html_raw(out, "never</dd>");
	return rc;
}

static int connection_section(struct console_request *req, struct dynbuf *out,
                              const struct status_connection *c, const struct store_ops_table *runs)
{
	int rc = html_raw(out, "<section class=\"connection\"><h2>Connection ");

	if (rc == CN_OK)
		rc = html_text(out, c->connection->name);
	if (rc == CN_OK)
		rc = html_raw(out, "</h2>");
	if (rc == CN_OK && !c->db.exists)
		return html_raw(out, "<p>Not registered yet: start <code>serve</code> or run "
		                     "<code>migrate</code>.</p></section>");
	if (rc == CN_OK)
		rc = state_counts(out, c);
	if (rc == CN_OK)
		rc = html_raw(out, "<dl>");
	if (rc == CN_OK)
		rc = oldest_and_budget(req, out, c);
	if (rc == CN_OK)
		rc = last_reconcile(req, out, c, runs);
	if (rc == CN_OK)
		rc = console_fact(out, "Time zone", console_zone_name(req, c->connection->name));
	if (rc == CN_OK)
		rc = html_raw(out, "</dl></section>");
	return rc;
}

int console_page_overview(struct console_request *req, struct console_reply *reply)
{
	struct status_report report;
	struct store_ops_table runs = {0}, differences = {0};
	struct cn_error err = {""};
	struct dynbuf *out = &reply->html;
	int rc = status_read(req->db, req->console->config, &report, &err);

	if (rc == CN_OK)
		rc = status_reconcile_history(req->db, 50, &runs, &differences, &err);
	if (rc != CN_OK) {
		status_report_free(&report);
		store_ops_table_free(&runs);
		store_ops_table_free(&differences);
		log_warn("console_database_error", "error", err.message, NULL);
		return console_error_page(req, reply, 503,
		                          "The status cannot be read just now; try again in a "
		                          "minute.");
	}
	rc = console_page_begin(req, out, "Overview");
	for (size_t i = 0; rc == CN_OK && i < report.connection_count; i++)
		rc = connection_section(req, out, &report.connections[i], &runs);
	if (rc == CN_OK)
		rc = html_raw(out,
		              "<section><h2>Spool</h2><p>%zu deliveries wait in the spool "
		              "(kept on disk while PostgreSQL was unreachable); %zu files set "
		              "aside.</p></section>",
		              report.spooled, report.spool_set_aside);
	if (rc == CN_OK)
		rc = console_page_end(out);
	status_report_free(&report);
	store_ops_table_free(&runs);
	store_ops_table_free(&differences);
	return rc;
}
