#include "listener_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "stop_flag.h"

struct listener_pool {
	pthread_mutex_t mutex;
	pthread_cond_t work;
	struct pool_job *head, *tail; /* guarded by mutex */
	bool stopping;                /* guarded by mutex */
	int count;
	pthread_t threads[];
};

static void *pool_main(void *arg)
{
	struct listener_pool *pool = arg;

	pthread_mutex_lock(&pool->mutex);
	for (;;) {
		struct pool_job *job;

		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->work, &pool->mutex);
		if (pool->head == NULL)
			break; /* stopping, and nothing left */
		job = pool->head;
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->mutex);
		job->run(job);
		pthread_mutex_lock(&pool->mutex);
	}
	pthread_mutex_unlock(&pool->mutex);
	return NULL;
}

int listener_pool_start(int threads, struct listener_pool **out, struct cn_error *err)
{
	struct listener_pool *pool = error_calloc_start(
	    sizeof(*pool) + (size_t)threads * sizeof(pool->threads[0]), "the handler threads", err);
	pthread_attr_t attributes;

	*out = NULL;
	if (pool == NULL)
		return CN_ERR;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->work, NULL);
	/* An answer needs little stack; 512 kB bounds what each thread can
	 * map, however many there are. */
	pthread_attr_init(&attributes);
	pthread_attr_setstacksize(&attributes, 512 * 1024);
	for (; pool->count < threads; pool->count++) {
		if (pthread_create(&pool->threads[pool->count], &attributes, pool_main, pool) !=
		    0) {
			pthread_attr_destroy(&attributes);
			listener_pool_stop(pool);
			listener_pool_free(pool);
			error_set(err, "cannot start %d handler threads", threads);
			return CN_ERR;
		}
	}
	pthread_attr_destroy(&attributes);
	*out = pool;
	return CN_OK;
}

void listener_pool_submit(struct listener_pool *pool, struct pool_job *job)
{
	pthread_mutex_lock(&pool->mutex);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->mutex);
		job->run(job);
		return;
	}
	job->next = NULL;
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->mutex);
}

void listener_pool_stop(struct listener_pool *pool)
{
	if (pool == NULL)
		return;
	stop_flag_raise_shared(&pool->mutex, &pool->work, &pool->stopping);
	for (int i = 0; i < pool->count; i++)
		pthread_join(pool->threads[i], NULL);
	pool->count = 0;
}

void listener_pool_free(struct listener_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_destroy(&pool->mutex);
	pthread_cond_destroy(&pool->work);
	free(pool);
}
