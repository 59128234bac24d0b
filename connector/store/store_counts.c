#include "store_counts.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "text.h"

int store_counts_orders(PGconn *conn, int64_t connection_id, int64_t orders[ORDER_STATE_COUNT],
                        int64_t *total, struct cn_error *err)
{
	char id_text[24];
	const char *values[1] = {id_text};
	PGresult *res = NULL;
	int rc;

	memset(orders, 0, sizeof(int64_t) * ORDER_STATE_COUNT);
	*total = 0;
	snprintf(id_text, sizeof(id_text), "%" PRId64, connection_id);
	rc = store_query(conn, "SELECT state, n FROM order_state_counts WHERE connection_id = $1",
	                 1, values, "counting orders", &res, err);
	if (rc != CN_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t count = text_int64(PQgetvalue(res, r, 1));
		int s = order_state_index(PQgetvalue(res, r, 0));

		*total += count;
		if (s >= 0)
			orders[s] += count;
	}
	PQclear(res);
	return CN_OK;
}
