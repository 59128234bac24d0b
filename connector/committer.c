#include "committer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

#define COMMITTER_MAX_BATCH 128

struct commit_request {
	const struct store_delivery_row *row;
	const struct bookto_order *order;
	enum store_delivery_result result;
	int rc;
	struct cn_error err;
	bool done;              /* guarded by the committer's mutex */
	pthread_cond_t stored;  /* signalled once done */
	struct commit_request *next;
};

struct committer {
	char *conninfo;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t work;     /* a request was queued, or stop */
	struct commit_request *head, *tail; /* guarded by mutex */
	bool stopping;                      /* guarded by mutex */
	PGconn *conn;                       /* the thread's own */
};

static void fail_all(struct commit_request **batch, size_t count, const struct cn_error *err)
{
	for (size_t i = 0; i < count; i++) {
		if (batch[i]->rc != CN_OK)
			continue;
		batch[i]->rc = CN_RETRYABLE;
		batch[i]->err = *err;
	}
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
		request->rc = store_intake_delivery(committer->conn, request->row, request->order,
						    &request->result, &request->err);
		if (request->rc != CN_OK)
			request->rc = CN_RETRYABLE;
	}
}

/* Stores a batch as one statement, which is its own transaction: one round
 * trip and one commit (WAL flush) for every delivery in it. */
static void store_batch(struct committer *committer, struct commit_request **batch,
			size_t count)
{
	struct store_intake_item items[COMMITTER_MAX_BATCH];
	struct cn_error err = {""};
	int rc;

	for (size_t i = 0; i < count; i++) {
		batch[i]->rc = CN_OK;
		items[i].row = batch[i]->row;
		items[i].order = batch[i]->order;
		items[i].result = STORE_DELIVERY_KEPT;
	}
	if (committer->conn == NULL &&
	    store_connect(committer->conninfo, &committer->conn, &err) != CN_OK) {
		fail_all(batch, count, &err);
		return;
	}
	rc = store_intake_batch(committer->conn, items, count, &err);
	if (rc == CN_OK) {
		for (size_t i = 0; i < count; i++)
			batch[i]->result = items[i].result;
	} else if (count > 1 && !store_conn_broken(committer->conn)) {
		log_warn("intake_batch_failed", "error", err.message, NULL);
		store_one_by_one(committer, batch, count);
	} else {
		/* Refused, or its fate unknown (connection lost): the caller
		 * spools; delivery keys make storing it again idempotent. */
		fail_all(batch, count, &err);
	}
	if (store_conn_broken(committer->conn)) {
		PQfinish(committer->conn);
		committer->conn = NULL;
	}
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
			batch[count++] = committer->head;
			committer->head = committer->head->next;
		}
		if (committer->head == NULL)
			committer->tail = NULL;
		pthread_mutex_unlock(&committer->mutex);

		store_batch(committer, batch, count);

		/* Wake exactly the handlers of this batch, not every waiter. */
		pthread_mutex_lock(&committer->mutex);
		for (size_t i = 0; i < count; i++) {
			batch[i]->done = true;
			pthread_cond_signal(&batch[i]->stored);
		}
	}
	pthread_mutex_unlock(&committer->mutex);
	return NULL;
}

int committer_start(const char *conninfo, struct committer **out, struct cn_error *err)
{
	struct committer *committer = calloc(1, sizeof(*committer));

	*out = NULL;
	if (committer == NULL || (committer->conninfo = strdup(conninfo)) == NULL) {
		free(committer);
		error_set(err, "out of memory starting the intake committer");
		return CN_ERR;
	}
	pthread_mutex_init(&committer->mutex, NULL);
	pthread_cond_init(&committer->work, NULL);
	if (pthread_create(&committer->thread, NULL, committer_main, committer) != 0) {
		pthread_mutex_destroy(&committer->mutex);
		pthread_cond_destroy(&committer->work);
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
	pthread_mutex_lock(&committer->mutex);
	committer->stopping = true;
	pthread_cond_signal(&committer->work);
	pthread_mutex_unlock(&committer->mutex);
	pthread_join(committer->thread, NULL);
	PQfinish(committer->conn);
	pthread_mutex_destroy(&committer->mutex);
	pthread_cond_destroy(&committer->work);
	free(committer->conninfo);
	free(committer);
}

int committer_store(struct committer *committer, const struct store_delivery_row *row,
		    const struct bookto_order *order, enum store_delivery_result *result_out,
		    struct cn_error *err)
{
	struct commit_request request;

	memset(&request, 0, sizeof(request));
	request.row = row;
	request.order = order;
	pthread_mutex_lock(&committer->mutex);
	if (committer->stopping) {
		pthread_mutex_unlock(&committer->mutex);
		error_set(err, "the connector is shutting down");
		return CN_RETRYABLE;
	}
	pthread_cond_init(&request.stored, NULL);
	if (committer->tail != NULL)
		committer->tail->next = &request;
	else
		committer->head = &request;
	committer->tail = &request;
	pthread_cond_signal(&committer->work);
	while (!request.done)
		pthread_cond_wait(&request.stored, &committer->mutex);
	pthread_mutex_unlock(&committer->mutex);
	pthread_cond_destroy(&request.stored);
	if (request.rc != CN_OK) {
		if (err != NULL)
			*err = request.err;
		return request.rc;
	}
	*result_out = request.result;
	return CN_OK;
}
