/*
 * The SQL of closing the loop with Moneybird: the webhook keys of a
 * connection (current and, during a rotation, previous), the stored
 * Moneybird pushes and their processing, what Moneybird last said about an
 * order's invoice (which moves orders between synced and reconciled), and
 * the reconciliation runs with the differences they found and the repairs
 * they queued.
 */
#ifndef BM_STORE_RECONCILE_H
#define BM_STORE_RECONCILE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STORE_RECONCILE_ID_MAX 40
#define STORE_RECONCILE_KEY_MAX 200

/* ---- webhook keys ---- */

struct store_webhook_keys {
	bool registered; /* a webhook with a secret is stored */
	char token[STORE_RECONCILE_KEY_MAX];
	char secret[STORE_RECONCILE_KEY_MAX];
	bool has_previous; /* rotated less than max_previous_age_seconds ago */
	char previous_token[STORE_RECONCILE_KEY_MAX];
	char previous_secret[STORE_RECONCILE_KEY_MAX];
};

/* Reads the connection's webhook token and secret (and the previous pair
 * while it is younger than max_previous_age_seconds). */
int store_reconcile_webhook_keys(PGconn *conn, int64_t connection_id, int max_previous_age_seconds,
                                 struct store_webhook_keys *out, struct cn_error *err) MUST_CHECK;

/* Wipes the secrets from memory. */
void store_reconcile_webhook_keys_clear(struct store_webhook_keys *keys);

/* ---- stored pushes ---- */

struct store_mb_event_new {
	int64_t connection_id;
	const char *idempotency_key;
	const char *body_sha256; /* hex; the replay guard */
	int64_t signature_timestamp;
	const char *webhook_id;
	const char *action;
	const char *entity_type;
	const char *entity_id;
	const char *payload_state;
	const unsigned char *body;
	size_t body_len;
};

/* Stores a verified push; *duplicate is true (and nothing changes) when its
 * Idempotency-Key, or its body, was stored before for this connection. */
int store_reconcile_event_insert(PGconn *conn, const struct store_mb_event_new *event,
                                 bool *duplicate, struct cn_error *err) MUST_CHECK;

struct store_mb_event {
	int64_t id;
	int64_t connection_id;
	char action[96];
	char entity_type[48];
	char entity_id[STORE_RECONCILE_ID_MAX];
	char status[16];
	int attempts;
	int64_t age_seconds; /* since it was received */
	char *body;          /* NUL-terminated copy, owned (store_mb_event_clear) */
	size_t body_len;
};
void store_mb_event_clear(struct store_mb_event *event);

/* Opens a transaction and locks the next ready event (pending, or waiting
 * whose retry time came) with SKIP LOCKED. CN_NOT_FOUND (transaction closed)
 * when none is ready. The caller ends the transaction with
 * store_reconcile_event_finish or store_rollback. */
int store_reconcile_event_claim(PGconn *conn, struct store_mb_event *out,
                                struct cn_error *err) MUST_CHECK;

/* Sets the event's outcome and commits: status "applied", "ignored", or
 * "waiting"/"pending" with a retry after retry_seconds. order_pk 0 = none. */
int store_reconcile_event_finish(PGconn *conn, int64_t event_id, const char *status,
                                 int64_t order_pk, const char *note, int retry_seconds,
                                 struct cn_error *err) MUST_CHECK;

/* ---- orders and their invoices ---- */

struct store_invoice_order {
	int64_t order_pk;
	char order_id[128];
	char state[24];
	char invoice_id[STORE_RECONCILE_ID_MAX];
};

/* The order whose Moneybird invoice is invoice_id (CN_NOT_FOUND). */
int store_reconcile_order_by_invoice(PGconn *conn, int64_t connection_id, const char *invoice_id,
                                     struct store_invoice_order *out,
                                     struct cn_error *err) MUST_CHECK;
/* The order whose invoice reference (committed before the create) is
 * reference (CN_NOT_FOUND; the oldest when several). */
int store_reconcile_order_by_reference(PGconn *conn, int64_t connection_id, const char *reference,
                                       struct store_invoice_order *out,
                                       struct cn_error *err) MUST_CHECK;

/* What Moneybird said about an order's invoice. */
struct store_invoice_seen {
	const char *state;
	int64_t total_paid_cents;
	int64_t total_unpaid_cents;
	int64_t version; /* 0 = unknown */
};

enum store_paid_move {
	STORE_PAID_KEEP,      /* only record the invoice's figures */
	STORE_PAID_CONFIRM,   /* synced -> reconciled (paid_confirmed_at = now) */
	STORE_PAID_WITHDRAWN, /* reconciled -> synced (paid_confirmed_at cleared) */
};

/* Records the figures and applies the move when the order is in the state
 * it moves from (checked in the same statement, so a worker's concurrent
 * transition is never overwritten); one audit row by actor. *moved says
 * whether the state changed. */
int store_reconcile_invoice_seen(PGconn *conn, int64_t order_pk, const char *actor,
                                 const struct store_invoice_seen *seen, enum store_paid_move move,
                                 const char *why, bool *moved, struct cn_error *err) MUST_CHECK;

/* ---- differences and runs ---- */

/* One order as reconciliation sees it. */
struct store_rc_order {
	int64_t order_pk;
	char order_id[128];
	char state[24];
	bool is_test_order;
	bool in_scope; /* received on or after --since (always, without it) */
	int64_t total_incl_cents;
	int64_t age_seconds; /* since it was received */
	char contact_id[STORE_RECONCILE_ID_MAX];
	char invoice_id[STORE_RECONCILE_ID_MAX];
	char invoice_reference[256];
	char payment_id[STORE_RECONCILE_ID_MAX];
	bool sent;
	bool changed_during_run; /* updated after the run began: left to the next run */
};

/* Up to limit orders of the connection with an id above after_pk, in id
 * order, into out (keyset pagination: a run holds one page, never every
 * order). since ("YYYY-MM-DD" or NULL) sets in_scope; changed_during_run is
 * set for an order updated since run_id began. */
int store_reconcile_orders_page(PGconn *conn, int64_t connection_id, const char *since,
                                int64_t run_id, int64_t after_pk, struct store_rc_order *out,
                                size_t limit, size_t *count, struct cn_error *err) MUST_CHECK;

/* An order the connector knows it did not sync: parked (needs_attention,
 * with the reason) or skipped. Not a difference. */
struct store_rc_known {
	char order_id[128];
	char state[24];
	char reason[300];
};

/* The connection's parked and skipped orders (received since `since`, or all):
 * counts of each, and the first `limit` of them, oldest first, into *out
 * (malloc'd, free()). */
int store_reconcile_known_load(PGconn *conn, int64_t connection_id, const char *since, size_t limit,
                               struct store_rc_known **out, size_t *count, long *parked,
                               long *skipped, struct cn_error *err) MUST_CHECK;

/* The Moneybird contact ids the connector resolved in this administration,
 * sorted (strcmp order); *out is malloc'd, STORE_RECONCILE_ID_MAX each. */
int store_reconcile_contacts_load(PGconn *conn, const char *administration_id,
                                  char (**out)[STORE_RECONCILE_ID_MAX], size_t *count,
                                  struct cn_error *err) MUST_CHECK;

/* Seconds since the last finished run of the connection (-1 = never). */
int store_reconcile_last_run_age(PGconn *conn, int64_t connection_id, int64_t *age_seconds,
                                 struct cn_error *err) MUST_CHECK;

int store_reconcile_run_begin(PGconn *conn, int64_t connection_id, const char *trigger, bool repair,
                              const char *since, int64_t *run_id, struct cn_error *err) MUST_CHECK;

struct store_rc_run_totals {
	const char *status; /* done, failed */
	long invoices_checked;
	long orders_checked;
	long moneybird_calls;
	long differences;
	long repairs_queued;
	const char *error; /* NULL when none */
};
int store_reconcile_run_end(PGconn *conn, int64_t run_id, const struct store_rc_run_totals *totals,
                            struct cn_error *err) MUST_CHECK;

/* A safe repair: puts the order's sync job back in the queue (the sync
 * engine resumes from the recorded step and looks before it creates), after
 * forgetting the one step Moneybird no longer shows: "not_sent" clears
 * sent_at, "not_paid" clears the payment id (its intent stays, so the
 * payment is searched for before one is registered). Never for an order a
 * worker holds (*queued false). One audit row. */
int store_reconcile_repair(PGconn *conn, int64_t order_pk, const char *kind, bool *queued,
                           struct cn_error *err) MUST_CHECK;

/* How many of the orders are still queued, in progress or retrying. */
int store_reconcile_count_unsettled(PGconn *conn, const int64_t *order_pks, size_t count,
                                    size_t *unsettled, struct cn_error *err) MUST_CHECK;

/* Session-level advisory lock: one reconciliation per connection at a time,
 * across processes and hosts. *locked false when another holds it. */
int store_reconcile_try_lock(PGconn *conn, int64_t connection_id, bool *locked,
                             struct cn_error *err) MUST_CHECK;
void store_reconcile_unlock(PGconn *conn, int64_t connection_id);

int store_reconcile_difference_add(PGconn *conn, int64_t run_id, int64_t connection_id,
                                   const char *source, const char *kind, int64_t order_pk,
                                   const char *invoice_id, const char *detail, bool repair_queued,
                                   struct cn_error *err) MUST_CHECK;

#endif
