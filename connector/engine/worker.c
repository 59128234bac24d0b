#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "clock_after.h"
#include "knobs.h"
#include "log.h"
#include "mb_session.h"
#include "queue.h"
#include "stop_flag.h"
#include "store.h"
#include "store_audit_chain.h"

#define FALLBACK_POLL_MS 2000
#define IDLE_WAIT_MIN_MS 5 /* a due job another worker is claiming right now */
#define RECONNECT_WAIT_MS 1000

struct worker_pool;

struct worker_thread {
	struct worker_pool *pool;
	pthread_t thread;
	bool started;
	int index;
	char owner[QUEUE_OWNER_MAX];
	char (*budget_keys)[BUDGET_KEY_SIZE]; /* per connection; "" = unknown */
};

struct worker_pool {
	const struct sync_shared *shared;
	pthread_mutex_t mutex;
	pthread_cond_t wake;
	bool stopping;         /* guarded by mutex */
	unsigned long wakeups; /* guarded by mutex; bumped on every notification */
	pthread_t listener;
	bool listener_started;
	struct worker_thread *threads;
	int count;
};

static bool pool_stopping(struct worker_pool *pool)
{
	bool stopping;

	pthread_mutex_lock(&pool->mutex);
	stopping = pool->stopping;
	pthread_mutex_unlock(&pool->mutex);
	return stopping;
}

/* Waits up to ms for a wake-up (or stop); returns early on either. */
static void pool_wait(struct worker_pool *pool, int ms, unsigned long seen_wakeups)
{
	struct timespec deadline = clock_after_ms(CLOCK_REALTIME, ms);

	pthread_mutex_lock(&pool->mutex);
	while (!pool->stopping && pool->wakeups == seen_wakeups) {
		if (pthread_cond_timedwait(&pool->wake, &pool->mutex, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pool->mutex);
}

static void pool_wake_all(struct worker_pool *pool)
{
	pthread_mutex_lock(&pool->mutex);
	pool->wakeups++;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->mutex);
}

static unsigned long pool_wakeups(struct worker_pool *pool)
{
	unsigned long wakeups;

	pthread_mutex_lock(&pool->mutex);
	wakeups = pool->wakeups;
	pthread_mutex_unlock(&pool->mutex);
	return wakeups;
}

/* LISTENs for new jobs and wakes the workers; after a reconnect it wakes
 * them once anyway (catch-up for notifications missed while away). */
static void *listener_main(void *arg)
{
	struct worker_pool *pool = arg;
	PGconn *conn = NULL;

	while (!pool_stopping(pool)) {
		struct cn_error err = {""};
		fd_set readable;
		struct timeval timeout = {1, 0};
		PGnotify *notify;
		bool woke = false;
		int socket_fd;

		if (conn == NULL) {
			if (store_connect(pool->shared->config->database_conninfo, &conn, &err) !=
			        CN_OK ||
			    store_listen_jobs(conn, &err) != CN_OK) {
				log_debug("listener_reconnect_failed", "error", err.message, NULL);
				PQfinish(conn);
				conn = NULL;
				pool_wait(pool, RECONNECT_WAIT_MS, pool_wakeups(pool));
				continue;
			}
			pool_wake_all(pool);
		}
		socket_fd = PQsocket(conn);
		FD_ZERO(&readable);
		FD_SET(socket_fd, &readable);
		if (select(socket_fd + 1, &readable, NULL, NULL, &timeout) < 0 && errno != EINTR) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		if (PQconsumeInput(conn) == 0) {
			log_warn("listener_connection_lost", "error", PQerrorMessage(conn), NULL);
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		while ((notify = PQnotifies(conn)) != NULL) {
			woke = true;
			PQfreemem(notify);
		}
		if (woke)
			pool_wake_all(pool);
	}
	PQfinish(conn);
	return NULL;
}

static double random_unit(void)
{
	uint32_t value = 0;

	if (RAND_bytes((unsigned char *)&value, (int)sizeof(value)) != 1)
		return 0.5;
	return (double)value / 4294967296.0;
}

static size_t connection_index_of(const struct sync_shared *shared, int64_t connection_id)
{
	const struct connection_runtime *connection = runtime_find(shared->runtime, connection_id);

	return connection != NULL ? connection->index : shared->config->connection_count;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * When a job that had to wait for the rate limit is due again: the moment
 * the connection's budget frees a slot (the database's clock, to the ms), so
 * the job is claimed again exactly then rather than at a rounded-up second.
 * The outcome's retry_at (seconds) stands when the budget cannot say, or
 * when it is later than the budget knows of (a 429 whose pause was not
 * stored); without either, the backoff.
 */
static int64_t waiting_until_ms(struct worker_thread *self, PGconn *conn,
                                const struct queue_job *job, const struct sync_outcome *outcome)
{
	const struct sync_shared *shared = self->pool->shared;
	size_t index = connection_index_of(shared, job->connection_id);
	int64_t outcome_ms = outcome->retry_at > 0 ? outcome->retry_at * 1000 : 0;
	int64_t free_ms = 0;

	if (index < shared->config->connection_count && self->budget_keys != NULL &&
	    self->budget_keys[index][0] != '\0') {
		const struct connection_config *cc = &shared->config->connections[index];
		struct budget_limits limits;
		struct cn_error err = {""};

		mb_session_limits(cc, &limits);
		if (budget_next_free_ms(conn, self->budget_keys[index], &limits, BUDGET_LIVE,
		                        &free_ms, &err) != CN_OK) {
			log_debug("rate_budget_read_failed", "error", err.message, NULL);
			free_ms = 0;
		}
	}
	/* retry_at is rounded up to the second: only a full second more than
	 * the budget's figure is news the budget does not have. */
	if (free_ms > 0 && (outcome_ms == 0 || outcome_ms - free_ms < 1000))
		return free_ms;
	if (outcome_ms > 0)
		return outcome_ms;
	return wall_ms() +
	       queue_backoff_seconds(knobs_backoff_base_seconds(), 1, random_unit()) * 1000;
}

/* Turns a sync verdict into the queue transition. */
static int apply_outcome(struct worker_thread *self, PGconn *conn, const struct queue_job *job,
                         const struct sync_outcome *outcome, struct cn_error *err)
{
	const struct config *config = self->pool->shared->config;

	switch (outcome->verdict) {
	case SYNC_DONE:
		return queue_finish(conn, job, self->owner, "synced", NULL, err);
	case SYNC_SKIPPED:
		return queue_finish(conn, job, self->owner, "skipped", outcome->reason, err);
	case SYNC_PARK:
		return queue_park(conn, job, self->owner, outcome->reason, err);
	case SYNC_RETRY: {
		int64_t delay;

		if (outcome->waiting) {
			/* Waiting for the rate limit is not a failure: a backlog
			 * behind the budget must never run out of attempts. */
			return queue_defer(conn, job, self->owner,
			                   waiting_until_ms(self, conn, job, outcome),
			                   outcome->reason, err);
		}
		if (job->attempts >= config->workers_max_attempts) {
			char reason[700];

			snprintf(reason, sizeof(reason), "gave up after %d attempts: %s",
			         job->attempts, outcome->reason);
			return queue_park(conn, job, self->owner, reason, err);
		}
		delay = outcome->retry_at > 0 ? outcome->retry_at - (int64_t)time(NULL)
		                              : queue_backoff_seconds(knobs_backoff_base_seconds(),
		                                                      job->attempts, random_unit());
		if (delay < 1)
			delay = 1;
		return queue_retry_later(conn, job, self->owner, delay, outcome->reason, err);
	}
	case SYNC_PAUSE: {
		size_t index = connection_index_of(self->pool->shared, job->connection_id);
		int rc = store_connection_pause(conn, job->connection_id, outcome->reason, err);

		if (rc == CN_OK && index < config->connection_count)
			log_warn("connection_paused", "connection", config->connections[index].name,
			         "reason", outcome->reason, NULL);
		if (rc != CN_OK)
			return rc;
		return queue_release(conn, job, self->owner, outcome->reason, err);
	}
	case SYNC_LEASE_LOST:
		return CN_OK;
	}
	return CN_OK;
}

/* Tries paused connections again; a working token resumes them. One query
 * finds them, however many connections are configured. */
static void probe_paused(struct worker_thread *self, struct sync_worker *sync, PGconn *conn)
{
	const struct sync_shared *shared = self->pool->shared;
	struct cn_error err = {""};
	int64_t *paused = NULL;
	size_t count = 0;

	if (queue_paused_connections(conn, &paused, &count, &err) != CN_OK) {
		log_debug("paused_lookup_failed", "error", err.message, NULL);
		return;
	}
	for (size_t p = 0; p < count; p++) {
		const struct connection_runtime *connection =
		    runtime_find(shared->runtime, paused[p]);

		if (connection == NULL ||
		    sync_probe_connection(sync, conn, connection->index, &err) != CN_OK)
			continue;
		if (store_connection_resume(conn, paused[p], &err) == CN_OK) {
			log_info("connection_resumed", "connection", connection->config->name,
			         NULL);
			pool_wake_all(self->pool);
		}
	}
	free(paused);
}

/* Jobs one connection may hold in this process at once: with several
 * connections, all workers but one, so an order of another connection finds
 * a free worker the moment it arrives whatever a backlog holds (issue 15);
 * with one connection (or one worker), no cap. */
static int per_connection_cap(const struct worker_pool *pool)
{
	if (pool->shared->config->connection_count > 1 && pool->count > 1)
		return pool->count - 1;
	return 0;
}

/* How long an idle worker sleeps: until the next deferred job is due (to
 * the ms), at most the fallback poll; a notification ends it earlier. */
static int idle_wait_ms(struct worker_thread *self, PGconn *conn)
{
	struct cn_error err = {""};
	int64_t delay_ms = FALLBACK_POLL_MS;
	int rc =
	    queue_next_ready_ms(conn, self->owner, per_connection_cap(self->pool), &delay_ms, &err);

	if (rc != CN_OK) {
		if (rc != CN_NOT_FOUND)
			log_debug("next_job_lookup_failed", "error", err.message, NULL);
		return FALLBACK_POLL_MS;
	}
	if (delay_ms > FALLBACK_POLL_MS)
		delay_ms = FALLBACK_POLL_MS;
	if (delay_ms < IDLE_WAIT_MIN_MS)
		delay_ms = IDLE_WAIT_MIN_MS;
	return (int)delay_ms;
}

/* The budget key of each connection, for rescheduling jobs that waited for
 * it; a connection whose key cannot be made keeps "" (retry_at is used). */
static void budget_keys_init(struct worker_thread *self)
{
	const struct config *config = self->pool->shared->config;

	self->budget_keys = calloc(config->connection_count > 0 ? config->connection_count : 1,
	                           sizeof(*self->budget_keys));
	for (size_t i = 0; self->budget_keys != NULL && i < config->connection_count; i++) {
		struct cn_error err = {""};

		if (budget_token_key(config->connections[i].moneybird_api_token,
		                     self->budget_keys[i], &err) != 0)
			self->budget_keys[i][0] = '\0';
	}
}

static void *worker_main(void *arg)
{
	struct worker_thread *self = arg;
	struct worker_pool *pool = self->pool;
	struct sync_worker *sync = NULL;
	PGconn *conn = NULL;
	struct cn_error err = {""};
	int lease_seconds = knobs_lease_seconds();
	time_t next_probe = 0;

	if (sync_worker_create(pool->shared, &sync, &err) != CN_OK) {
		log_error("worker_failed", "worker", self->owner, "error", err.message, NULL);
		return NULL;
	}
	budget_keys_init(self);
	while (!pool_stopping(pool)) {
		unsigned long seen = pool_wakeups(pool);
		struct queue_job job;
		struct sync_outcome outcome;
		int rc;

		if (conn == NULL && store_connect_on_chain(pool->shared->config->database_conninfo,
		                                           store_audit_chain_of_worker(self->index),
		                                           &conn, &err) != CN_OK) {
			log_debug("worker_reconnect_failed", "error", err.message, NULL);
			pool_wait(pool, RECONNECT_WAIT_MS, seen);
			continue;
		}
		if (self->index == 0 && time(NULL) >= next_probe) {
			probe_paused(self, sync, conn);
			next_probe = time(NULL) + knobs_pause_probe_seconds();
		}
		rc = queue_claim(conn, self->owner, lease_seconds, per_connection_cap(pool), &job,
		                 &err);
		if (rc == CN_NOT_FOUND) {
			pool_wait(pool, idle_wait_ms(self, conn), seen);
			continue;
		}
		if (rc != CN_OK) {
			log_warn("claim_failed", "worker", self->owner, "error", err.message, NULL);
			if (store_conn_broken(conn)) {
				PQfinish(conn);
				conn = NULL;
			}
			pool_wait(pool, RECONNECT_WAIT_MS, seen);
			continue;
		}

		memset(&outcome, 0, sizeof(outcome));
		sync_run_job(sync, conn, &job, self->owner, &outcome);
		if (apply_outcome(self, conn, &job, &outcome, &err) != CN_OK) {
			/* The lease expires and another attempt picks the job up;
			 * the steps it recorded stay, so it costs no Moneybird call. */
			char job_id[24], order_pk[24];

			snprintf(job_id, sizeof(job_id), "%" PRId64, job.id);
			snprintf(order_pk, sizeof(order_pk), "%" PRId64, job.order_pk);
			log_warn("job_transition_failed", "worker", self->owner, "job", job_id,
			         "order_pk", order_pk, "error", err.message, NULL);
			if (store_conn_broken(conn)) {
				PQfinish(conn);
				conn = NULL;
			}
		}
	}
	if (conn != NULL && queue_release_all(conn, self->owner, &err) != CN_OK)
		log_warn("lease_release_failed", "worker", self->owner, "error", err.message, NULL);
	PQfinish(conn);
	sync_worker_free(sync);
	free(self->budget_keys);
	self->budget_keys = NULL;
	return NULL;
}

/* Tells the claim each connection's rate budget (one statement whatever
 * the number of connections). Without it the claim ignores the budgets:
 * a warning, not a reason to stop serving. */
static void register_budgets(const struct sync_shared *shared)
{
	const struct config *config = shared->config;
	size_t count = shared->runtime->count;
	struct queue_budget *budgets = calloc(count > 0 ? count : 1, sizeof(*budgets));
	char(*keys)[BUDGET_KEY_SIZE] = calloc(count > 0 ? count : 1, sizeof(*keys));
	struct cn_error err = {""};
	PGconn *conn = NULL;
	int rc = budgets != NULL && keys != NULL ? CN_OK : CN_ERR;
	size_t stored = 0;

	if (rc != CN_OK)
		error_set(&err, "out of memory");

	for (size_t i = 0; rc == CN_OK && i < count; i++) {
		const struct connection_runtime *connection = &shared->runtime->connections[i];
		struct budget_limits limits;
		struct cn_error key_err = {""};

		if (connection->id <= 0)
			continue; /* not in the database (yet): nothing to claim */
		mb_session_limits(connection->config, &limits);
		if (budget_token_key(connection->config->moneybird_api_token, keys[i], &key_err) !=
		    0)
			keys[i][0] = '\0';
		budgets[stored].connection_id = connection->id;
		budgets[stored].budget_key = keys[i];
		budgets[stored].requests = budget_allowed(&limits, BUDGET_LIVE);
		budgets[stored].window_ms = budget_window_ms(&limits);
		stored++;
	}
	if (rc == CN_OK)
		rc = store_connect(config->database_conninfo, &conn, &err);
	if (rc == CN_OK)
		rc = queue_register_budgets(conn, budgets, stored, &err);
	if (rc != CN_OK)
		log_warn("claim_budgets_not_stored", "error", err.message, NULL);
	PQfinish(conn);
	free(keys);
	free(budgets);
}

int worker_pool_start(const struct sync_shared *shared, int count, struct worker_pool **out,
                      struct cn_error *err)
{
	struct worker_pool *pool = calloc(1, sizeof(*pool));
	unsigned char random[QUEUE_OWNER_NONCE_BYTES];
	char host[64] = "localhost";
	char nonce[2 * QUEUE_OWNER_NONCE_BYTES + 1];

	*out = NULL;
	if (pool == NULL)
		goto fail;
	pool->shared = shared;
	pool->count = count;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->wake, NULL);
	register_budgets(shared);
	if (count == 0) {
		*out = pool;
		return CN_OK;
	}
	pool->threads = calloc((size_t)count, sizeof(*pool->threads));
	if (pool->threads == NULL)
		goto fail;
	(void)gethostname(host, sizeof(host) - 1);
	/* hostname:pid repeats across containers (PID 1 everywhere): without
	 * a random part two processes would share lease owners. */
	if (RAND_bytes(random, (int)sizeof(random)) != 1)
		goto fail;
	for (size_t i = 0; i < sizeof(random); i++)
		snprintf(nonce + 2 * i, sizeof(nonce) - 2 * i, "%02x", random[i]);
	if (pthread_create(&pool->listener, NULL, listener_main, pool) != 0)
		goto fail;
	pool->listener_started = true;
	for (int i = 0; i < count; i++) {
		struct worker_thread *thread = &pool->threads[i];

		thread->pool = pool;
		thread->index = i;
		queue_owner_format(thread->owner, host, (long)getpid(), nonce, i);
		if (pthread_create(&thread->thread, NULL, worker_main, thread) != 0)
			goto fail;
		thread->started = true;
	}
	*out = pool;
	return CN_OK;
fail:
	worker_pool_stop(pool);
	error_set(err, "cannot start the sync workers");
	return CN_ERR;
}

void worker_pool_stop(struct worker_pool *pool)
{
	if (pool == NULL)
		return;
	stop_flag_raise_shared(&pool->mutex, &pool->wake, &pool->stopping);
	for (int i = 0; pool->threads != NULL && i < pool->count; i++)
		if (pool->threads[i].started)
			pthread_join(pool->threads[i].thread, NULL);
	if (pool->listener_started)
		pthread_join(pool->listener, NULL);
	pthread_mutex_destroy(&pool->mutex);
	pthread_cond_destroy(&pool->wake);
	free(pool->threads);
	free(pool);
}
