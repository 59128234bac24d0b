/*
 * SQL of the notifier (migration 0011): collecting events from the audit log
 * and the reconcile runs into the notifications queue, one waiting message
 * per cause, and claiming and finishing due messages.
 */
#ifndef BM_STORE_NOTIFY_H
#define BM_STORE_NOTIFY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define STORE_NOTIFY_CAUSE_MAX 80
#define STORE_NOTIFY_TEXT_MAX 4096

/*
 * One transaction: locks the cursor (another host's notifier holding it
 * makes this a no-op), queues every park, pause, resume and reconcile run
 * with differences after it, and moves it on. *queued counts the events.
 */
int store_notify_collect(PGconn *conn, int interval_seconds, int *queued,
                         struct cn_error *err) MUST_CHECK;

struct store_notification {
	int64_t id;
	char cause[STORE_NOTIFY_CAUSE_MAX];
	int events;
	int attempts;
	bool webhook_done; /* sent earlier: a retry does not repeat it */
	bool email_done;
	char lines[STORE_NOTIFY_TEXT_MAX]; /* the kept events, one per line */
};

/*
 * Opens a transaction and claims the oldest due message (row locked, others
 * skip it) whose cause sent nothing in the last interval_seconds. *found is
 * false (and the transaction closed) when none is due.
 */
int store_notify_claim(PGconn *conn, int interval_seconds, struct store_notification *out,
                       bool *found, struct cn_error *err) MUST_CHECK;

/*
 * Records the claimed message's outcome and commits: the channels done now,
 * whether every configured channel is done, else the error and the next
 * attempt (backoff capped at retry_cap_seconds); gives up after max_attempts.
 */
int store_notify_finish(PGconn *conn, const struct store_notification *message, bool webhook_done,
                        bool email_done, bool all_done, const char *error, int retry_cap_seconds,
                        int max_attempts, bool *given_up, struct cn_error *err) MUST_CHECK;

#endif
