#include "committer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock_after.h"
#include "job_bell.h"
#include "log.h"
#include "stop_flag.h"
#include "store.h"
#include "store_audit_chain.h"

#define COMMITTER_MAX_BATCH 128

/* Heap-allocated: a handler that stops waiting leaves it to the committer. */
struct commit_request {
	struct store_intake_record *record; /* owned */
	enum store_delivery_result result;
	int rc;
	struct cn_error err;
	bool taken;            /* the committer is storing it; guarded by the mutex */
	bool done;             /* guarded by the mutex */
	bool abandoned;        /* its handler gave up waiting: the committer frees it */
	pthread_cond_t stored; /* signalled once done */
	struct commit_request *next;
};

struct committer {
	char *conninfo;
	int commit_timeout_ms;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t work;                /* a request was queued, or stop */
	struct commit_request *head, *tail; /* guarded by mutex */
	bool stopping;                      /* guarded by mutex */
	struct timespec batch_started;      /* of the batch in flight; guarded by mutex */
	bool batch_in_flight;               /* guarded by mutex */
	PGconn *conn;                       /* the thread's own, on the intake's audit chain */
	struct job_bell *bell;              /* wakes the workers after new orders */
};

static void request_free(struct commit_request *request)
{
	store_intake_record_free(request->record);
	pthread_cond_destroy(&request->stored);
	free(request);
}

static void fail_all(struct commit_request **batch, size_t count, int rc,
                     const struct cn_error *err)
{
	for (size_t i = 0; i < count; i++) {
		batch[i]->rc = rc;
		batch[i]->err = *err;
	}
}

/* CN_INVALID (the delivery's own data is refused) and CN_ERR (the statement
 * failed on a healthy connection) stay as they are; anything else means the
 * database itself is unavailable: CN_RETRYABLE. */
static int classify_failure(struct committer *committer, int rc)
{
	if (rc == CN_OK || rc == CN_INVALID)
		return rc;
	if (rc == CN_ERR && !store_conn_broken(committer->conn))
		return CN_ERR;
	return CN_RETRYABLE;
}

/* The fallback after a failed batch: one transaction per delivery, so one
 * delivery the database refuses does not take the others down with it. */
static void store_one_by_one(struct committer *committer, struct commit_request **batch,
                             size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct commit_request *request = batch[i];

		if (store_conn_broken(committer->conn)) {
			request->rc = CN_RETRYABLE;
			error_set(&request->err, "the database connection was lost");
			continue;
		}
		request->rc = store_intake_records(committer->conn, &request->record, 1,
		                                   &request->result, &request->err);
		request->rc = classify_failure(committer, request->rc);
	}
}

/* How long a batch statement may run: well past its handlers' wait. */
static int statement_limit_ms(const struct committer *committer)
{
	int timeout_ms = committer->commit_timeout_ms * 3;

	return timeout_ms < 10000 ? 10000 : timeout_ms;
}

/* A statement still running well after its handlers stopped waiting is
 * cancelled by the server, so that it does not hold the audit lock on. */
static void set_statement_timeout(struct committer *committer)
{
	struct cn_error err = {""};

	if (store_set_statement_timeout(committer->conn, statement_limit_ms(committer), &err) !=
	    CN_OK)
		log_warn("intake_statement_timeout_not_set", "error", err.message, NULL);
}

static void ring_for_new_orders(struct committer *committer, struct commit_request **batch,
                                size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (batch[i]->rc == CN_OK && batch[i]->result == STORE_DELIVERY_NEW_ORDER) {
			job_bell_ring(committer->bell);
			return;
		}
	}
}

/* Stores a batch as one statement, which is its own transaction: one round
 * trip and one commit (WAL flush) for every delivery in it. */
static void store_batch(struct committer *committer, struct commit_request **batch, size_t count)
{
	struct store_intake_record *records[COMMITTER_MAX_BATCH];
	enum store_delivery_result results[COMMITTER_MAX_BATCH];
	struct store_deadline deadline;
	struct cn_error err = {""};
	bool gave_up;
	int rc;

	for (size_t i = 0; i < count; i++) {
		batch[i]->rc = CN_OK;
		records[i] = batch[i]->record;
		results[i] = STORE_DELIVERY_KEPT;
	}
	if (committer->conn == NULL) {
		rc = store_connect_on_chain(committer->conninfo, STORE_AUDIT_CHAIN_INTAKE,
		                            &committer->conn, &err);
		if (rc != CN_OK) {
			fail_all(batch, count, CN_RETRYABLE, &err);
			return;
		}
		set_statement_timeout(committer);
	}
	/* A server that stopped answering altogether (frozen, or a peer that
	 * still ACKs) is given up on a second after statement_timeout would
	 * have ended the statement: the next batch reconnects. */
	store_deadline_arm(&deadline, committer->conn, statement_limit_ms(committer) + 1000);
	rc = store_intake_records(committer->conn, records, count, results, &err);
	gave_up = store_deadline_disarm(&deadline);
	if (rc == CN_OK) {
		for (size_t i = 0; i < count; i++)
			batch[i]->result = results[i];
	} else if (count > 1 && !gave_up && !store_conn_broken(committer->conn)) {
		log_warn("intake_batch_failed", "error", err.message, NULL);
		store_one_by_one(committer, batch, count);
	} else {
		/* Refused, or its fate unknown (connection lost): the caller
		 * spools; delivery keys make storing it again idempotent. A
		 * refusal of the delivery's own data is reported as such. */
		fail_all(batch, count, gave_up ? CN_RETRYABLE : classify_failure(committer, rc),
		         &err);
	}
	if (gave_up || store_conn_broken(committer->conn)) {
		if (gave_up)
			log_warn("intake_database_stalled", "error",
			         "PostgreSQL did not answer the intake's statement; reconnecting",
			         NULL);
		PQfinish(committer->conn);
		committer->conn = NULL;
	}
	ring_for_new_orders(committer, batch, count);
}

static void *committer_main(void *arg)
{
	struct committer *committer = arg;
	struct commit_request *batch[COMMITTER_MAX_BATCH];

	pthread_mutex_lock(&committer->mutex);
	for (;;) {
		size_t count = 0;

		while (committer->head == NULL && !committer->stopping)
			pthread_cond_wait(&committer->work, &committer->mutex);
		if (committer->head == NULL)
			break; /* stopping, and nothing left to store */
		while (committer->head != NULL && count < COMMITTER_MAX_BATCH) {
			committer->head->taken = true;
			batch[count++] = committer->head;
			committer->head = committer->head->next;
		}
		if (committer->head == NULL)
			committer->tail = NULL;
		clock_gettime(CLOCK_MONOTONIC, &committer->batch_started);
		committer->batch_in_flight = true;
		pthread_mutex_unlock(&committer->mutex);

		store_batch(committer, batch, count);

		/* Wake exactly the handlers of this batch, not every waiter; the
		 * requests of handlers that gave up are ours to free. */
		pthread_mutex_lock(&committer->mutex);
		committer->batch_in_flight = false;
		for (size_t i = 0; i < count; i++) {
			batch[i]->done = true;
			if (batch[i]->abandoned)
				request_free(batch[i]);
			else
				pthread_cond_signal(&batch[i]->stored);
		}
	}
	pthread_mutex_unlock(&committer->mutex);
	return NULL;
}

int committer_start(const char *conninfo, int commit_timeout_ms, struct committer **out,
                    struct cn_error *err)
{
	struct committer *committer = calloc(1, sizeof(*committer));

	*out = NULL;
	if (committer == NULL || (committer->conninfo = strdup(conninfo)) == NULL) {
		free(committer);
		error_set(err, "out of memory starting the intake committer");
		return CN_ERR;
	}
	committer->commit_timeout_ms = commit_timeout_ms > 0 ? commit_timeout_ms : 3000;
	if (job_bell_start(conninfo, &committer->bell, err) != CN_OK) {
		free(committer->conninfo);
		free(committer);
		return CN_ERR;
	}
	if (!stop_flag_shared_thread_start(&committer->mutex, &committer->work, &committer->thread,
	                                   committer_main, committer)) {
		job_bell_stop(committer->bell);
		free(committer->conninfo);
		free(committer);
		error_set(err, "cannot start the intake committer thread");
		return CN_ERR;
	}
	*out = committer;
	return CN_OK;
}

void committer_stop(struct committer *committer)
{
	if (committer == NULL)
		return;
	/* Only the committer waits on work: the broadcast wakes just it. */
	stop_flag_shared_thread_stop(&committer->mutex, &committer->work, &committer->stopping,
	                             committer->thread);
	job_bell_stop(committer->bell); /* after the last batch: sends its ring */
	PQfinish(committer->conn);
	free(committer->conninfo);
	free(committer);
}

/* Takes a request the committer has not started on out of the queue. */
static void unlink_request(struct committer *committer, struct commit_request *request)
{
	struct commit_request *previous = NULL;

	for (struct commit_request *at = committer->head; at != NULL; at = at->next) {
		if (at == request) {
			if (previous != NULL)
				previous->next = at->next;
			else
				committer->head = at->next;
			if (committer->tail == at)
				committer->tail = previous;
			return;
		}
		previous = at;
	}
}

/* The batch in flight has run past the commit timeout: PostgreSQL is
 * stalled, and a new delivery would only wait as long for nothing. Caller
 * holds the mutex. */
static bool stalled(const struct committer *committer)
{
	struct timespec now;
	int64_t running_ms;

	if (!committer->batch_in_flight)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	running_ms = (int64_t)(now.tv_sec - committer->batch_started.tv_sec) * 1000 +
	             (now.tv_nsec - committer->batch_started.tv_nsec) / 1000000;
	return running_ms > committer->commit_timeout_ms;
}

int committer_store(struct committer *committer, const struct store_delivery_row *row,
                    const struct bookto_order *order, enum store_delivery_result *result_out,
                    struct cn_error *err)
{
	struct commit_request *request = calloc(1, sizeof(*request));
	struct timespec deadline;
	int rc;

	if (request == NULL || (request->record = store_intake_record_new(row, order)) == NULL) {
		free(request);
		error_set(err, "out of memory queueing the delivery");
		return CN_RETRYABLE;
	}
	stop_flag_cond_init_monotonic(&request->stored);
	deadline = clock_after_ms(CLOCK_MONOTONIC, committer->commit_timeout_ms);

	pthread_mutex_lock(&committer->mutex);
	if (committer->stopping) {
		pthread_mutex_unlock(&committer->mutex);
		request_free(request);
		error_set(err, "the connector is shutting down");
		return CN_RETRYABLE;
	}
	/* Spooled at once: with a bounded number of handler threads, waiting
	 * out the timeout one delivery after another would make the last of
	 * many wait far longer than the proxy does. */
	if (stalled(committer)) {
		pthread_mutex_unlock(&committer->mutex);
		request_free(request);
		error_set(err, "PostgreSQL has not committed for more than %d ms",
		          committer->commit_timeout_ms);
		return CN_RETRYABLE;
	}
	if (committer->tail != NULL)
		committer->tail->next = request;
	else
		committer->head = request;
	committer->tail = request;
	pthread_cond_signal(&committer->work);
	while (!request->done) {
		if (pthread_cond_timedwait(&request->stored, &committer->mutex, &deadline) ==
		        ETIMEDOUT &&
		    !request->done)
			break;
	}
	if (!request->done) {
		/* PostgreSQL is stalled: the caller spools. Should the commit
		 * still happen later, the delivery key makes the spooled copy a
		 * no-op when it is drained. */
		bool in_flight = request->taken;

		if (in_flight)
			request->abandoned = true; /* no longer ours to touch */
		else
			unlink_request(committer, request);
		pthread_mutex_unlock(&committer->mutex);
		if (!in_flight)
			request_free(request);
		error_set(err, "PostgreSQL did not commit the delivery within %d ms",
		          committer->commit_timeout_ms);
		return CN_RETRYABLE;
	}
	pthread_mutex_unlock(&committer->mutex);
	rc = request->rc;
	if (rc != CN_OK) {
		if (err != NULL)
			*err = request->err;
	} else {
		*result_out = request->result;
	}
	request_free(request);
	return rc;
}
