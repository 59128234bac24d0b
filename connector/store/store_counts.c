#include "store_counts.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"
#include "store.h"
#include "store_array.h"
#include "text.h"

int store_counts_orders(PGconn *conn, int64_t connection_id, int64_t orders[ORDER_STATE_COUNT],
                        int64_t *total, struct cn_error *err)
{
	return store_counts_orders_many(conn, &connection_id, 1,
	                                (int64_t(*)[ORDER_STATE_COUNT])orders, total, err);
}

int store_counts_orders_many(PGconn *conn, const int64_t *connection_ids, size_t count,
                             int64_t (*orders)[ORDER_STATE_COUNT], int64_t *totals,
                             struct cn_error *err)
{
	struct dynbuf ids;
	const char *values[1];
	PGresult *res = NULL;
	int rc;

	memset(orders, 0, count * sizeof(*orders));
	memset(totals, 0, count * sizeof(*totals));
	if (count == 0)
		return CN_OK;
	rc =
	    store_array_literal(&ids, (size_t)1 << 26, connection_ids, count, store_array_add_int64,
	                        "out of memory listing the connections", err);
	if (rc != CN_OK)
		return rc;
	values[0] = dynbuf_ptr(&ids);
	/* One row per stripe of the counters (migration 0018), added up here.
	 * u.i is the position in the caller's list (from 1): an id listed twice
	 * gets its counts twice, an unknown one none. */
	rc = store_query(conn,
	                 "SELECT u.i, c.state, c.n FROM unnest($1::bigint[]) WITH ORDINALITY"
	                 " AS u(id, i) JOIN order_state_counts c ON c.connection_id = u.id",
	                 1, values, "counting orders", &res, err);
	dynbuf_free(&ids);
	if (rc != CN_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t i = text_int64(PQgetvalue(res, r, 0)) - 1;
		int64_t n = text_int64(PQgetvalue(res, r, 2));
		int s = order_state_index(PQgetvalue(res, r, 1));

		if (i < 0 || (size_t)i >= count)
			continue;
		totals[i] += n;
		if (s >= 0)
			orders[i][s] += n;
	}
	PQclear(res);
	return CN_OK;
}
