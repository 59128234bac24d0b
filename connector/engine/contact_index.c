#include "contact_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_contact_index.h"

static int by_id(const void *a, const void *b)
{
	const struct mb_sync_entry *x = a, *y = b;
	size_t lx = strlen(x->id), ly = strlen(y->id);

	/* digits: the shorter id is the smaller number */
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->id, y->id);
}

/* The ids whose listed version is newer than the indexed one (or unknown);
 * sorts stored. */
static size_t changed_ids(const struct mb_sync_entry *listed, size_t listed_count,
                          struct mb_sync_entry *stored, size_t stored_count, const char **out)
{
	size_t n = 0;

	if (stored_count > 1)
		qsort(stored, stored_count, sizeof(*stored), by_id);
	for (size_t i = 0; i < listed_count; i++) {
		const struct mb_sync_entry *known =
		    stored_count > 0
		        ? bsearch(&listed[i], stored, stored_count, sizeof(*stored), by_id)
		        : NULL;

		if (known == NULL || known->version < listed[i].version)
			out[n++] = listed[i].id;
	}
	return n;
}

/* Fetches the changed contacts in batches of MB_SYNC_MAX_IDS and indexes them. */
static enum mb_outcome fetch_changed(struct mb_client *client, PGconn *conn,
                                     const char *administration_id, const char **ids, size_t count,
                                     struct cn_error *err)
{
	for (size_t at = 0; at < count; at += MB_SYNC_MAX_IDS) {
		size_t batch = count - at < MB_SYNC_MAX_IDS ? count - at : MB_SYNC_MAX_IDS;
		struct mb_contact *contacts = NULL;
		size_t got = 0;
		enum mb_outcome outcome =
		    mb_contact_sync_fetch(client, ids + at, batch, &contacts, &got, err);

		if (outcome != MB_OK)
			return outcome;
		for (size_t i = 0; i < got; i++) {
			if (store_contact_index_put(conn, administration_id, &contacts[i], err) !=
			    CN_OK) {
				free(contacts);
				return MB_TRANSIENT;
			}
		}
		free(contacts);
	}
	return MB_OK;
}

/* One full pass: list, fetch what changed, drop what is gone, stamp. */
static enum mb_outcome refresh_now(struct mb_client *client, PGconn *conn,
                                   const char *administration_id, struct cn_error *err)
{
	struct mb_sync_entry *listed = NULL, *stored = NULL;
	size_t listed_count = 0, stored_count = 0, changed = 0;
	const char **ids = NULL;
	int64_t started_ms = contact_index_now_ms();
	enum mb_outcome outcome = mb_contact_sync_list(client, &listed, &listed_count, err);

	if (outcome != MB_OK)
		return outcome;
	outcome = MB_TRANSIENT;
	if (store_contact_index_versions(conn, administration_id, &stored, &stored_count, err) !=
	    CN_OK)
		goto out;
	if (listed_count > 0 && (ids = calloc(listed_count, sizeof(*ids))) == NULL) {
		error_set(err, "out of memory refreshing the contact index");
		goto out;
	}
	changed = changed_ids(listed, listed_count, stored, stored_count, ids);
	outcome = fetch_changed(client, conn, administration_id, ids, changed, err);
	if (outcome != MB_OK)
		goto out;
	outcome = MB_TRANSIENT;
	if (store_contact_index_retain(conn, administration_id, listed, listed_count, err) !=
	        CN_OK ||
	    store_contact_index_refreshed(conn, administration_id, started_ms, err) != CN_OK)
		goto out;
	outcome = MB_OK;
out:
	free(ids);
	free(listed);
	free(stored);
	return outcome;
}

int64_t contact_index_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int contact_index_refresh_due(PGconn *conn, const char *administration_id,
                              int64_t complete_since_ms, int max_age_seconds, bool *due,
                              struct cn_error *err)
{
	int64_t refreshed_ms = -1;

	if (store_contact_index_refreshed_ms(conn, administration_id, &refreshed_ms, err) != CN_OK)
		return CN_RETRYABLE;
	*due = refreshed_ms < 0 || refreshed_ms < complete_since_ms ||
	       contact_index_now_ms() - refreshed_ms >= (int64_t)max_age_seconds * 1000;
	return CN_OK;
}

enum mb_outcome contact_index_refresh(struct mb_client *client, PGconn *conn,
                                      const char *administration_id, int64_t complete_since_ms,
                                      int max_age_seconds, struct cn_error *err)
{
	enum mb_outcome outcome = MB_OK;
	bool due = false;

	if (contact_index_refresh_due(conn, administration_id, complete_since_ms, max_age_seconds,
	                              &due, err) != CN_OK)
		return MB_TRANSIENT;
	if (!due)
		return MB_OK;
	/* One refresh at a time; whoever waited may find that the one it
	 * waited for covers it too (it started after this order arrived). */
	if (store_contact_index_lock(conn, administration_id, err) != CN_OK)
		return MB_TRANSIENT;
	if (contact_index_refresh_due(conn, administration_id, complete_since_ms, max_age_seconds,
	                              &due, err) != CN_OK)
		outcome = MB_TRANSIENT;
	else if (due)
		outcome = refresh_now(client, conn, administration_id, err);
	store_contact_index_unlock(conn, administration_id);
	return outcome;
}

void contact_index_note(PGconn *conn, const char *administration_id,
                        const struct mb_contact *contact)
{
	struct cn_error err = {""};

	if (store_contact_index_put(conn, administration_id, contact, &err) != CN_OK)
		log_warn("contact_index_failed", "error", err.message, NULL);
}

int contact_index_match(PGconn *conn, const char *administration_id,
                        const struct plan_contact *plan, bool search_existing,
                        struct contact_index_match *out, struct cn_error *err)
{
	const struct mb_contact_request *req = &plan->request;
	char peppol[2 * MB_TEXT_MAX] = "";
	char ids[2][MB_ID_MAX];
	struct {
		enum store_contact_key key;
		const char *value;
		enum mb_contact_field field;
		const char *field_name;
	} keys[3] = {
	    {STORE_CONTACT_KEY_TAX, req->tax_number, MB_CONTACT_FIELD_TAX_NUMBER, "VAT number"},
	    {STORE_CONTACT_KEY_PEPPOL, peppol, MB_CONTACT_FIELD_SI_IDENTIFIER, "Peppol id"},
	    {STORE_CONTACT_KEY_EMAIL, req->send_invoices_to_email, MB_CONTACT_FIELD_EMAIL,
	     "email address"},
	};

	memset(out, 0, sizeof(*out));
	/* The connector's own key first: a contact that holds it is the buyer's
	 * (made by an earlier create whose answer was lost, or by hand). */
	if (store_contact_index_find(conn, administration_id, STORE_CONTACT_KEY_CUSTOMER_ID,
	                             plan->customer_id, ids, &out->matches, err) != CN_OK)
		return CN_RETRYABLE;
	if (out->matches > 0) {
		out->matches = 1;
		out->by_customer_id = true;
		snprintf(out->contact_id, sizeof(out->contact_id), "%s", ids[0]);
		return CN_OK;
	}
	if (!search_existing)
		return CN_OK;
	if (req->si_identifier != NULL && req->si_identifier[0] != '\0' &&
	    req->si_identifier_type != NULL && req->si_identifier_type[0] != '\0')
		snprintf(peppol, sizeof(peppol), "%s:%s", req->si_identifier_type,
		         req->si_identifier);
	for (size_t i = 0; i < 3; i++) {
		if (keys[i].value == NULL || keys[i].value[0] == '\0')
			continue;
		if (store_contact_index_find(conn, administration_id, keys[i].key, keys[i].value,
		                             ids, &out->matches, err) != CN_OK)
			return CN_RETRYABLE;
		/* The first key the buyer has decides, as one search did: a
		 * company's VAT number is never overruled by a shared address. */
		if (out->matches == 0)
			return CN_OK;
		out->search.query = keys[i].value;
		out->search.field = keys[i].field;
		out->search.field_name = keys[i].field_name;
		snprintf(out->contact_id, sizeof(out->contact_id), "%s", ids[0]);
		return CN_OK;
	}
	return CN_OK;
}
