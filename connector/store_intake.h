/*
 * The intake's SQL: one delivery (and, for a new order.paid, its order, job
 * and audit row) committed in one transaction.
 */
#ifndef BM_STORE_INTAKE_H
#define BM_STORE_INTAKE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "bookto.h"
#include "error.h"

enum store_delivery_result {
	STORE_DELIVERY_NEW_ORDER,        /* order created (queued or parked) */
	STORE_DELIVERY_DUPLICATE,        /* known order, same body */
	STORE_DELIVERY_DUPLICATE_DIFFERS,/* known order, different body: kept, reported */
	STORE_DELIVERY_ALREADY_STORED,   /* this very delivery (delivery_key) was stored before */
	STORE_DELIVERY_KEPT,             /* stored as ignored / invalid_json */
};

struct store_delivery_row {
	int64_t connection_id;
	const char *delivery_key;
	const char *source;
	int64_t received_at_ms;
	int64_t signature_timestamp;
	const unsigned char *body;
	size_t body_len;
	const char *body_sha256_hex;
	const char *event;    /* may be NULL (invalid JSON) */
	const char *outcome;  /* "accepted", "ignored", "invalid_json" */
	const char *order_id; /* may be NULL */
};

/*
 * Stores the delivery inside the caller's open transaction; when order is not
 * NULL (an order.paid with an order id) also the order, its job and the audit
 * row, deduplicated by (connection, order_id). Does not wake the workers.
 */
int store_intake_apply(PGconn *conn, const struct store_delivery_row *row,
		       const struct bookto_order *order, enum store_delivery_result *result_out,
		       struct cn_error *err) MUST_CHECK;

/* Takes the audit chain's lock first, so batches never wait on each other
 * halfway (and so can never deadlock). Inside a transaction only. */
int store_intake_lock_audit(PGconn *conn, struct cn_error *err) MUST_CHECK;

/* NOTIFY for the workers; delivered when the transaction commits. */
int store_intake_notify_workers(PGconn *conn, struct cn_error *err) MUST_CHECK;

/*
 * store_intake_apply in its own transaction (plus the wake-up); when order is not NULL (an order.paid with an order
 * id) also the order, its job and the audit row, deduplicated by
 * (connection, order_id). One transaction; rolled back on any failure.
 */
int store_intake_delivery(PGconn *conn, const struct store_delivery_row *row,
			  const struct bookto_order *order, enum store_delivery_result *result_out,
			  struct cn_error *err) MUST_CHECK;

#endif
