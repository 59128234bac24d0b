#include "contact_events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mb_json.h"
#include "store_contact_index.h"

const char *const contact_event_names[] = {
    "contact_created",  "contact_changed",   "contact_destroyed",
    "contact_archived", "contact_activated",
};
const size_t contact_event_count = sizeof(contact_event_names) / sizeof(contact_event_names[0]);

#define DELIVERED_MAX 64 /* connections remembered; more only cost refreshes */

static pthread_mutex_t delivered_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t delivered[DELIVERED_MAX];
static size_t delivered_count;

static bool delivered_locked(int64_t connection_id)
{
	for (size_t i = 0; i < delivered_count; i++)
		if (delivered[i] == connection_id)
			return true;
	return false;
}

void contact_events_note_delivered(int64_t connection_id)
{
	pthread_mutex_lock(&delivered_lock);
	if (!delivered_locked(connection_id) && delivered_count < DELIVERED_MAX)
		delivered[delivered_count++] = connection_id;
	pthread_mutex_unlock(&delivered_lock);
}

bool contact_events_delivered(int64_t connection_id)
{
	bool found;

	pthread_mutex_lock(&delivered_lock);
	found = delivered_locked(connection_id);
	pthread_mutex_unlock(&delivered_lock);
	return found;
}

bool contact_event_is_index_action(const char *action)
{
	for (size_t i = 0; i < contact_event_count; i++)
		if (strcmp(action, contact_event_names[i]) == 0)
			return true;
	return false;
}

int contact_event_apply(PGconn *conn, const char *administration_id, const char *action,
                        const char *entity_id, const cJSON *entity, char *note, size_t note_size,
                        struct cn_error *err)
{
	struct mb_contact contact;
	struct cn_error parse_err = {""};

	if (strcmp(action, "contact_destroyed") == 0) {
		if (!mb_id_valid(entity_id)) {
			snprintf(note, note_size, "no contact id in the push");
			return CN_INVALID;
		}
		if (store_contact_index_forget(conn, administration_id, entity_id, err) != CN_OK)
			return CN_RETRYABLE;
		snprintf(note, note_size, "contact %s forgotten by the contact index", entity_id);
		return CN_OK;
	}
	if (entity == NULL || mb_json_contact(entity, &contact, &parse_err) != CN_OK ||
	    strcmp(contact.id, entity_id) != 0 || contact.version <= 0) {
		snprintf(note, note_size, "the pushed contact is incomplete (%s)",
		         parse_err.message[0] != '\0' ? parse_err.message : "no id or version");
		return CN_INVALID;
	}
	if (contact.archived) {
		/* A refresh lists no archived contact: nothing to adopt it by,
		 * but its version stays so an older push cannot bring it back. */
		contact.tax_number[0] = '\0';
		contact.si_identifier[0] = '\0';
		contact.si_identifier_type[0] = '\0';
		contact.send_invoices_to_email[0] = '\0';
	}
	if (store_contact_index_put(conn, administration_id, &contact, err) != CN_OK)
		return CN_RETRYABLE;
	snprintf(note, note_size, "contact %s version %" PRId64 " indexed%s", contact.id,
	         contact.version, contact.archived ? " (archived: no keys)" : "");
	return CN_OK;
}
