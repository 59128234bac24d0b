/*
 * Finding a contact a person made by hand in Moneybird without a search per
 * order: a local index of the administration's contacts (store_contact_index)
 * kept current through contacts/synchronization and, when Moneybird's
 * webhook is registered, through its contact pushes (contact_events.c). A
 * refresh costs one GET (ids and versions of every contact) plus one POST
 * per 100 contacts that are new or changed since the last refresh; the
 * contacts the connector creates are indexed from the create's answer, so
 * they never cost a POST.
 *
 * Before a new buyer's contact is created, the index must hold every
 * contact made before the buyer's order arrived: it is refreshed when its
 * last refresh was asked for before that moment (or is older than
 * CONTACT_INDEX_MAX_AGE_SECONDS). One refresh covers
 * every order that arrived before it started, so a backlog costs one GET,
 * and an order arriving alone costs at most one; returning buyers cost none.
 */
#ifndef BM_CONTACT_INDEX_H
#define BM_CONTACT_INDEX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mb_client.h"
#include "plan.h"

/* A refresh is also due when the last one is this old, for an order that
 * arrived before it (a retry much later still sees what changed since). */
#define CONTACT_INDEX_MAX_AGE_SECONDS 300

/* Refreshes administration_id's index unless its last refresh was asked
 * for at or after complete_since_ms (epoch ms) and is younger than
 * max_age_seconds. MB_OK when fresh enough; otherwise the failed call's
 * outcome (err says why), or MB_TRANSIENT on a database failure. */
enum mb_outcome contact_index_refresh(struct mb_client *client, PGconn *conn,
                                      const char *administration_id, int64_t complete_since_ms,
                                      int max_age_seconds, struct cn_error *err) MUST_CHECK;

/* Whether contact_index_refresh would refresh (see there). */
int contact_index_refresh_due(PGconn *conn, const char *administration_id,
                              int64_t complete_since_ms, int max_age_seconds, bool *due,
                              struct cn_error *err) MUST_CHECK;

/* This host's clock in epoch milliseconds (the clock orders are stamped with). */
int64_t contact_index_now_ms(void);

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
