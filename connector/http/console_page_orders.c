#include "console_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "status.h"

struct orders_query {
	const char *state;
	const char *connection;
	const char *q;
	long page;
};

static const char *arg(struct console_request *req, const char *name)
{
	const char *value = MHD_lookup_connection_value(req->mhd, MHD_GET_ARGUMENT_KIND, name);

	return value != NULL && strlen(value) <= 200 ? value : "";
}

/* A link to the list with these filters and page. */
static int list_link(struct dynbuf *out, const struct orders_query *query, long page)
{
	int rc = html_raw(out, "/orders?state=");

	if (rc == CN_OK)
		rc = html_url_component(out, query->state);
	if (rc == CN_OK)
		rc = html_raw(out, "&amp;connection=");
	if (rc == CN_OK)
		rc = html_url_component(out, query->connection);
	if (rc == CN_OK)
		rc = html_raw(out, "&amp;q=");
	if (rc == CN_OK)
		rc = html_url_component(out, query->q);
	if (rc == CN_OK)
		rc = html_raw(out, "&amp;page=%ld", page);
	return rc;
}

static int option(struct dynbuf *out, const char *value, const char *label, const char *selected)
{
	int rc = html_raw(out, "<option value=\"");

	if (rc == CN_OK)
		rc = html_text(out, value);
	if (rc == CN_OK)
		rc = html_raw(out, "\"%s>", strcmp(value, selected) == 0 ? " selected" : "");
	if (rc == CN_OK)
		rc = html_text(out, label);
	if (rc == CN_OK)
		rc = html_raw(out, "</option>");
	return rc;
}

/* The filter form: a GET, so it changes nothing and carries no token. */
static int filter_form(struct console_request *req, struct dynbuf *out,
                       const struct orders_query *query)
{
	const struct runtime *runtime = req->console->runtime;
	int rc = html_raw(out, "<form class=\"filters\" method=\"get\" action=\"/orders\">"
	                       "<label>State <select name=\"state\">");

	if (rc == CN_OK)
		rc = option(out, "", "any", query->state);
	for (size_t s = 0; rc == CN_OK && s < ORDER_STATE_COUNT; s++)
		rc = option(out, order_state_names[s], order_state_names[s], query->state);
	if (rc == CN_OK)
		rc = html_raw(out,
		              "</select></label><label>Connection <select name=\"connection\">");
	if (rc == CN_OK)
		rc = option(out, "", "any", query->connection);
	for (size_t i = 0; rc == CN_OK && i < runtime->count; i++)
		rc = option(out, runtime->connections[i].config->name,
		            runtime->connections[i].config->name, query->connection);
	if (rc == CN_OK)
		rc = html_raw(out,
		              "</select></label><label>Search <input type=\"search\" name=\"q\" "
		              "placeholder=\"order number, id, buyer, email\" value=\"");
	if (rc == CN_OK)
		rc = html_text(out, query->q);
	if (rc == CN_OK)
		rc = html_raw(out, "\"></label><button type=\"submit\">Show</button></form>");
	return rc;
}

static int order_link(struct dynbuf *out, const struct store_ops_table *t, size_t r)
{
	const char *number = store_ops_cell(t, r, CONSOLE_ORDER_NUMBER);
	int rc = html_raw(out, "<a href=\"");

	if (rc == CN_OK)
		rc = console_order_href(out, store_ops_cell(t, r, CONSOLE_ORDER_CONNECTION),
		                        store_ops_cell(t, r, CONSOLE_ORDER_ID));
	if (rc == CN_OK)
		rc = html_element(out, "\">",
		                  number != NULL && number[0] != '\0'
		                      ? number
		                      : store_ops_cell(t, r, CONSOLE_ORDER_ID),
		                  "</a>");
	return rc;
}

/* The state cell: the badge and, for a parked order, its reason and what
 * to do about it. */
static int state_cell(struct dynbuf *out, const struct store_ops_table *t, size_t r)
{
	const char *state = store_ops_cell(t, r, CONSOLE_ORDER_STATE);
	const char *reason = store_ops_cell(t, r, CONSOLE_ORDER_LAST_ERROR);
	int rc = console_state(out, state);

	if (rc != CN_OK || state == NULL || strcmp(state, "needs_attention") != 0)
		return rc;
	rc = html_element(out, "<p class=\"reason\">",
	                  reason != NULL ? reason : "no reason recorded",
	                  "</p><p class=\"advice\">");
	if (rc == CN_OK)
		rc = html_text(out, status_parked_advice(reason));
	if (rc == CN_OK)
		rc = html_raw(out, "</p>");
	return rc;
}

static int order_row(struct console_request *req, struct dynbuf *out,
                     const struct store_ops_table *t, size_t r)
{
	const char *connection = store_ops_cell(t, r, CONSOLE_ORDER_CONNECTION);
	int rc = html_raw(out, "<tr data-order-id=\"");

	if (rc == CN_OK)
		rc = html_text(out, store_ops_cell(t, r, CONSOLE_ORDER_ID));
	if (rc == CN_OK)
		rc = html_raw(out, "\"><td>");
	if (rc == CN_OK)
		rc = console_time(req, out, connection,
		                  store_ops_cell(t, r, CONSOLE_ORDER_RECEIVED_AT));
	if (rc == CN_OK)
		rc = html_raw(out, "</td><td>");
	if (rc == CN_OK)
		rc = order_link(out, t, r);
	if (rc == CN_OK)
		rc = html_element(out, "</td><td>", connection, "</td><td>");
	if (rc == CN_OK)
		rc = html_text(out, store_ops_cell(t, r, CONSOLE_ORDER_BUYER));
	if (rc == CN_OK)
		rc = html_element(out, "<br><small>", store_ops_cell(t, r, CONSOLE_ORDER_EMAIL),
		                  "</small></td><td class=\"money\">");
	if (rc == CN_OK)
		rc = console_money(out, store_ops_cell(t, r, CONSOLE_ORDER_TOTAL),
		                   store_ops_cell(t, r, CONSOLE_ORDER_CURRENCY));
	if (rc == CN_OK)
		rc = html_raw(out, "</td><td>");
	if (rc == CN_OK)
		rc = state_cell(out, t, r);
	if (rc == CN_OK)
		rc = html_raw(out, "</td></tr>\n");
	return rc;
}

static int orders_table(struct console_request *req, struct dynbuf *out,
                        const struct orders_query *query, const struct store_ops_table *t)
{
	size_t shown = t->rows > CONSOLE_ORDERS_PER_PAGE ? CONSOLE_ORDERS_PER_PAGE : t->rows;
	int rc = CN_OK;

	if (shown == 0)
		return html_raw(out, "<p>No order matches.</p>");
	rc = html_raw(out, "<table class=\"orders\"><thead><tr><th>Received</th><th>Order</th>"
	                   "<th>Connection</th><th>Buyer</th><th>Total</th><th>State</th>"
	                   "</tr></thead><tbody>\n");
	for (size_t r = 0; rc == CN_OK && r < shown; r++)
		rc = order_row(req, out, t, r);
	if (rc == CN_OK)
		rc = html_raw(out, "</tbody></table><nav class=\"pages\">");
	if (rc == CN_OK && query->page > 1) {
		rc = html_raw(out, "<a rel=\"prev\" href=\"");
		if (rc == CN_OK)
			rc = list_link(out, query, query->page - 1);
		if (rc == CN_OK)
			rc = html_raw(out, "\">← newer</a> ");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "page %ld ", query->page);
	if (rc == CN_OK && t->rows > CONSOLE_ORDERS_PER_PAGE) {
		rc = html_raw(out, "<a rel=\"next\" href=\"");
		if (rc == CN_OK)
			rc = list_link(out, query, query->page + 1);
		if (rc == CN_OK)
			rc = html_raw(out, "\">older →</a>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</nav>");
	return rc;
}

int console_page_orders(struct console_request *req, struct console_reply *reply)
{
	struct orders_query query = {arg(req, "state"), arg(req, "connection"), arg(req, "q"), 1};
	struct store_console_order_filter filter;
	struct store_ops_table table = {0};
	struct cn_error err = {""};
	char *end = NULL;
	int rc;

	query.page = strtol(arg(req, "page"), &end, 10);
	if (end == NULL || *end != '\0' || query.page < 1 || query.page > 100000)
		query.page = 1;
	filter.state = query.state;
	filter.connection = query.connection;
	filter.query = query.q;
	filter.offset = (size_t)(query.page - 1) * CONSOLE_ORDERS_PER_PAGE;
	filter.limit = CONSOLE_ORDERS_PER_PAGE + 1;
	rc = status_orders_list(req->db, &filter, &table, &err);
	if (rc != CN_OK) {
		log_warn("console_database_error", "error", err.message, NULL);
		return console_error_page(
		    req, reply, 503, "The orders cannot be read just now; try again in a minute.");
	}
	rc = console_page_begin(req, &reply->html, "Orders");
	if (rc == CN_OK)
		rc = html_raw(&reply->html,
		              "<p class=\"hint\">Newest first, %d a page. Times in "
		              "each connection's time zone.</p>",
		              CONSOLE_ORDERS_PER_PAGE);
	if (rc == CN_OK)
		rc = filter_form(req, &reply->html, &query);
	if (rc == CN_OK)
		rc = orders_table(req, &reply->html, &query, &table);
	if (rc == CN_OK)
		rc = console_page_end(&reply->html);
	store_ops_table_free(&table);
	return rc;
}
