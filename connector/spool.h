/*
 * The local spool: while PostgreSQL is unreachable, each verified delivery is
 * written to its own file (temp file, fsync, rename, fsync of the folder), so
 * a 200 "spooled" is as durable as a commit. A drain moves the files into
 * PostgreSQL through the intake's storing path (deduplicated by delivery key)
 * and removes each file only after its transaction committed.
 */
#ifndef BM_SPOOL_H
#define BM_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct spool_entry {
	char connection_name[64];
	char delivery_key[64];
	char source[16];
	int64_t received_at_ms;
	int64_t signature_timestamp;
	unsigned char *body; /* owned */
	size_t body_len;
};

/* Writes one entry durably into dir (created if missing). */
int spool_write(const char *dir, const struct spool_entry *entry, struct cn_error *err) MUST_CHECK;

/*
 * Called for each spooled entry, oldest first. Return 0 when the entry is
 * safely stored (the file is then removed), CN_RETRYABLE to stop draining
 * (the database went away again), or CN_INVALID to move the file aside into
 * dir/rejected/ (it can never be stored; kept for a person).
 */
typedef int (*spool_store_fn)(void *arg, const struct spool_entry *entry);

/* Drains dir; *drained_out counts entries stored. */
int spool_drain(const char *dir, spool_store_fn store, void *arg, size_t *drained_out,
		struct cn_error *err) MUST_CHECK;

/* Number of entries waiting (0 when dir does not exist). */
size_t spool_count(const char *dir);

#endif
