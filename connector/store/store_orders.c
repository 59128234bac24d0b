#include "store_orders.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

int store_order_transition(PGconn *conn, const struct store_order_transition *t, bool *moved,
                           struct cn_error *err)
{
	const struct store_order_audit *a = &t->audit;
	char pk[24];
	const char *values[1 + STORE_ORDER_PARAMS_MAX] = {pk};
	PGresult *res = NULL;
	char sql[2048];
	int len;
	int rc;

	if (moved != NULL)
		*moved = false;
	if (t->n_params < 0 || t->n_params > STORE_ORDER_PARAMS_MAX) {
		error_set(err, "%s: too many parameters", t->what);
		return CN_ERR;
	}
	snprintf(pk, sizeof(pk), "%" PRId64, t->order_pk);
	for (int i = 0; i < t->n_params; i++)
		values[i + 1] = t->params[i];
	len = snprintf(sql, sizeof(sql),
	               "WITH previous AS (SELECT state FROM orders WHERE id = $1%s),"
	               " changed AS (UPDATE orders o SET state = %s%s%s, updated_at = now()"
	               " FROM previous WHERE o.id = $1"
	               " RETURNING o.connection_id, previous.state AS from_state,"
	               " o.state AS to_state),"
	               " audited AS (" STORE_AUDIT_INSERT " SELECT %s, %s, connection_id, $1,"
	               " %s, to_state, %s FROM changed%s%s)"
	               " SELECT from_state, to_state FROM changed",
	               t->lock_first ? " FOR UPDATE" : "", t->to_state, t->set_more ? ", " : "",
	               t->set_more ? t->set_more : "", a->actor, a->action,
	               a->from_state ? a->from_state : "from_state", a->detail,
	               a->when ? " WHERE " : "", a->when ? a->when : "");
	if (len < 0 || (size_t)len >= sizeof(sql)) {
		error_set(err, "%s: the statement is too long", t->what);
		return CN_ERR;
	}
	rc = store_query(conn, sql, 1 + t->n_params, values, t->what, &res, err);
	if (rc != CN_OK)
		return rc;
	if (moved != NULL && PQntuples(res) == 1)
		*moved = strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0;
	PQclear(res);
	return CN_OK;
}

int store_order_begin_locked(PGconn *conn, int64_t order_pk, const char *what, char state[24],
                             struct cn_error *err)
{
	char pk[24];
	const char *values[1] = {pk};
	PGresult *res = NULL;
	int rc = store_exec(conn, "BEGIN", err);

	state[0] = '\0';
	if (rc != CN_OK)
		return rc;
	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	rc = store_query_row(conn, "SELECT state FROM orders WHERE id = $1 FOR UPDATE", 1, values,
	                     what, &res, err);
	if (rc == CN_OK) {
		snprintf(state, 24, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		return CN_OK;
	}
	if (rc == CN_NOT_FOUND)
		error_set(err, "order %s no longer exists", pk);
	if (!store_conn_broken(conn))
		store_rollback(conn);
	return rc;
}

int store_order_requeue(PGconn *conn, int64_t order_pk, const char *what, struct cn_error *err)
{
	char pk[24];
	const char *values[1] = {pk};
	int rc;

	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	rc = store_query(conn,
	                 /* From orders: no job for an order that is not there (no
	                  * foreign key checks it, migration 0019). */
	                 "INSERT INTO jobs (order_pk, connection_id, kind, priority, state,"
	                 " next_attempt_at)"
	                 " SELECT o.id, o.connection_id, 'sync_order', 0, 'pending', now()"
	                 " FROM orders o WHERE o.id = $1"
	                 " ON CONFLICT (order_pk) WHERE kind = 'sync_order' DO UPDATE"
	                 " SET state = 'pending', next_attempt_at = now(), attempts = 0,"
	                 " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()",
	                 1, values, what, NULL, err);
	if (rc != CN_OK)
		return rc;
	return store_query(conn, "NOTIFY " STORE_JOBS_CHANNEL, 0, NULL, "waking the workers", NULL,
	                   err);
}
