/*
 * Moneybird's contact pushes applied to the contact index (contact_index.h):
 * contact_created, contact_changed, contact_activated and contact_archived
 * carry the contact as the API renders it, which is indexed when its version
 * is not older than the indexed one (an archived contact keeps only its
 * customer_id, as a refresh would not list it); contact_destroyed forgets the
 * contact for good. The push is verified (signature and token) before it is
 * stored, so its entity is trusted as of its version. Pushes arriving early,
 * late, out of order or twice leave the index as the newest version says.
 */
#ifndef BM_CONTACT_EVENTS_H
#define BM_CONTACT_EVENTS_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The contact events the connector subscribes its webhook to. */
extern const char *const contact_event_names[];
extern const size_t contact_event_count;

/* True for an action contact_event_apply handles. */
bool contact_event_is_index_action(const char *action);

/* Applies one push about contact entity_id (entity: the pushed contact, or
 * NULL) to administration_id's index; note (note_size bytes) says what
 * happened. CN_OK, CN_INVALID (the push cannot be applied: note says why) or
 * a database failure. */
int contact_event_apply(PGconn *conn, const char *administration_id, const char *action,
                        const char *entity_id, const cJSON *entity, char *note, size_t note_size,
                        struct cn_error *err) MUST_CHECK;

/* Records that a contact push of connection_id was applied in this process:
 * its webhook is subscribed to the contact events and delivers them. */
void contact_events_note_delivered(int64_t connection_id);
/* Whether this process has applied a contact push of connection_id. */
bool contact_events_delivered(int64_t connection_id);

#endif
