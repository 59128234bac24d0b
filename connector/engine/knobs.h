/*
 * The engine's knobs for the test suite: the config's test-only `testing`
 * group (config.example.cfg), set once at start by knobs_init, before any
 * thread, so the sync engine and the workers share them without including
 * each other. Before knobs_init they hold the config table's defaults.
 */
#ifndef BM_KNOBS_H
#define BM_KNOBS_H

#include "config.h"

/* Takes the loaded config's `testing` group; call before starting threads. */
void knobs_init(const struct config_testing *testing);

/* The lease a worker holds a job under (testing.lease_seconds, 120 s). */
int knobs_lease_seconds(void);

/* The first retry delay of the backoff (testing.backoff_base_seconds, 10 s),
 * so tests that provoke retries do not wait long. */
int knobs_backoff_base_seconds(void);

/* How long a worker may wait in-process for a slot of the shared rate
 * budget before a call (the budget gate's max_wait_ms) instead of deferring
 * the job: testing.budget_wait_ms (0 = always defer), by default 5000; never
 * more than a quarter of the lease, so a write renewed just before its call
 * still goes out well inside the lease. */
int knobs_budget_wait_ms(void);

/* How long a worker sleeps right before it commits an invoice intent, to
 * play a worker frozen past its lease (testing.stall_before_intent_ms, 0). */
int knobs_test_stall_before_intent_ms(void);

/* How often a paused connection (401) is probed (testing.pause_probe_seconds, 30 s). */
int knobs_pause_probe_seconds(void);

#endif
