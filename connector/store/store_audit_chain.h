/*
 * Which audit chain a connection appends to (migration 0018). Each chain has
 * its own lock, held from a transaction's first audit row (or first change
 * of an order) until its commit is flushed; writers on different chains
 * commit side by side and share WAL flushes, writers on one chain take turns.
 * serve gives each of its writing lanes a chain of its own; anything else
 * (the command line, the console's pool, psql) writes to chain 0.
 *
 * Two serve processes (two hosts) use the same numbers: their lanes then
 * share chains, which is correct, only slower.
 */
#ifndef BM_STORE_AUDIT_CHAIN_H
#define BM_STORE_AUDIT_CHAIN_H

#include <libpq-fe.h>

#include "error.h"

enum {
	STORE_AUDIT_CHAIN_DEFAULT = 0,
	STORE_AUDIT_CHAIN_INTAKE = 1, /* the committer */
	STORE_AUDIT_CHAIN_MB_EVENTS = 2,
	STORE_AUDIT_CHAIN_RECONCILE = 3,
	STORE_AUDIT_CHAIN_WORKERS_FIRST = 4, /* workers share 4..15 round-robin */
	STORE_AUDIT_CHAIN_COUNT = 16, /* chains 0..15: the column's CHECK in migration 0018 */
};

/* The chain of worker number index (from 0). */
int store_audit_chain_of_worker(int index);

/* store_connect, then names the connection's chain for its whole session. */
int store_connect_on_chain(const char *conninfo, int chain, PGconn **out,
                           struct cn_error *err) MUST_CHECK;

#endif
