#include "console_internal.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "status.h"
#include "store_ops.h"
#include "text.h"

/* POST /orders/{connection}/{order_id}/retry: the same store transition as
 * the `retry` command, audited as actor console:NAME. */
int console_retry(struct console_request *req, struct console_reply *reply, const char *connection,
                  const char *order_id)
{
	enum store_ops_retry_result result = STORE_OPS_RETRY_NOT_PARKED;
	struct store_ops_table orders = {0};
	struct cn_error err = {""};
	struct dynbuf location;
	char actor[STORE_CONSOLE_NAME_MAX + 16], state[24];
	size_t r = 0;
	int rc;

	if (!console_is_operator(req))
		return console_error_page(
		    req, reply, 403,
		    "Only an operator may retry orders; ask an operator, or an "
		    "administrator to give you that role.");
	rc = status_orders_find(req->db, connection, order_id, &orders, &err);
	while (rc == CN_OK && r < orders.rows &&
	       strcmp(store_ops_cell(&orders, r, OPS_ORDER_ID), order_id) != 0)
		r++;
	if (rc == CN_OK && r == orders.rows) {
		store_ops_table_free(&orders);
		return console_error_page(req, reply, 404, "There is no such order.");
	}
	snprintf(actor, sizeof(actor), "console:%s", req->session.user);
	if (rc == CN_OK)
		rc = store_ops_retry_order_by(
		    req->db, text_int64(store_ops_cell(&orders, r, OPS_ORDER_PK)), actor,
		    "console_user", req->session.user, &result, state, &err);
	store_ops_table_free(&orders);
	if (rc != CN_OK) {
		log_warn("console_retry_failed", "error", err.message, NULL);
		return console_error_page(req, reply, 503,
		                          "The order could not be retried just now; try again in a "
		                          "minute.");
	}
	if (result != STORE_OPS_RETRY_QUEUED)
		return console_error_page(
		    req, reply, 409,
		    "This order is not parked any more (someone retried it, or "
		    "it moved on); nothing was changed.");
	log_info("console_retry", "user", req->session.user, "connection", connection, "order_id",
	         order_id, NULL);
	dynbuf_init(&location, sizeof(reply->location) - 1);
	if (console_order_href(&location, connection, order_id) != CN_OK)
		dynbuf_reset(&location);
	console_redirect(reply, dynbuf_len(&location) > 0 ? dynbuf_ptr(&location) : "/orders");
	dynbuf_free(&location);
	return CN_OK;
}

/* POST /reconcile: asks the runner for one connection's reconciliation. */
int console_reconcile_submit(struct console_request *req, struct console_reply *reply)
{
	const struct runtime *runtime = req->console->runtime;
	char name[64], actor[STORE_CONSOLE_NAME_MAX + 16];
	struct cn_error err = {""};
	size_t index = runtime->count;

	if (!console_is_operator(req))
		return console_error_page(req, reply, 403,
		                          "Only an operator may start a reconciliation.");
	if (html_form_field(req->body, "connection", name, sizeof(name)))
		for (size_t i = 0; i < runtime->count; i++)
			if (strcmp(runtime->connections[i].config->name, name) == 0)
				index = i;
	if (index == runtime->count)
		return console_error_page(req, reply, 400, "There is no such connection.");
	snprintf(actor, sizeof(actor), "console:%s", req->session.user);
	if (store_console_audit(req->db, actor, "reconcile_requested",
	                        runtime->connections[index].id, name, &err) != CN_OK) {
		log_warn("console_database_error", "error", err.message, NULL);
		return console_error_page(req, reply, 503,
		                          "The reconciliation could not be started just now; try "
		                          "again in a minute.");
	}
	log_info("console_reconcile_requested", "user", req->session.user, "connection", name,
	         NULL);
	console_redirect(reply, console_runner_request(req->console, index) ? "/reconcile?started=1"
	                                                                    : "/reconcile?busy=1");
	return CN_OK;
}
