/*
 * The sync workers of one process: `workers.count` threads, each with its
 * own PostgreSQL connection, claiming jobs from the shared queue. A listener
 * thread LISTENs for new work and wakes them; a slow fallback poll and a
 * catch-up scan after every reconnect mean a lost notification only delays
 * work. Any number of processes may run against one database.
 */
#ifndef BM_WORKER_H
#define BM_WORKER_H

#include "error.h"
#include "sync.h"

struct worker_pool;

int worker_pool_start(const struct sync_shared *shared, int count, struct worker_pool **out,
                      struct cn_error *err) MUST_CHECK;

/* Stops claiming, lets each worker finish its current job, releases leases
 * and joins the threads. */
void worker_pool_stop(struct worker_pool *pool);

#endif
