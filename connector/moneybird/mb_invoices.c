/* Sales invoices and their payments, and their synchronization. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_transport.h"

#define INVOICE_PATH_MAX 128

PARSER_ADAPTER(parse_sales_invoice, struct mb_sales_invoice, mb_json_sales_invoice)
PARSER_ADAPTER(parse_sync_entry, struct mb_sync_entry, mb_json_sync_entry)
PARSER_ADAPTER(parse_payment, struct mb_payment, mb_json_payment)

/* The path of one invoice ("sales_invoices/ID" + tail); false, with the call
 * refused locally as `refusal`, when id is not a Moneybird id. */
static bool invoice_path(struct mb_client *client, const char *endpoint, const char *id,
                         const char *tail, const char *refusal, char path[INVOICE_PATH_MAX],
                         struct cn_error *err)
{
	if (!mb_id_valid(id)) {
		mb_transport_refuse_locally(client, endpoint, err, refusal);
		return false;
	}
	snprintf(path, INVOICE_PATH_MAX, "sales_invoices/%s%s", id, tail);
	return true;
}

/* The query "filter=<filter escaped>" of a sales invoice listing into
 * query (QUERY_MAX); false, with the call refused locally, when it does not
 * fit. */
static bool filter_query(struct mb_client *client, const char *endpoint, const char *filter,
                         char query[QUERY_MAX], struct cn_error *err)
{
	char *escaped = mb_transport_escape(client, filter);
	bool fits = escaped != NULL && strlen(escaped) + 8 < QUERY_MAX;

	if (fits)
		snprintf(query, QUERY_MAX, "filter=%s", escaped);
	else
		mb_transport_refuse_locally(client, endpoint, err,
		                            "sales_invoice: the filter is too long");
	curl_free(escaped);
	return fits;
}

/* A write under one invoice (its sending, a payment) with body (freed here
 * too when the id is refused). */
static enum mb_outcome invoice_write(struct mb_client *client, struct request *req, const char *id,
                                     const char *tail, const char *refusal, char *body,
                                     item_parser parse, void *out, struct cn_error *err)
{
	char path[INVOICE_PATH_MAX];

	if (!invoice_path(client, req->endpoint, id, tail, refusal, path, err)) {
		cJSON_free(body);
		return MB_VALIDATION;
	}
	req->path = path;
	return mb_transport_write_one(client, req, body, parse, out, err);
}

enum mb_outcome mb_sales_invoice_create(struct mb_client *client,
                                        const struct mb_invoice_request *req,
                                        struct mb_sales_invoice *out, struct cn_error *err)
{
	struct request r = {"POST sales_invoices",
	                    "sales_invoice",
	                    "POST",
	                    "sales_invoices",
	                    false,
	                    NULL,
	                    NULL,
	                    true};

	return mb_transport_write_one(client, &r, mb_json_invoice_body(req, err),
	                              parse_sales_invoice, out, err);
}

enum mb_outcome mb_sales_invoice_get(struct mb_client *client, const char *id,
                                     struct mb_sales_invoice *out, struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/{id}";
	struct request req = {endpoint, "sales_invoice", "GET", NULL, false, NULL, NULL, false};
	char path[INVOICE_PATH_MAX];

	if (!invoice_path(client, endpoint, id, "", "sales_invoice: the id is not a Moneybird id",
	                  path, err))
		return MB_VALIDATION;
	req.path = path;
	return mb_transport_fetch_one(client, &req, parse_sales_invoice, out, err);
}

enum mb_outcome mb_sales_invoice_find_by_reference(struct mb_client *client, const char *reference,
                                                   struct mb_sales_invoice *out,
                                                   struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/find_by_reference/{reference}";
	struct request req = {endpoint, "sales_invoice", "GET", NULL, false, NULL, NULL, false};
	enum mb_outcome outcome;
	char *escaped;
	char path[1024];
	int written;

	if (reference == NULL || reference[0] == '\0')
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "sales_invoice: the reference is empty");
	escaped = mb_transport_escape(client, reference);
	if (escaped == NULL)
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "sales_invoice: could not encode the reference");
	written = snprintf(path, sizeof(path), "sales_invoices/find_by_reference/%s", escaped);
	curl_free(escaped);
	if (written < 0 || (size_t)written >= sizeof(path))
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "sales_invoice: the reference is too long");
	req.path = path;
	outcome = mb_transport_fetch_one(client, &req, parse_sales_invoice, out, err);
	return outcome;
}

enum mb_outcome mb_sales_invoice_list(struct mb_client *client, const char *filter,
                                      struct mb_sales_invoice **out, size_t *count,
                                      struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices?filter";
	struct request req = {endpoint, "sales_invoice", "GET", "sales_invoices", false, NULL, NULL,
	                      false};
	enum mb_outcome outcome;
	char base_query[QUERY_MAX];

	*out = NULL;
	*count = 0;
	if (filter != NULL && filter[0] != '\0' &&
	    !filter_query(client, endpoint, filter, base_query, err))
		return MB_VALIDATION;
	outcome = mb_transport_fetch_list(
	    client, &req, filter != NULL && filter[0] != '\0' ? base_query : NULL, true,
	    parse_sales_invoice, sizeof(**out), (void **)out, count, err);
	return outcome;
}

bool mb_filter_value_safe(const char *value)
{
	return value != NULL && value[0] != '\0' && strpbrk(value, ",|:") == NULL;
}

enum mb_outcome mb_sales_invoice_drafts_by_reference(struct mb_client *client,
                                                     const char *reference,
                                                     struct mb_sales_invoice **out, size_t *count,
                                                     struct cn_error *err)
{
	bool safe = mb_filter_value_safe(reference);
	char filter[1100];
	enum mb_outcome outcome;
	size_t kept = 0;
	int written;

	*out = NULL;
	*count = 0;
	if (reference == NULL || reference[0] == '\0')
		return mb_transport_refuse_locally(client, "GET sales_invoices?filter", err,
		                                   "sales_invoice: the reference is empty");
	/* Any filter replaces the default period, so drafts of any date count. */
	if (safe)
		written = snprintf(filter, sizeof(filter), "state:draft,reference:%s", reference);
	else
		written = snprintf(filter, sizeof(filter), "state:draft");
	if (written < 0 || (size_t)written >= sizeof(filter))
		return mb_transport_refuse_locally(client, "GET sales_invoices?filter", err,
		                                   "sales_invoice: the reference is too long");
	outcome = mb_sales_invoice_list(client, filter, out, count, err);
	if (outcome != MB_OK)
		return outcome;
	if (!safe && client->seen.link_next) {
		free(*out);
		*out = NULL;
		*count = 0;
		return mb_transport_refuse_locally(
		    client, "GET sales_invoices?filter", err,
		    "sales_invoice: more than 1000 draft invoices; a reference with "
		    "`,`, `|` or `:` cannot be searched among them");
	}
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*out)[i].reference, reference) == 0)
			(*out)[kept++] = (*out)[i];
	*count = kept;
	return MB_OK;
}

enum mb_outcome mb_sales_invoice_send(struct mb_client *client, const char *id,
                                      const char *delivery_method, struct mb_sales_invoice *out,
                                      struct cn_error *err)
{
	static const char endpoint[] = "PATCH sales_invoices/{id}/send_invoice";
	struct request req = {endpoint, "sales_invoice_sending", "PATCH", NULL, false, NULL, NULL,
	                      true};

	return invoice_write(
	    client, &req, id, "/send_invoice", "sales_invoice: the id is not a Moneybird id",
	    mb_json_send_body(delivery_method, err), parse_sales_invoice, out, err);
}

enum mb_outcome mb_payment_create(struct mb_client *client, const char *invoice_id,
                                  const struct mb_payment_request *payment, struct mb_payment *out,
                                  struct cn_error *err)
{
	static const char endpoint[] = "POST sales_invoices/{id}/payments";
	struct request req = {endpoint, "payment", "POST", NULL, false, NULL, NULL, true};

	return invoice_write(client, &req, invoice_id, "/payments",
	                     "payment: the invoice id is not a Moneybird id",
	                     mb_json_payment_body(payment, err), parse_payment, out, err);
}

enum mb_outcome mb_sales_invoice_sync_list(struct mb_client *client, const char *filter,
                                           struct mb_sync_entry **out, size_t *count,
                                           struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/synchronization";
	struct request req = {
	    endpoint, "sales_invoice", "GET", "sales_invoices/synchronization", false, NULL, NULL,
	    false};
	char base_query[QUERY_MAX];

	*out = NULL;
	*count = 0;
	if (filter == NULL || filter[0] == '\0')
		return mb_transport_fetch_list(client, &req, NULL, false, parse_sync_entry,
		                               sizeof(**out), (void **)out, count, err);
	if (!filter_query(client, endpoint, filter, base_query, err))
		return MB_VALIDATION;
	return mb_transport_fetch_list(client, &req, base_query, false, parse_sync_entry,
	                               sizeof(**out), (void **)out, count, err);
}

enum mb_outcome mb_sales_invoice_sync_fetch(struct mb_client *client, const char *const *ids,
                                            size_t id_count, struct mb_sales_invoice **out,
                                            size_t *count, struct cn_error *err)
{
	static const char endpoint[] = "POST sales_invoices/synchronization";
	/* A read that happens to be a POST: repeating it is harmless. */
	struct request req = {
	    endpoint, "sales_invoice", "POST", "sales_invoices/synchronization", false, NULL, NULL,
	    false};

	return mb_transport_sync_fetch(client, &req, ids, id_count, parse_sales_invoice,
	                               sizeof(**out), (void **)out, count, err);
}
