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
	/* The signature headers as received, so that a drain can verify the
	 * file again rather than trust whatever lies in the folder. */
	char timestamp_header[32];
	char signature_header[80];
	unsigned char *body; /* owned */
	size_t body_len;
};

/*
 * Makes sure dir is a folder only this user can write to: created (0700)
 * when missing; CN_INVALID with a sentence naming the fix (chmod or chown)
 * when it is writable by group or others, owned by another user, or not a
 * folder. A spool anyone could write to would let them add deliveries.
 */
int spool_check_dir(const char *dir, struct cn_error *err) MUST_CHECK;

/* Writes one entry durably into dir (created if missing). */
int spool_write(const char *dir, const struct spool_entry *entry, struct cn_error *err) MUST_CHECK;

/*
 * Called for each spooled entry, oldest first. Return 0 when the entry is
 * safely stored (the file is then removed); CN_RETRYABLE to stop draining
 * (the database is unreachable again); CN_INVALID to set the file aside into
 * dir/rejected/ (it must never be stored: unsigned, tampered, unknown
 * connection; err says why); CN_ERR when this entry failed but the database
 * answered (the file stays for the next drain, and the drain goes on).
 */
typedef int (*spool_store_fn)(void *arg, const struct spool_entry *entry, struct cn_error *err);

/*
 * Drains dir. One file never stops the drain: a file that cannot be read or
 * parsed, or that the callback refuses, is moved to dir/rejected/ with a warn
 * log line naming it and the reason; only CN_RETRYABLE stops it.
 * *drained_out counts entries stored, *set_aside_out files moved aside.
 */
int spool_drain(const char *dir, spool_store_fn store, void *arg, size_t *drained_out,
                size_t *set_aside_out, struct cn_error *err) MUST_CHECK;

/* Number of entries waiting (0 when dir does not exist). */
size_t spool_count(const char *dir);

/* Number of files set aside in dir/rejected/ (0 when there is none). */
size_t spool_rejected_count(const char *dir);

#endif
