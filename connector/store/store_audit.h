/*
 * The SQL of checking the audit log: its head (the newest row's id and hash,
 * for the operator to keep outside the database) and its hash chain read one
 * page at a time, so that checking a log of any length takes small
 * statements and constant memory.
 */
#ifndef BM_STORE_AUDIT_H
#define BM_STORE_AUDIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Hex of a SHA-256 (64) or of the genesis hash "00", NUL-terminated. */
#define STORE_AUDIT_HASH_HEX 65

/* The newest row: *id 0 and hash "00" (the genesis hash) when the log is
 * empty. */
int store_audit_head(PGconn *conn, int64_t *id, char hash[STORE_AUDIT_HASH_HEX],
                     struct cn_error *err) MUST_CHECK;

/* One audit row as the chain check sees it. */
struct store_audit_link {
	int64_t id;
	int digest_version;
	char prev_hash[STORE_AUDIT_HASH_HEX];
	char row_hash[STORE_AUDIT_HASH_HEX];
	bool digest_ok; /* row_hash follows from the row's content and prev_hash */
};

#define STORE_AUDIT_PAGE 5000

/* Up to STORE_AUDIT_PAGE rows with an id above after_id, in id order, into
 * out (STORE_AUDIT_PAGE entries); *count says how many. */
int store_audit_page(PGconn *conn, int64_t after_id, struct store_audit_link *out, int *count,
                     struct cn_error *err) MUST_CHECK;

#endif
