/*
 * The Moneybird webhook subscription of a connection, kept in its row of the
 * connections table: the webhook id, the token Moneybird echoes in every
 * delivery and the signing secret (returned by Moneybird only at creation, so
 * this row is the one place it exists).
 */
#ifndef BM_STORE_WEBHOOK_H
#define BM_STORE_WEBHOOK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Stores a newly registered webhook for connection_id (replacing any other). */
int store_webhook_save(PGconn *conn, int64_t connection_id, const char *webhook_id,
                       const char *token, const char *secret, struct cn_error *err) MUST_CHECK;

/* Copies the stored webhook id ("" when none) into id (size bytes). */
int store_webhook_get(PGconn *conn, int64_t connection_id, char *id, size_t size,
                      struct cn_error *err) MUST_CHECK;

/* Forgets the webhook when it is the one stored; *cleared says whether it was. */
int store_webhook_clear(PGconn *conn, int64_t connection_id, const char *webhook_id, bool *cleared,
                        struct cn_error *err) MUST_CHECK;

#endif
