#include "job_bell.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock_after.h"
#include "log.h"
#include "stop_flag.h"
#include "store.h"

/* After a failed NOTIFY: the workers poll anyway (every 2 s at most), so the
 * bell only needs to try again soon, not at once. */
#define JOB_BELL_RETRY_MS 500

struct job_bell {
	char *conninfo;
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t rung; /* a ring, or stop */
	bool pending;        /* guarded by mutex */
	bool stopping;       /* guarded by mutex */
	PGconn *conn;        /* the thread's own */
};

static bool send_ring(struct job_bell *bell)
{
	struct cn_error err = {""};

	if (bell->conn == NULL && store_connect(bell->conninfo, &bell->conn, &err) != CN_OK) {
		log_debug("jobs_bell_waiting_for_database", "error", err.message, NULL);
		return false;
	}
	if (store_ring_jobs(bell->conn, &err) == CN_OK)
		return true;
	log_warn("jobs_not_announced", "error", err.message, NULL);
	if (store_conn_broken(bell->conn)) {
		PQfinish(bell->conn);
		bell->conn = NULL;
	}
	return false;
}

static void *job_bell_main(void *arg)
{
	struct job_bell *bell = arg;

	pthread_mutex_lock(&bell->mutex);
	for (;;) {
		bool sent;

		while (!bell->pending && !bell->stopping)
			pthread_cond_wait(&bell->rung, &bell->mutex);
		if (!bell->pending)
			break; /* stopping, nothing left to send */
		bell->pending = false;
		pthread_mutex_unlock(&bell->mutex);
		sent = send_ring(bell);
		pthread_mutex_lock(&bell->mutex);
		if (!sent && !bell->stopping) {
			struct timespec until = clock_after_ms(CLOCK_MONOTONIC, JOB_BELL_RETRY_MS);

			bell->pending = true;
			pthread_cond_timedwait(&bell->rung, &bell->mutex, &until);
		}
	}
	pthread_mutex_unlock(&bell->mutex);
	return NULL;
}

int job_bell_start(const char *conninfo, struct job_bell **out, struct cn_error *err)
{
	struct job_bell *bell = calloc(1, sizeof(*bell));

	*out = NULL;
	if (bell == NULL || (bell->conninfo = strdup(conninfo)) == NULL) {
		free(bell);
		error_set(err, "out of memory starting the workers' bell");
		return CN_ERR;
	}
	if (!stop_flag_shared_thread_start(&bell->mutex, &bell->rung, &bell->thread, job_bell_main,
	                                   bell)) {
		free(bell->conninfo);
		free(bell);
		error_set(err, "cannot start the workers' bell thread");
		return CN_ERR;
	}
	*out = bell;
	return CN_OK;
}

void job_bell_stop(struct job_bell *bell)
{
	if (bell == NULL)
		return;
	stop_flag_shared_thread_stop(&bell->mutex, &bell->rung, &bell->stopping, bell->thread);
	PQfinish(bell->conn);
	free(bell->conninfo);
	free(bell);
}

void job_bell_ring(struct job_bell *bell)
{
	pthread_mutex_lock(&bell->mutex);
	bell->pending = true;
	pthread_cond_signal(&bell->rung);
	pthread_mutex_unlock(&bell->mutex);
}
