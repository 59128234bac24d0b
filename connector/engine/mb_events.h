/*
 * Applies stored Moneybird pushes, in its own thread inside `serve` (any
 * number of processes may run it: events are claimed with SKIP LOCKED).
 * sales_invoice_state_changed_to_paid moves the order from synced to
 * reconciled (trusting the pushed entity, which is current, not the
 * payload's state, which may be stale); payment_registered and
 * payment_destroyed re-fetch the invoice within the shared rate budget and
 * record its paid/unpaid amounts, and a payment removed from a reconciled
 * order moves it back to synced and records the difference. Pushes about
 * invoices the connector did not create are recorded and ignored; a push
 * that arrives before the order's invoice id is stored (or while the order
 * is still being synced) waits and is applied once it is.
 */
#ifndef BM_MB_EVENTS_H
#define BM_MB_EVENTS_H

#include "error.h"
#include "runtime.h"

struct mb_events;

/* Starts the thread; *out is owned by the caller (mb_events_stop). runtime
 * must outlive it. */
int mb_events_start(const struct runtime *runtime, struct mb_events **out,
                    struct cn_error *err) MUST_CHECK;

/* Lets the event being applied finish, then joins the thread. NULL is fine. */
void mb_events_stop(struct mb_events *events);

#endif
