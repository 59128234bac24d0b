/*
 * The notifier inside serve (the optional `notify` config section): a
 * thread that queues an event when an order is parked, a connection pauses
 * or resumes, or a reconciliation finds differences (read from the audit
 * log and the reconcile runs, see store_notify.h), sends the due messages
 * to the webhook and/or by email, and announces a spool that has held
 * deliveries for longer than notify.spool_age_seconds. At most one message
 * per cause per notify.interval_seconds; failures are logged, counted in
 * /metrics and retried with a backoff, and never touch the sync.
 */
#ifndef BM_NOTIFY_H
#define BM_NOTIFY_H

#include "config.h"
#include "error.h"

struct notify;

/* Starts the thread; *out stays NULL (and nothing starts) when the config
 * has no notify channel. */
int notify_start(const struct config *config, struct notify **out, struct cn_error *err) MUST_CHECK;

/* Stops and frees it (a send in progress finishes, bounded by its timeout). */
void notify_stop(struct notify *notify);

#endif
