#include "console_internal.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "status.h"
#include "text.h"

/* Times are shown in the zone; these columns of the story tables hold them. */
static bool is_time_column(const char *name)
{
	return strcmp(name, "at") == 0 || strcmp(name, "received_at") == 0;
}

/* One of the story's tables (deliveries, calls, audit) with a caption. */
static int story_table(struct console_request *req, struct dynbuf *out, const char *title,
                       const struct store_ops_table *t, const char *connection)
{
	int rc = html_raw(out, "<h2>%s (%zu)</h2>", title, t->rows);

	if (rc != CN_OK || t->rows == 0)
		return rc == CN_OK ? html_raw(out, "<p>None.</p>") : rc;
	rc = html_raw(out, "<div class=\"scroll\"><table class=\"story\"><thead><tr>");
	for (size_t c = 0; rc == CN_OK && c < t->columns; c++) {
		rc = html_element(out, "<th>", t->names[c], "</th>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tr></thead><tbody>");
	for (size_t r = 0; rc == CN_OK && r < t->rows; r++) {
		rc = html_raw(out, "<tr>");
		for (size_t c = 0; rc == CN_OK && c < t->columns; c++) {
			const char *cell = store_ops_cell(t, r, c);

			rc = html_raw(out, "<td>");
			if (rc == CN_OK)
				rc = is_time_column(t->names[c])
				         ? console_time(req, out, connection, cell)
				         : html_text(out, cell != NULL ? cell : "—");
			if (rc == CN_OK)
				rc = html_raw(out, "</td>");
		}
		if (rc == CN_OK)
			rc = html_raw(out, "</tr>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</tbody></table></div>");
	return rc;
}

/* A row of the facts list; value escaped ("—" when NULL). */
static int fact(struct dynbuf *out, const char *label, const char *value)
{
	return console_fact(out, label, value != NULL && value[0] != '\0' ? value : "—");
}

static int time_fact(struct console_request *req, struct dynbuf *out, const char *label,
                     const char *connection, const char *iso)
{
	int rc = html_raw(out, "<dt>%s</dt><dd>", label);

	if (rc == CN_OK)
		rc = console_time(req, out, connection, iso);
	if (rc == CN_OK)
		rc = html_raw(out, "</dd>");
	return rc;
}

/* A Moneybird id linked into Moneybird's web app: base_url without
 * "/api/v2", then /ADMINISTRATION/KIND/ID. */
static int moneybird_link(struct console_request *req, struct dynbuf *out, const char *label,
                          const char *connection, const char *kind, const char *id)
{
	const struct connection_config *cc =
	    config_find_connection(req->console->config, connection);
	const char *base = cc != NULL ? cc->moneybird_base_url : "https://moneybird.com/api/v2";
	const char *api = strstr(base, "/api/");
	int base_len = api != NULL ? (int)(api - base) : (int)strlen(base);
	char web[512];
	int rc = html_raw(out, "<dt>%s</dt><dd>", label);

	if (rc != CN_OK || id == NULL || id[0] == '\0')
		return rc == CN_OK ? html_raw(out, "—</dd>") : rc;
	snprintf(web, sizeof(web), "%.*s", base_len, base);
	rc = html_element(out, "<a rel=\"noopener noreferrer\" href=\"", web, "/");
	if (rc == CN_OK)
		rc = html_url_component(out, cc != NULL ? cc->moneybird_administration_id : "");
	if (rc == CN_OK)
		rc = html_raw(out, "/%s/", kind);
	if (rc == CN_OK)
		rc = html_url_component(out, id);
	if (rc == CN_OK)
		rc = html_element(out, "\">", id, "</a></dd>");
	return rc;
}

static int amounts(struct dynbuf *out, const struct store_ops_table *o, size_t r)
{
	const char *currency = store_ops_cell(o, r, OPS_ORDER_CURRENCY);
	int rc = html_raw(out, "<dt>Total</dt><dd>");

	if (rc == CN_OK)
		rc = console_money(out, store_ops_cell(o, r, OPS_ORDER_TOTAL), currency);
	if (rc == CN_OK)
		rc = html_raw(out, " incl. VAT (");
	if (rc == CN_OK)
		rc = console_money(out, store_ops_cell(o, r, OPS_ORDER_EXCL), currency);
	if (rc == CN_OK)
		rc = html_raw(out, " excl. + ");
	if (rc == CN_OK)
		rc = console_money(out, store_ops_cell(o, r, OPS_ORDER_VAT), currency);
	if (rc == CN_OK)
		rc = html_raw(out, " VAT at ");
	if (rc == CN_OK)
		rc = html_text(out, store_ops_cell(o, r, OPS_ORDER_VAT_RATE));
	if (rc == CN_OK)
		rc = html_raw(out, " %%, ");
	if (rc == CN_OK)
		rc = html_text(out, store_ops_cell(o, r, OPS_ORDER_VAT_TREATMENT));
	if (rc == CN_OK)
		rc = html_raw(out, ")</dd>");
	return rc;
}

/* The parked reason, what to do, and (operator) the Retry form. */
static int parked_box(struct console_request *req, struct dynbuf *out,
                      const struct store_ops_table *o, size_t r)
{
	const char *reason = store_ops_cell(o, r, OPS_ORDER_LAST_ERROR);
	int rc =
	    html_raw(out, "<section class=\"parked\"><h2>Needs attention</h2><p class=\"reason\">");

	if (rc == CN_OK)
		rc = html_text(out, reason != NULL ? reason : "no reason recorded");
	if (rc == CN_OK)
		rc = html_element(out, "</p><p class=\"advice\">", status_parked_advice(reason),
		                  "</p>");
	if (rc == CN_OK && console_is_operator(req)) {
		rc = html_raw(out, "<form method=\"post\" action=\"");
		if (rc == CN_OK)
			rc = console_order_href(out, store_ops_cell(o, r, OPS_ORDER_CONNECTION),
			                        store_ops_cell(o, r, OPS_ORDER_ID));
		if (rc == CN_OK)
			rc = html_raw(out, "/retry\">");
		if (rc == CN_OK)
			rc = console_csrf_field(req, out);
		if (rc == CN_OK)
			rc = html_raw(out, "<button type=\"submit\">Retry</button></form>");
	} else if (rc == CN_OK) {
		rc = html_raw(out, "<p class=\"hint\">Only an operator can retry it.</p>");
	}
	if (rc == CN_OK)
		rc = html_raw(out, "</section>");
	return rc;
}

/* The sync job as `show` prints it: done, or its state and next attempt. */
static int job_fact(struct console_request *req, struct dynbuf *out,
                    const struct store_ops_table *o, size_t r)
{
	const char *job = store_ops_cell(o, r, OPS_ORDER_JOB_STATE);
	int rc;

	if (job == NULL || strcmp(job, "done") == 0)
		return fact(out, "Job", job != NULL ? job : "none");
	rc = html_element(out, "<dt>Job</dt><dd>", job, ", next attempt ");
	if (rc == CN_OK)
		rc = console_time(req, out, store_ops_cell(o, r, OPS_ORDER_CONNECTION),
		                  store_ops_cell(o, r, OPS_ORDER_JOB_NEXT_ATTEMPT_AT));
	if (rc == CN_OK)
		rc = html_raw(out, "</dd>");
	return rc;
}

static int order_facts(struct console_request *req, struct dynbuf *out,
                       const struct store_ops_table *o, size_t r)
{
	const char *connection = store_ops_cell(o, r, OPS_ORDER_CONNECTION);
	const char *is_test = store_ops_cell(o, r, OPS_ORDER_IS_TEST);
	int rc = html_raw(out, "<dl class=\"facts\"><dt>State</dt><dd>");

	if (rc == CN_OK)
		rc = console_state(out, store_ops_cell(o, r, OPS_ORDER_STATE));
	if (rc == CN_OK)
		rc = html_raw(out, "</dd>");
	if (rc == CN_OK)
		rc = fact(out, "Order id", store_ops_cell(o, r, OPS_ORDER_ID));
	if (rc == CN_OK)
		rc = fact(out, "Connection", connection);
	if (rc == CN_OK)
		rc = fact(out, "Test order",
		          is_test != NULL && strcmp(is_test, "t") == 0 ? "yes" : "no");
	if (rc == CN_OK)
		rc = amounts(out, o, r);
	if (rc == CN_OK)
		rc = fact(out, "Match reference", store_ops_cell(o, r, OPS_ORDER_MATCH_REF));
	if (rc == CN_OK)
		rc = fact(out, "Attempts", store_ops_cell(o, r, OPS_ORDER_ATTEMPTS));
	if (rc == CN_OK)
		rc = job_fact(req, out, o, r);
	if (rc == CN_OK)
		rc = fact(out, "Last error", store_ops_cell(o, r, OPS_ORDER_LAST_ERROR));
	if (rc == CN_OK)
		rc = time_fact(req, out, "Paid at", connection,
		               store_ops_cell(o, r, OPS_ORDER_PAID_AT));
	if (rc == CN_OK)
		rc = time_fact(req, out, "Received at", connection,
		               store_ops_cell(o, r, OPS_ORDER_RECEIVED_AT));
	if (rc == CN_OK)
		rc = time_fact(req, out, "Synced at", connection,
		               store_ops_cell(o, r, OPS_ORDER_SYNCED_AT));
	if (rc == CN_OK)
		rc = time_fact(req, out, "Paid confirmed at", connection,
		               store_ops_cell(o, r, OPS_ORDER_PAID_CONFIRMED_AT));
	if (rc == CN_OK)
		rc = moneybird_link(req, out, "Moneybird contact", connection, "contacts",
		                    store_ops_cell(o, r, OPS_ORDER_CONTACT_ID));
	if (rc == CN_OK)
		rc = moneybird_link(req, out, "Moneybird invoice", connection, "sales_invoices",
		                    store_ops_cell(o, r, OPS_ORDER_INVOICE_ID));
	if (rc == CN_OK)
		rc = fact(out, "Invoice state", store_ops_cell(o, r, OPS_ORDER_INVOICE_STATE));
	if (rc == CN_OK)
		rc = fact(out, "Invoice reference",
		          store_ops_cell(o, r, OPS_ORDER_INVOICE_REFERENCE));
	if (rc == CN_OK)
		rc = fact(out, "Moneybird payment", store_ops_cell(o, r, OPS_ORDER_PAYMENT_ID));
	if (rc == CN_OK)
		rc = html_raw(out, "</dl>");
	return rc;
}

/* The row of `orders` that is exactly (connection, order_id), or rows. */
static size_t exact_row(const struct store_ops_table *orders, const char *connection,
                        const char *order_id)
{
	for (size_t r = 0; r < orders->rows; r++)
		if (strcmp(store_ops_cell(orders, r, OPS_ORDER_ID), order_id) == 0 &&
		    strcmp(store_ops_cell(orders, r, OPS_ORDER_CONNECTION), connection) == 0)
			return r;
	return orders->rows;
}

static int story(struct console_request *req, struct dynbuf *out,
                 const struct store_ops_table *orders, size_t r, const struct status_order *s,
                 const struct store_ops_table *party)
{
	const char *connection = store_ops_cell(orders, r, OPS_ORDER_CONNECTION);
	const char *state = store_ops_cell(orders, r, OPS_ORDER_STATE);
	int rc = html_raw(out, "<p class=\"hint\">Times in ");

	if (rc == CN_OK)
		rc = html_text(out, console_zone_name(req, connection));
	if (rc == CN_OK)
		rc = html_raw(out, ".</p>");
	if (rc == CN_OK && state != NULL && strcmp(state, "needs_attention") == 0)
		rc = parked_box(req, out, orders, r);
	if (rc == CN_OK)
		rc = order_facts(req, out, orders, r);
	if (rc == CN_OK)
		rc = story_table(req, out, "Buyer and product", party, connection);
	if (rc == CN_OK)
		rc = story_table(req, out, "Deliveries", &s->deliveries, connection);
	if (rc == CN_OK)
		rc = story_table(req, out, "Moneybird calls", &s->attempts, connection);
	if (rc == CN_OK)
		rc = story_table(req, out, "Audit history", &s->audit, connection);
	return rc;
}

int console_page_order(struct console_request *req, struct console_reply *reply,
                       const char *connection, const char *order_id)
{
	struct store_ops_table orders = {0}, party = {0};
	struct status_order s;
	struct cn_error err = {""};
	char title[300];
	size_t r;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = status_orders_find(req->db, connection, order_id, &orders, &err);
	r = rc == CN_OK ? exact_row(&orders, connection, order_id) : 0;
	if (rc == CN_OK && r == orders.rows) {
		store_ops_table_free(&orders);
		return console_error_page(req, reply, 404, "There is no such order.");
	}
	if (rc == CN_OK)
		rc = status_order_read(req->db, &orders, r, &s, &err);
	if (rc == CN_OK)
		rc = status_order_party(
		    req->db, text_int64(store_ops_cell(&orders, r, OPS_ORDER_PK)), &party, &err);
	if (rc != CN_OK) {
		log_warn("console_database_error", "error", err.message, NULL);
		rc = console_error_page(
		    req, reply, 503, "The order cannot be read just now; try again in a minute.");
		goto out;
	}
	snprintf(title, sizeof(title), "Order %s",
	         store_ops_cell(&orders, r, OPS_ORDER_NUMBER) != NULL &&
	                 store_ops_cell(&orders, r, OPS_ORDER_NUMBER)[0] != '\0'
	             ? store_ops_cell(&orders, r, OPS_ORDER_NUMBER)
	             : order_id);
	rc = console_page_begin(req, &reply->html, title);
	if (rc == CN_OK)
		rc = story(req, &reply->html, &orders, r, &s, &party);
	if (rc == CN_OK)
		rc = console_page_end(&reply->html);
out:
	status_order_free(&s);
	store_ops_table_free(&party);
	store_ops_table_free(&orders);
	return rc;
}
