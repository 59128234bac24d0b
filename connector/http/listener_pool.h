/*
 * The handler threads of a listener: a fixed number of threads running the
 * answers that may block (a commit, a database query) in the order they
 * came, so that the event threads never wait and the number of threads
 * does not grow with the number of clients. A job wakes the thread that
 * went idle last, so the threads that are not needed never touch their
 * stacks (the resident set stays small).
 */
#ifndef BM_LISTENER_POOL_H
#define BM_LISTENER_POOL_H

#include "error.h"

struct listener_pool;

/* One piece of work; embedded in its owner, who must keep it alive until
 * run has been called. */
struct pool_job {
	void (*run)(struct pool_job *job);
	struct pool_job *next;
};

int listener_pool_start(int threads, struct listener_pool **out, struct cn_error *err) MUST_CHECK;

/* Queues job; once the pool is stopping, runs it on the caller's thread. */
void listener_pool_submit(struct listener_pool *pool, struct pool_job *job);

/* Runs every queued job and stops the threads; later jobs run on the
 * submitter's thread. */
void listener_pool_stop(struct listener_pool *pool);

/* Frees a stopped pool. */
void listener_pool_free(struct listener_pool *pool);

#endif
