/*
 * Finding a contact a person made by hand in Moneybird without a search per
 * order: a local index of the administration's contacts (store_contact_index)
 * kept current through contacts/synchronization. A refresh costs one GET (ids
 * and versions of every contact) plus one POST per 100 contacts that are new
 * or changed since the last refresh; the contacts the connector creates are
 * indexed from the create's answer, so they never cost a POST. The index is
 * refreshed before a contact is created when it is older than
 * knobs_contact_index_max_age_seconds() (default 300): at most one GET per
 * that interval while new buyers arrive, none while only returning buyers do.
 * A hand-made contact is adopted when it existed that long before its buyer's
 * first order (or any time the index was refreshed after it was made).
 */
#ifndef BM_CONTACT_INDEX_H
#define BM_CONTACT_INDEX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mb_client.h"
#include "plan.h"

/* Refreshes administration_id's index when it is older than max_age_seconds
 * (or was never made). MB_OK when fresh enough; otherwise the failed call's
 * outcome (err says why), or MB_TRANSIENT on a database failure. */
enum mb_outcome contact_index_refresh(struct mb_client *client, PGconn *conn,
                                      const char *administration_id, int max_age_seconds,
                                      struct cn_error *err) MUST_CHECK;

/* Records a contact the connector created or adopted (failures only cost a
 * POST at the next refresh). */
void contact_index_note(PGconn *conn, const char *administration_id,
                        const struct mb_contact *contact);

/* What the index says of a buyer. */
struct contact_index_match {
	size_t matches;                    /* 0: none; 1: contact_id; >1: ambiguous */
	char contact_id[MB_ID_MAX];        /* when matches == 1 */
	bool by_customer_id;               /* it holds the derived customer_id */
	struct plan_contact_search search; /* the key that matched, for sentences */
};

/* Looks the buyer up: by the derived customer_id, then by VAT number,
 * Peppol id and email address in that order, where the first of them the
 * buyer has decides (none of these when the mapping turned
 * contacts.search_existing off). */
int contact_index_match(PGconn *conn, const char *administration_id,
                        const struct plan_contact *plan, bool search_existing,
                        struct contact_index_match *out, struct cn_error *err) MUST_CHECK;

#endif
