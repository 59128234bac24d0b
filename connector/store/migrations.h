/*
 * Schema migrations. The numbered files in migrations/ are compiled into the
 * binary; `migrate` applies the pending ones in order under an advisory lock
 * (safe from several hosts at once), one transaction per file, and records
 * each with its SHA-256 in schema_migrations. `serve` checks the recorded
 * list against the embedded one and refuses a stale, newer or edited schema.
 */
#ifndef BM_MIGRATIONS_H
#define BM_MIGRATIONS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "error.h"

struct migration {
	int version;
	const char *name; /* file name, e.g. "0001_initial.sql" */
	const char *sql;
	size_t sql_len;
};

extern const struct migration migrations_embedded[];
extern const size_t migrations_embedded_count;

/* Applies pending migrations; *applied_out counts those applied now. */
int migrations_apply(PGconn *conn, int *applied_out, struct cn_error *err) MUST_CHECK;

/* 0 when the database holds exactly the embedded migrations; CN_INVALID with
 * a sentence naming the fix otherwise; CN_RETRYABLE when unreachable. */
int migrations_check(PGconn *conn, struct cn_error *err) MUST_CHECK;

#endif
