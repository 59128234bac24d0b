/*
 * The intake's SQL: deliveries (and, for a new order.paid, its order, job and
 * audit row) committed together. A batch of deliveries is one statement,
 * intake_store_batch() (migrations/0006_fast_intake.sql), run as its own
 * transaction: one round trip and one commit for the whole batch.
 */
#ifndef BM_STORE_INTAKE_H
#define BM_STORE_INTAKE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "bookto.h"
#include "error.h"

enum store_delivery_result {
	STORE_DELIVERY_NEW_ORDER,         /* order created (queued or parked) */
	STORE_DELIVERY_DUPLICATE,         /* known order, same body */
	STORE_DELIVERY_DUPLICATE_DIFFERS, /* known order, different body: kept, reported */
	STORE_DELIVERY_ALREADY_STORED,    /* this very delivery (delivery_key) was stored before */
	STORE_DELIVERY_KEPT,              /* stored as ignored / invalid_json */
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
	const char *outcome;  /* "accepted", "ignored", "invalid_json", "unusable" */
	const char *order_id; /* may be NULL */
};

/* One delivery of a batch. order is not NULL for an order.paid with an order
 * id: then its order, job and audit row are stored too, deduplicated by
 * (connection, order_id). */
struct store_intake_item {
	const struct store_delivery_row *row;
	const struct bookto_order *order;
	enum store_delivery_result result; /* set when the batch is stored */
};

/*
 * One delivery encoded for intake_store_batch(), owning copies of everything
 * it needs: a handler that stops waiting for a slow commit may return while
 * the committer still stores its record.
 */
struct store_intake_record {
	char *fields; /* the JSON record's members after "idx" */
	size_t fields_len;
	unsigned char *body;
	size_t body_len;
};

/* NULL when out of memory. */
struct store_intake_record *store_intake_record_new(const struct store_delivery_row *row,
                                                    const struct bookto_order *order);
void store_intake_record_free(struct store_intake_record *record);

/*
 * store_intake_batch for records, except that it does not wake the workers
 * (the committer rings them itself: store_ring_jobs). CN_INVALID when
 * PostgreSQL refused the data itself (SQLSTATE class 22, data exception, or
 * 54, a program limit such as an index row too large): storing the same batch
 * again would fail again. Other failures are as for store_intake_batch.
 */
int store_intake_records(PGconn *conn, struct store_intake_record *const *records, size_t count,
                         enum store_delivery_result *results, struct cn_error *err) MUST_CHECK;

/*
 * Stores the items in one transaction of their own (conn must not be inside
 * one) and wakes the workers when an order was created. All or nothing: on
 * CN_OK every item's result is set and the transaction is committed (and
 * flushed, synchronous_commit being on); on failure nothing of the batch was
 * stored -- unless the connection broke, when its fate is unknown (callers
 * spool; delivery keys make the retry idempotent). CN_INVALID when
 * PostgreSQL refused the data itself (see store_intake_records).
 */
int store_intake_batch(PGconn *conn, struct store_intake_item *items, size_t count,
                       struct cn_error *err) MUST_CHECK;

/* store_intake_batch for one delivery. */
int store_intake_delivery(PGconn *conn, const struct store_delivery_row *row,
                          const struct bookto_order *order, enum store_delivery_result *result_out,
                          struct cn_error *err) MUST_CHECK;

#endif
