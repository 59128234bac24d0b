/*
 * Every PostgreSQL advisory-lock key of the connector, in one place. The keys
 * are text because they are pasted into SQL. All hosts must use the same
 * numbers, so they never change.
 *
 * The applied migrations cannot carry a comment naming these constants: the
 * runner refuses a database whose recorded migration checksum differs from
 * the embedded file (migrations.c), so an edited migration would stop every
 * upgraded installation. Their uses are listed here instead.
 */
#ifndef BM_STORE_LOCKS_H
#define BM_STORE_LOCKS_H

/* Session lock held while migrations are applied (migrations.c). */
#define STORE_LOCK_MIGRATIONS "7262818451"

/* Transaction lock that serialises appends to the audit log's hash chain,
 * taken only in SQL: audit_log_chain() in migrations/0001_initial.sql and
 * 0010_evidence.sql, intake_store_batch() in 0006_fast_intake.sql and
 * 0007_orders_lock_order.sql (which take it before the orders row). */
#define STORE_LOCK_AUDIT_CHAIN "7262818452"

/* Seed of the per-buyer contact lock: hashtextextended(administration || '/'
 * || match_ref, seed), one 64-bit key per buyer per administration
 * (store_sync.c). */
#define STORE_LOCK_CONTACT_SEED "7262818453"

/* Base of the per-connection reconciliation lock: base + connection id
 * (store_reconcile.c). */
#define STORE_LOCK_RECONCILE_BASE "7262818454000"

/* Seed of the per-administration contact index refresh lock:
 * hashtextextended(administration, seed) (store_contact_index.c). */
#define STORE_LOCK_CONTACT_INDEX_SEED "7262818455"

#endif
