/* Contacts: lookups, search, create and synchronization. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_transport.h"

PARSER_ADAPTER(parse_sync_entry, struct mb_sync_entry, mb_json_sync_entry)
PARSER_ADAPTER(parse_contact, struct mb_contact, mb_json_contact)

enum mb_outcome mb_contact_get_by_customer_id(struct mb_client *client, const char *customer_id,
                                              struct mb_contact *out, struct cn_error *err)
{
	static const char endpoint[] = "GET contacts/customer_id/{customer_id}";
	struct request req = {endpoint, "contact", "GET", NULL, false, NULL, NULL, false};
	char path[128];

	if (!mb_id_valid(customer_id))
		return mb_transport_refuse_locally(
		    client, endpoint, err,
		    "contact: customer_id for a lookup must be 1 to 20 digits");
	snprintf(path, sizeof(path), "contacts/customer_id/%s", customer_id);
	req.path = path;
	return mb_transport_fetch_one(client, &req, parse_contact, out, err);
}

enum mb_outcome mb_contact_get(struct mb_client *client, const char *id, struct mb_contact *out,
                               struct cn_error *err)
{
	static const char endpoint[] = "GET contacts/{id}";
	struct request req = {endpoint, "contact", "GET", NULL, false, "include_archived=true",
	                      NULL,     false};
	char path[128];

	if (!mb_id_valid(id))
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "contact: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "contacts/%s", id);
	req.path = path;
	return mb_transport_fetch_one(client, &req, parse_contact, out, err);
}

enum mb_outcome mb_contact_search(struct mb_client *client, const char *query,
                                  enum mb_contact_field which, bool include_archived,
                                  struct mb_contact *out, size_t *matches, struct cn_error *err)
{
	static const char endpoint[] = "GET contacts?query";
	struct request req = {endpoint, "contact", "GET", "contacts", false, NULL, NULL, false};
	enum mb_outcome outcome = MB_NOT_FOUND;
	char *escaped = NULL;
	char query_string[QUERY_MAX];
	cJSON *root = NULL;
	size_t found = 0;
	int page;

	if (matches != NULL)
		*matches = 0;
	if (query == NULL || query[0] == '\0' || strlen(query) > 512)
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "contact: the search text is empty or too long");
	escaped = mb_transport_escape(client, query);
	if (escaped == NULL) {
		outcome = mb_transport_refuse_locally(client, endpoint, err,
		                                      "contact: could not encode the search text");
		goto out;
	}
	/* Three pages: an exact key rarely hides behind 300 fuzzier hits. */
	for (page = 1; page <= 3; page++) {
		const cJSON *contact;

		snprintf(query_string, sizeof(query_string), "query=%s%s&page=%d&per_page=%d",
		         escaped, include_archived ? "&include_archived=true" : "", page, PER_PAGE);
		req.query = query_string;
		outcome = mb_transport_perform(client, &req, &root, err);
		if (outcome != MB_OK)
			goto out;
		if (!cJSON_IsArray(root)) {
			error_set(err, "not a list");
			outcome = mb_transport_bad_shape(client, &req, err);
			goto out;
		}
		cJSON_ArrayForEach(contact, root)
		{
			if (!mb_json_contact_matches(contact, which, query))
				continue;
			if (found == 0 && mb_json_contact(contact, out, err) != 0) {
				outcome = mb_transport_bad_shape(client, &req, err);
				goto out;
			}
			found++;
		}
		cJSON_Delete(root);
		root = NULL;
		if (!client->seen.link_next)
			break;
	}
	outcome = found > 0 ? MB_OK : MB_NOT_FOUND;
	if (found == 0)
		error_set(err, "contact: no contact matches %s exactly", query);
	if (matches != NULL)
		*matches = found;
out:
	cJSON_Delete(root);
	curl_free(escaped);
	return outcome;
}

enum mb_outcome mb_contact_create(struct mb_client *client, const struct mb_contact_request *req,
                                  struct mb_contact *out, struct cn_error *err)
{
	struct request r = {"POST contacts", "contact", "POST", "contacts",
	                    false,           NULL,      NULL,   true};

	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = r.endpoint;
	if (req->customer_id != NULL && req->customer_id[0] != '\0' &&
	    !mb_id_valid(req->customer_id))
		return mb_transport_refuse_locally(
		    client, r.endpoint, err,
		    "contact: customer_id must be 1 to 20 digits so it can be looked up");
	return mb_transport_write_one(client, &r, mb_json_contact_body(req, err), parse_contact,
	                              out, err);
}

enum mb_outcome mb_contact_sync_list(struct mb_client *client, struct mb_sync_entry **out,
                                     size_t *count, struct cn_error *err)
{
	struct request req = {"GET contacts/synchronization",
	                      "contact",
	                      "GET",
	                      "contacts/synchronization",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	*out = NULL;
	*count = 0;
	return mb_transport_fetch_list(client, &req, NULL, false, parse_sync_entry, sizeof(**out),
	                               (void **)out, count, err);
}

enum mb_outcome mb_contact_sync_fetch(struct mb_client *client, const char *const *ids,
                                      size_t id_count, struct mb_contact **out, size_t *count,
                                      struct cn_error *err)
{
	static const char endpoint[] = "POST contacts/synchronization";
	/* A read that happens to be a POST: repeating it is harmless. */
	struct request req = {endpoint, "contact", "POST", "contacts/synchronization",
	                      false,    NULL,      NULL,   false};

	return mb_transport_sync_fetch(client, &req, ids, id_count, parse_contact, sizeof(**out),
	                               (void **)out, count, err);
}
