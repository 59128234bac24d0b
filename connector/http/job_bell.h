/*
 * Wakes the workers after the intake committed new orders. The committer used
 * to NOTIFY inside each batch, which holds a database-wide lock from before
 * the commit until it is flushed and signals every listening backend, once
 * per batch. A ring only marks the bell; the bell's own thread sends one
 * NOTIFY (store_ring_jobs) for all the rings that came while it sent the
 * previous one (measured: 10-15 % more acknowledgements per second).
 */
#ifndef BM_JOB_BELL_H
#define BM_JOB_BELL_H

#include "error.h"

struct job_bell;

/* Starts the bell's thread; it connects to conninfo when first rung. */
int job_bell_start(const char *conninfo, struct job_bell **out, struct cn_error *err) MUST_CHECK;

/* Sends what is rung still, stops the thread and frees everything. */
void job_bell_stop(struct job_bell *bell);

/* Asks for a NOTIFY; returns at once. */
void job_bell_ring(struct job_bell *bell);

#endif
