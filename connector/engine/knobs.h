/*
 * The engine's knobs for tests and unusual deployments, read from the
 * environment in this one place (knobs.c) so the sync engine and the
 * workers share them without including each other.
 */
#ifndef BM_KNOBS_H
#define BM_KNOBS_H

/* The lease a worker holds a job under; BOOKTO_MONEYBIRD_LEASE_SECONDS
 * overrides the default (120 s) for tests and unusual deployments. */
int knobs_lease_seconds(void);

/* The first retry delay of the backoff; BOOKTO_MONEYBIRD_BACKOFF_BASE_SECONDS
 * (1..3600) overrides the default (10 s), so tests that provoke retries do
 * not wait long. */
int knobs_backoff_base_seconds(void);

/* How long a worker may wait in-process for a slot of the shared rate
 * budget before a call (the budget gate's max_wait_ms) instead of deferring
 * the job: BOOKTO_MONEYBIRD_BUDGET_WAIT_MS (0..60000, 0 = always defer), by
 * default 5000; never more than a quarter of the lease, so a write renewed
 * just before its call still goes out well inside the lease. */
int knobs_budget_wait_ms(void);

/* For tests only: how long a worker sleeps right before it commits an
 * invoice intent, to play a worker frozen past its lease;
 * BOOKTO_MONEYBIRD_TEST_STALL_BEFORE_INTENT_MS (1..600000), by default 0. */
int knobs_test_stall_before_intent_ms(void);

/* How often a paused connection (401) is probed;
 * BOOKTO_MONEYBIRD_PAUSE_PROBE_SECONDS (1..86400) overrides the default (30 s). */
int knobs_pause_probe_seconds(void);

/* How old the contact index may be before a contact is created (see
 * contact_index.h); BOOKTO_MONEYBIRD_CONTACT_INDEX_MAX_AGE_SECONDS (1..86400)
 * overrides the default (300 s). */
int knobs_contact_index_max_age_seconds(void);

#endif
