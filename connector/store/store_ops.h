/*
 * The SQL of the operator commands (status, show, retry, replay): read-only
 * summaries of a connection's orders, one order's full record, and the one
 * write an operator makes, putting parked orders back in the queue. Results
 * come back as small string tables (column order documented per function,
 * SQL NULL as a NULL cell), so the CLI can print them aligned or as JSON
 * without knowing any SQL. Timestamps are ISO 8601 in UTC ("...Z").
 */
#ifndef BM_STORE_OPS_H
#define BM_STORE_OPS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "order_state.h"

/* At most this many rows of a list are read (the newest ones win). */
#define STORE_OPS_MAX_LIST_ROWS 1000

/* A copied query result: names[columns], cells[rows * columns]. */
struct store_ops_table {
	size_t rows;
	size_t columns;
	char **names;
	char **cells; /* NULL for SQL NULL */
};

/* The cell, or NULL when it is SQL NULL or out of range. */
const char *store_ops_cell(const struct store_ops_table *table, size_t row, size_t column);
/* Frees the contents (not the struct); accepts NULL and an empty table. */
void store_ops_table_free(struct store_ops_table *table);

/* Runs a read of the store's own (sql is a constant of a store module, never
 * outside input) into a table; *out is the caller's (store_ops_table_free). */
int store_ops_query(PGconn *conn, const char *sql, int n, const char *const *values,
                    const char *what, struct store_ops_table *out, struct cn_error *err) MUST_CHECK;

struct store_ops_connection_status {
	bool exists; /* false: serve/migrate never registered this connection */
	int64_t id;
	/* Filled by the status model from store_counts_orders_many. */
	int64_t orders[ORDER_STATE_COUNT]; /* parallel to order_state_names */
	int64_t orders_total;
	bool has_oldest_unsynced; /* queued, in_progress, retrying or needs_attention */
	char oldest_order_id[256];
	char oldest_order_number[256];
	char oldest_state[24];
	char oldest_received_at[40];
	int64_t oldest_age_seconds;
	bool has_last_error; /* the most recently updated retrying/needs_attention order */
	char last_error_order_id[256];
	char last_error_state[24];
	char last_error[512];
	char last_error_at[40];
	bool paused;
	char paused_at[40];
	char paused_reason[512];
	int64_t redeliveries_differ; /* deliveries with outcome duplicate_differs */
};

/* Everything `status` shows of a connection: store_ops_status.h reads it for
 * every connection at once. */

/*
 * Orders whose order_id or order_number is `key`, optionally only of the
 * connection named `connection` (NULL = all). Columns, in order:
 *   0 pk, 1 connection, 2 order_id, 3 order_number, 4 state, 5 is_test_order,
 *   6 total_incl_cents, 7 excl_vat_cents, 8 vat_cents, 9 currency, 10 vat_rate,
 *   11 vat_treatment, 12 match_ref, 13 moneybird_contact_id,
 *   14 moneybird_invoice_id, 15 invoice_state, 16 moneybird_payment_id,
 *   17 invoice_reference, 18 attempts, 19 last_error, 20 paid_at,
 *   21 received_at, 22 synced_at, 23 paid_confirmed_at, 24 updated_at,
 *   25 job_state, 26 job_next_attempt_at, 27 job_priority
 * *out is owned by the caller (store_ops_table_free); zero rows = not found.
 */
int store_ops_find_orders(PGconn *conn, const char *connection, const char *key,
                          struct store_ops_table *out, struct cn_error *err) MUST_CHECK;
enum {
	OPS_ORDER_PK,
	OPS_ORDER_CONNECTION,
	OPS_ORDER_ID,
	OPS_ORDER_NUMBER,
	OPS_ORDER_STATE,
	OPS_ORDER_IS_TEST,
	OPS_ORDER_TOTAL,
	OPS_ORDER_EXCL,
	OPS_ORDER_VAT,
	OPS_ORDER_CURRENCY,
	OPS_ORDER_VAT_RATE,
	OPS_ORDER_VAT_TREATMENT,
	OPS_ORDER_MATCH_REF,
	OPS_ORDER_CONTACT_ID,
	OPS_ORDER_INVOICE_ID,
	OPS_ORDER_INVOICE_STATE,
	OPS_ORDER_PAYMENT_ID,
	OPS_ORDER_INVOICE_REFERENCE,
	OPS_ORDER_ATTEMPTS,
	OPS_ORDER_LAST_ERROR,
	OPS_ORDER_PAID_AT,
	OPS_ORDER_RECEIVED_AT,
	OPS_ORDER_SYNCED_AT,
	OPS_ORDER_PAID_CONFIRMED_AT,
	OPS_ORDER_UPDATED_AT,
	OPS_ORDER_JOB_STATE,
	OPS_ORDER_JOB_NEXT_ATTEMPT_AT,
	OPS_ORDER_JOB_PRIORITY
};

/* The order's deliveries, oldest first. Columns: id, received_at, source,
 * outcome, event, body_sha256, body_bytes. Never the body itself. */
int store_ops_order_deliveries(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                               struct cn_error *err) MUST_CHECK;

/* The order's Moneybird calls, oldest first. Columns: at, job_attempt,
 * endpoint, outcome, http_status, duration_ms, error. */
int store_ops_order_attempts(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                             struct cn_error *err) MUST_CHECK;

/* The order's audit rows, oldest first. Columns: id, at, actor, action,
 * from_state, to_state, detail (JSON text). */
int store_ops_order_audit(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                          struct cn_error *err) MUST_CHECK;

/* Every needs_attention order (optionally of one connection), oldest first.
 * Columns: pk, connection, order_id. */
int store_ops_parked_orders(PGconn *conn, const char *connection, struct store_ops_table *out,
                            struct cn_error *err) MUST_CHECK;

enum store_ops_retry_result {
	STORE_OPS_RETRY_QUEUED,     /* was needs_attention, is queued now */
	STORE_OPS_RETRY_NOT_PARKED, /* not needs_attention: left alone */
};

/*
 * Puts one needs_attention order back in the queue, in one transaction: its
 * sync job (created when missing) becomes pending, ready now, without a
 * lease, with its attempt count reset (so it gets the full backoff again)
 * and its exactly-once intent kept; the order becomes queued; last_error is
 * kept until the next attempt replaces it; one audit row (actor operator,
 * action retry, detail {"os_user": ...}); NOTIFY wakes the workers.
 * *state_out gets the order's state before (for a NOT_PARKED answer).
 */
int store_ops_retry_order(PGconn *conn, int64_t order_pk, const char *os_user,
                          enum store_ops_retry_result *result, char state_out[24],
                          struct cn_error *err) MUST_CHECK;

/* The same with the audit row's actor and its detail {who_key: who} named
 * by the caller: the console retries as actor "console:NAME". */
int store_ops_retry_order_by(PGconn *conn, int64_t order_pk, const char *actor, const char *who_key,
                             const char *who, enum store_ops_retry_result *result,
                             char state_out[24], struct cn_error *err) MUST_CHECK;

/* The state of (connection id, order_id) into state_out; CN_NOT_FOUND when
 * there is no such order (replay's parked count). */
int store_ops_order_state(PGconn *conn, int64_t connection_id, const char *order_id,
                          char state_out[24], struct cn_error *err) MUST_CHECK;

#endif
