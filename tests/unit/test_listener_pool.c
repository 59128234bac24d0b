/*
 * listener_pool: every job runs; jobs that wait for each other all get a
 * thread (no wake-up is lost); a stop runs what is queued and later jobs on
 * the submitter's thread; and work goes to the thread that went idle last,
 * so that one client at a time keeps using one or two threads instead of
 * touching every thread's stack in turn (issue 14: the intake's RSS).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "listener_pool.h"
#include "unit_main.h"

#define POOL_THREADS 8

/* A job that records which thread ran it and says when it is done. */
struct recorded_job {
	struct pool_job job;
	pthread_mutex_t mutex;
	pthread_cond_t done_cond;
	bool done;
	pthread_t ran_on;
};

static void record_run(struct pool_job *job)
{
	struct recorded_job *recorded = (struct recorded_job *)job;

	pthread_mutex_lock(&recorded->mutex);
	recorded->ran_on = pthread_self();
	recorded->done = true;
	pthread_cond_signal(&recorded->done_cond);
	pthread_mutex_unlock(&recorded->mutex);
}

static void sleep_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&pause, NULL);
}

static void test_one_client_uses_few_threads(void **state)
{
	struct listener_pool *pool = NULL;
	struct cn_error err = {""};
	pthread_t seen[POOL_THREADS];
	int distinct = 0;

	(void)state;
	assert_int_equal(listener_pool_start(POOL_THREADS, &pool, &err), CN_OK);
	sleep_ms(50); /* every thread idle */
	for (int i = 0; i < 40; i++) {
		struct recorded_job recorded = {.job = {.run = record_run}};
		bool known = false;

		pthread_mutex_init(&recorded.mutex, NULL);
		pthread_cond_init(&recorded.done_cond, NULL);
		listener_pool_submit(pool, &recorded.job);
		pthread_mutex_lock(&recorded.mutex);
		while (!recorded.done)
			pthread_cond_wait(&recorded.done_cond, &recorded.mutex);
		pthread_mutex_unlock(&recorded.mutex);
		for (int k = 0; k < distinct; k++)
			known = known || pthread_equal(seen[k], recorded.ran_on);
		if (!known && distinct < POOL_THREADS)
			seen[distinct++] = recorded.ran_on;
		pthread_mutex_destroy(&recorded.mutex);
		pthread_cond_destroy(&recorded.done_cond);
		sleep_ms(10); /* the thread is idle again before the next job */
	}
	/* One job at a time: the thread that just finished is the one woken (a
	 * second or third only when it was not back on the stack in time, on a
	 * loaded machine); a queue of threads would go round all eight. */
	assert_in_range(distinct, 1, 3);
	listener_pool_stop(pool);
	listener_pool_free(pool);
}

/* POOL_THREADS jobs that each wait until all of them run: every thread must
 * be woken, or they wait forever (the test then times out). A round ends
 * when the test starts the next one (gate_round), so a job of the last
 * round that has not woken yet is not caught by the next round's count. */
static pthread_mutex_t gate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_arrived;
static int gate_round;

static void wait_for_all(struct pool_job *job)
{
	int round;

	(void)job;
	pthread_mutex_lock(&gate_mutex);
	round = gate_round;
	gate_arrived++;
	pthread_cond_broadcast(&gate_cond);
	while (gate_round == round && gate_arrived < POOL_THREADS)
		pthread_cond_wait(&gate_cond, &gate_mutex);
	pthread_mutex_unlock(&gate_mutex);
}

static void test_every_thread_is_woken(void **state)
{
	struct listener_pool *pool = NULL;
	struct cn_error err = {""};
	struct pool_job jobs[POOL_THREADS];

	(void)state;
	assert_int_equal(listener_pool_start(POOL_THREADS, &pool, &err), CN_OK);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < POOL_THREADS; i++) {
			jobs[i] = (struct pool_job){.run = wait_for_all};
			listener_pool_submit(pool, &jobs[i]);
		}
		pthread_mutex_lock(&gate_mutex);
		while (gate_arrived < POOL_THREADS)
			pthread_cond_wait(&gate_cond, &gate_mutex);
		gate_round++;
		gate_arrived = 0;
		pthread_cond_broadcast(&gate_cond);
		pthread_mutex_unlock(&gate_mutex);
		if (round % 2 == 0)
			sleep_ms(5); /* sometimes from idle, sometimes while finishing */
	}
	listener_pool_stop(pool);
	listener_pool_free(pool);
}

static atomic_int counted;

static void count_run(struct pool_job *job)
{
	(void)job;
	atomic_fetch_add(&counted, 1);
}

static void *submit_many(void *arg)
{
	struct listener_pool *pool = arg;
	struct pool_job *jobs = calloc(500, sizeof(*jobs));

	for (int i = 0; i < 500; i++) {
		jobs[i].run = count_run;
		listener_pool_submit(pool, &jobs[i]);
	}
	return jobs; /* freed once the pool has run them */
}

static void test_every_job_runs_and_stop_drains(void **state)
{
	struct listener_pool *pool = NULL;
	struct cn_error err = {""};
	pthread_t submitters[4];
	void *jobs[4];
	struct pool_job late = {.run = count_run};

	(void)state;
	atomic_store(&counted, 0);
	assert_int_equal(listener_pool_start(POOL_THREADS, &pool, &err), CN_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&submitters[i], NULL, submit_many, pool), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(submitters[i], &jobs[i]);
	listener_pool_stop(pool); /* runs what is still queued */
	assert_int_equal(atomic_load(&counted), 2000);
	listener_pool_submit(pool, &late); /* stopped: runs here */
	assert_int_equal(atomic_load(&counted), 2001);
	listener_pool_free(pool);
	for (int i = 0; i < 4; i++)
		free(jobs[i]);
}

UNIT_TEST_MAIN(NULL, NULL, cmocka_unit_test(test_one_client_uses_few_threads),
               cmocka_unit_test(test_every_thread_is_woken),
               cmocka_unit_test(test_every_job_runs_and_stop_drains))
