/*
 * An order's state transition, written once: the orders row changes and its
 * audit row is appended in the same statement, so no path can move an order
 * without a record of it (or record a move that did not happen). Every path
 * that moves an order's state uses it: the queue (claim, finish, retry,
 * park), the operator's retry, reconciliation's repairs and its invoice
 * checks. Callers give SQL fragments (constants of the store, never outside
 * input) and their parameters, which are $2 onwards ($1 is the order).
 */
#ifndef BM_STORE_ORDERS_H
#define BM_STORE_ORDERS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define STORE_ORDER_PARAMS_MAX 8

/* The audit row: SQL expressions that may use the columns from_state (the
 * state before), to_state (after) and connection_id. */
struct store_order_audit {
	const char *actor;
	const char *action;
	const char *from_state; /* NULL: the state before */
	const char *detail;     /* the jsonb detail */
	const char *when;       /* when to append it (a condition), NULL = always */
};

struct store_order_transition {
	int64_t order_pk;
	/* The new state, an SQL expression over the row (alias o): "'queued'",
	 * "$2", "CASE ... END". */
	const char *to_state;
	/* More "column = expression" of the row, or NULL. */
	const char *set_more;
	/* Lock the row before reading its state (SELECT ... FOR UPDATE). */
	bool lock_first;
	struct store_order_audit audit;
	int n_params; /* $2 .. $(n_params + 1) */
	const char *const *params;
	const char *what; /* for the error message */
};

/* Runs the transition. *moved (may be NULL) tells whether the row's state
 * changed; a missing order changes nothing and is not an error. */
int store_order_transition(PGconn *conn, const struct store_order_transition *t, bool *moved,
                           struct cn_error *err) MUST_CHECK;

/* Opens a transaction and locks the order's row (SELECT ... FOR UPDATE),
 * copying its state into state (24 bytes). On any failure the transaction is
 * rolled back; a missing order is CN_NOT_FOUND ("order N no longer exists").
 * `what` names the lock in an error message. */
int store_order_begin_locked(PGconn *conn, int64_t order_pk, const char *what, char state[24],
                             struct cn_error *err) MUST_CHECK;

/* Inside the caller's transaction: queues the order's sync job afresh (a new
 * one, or the existing one reset to pending, attempts 0, no lease) and wakes
 * the workers when it commits. `what` names the step in an error message. */
int store_order_requeue(PGconn *conn, int64_t order_pk, const char *what,
                        struct cn_error *err) MUST_CHECK;

#endif
