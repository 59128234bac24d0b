/*
 * The local index of an administration's Moneybird contacts (migration
 * 0015): contact id and version, and the keys a hand-made contact is
 * recognised by (VAT number, Peppol id, email addresses), normalised in SQL
 * the same way on write and on lookup.
 */
#ifndef BM_STORE_CONTACT_INDEX_H
#define BM_STORE_CONTACT_INDEX_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mb_types.h"

/* Which key a lookup compares. */
enum store_contact_key {
	STORE_CONTACT_KEY_CUSTOMER_ID, /* exact */
	STORE_CONTACT_KEY_TAX,
	STORE_CONTACT_KEY_PEPPOL, /* "scheme:identifier" */
	STORE_CONTACT_KEY_EMAIL,
};

/* When the listing of the index's last complete refresh was asked for, in
 * epoch milliseconds; -1 when never. */
int store_contact_index_refreshed_ms(PGconn *conn, const char *administration_id,
                                     int64_t *refreshed_ms, struct cn_error *err) MUST_CHECK;
/* Records a complete refresh whose listing was asked for at started_ms
 * (epoch milliseconds, this host's clock, like an order's received_at). */
int store_contact_index_refreshed(PGconn *conn, const char *administration_id, int64_t started_ms,
                                  struct cn_error *err) MUST_CHECK;
/* When order_pk was first received, in epoch milliseconds. */
int store_contact_index_order_received_ms(PGconn *conn, int64_t order_pk, int64_t *received_ms,
                                          struct cn_error *err) MUST_CHECK;

/* The stored id and version of every indexed contact (*out: free()). */
int store_contact_index_versions(PGconn *conn, const char *administration_id,
                                 struct mb_sync_entry **out, size_t *count,
                                 struct cn_error *err) MUST_CHECK;
/* Adds or replaces one contact (an older version never replaces a newer). */
int store_contact_index_put(PGconn *conn, const char *administration_id,
                            const struct mb_contact *contact, struct cn_error *err) MUST_CHECK;
/* Forgets a contact deleted in Moneybird: a row with no keys and the
 * largest version, so no late push of it brings it back (a complete
 * refresh drops the row, since the listing no longer has the id). */
int store_contact_index_forget(PGconn *conn, const char *administration_id, const char *contact_id,
                               struct cn_error *err) MUST_CHECK;
/* Drops every contact of the administration not among ids (archived or
 * deleted in Moneybird since). */
int store_contact_index_retain(PGconn *conn, const char *administration_id,
                               const struct mb_sync_entry *entries, size_t count,
                               struct cn_error *err) MUST_CHECK;
/* Up to 2 contact ids whose key equals value (after normalising);
 * *matches is the total number found. */
int store_contact_index_find(PGconn *conn, const char *administration_id,
                             enum store_contact_key key, const char *value, char ids[2][MB_ID_MAX],
                             size_t *matches, struct cn_error *err) MUST_CHECK;

/* Contact pushes of connection_id stored but not applied yet. */
int store_contact_index_pending_pushes(PGconn *conn, int64_t connection_id, int64_t *count,
                                       struct cn_error *err) MUST_CHECK;

/* Serialises refreshes of one administration's index across workers and
 * hosts (a session lock; never inside a transaction). */
int store_contact_index_lock(PGconn *conn, const char *administration_id,
                             struct cn_error *err) MUST_CHECK;
void store_contact_index_unlock(PGconn *conn, const char *administration_id);

#endif
