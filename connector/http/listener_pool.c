#include "listener_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* One handler thread. It waits on a condition of its own, so that the pool
 * can wake the one that went idle last. */
struct pool_thread {
	struct listener_pool *pool;
	pthread_t thread;
	pthread_cond_t wake;
	bool idle;                     /* on the idle stack; guarded by the pool's mutex */
	struct pool_thread *next_idle; /* guarded by the pool's mutex */
};

/* Work goes to the thread that went idle last (a stack, not a queue): with
 * 32 clients only about 32 of the 64 threads ever run, so the others never
 * touch their stacks and the resident set stays small (issue 14), and the
 * threads that run are the ones whose stacks are still in the cache. */
struct listener_pool {
	pthread_mutex_t mutex;
	struct pool_job *head, *tail; /* guarded by mutex */
	struct pool_thread *idle;     /* the idle stack; guarded by mutex */
	bool stopping;                /* guarded by mutex */
	int count;
	struct pool_thread threads[];
};

/* Caller holds the mutex. */
static void leave_idle_stack(struct listener_pool *pool, struct pool_thread *self)
{
	struct pool_thread **link = &pool->idle;

	while (*link != NULL && *link != self)
		link = &(*link)->next_idle;
	if (*link == self)
		*link = self->next_idle;
	self->idle = false;
}

static void *pool_main(void *arg)
{
	struct pool_thread *self = arg;
	struct listener_pool *pool = self->pool;

	pthread_mutex_lock(&pool->mutex);
	for (;;) {
		struct pool_job *job;

		while (pool->head == NULL && !pool->stopping) {
			if (!self->idle) {
				self->next_idle = pool->idle;
				pool->idle = self;
				self->idle = true;
			}
			pthread_cond_wait(&self->wake, &pool->mutex);
		}
		/* Woken by a submit (which popped it), or spuriously. */
		if (self->idle)
			leave_idle_stack(pool, self);
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
	/* An answer needs little stack; 512 kB bounds what each thread can
	 * map, however many there are. */
	pthread_attr_init(&attributes);
	pthread_attr_setstacksize(&attributes, 512 * 1024);
	for (; pool->count < threads; pool->count++) {
		struct pool_thread *thread = &pool->threads[pool->count];

		thread->pool = pool;
		pthread_cond_init(&thread->wake, NULL);
		if (pthread_create(&thread->thread, &attributes, pool_main, thread) != 0) {
			pthread_cond_destroy(&thread->wake);
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
	if (pool->idle != NULL) {
		struct pool_thread *thread = pool->idle;

		pool->idle = thread->next_idle;
		thread->idle = false;
		pthread_cond_signal(&thread->wake);
	}
	pthread_mutex_unlock(&pool->mutex);
}

void listener_pool_stop(struct listener_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mutex);
	pool->stopping = true;
	for (int i = 0; i < pool->count; i++)
		pthread_cond_signal(&pool->threads[i].wake);
	pthread_mutex_unlock(&pool->mutex);
	for (int i = 0; i < pool->count; i++) {
		pthread_join(pool->threads[i].thread, NULL);
		pthread_cond_destroy(&pool->threads[i].wake);
	}
	pool->count = 0;
}

void listener_pool_free(struct listener_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_destroy(&pool->mutex);
	free(pool);
}
