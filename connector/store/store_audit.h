/*
 * The SQL of checking the audit log: its heads (the newest row's id and hash
 * of each chain, for the operator to keep outside the database) and its
 * rows read one page at a time, so that checking a log of any length takes
 * small statements and constant memory.
 *
 * The log holds up to STORE_AUDIT_CHAIN_COUNT hash chains (migration 0018): each
 * row links to the previous row of its own chain. Across chains a lower id
 * may commit after a higher one, so a walk reads every page in one snapshot
 * (store_audit_walk_begin): in it, each chain is a whole prefix of itself.
 */
#ifndef BM_STORE_AUDIT_H
#define BM_STORE_AUDIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store_audit_chain.h"

/* Hex of a SHA-256 (64) or of the genesis hash "00", NUL-terminated. */
#define STORE_AUDIT_HASH_HEX 65

/* The newest row of one chain. */
struct store_audit_head {
	int chain;
	int64_t id;
	char hash[STORE_AUDIT_HASH_HEX];
};

/* The newest row of every non-empty chain, in chain order, into out
 * (STORE_AUDIT_CHAIN_COUNT entries); *count says how many (0: the log is empty). */
int store_audit_heads(PGconn *conn, struct store_audit_head *out, int *count,
                      struct cn_error *err) MUST_CHECK;

/* One audit row as the chain check sees it. */
struct store_audit_link {
	int64_t id;
	int chain; /* as stored: the walk refuses one outside 0..STORE_AUDIT_CHAIN_COUNT-1 */
	int digest_version;
	char prev_hash[STORE_AUDIT_HASH_HEX];
	char row_hash[STORE_AUDIT_HASH_HEX];
	bool digest_ok; /* row_hash follows from the row's content and prev_hash */
};

#define STORE_AUDIT_PAGE 5000

/* Opens the read-only snapshot that every page of one walk reads; end it with
 * store_rollback. */
int store_audit_walk_begin(PGconn *conn, struct cn_error *err) MUST_CHECK;

/* Up to STORE_AUDIT_PAGE rows with an id above after_id, in id order, into
 * out (STORE_AUDIT_PAGE entries); *count says how many. */
int store_audit_page(PGconn *conn, int64_t after_id, struct store_audit_link *out, int *count,
                     struct cn_error *err) MUST_CHECK;

#endif
