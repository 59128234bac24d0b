/*
 * Wakes the workers after the intake committed new orders. The committer's
 * lanes cannot NOTIFY inside their batches: a NOTIFY holds a database-wide
 * lock from before its commit until that commit is flushed, which would make
 * the lanes commit one after another again. A ring only marks the bell; its
 * own thread sends one NOTIFY (store_ring_jobs) for every ring that came
 * while the previous one was being sent.
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
