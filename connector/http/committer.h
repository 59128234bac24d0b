/*
 * Shared commits for the intake. Each verified delivery must be durable
 * before it is answered, and a commit costs an fsync; one committer thread
 * takes every delivery waiting at that moment and stores them all in one
 * transaction, so concurrent deliveries share one fsync (group commit), and
 * then rings the workers' bell (job_bell) when it stored new orders. A
 * batch whose statements fail is retried one delivery per transaction, so
 * one bad delivery never takes its neighbours down with it.
 */
#ifndef BM_COMMITTER_H
#define BM_COMMITTER_H

#include "bookto.h"
#include "error.h"
#include "store_intake.h"

struct committer;

/* Starts the committer thread with its own connection to conninfo. A
 * handler waits at most commit_timeout_ms for its commit. */
int committer_start(const char *conninfo, int commit_timeout_ms, struct committer **out,
                    struct cn_error *err) MUST_CHECK;

/* Commits what is queued, stops the thread and frees everything. */
void committer_stop(struct committer *committer);

/* Stores one delivery in the next shared transaction and waits until that
 * transaction committed (0), or failed or took longer than the commit
 * timeout (CN_RETRYABLE: nothing of it is known to be stored; the caller
 * spools it, and the delivery key deduplicates a late commit; at once when
 * the batch in flight has already run past the timeout), or
 * PostgreSQL refused the delivery's own data (CN_INVALID: it never will
 * take it as it is), or the statement failed otherwise on a healthy
 * connection (CN_ERR). The row and order are copied: the caller's may go as
 * soon as this returns, whatever the committer still does. */
int committer_store(struct committer *committer, const struct store_delivery_row *row,
                    const struct bookto_order *order, enum store_delivery_result *result_out,
                    struct cn_error *err) MUST_CHECK;

#endif
