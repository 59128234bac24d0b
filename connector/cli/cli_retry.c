#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "store_ops.h"
#include "text.h"

#include "cli_ops_common.h"

/* ---- retry ---- */

static const char *os_user(void)
{
	const char *sudo_user = getenv("SUDO_USER");
	struct passwd *pw;

	if (sudo_user != NULL && sudo_user[0] != '\0')
		return sudo_user;
	pw = getpwuid(geteuid());
	return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown";
}

/* Retries one order; counts into *queued / *problems. */
static int retry_one(PGconn *conn, int64_t pk, const char *connection, const char *order_id,
                     bool named, size_t *queued, size_t *problems)
{
	enum store_ops_retry_result result = STORE_OPS_RETRY_NOT_PARKED;
	struct cn_error err = {""};
	char state[24];

	if (store_ops_retry_order(conn, pk, os_user(), &result, state, &err) != CN_OK) {
		cli_one_line(err.message);
		(*problems)++;
		return cli_fail("order %s (connection %s): %s", order_id, connection, err.message);
	}
	if (result == STORE_OPS_RETRY_QUEUED) {
		printf("queued   %s (connection %s)\n", order_id, connection);
		(*queued)++;
	} else {
		printf("skipped  %s (connection %s): it is %s, not needs_attention\n", order_id,
		       connection, state);
		/* Named by the operator: not done. From --failed: it moved on meanwhile. */
		if (named)
			(*problems)++;
	}
	return CLI_EXIT_OK;
}

int cli_ops_retry(const struct config *config, int argc, char **argv)
{
	struct cli_ops_args args;
	struct store_ops_table orders = {0};
	struct cn_error err = {""};
	PGconn *conn = NULL;
	size_t queued = 0, problems = 0;
	int rc = cli_ops_parse_args(argc, argv, "connection failed", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.failed == (args.positional_count > 0))
		return cli_usage(cli_ops_usage_text, "retry takes either ORDER... or --failed");
	rc = cli_ops_open_orders(config, "retry", args.connection, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.failed) {
		if (store_ops_parked_orders(conn, args.connection, &orders, &err) != CN_OK) {
			cli_one_line(err.message);
			rc = cli_fail("%s", err.message);
			goto out;
		}
		if (orders.rows == 0)
			printf("No order needs attention.\n");
		for (size_t r = 0; r < orders.rows; r++)
			retry_one(conn, text_int64(store_ops_cell(&orders, r, 0)),
			          store_ops_cell(&orders, r, 1), store_ops_cell(&orders, r, 2),
			          false, &queued, &problems);
		store_ops_table_free(&orders);
	}
	/* Every ORDER is resolved first: an ambiguous or unknown one stops
	 * the command before anything changed. */
	for (size_t i = 0; i < args.positional_count; i++) {
		if (store_ops_find_orders(conn, args.connection, args.positional[i], &orders,
		                          &err) != CN_OK) {
			cli_one_line(err.message);
			rc = cli_fail("%s", err.message);
			goto out;
		}
		if (orders.rows == 0) {
			rc = cli_fail(
			    "no order has order_id or order_number \"%s\"%s%s; nothing was "
			    "retried",
			    args.positional[i], args.connection != NULL ? " in connection " : "",
			    args.connection != NULL ? args.connection : "");
			goto out;
		}
		if (orders.rows > 1) {
			rc = cli_usage(cli_ops_usage_text,
			               "\"%s\" matches %zu orders (in connections %s and %s); name "
			               "the connection with --connection NAME; nothing was retried",
			               args.positional[i], orders.rows,
			               store_ops_cell(&orders, 0, OPS_ORDER_CONNECTION),
			               store_ops_cell(&orders, 1, OPS_ORDER_CONNECTION));
			goto out;
		}
		store_ops_table_free(&orders);
	}
	for (size_t i = 0; i < args.positional_count; i++) {
		if (store_ops_find_orders(conn, args.connection, args.positional[i], &orders,
		                          &err) != CN_OK ||
		    orders.rows != 1) {
			cli_one_line(err.message);
			rc = cli_fail("order %s: %s", args.positional[i],
			              err.message[0] != '\0' ? err.message : "it vanished");
			goto out;
		}
		retry_one(conn, text_int64(store_ops_cell(&orders, 0, OPS_ORDER_PK)),
		          store_ops_cell(&orders, 0, OPS_ORDER_CONNECTION),
		          store_ops_cell(&orders, 0, OPS_ORDER_ID), true, &queued, &problems);
		store_ops_table_free(&orders);
	}
	printf("%zu order%s queued again%s.\n", queued, queued == 1 ? "" : "s",
	       queued > 0 ? "; the workers were notified" : "");
	rc = problems > 0 ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
out:
	store_ops_table_free(&orders);
	PQfinish(conn);
	return rc;
}
