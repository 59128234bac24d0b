/*
 * The sync engine's SQL: loading an order for a worker, the contact map per
 * (administration, match_ref), the exactly-once intents and Moneybird ids of
 * an order, and the record of every Moneybird call (attempts + audit).
 */
#ifndef BM_STORE_SYNC_H
#define BM_STORE_SYNC_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "bookto.h"
#include "error.h"

#define STORE_ID_MAX 40

/* What the sync engine knows about an order beyond the parsed payload. */
struct store_sync_order {
	struct bookto_order *order; /* owned; rebuilt from the stored columns */
	int64_t order_pk;
	char contact_id[STORE_ID_MAX];
	char invoice_id[STORE_ID_MAX];
	char invoice_state[24];
	char invoice_reference[256];
	bool invoice_intent; /* an invoice create may have been sent */
	bool sent;
	bool payment_intent; /* a payment create may have been sent */
	char payment_id[STORE_ID_MAX];
	int64_t retried_at; /* epoch of the latest `retry` by a person; 0 = never */
};

int store_sync_load(PGconn *conn, int64_t order_pk, struct store_sync_order *out,
                    struct cn_error *err) MUST_CHECK;
void store_sync_order_clear(struct store_sync_order *order);

/* The contact already mapped for this buyer, if any (CN_NOT_FOUND). */
int store_contact_find(PGconn *conn, const char *administration_id, const char *match_ref,
                       char contact_id[STORE_ID_MAX], struct cn_error *err) MUST_CHECK;

/* Session-level lock per (administration, match_ref): contact resolution for
 * one buyer runs one at a time across every worker and host. */
int store_contact_lock(PGconn *conn, const char *administration_id, const char *match_ref,
                       struct cn_error *err) MUST_CHECK;
void store_contact_unlock(PGconn *conn, const char *administration_id, const char *match_ref);

/* Records the mapping (idempotent) and sets it on the order, with an audit
 * row naming how it was resolved. */
int store_contact_record(PGconn *conn, int64_t order_pk, const char *administration_id,
                         const char *match_ref, const char *customer_id, const char *contact_id,
                         const char *resolution, struct cn_error *err) MUST_CHECK;

/* Sets an already mapped contact on the order (audited as "mapped"). */
int store_order_set_contact(PGconn *conn, int64_t order_pk, const char *contact_id,
                            struct cn_error *err) MUST_CHECK;

/*
 * The claim an intent is fenced by: the job, its lease owner and the lease
 * generation of the claim (queue_claim), and how long to extend the lease.
 */
struct store_fence {
	int64_t job_id;
	const char *owner;
	int64_t generation;
	int lease_seconds;
};

/* Commits the intent to create the invoice under reference, in one
 * statement with a check that fence still holds the job's lease (same owner
 * and generation), which it extends by fence->lease_seconds. CN_NOT_FOUND
 * (nothing written) when another claim took the job over: the caller must
 * not create. */
int store_invoice_intent(PGconn *conn, int64_t order_pk, const char *reference,
                         const struct store_fence *fence, struct cn_error *err) MUST_CHECK;
/* The invoice exists in Moneybird (created or adopted). */
int store_invoice_recorded(PGconn *conn, int64_t order_pk, const char *invoice_id,
                           const char *state, int64_t total_cents, const char *how,
                           struct cn_error *err) MUST_CHECK;
/* delivery_method: how this run sent it; NULL when an earlier run had. */
int store_invoice_sent(PGconn *conn, int64_t order_pk, const char *state,
                       const char *delivery_method, struct cn_error *err) MUST_CHECK;
/* The payment's intent, fenced like the invoice's. */
int store_payment_intent(PGconn *conn, int64_t order_pk, const struct store_fence *fence,
                         struct cn_error *err) MUST_CHECK;
/* Withdraws an intent whose request certainly never reached Moneybird (the
 * rate budget refused it, or a 429 answered it), so the next attempt need
 * not look before it creates. Only for an intent set by the same attempt. */
int store_invoice_intent_withdraw(PGconn *conn, int64_t order_pk, struct cn_error *err) MUST_CHECK;
int store_payment_intent_withdraw(PGconn *conn, int64_t order_pk, struct cn_error *err) MUST_CHECK;
int store_payment_recorded(PGconn *conn, int64_t order_pk, const char *payment_id,
                           const char *invoice_state, const char *how,
                           struct cn_error *err) MUST_CHECK;

/* One Moneybird call: an attempts row and an audit row (no personal data). */
int store_call_record(PGconn *conn, int64_t order_pk, int64_t connection_id, int job_attempt,
                      const char *endpoint, const char *outcome, long http_status, int duration_ms,
                      const char *error, struct cn_error *err) MUST_CHECK;

/* The invoice version last recorded for the order (by a webhook or a
 * reconcile); 0 when none is. */
int store_invoice_version(PGconn *conn, int64_t order_pk, int64_t *version,
                          struct cn_error *err) MUST_CHECK;

#endif
