/*
 * The Moneybird REST API v2 client. One struct mb_client belongs to one thread
 * and reuses one libcurl easy handle (so connections and TLS sessions are kept)
 * with connect and total timeouts, a stall detector, NOSIGNAL and a capped
 * response buffer. Every operation returns an enum mb_outcome that tells the
 * caller what it may do next; the one that matters most is MB_UNKNOWN_OUTCOME:
 * a write may have been applied, so the caller must look the object up before
 * creating it again. Ids stay strings end to end, money is int64 cents sent as
 * decimal strings. Details of the last call (HTTP status, retry time) are in
 * mb_client_last_call(); hooks let the shared rate budget gate every request
 * and let metrics count outcomes per endpoint.
 */
#ifndef BM_MB_CLIENT_H
#define BM_MB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mb_types.h"

/*
 * Pure classification used by every call. http_status is 0 when no response
 * arrived; transport_failed is true when libcurl failed (timeout, reset, ...);
 * request_sent is true when any byte of the request reached the socket;
 * is_write marks calls that change state (POST create, PATCH, DELETE).
 */
enum mb_outcome mb_classify(long http_status, bool transport_failed, bool request_sent,
                            bool is_write);

struct mb_client_hooks {
	/* Called before every request. Return 0 to go ahead; CN_RETRYABLE with
	 * *retry_at (epoch seconds) to refuse (the call returns MB_RATE_LIMITED
	 * without sending anything); any other error makes it MB_TRANSIENT. */
	int (*before_call)(void *ctx, const char *endpoint, int64_t *retry_at,
	                   struct cn_error *err);
	/* Called after every call, sent or not (metrics, budget pause on 429). */
	void (*after_call)(void *ctx, const struct mb_call *call);
	void *ctx;
};

struct mb_client_options {
	const char *base_url;          /* e.g. https://moneybird.com/api/v2 */
	const char *administration_id; /* digits */
	const char *api_token;         /* copied; wiped on free */
	long connect_timeout_ms;       /* 0 = 5000 */
	long timeout_ms;               /* total per request; 0 = 30000 */
	long stall_seconds;            /* abort when < 1 byte/s for this long; 0 = 15 */
	size_t max_response_bytes;     /* 0 = MB_MAX_RESPONSE_BYTES_DEFAULT */
	struct mb_client_hooks hooks;
};

struct mb_client;

/* libcurl's process-wide setup: call once from main before any thread starts
 * (mb_client_global_cleanup at exit). */
int mb_client_global_init(struct cn_error *err) MUST_CHECK;
void mb_client_global_cleanup(void);

/* Creates a client; *out is owned by the caller (mb_client_free). Options'
 * strings are copied. Only http(s) URLs are accepted. */
int mb_client_create(const struct mb_client_options *options, struct mb_client **out,
                     struct cn_error *err) MUST_CHECK;
void mb_client_free(struct mb_client *client);

/* The last call made through this client (valid until the next call). */
const struct mb_call *mb_client_last_call(const struct mb_client *client);

/*
 * Operations. Each returns MB_OK on success and fills *out; otherwise err
 * holds one sentence. Lists set *out to a malloc'd array of *count items
 * (NULL when empty) that the caller frees with free().
 */

/* GET administrations (no administration id in the path). */
enum mb_outcome mb_administrations_list(struct mb_client *client, struct mb_administration **out,
                                        size_t *count, struct cn_error *err) MUST_CHECK;

/* GET contacts/customer_id/{customer_id}; customer_id must be digits. */
enum mb_outcome mb_contact_get_by_customer_id(struct mb_client *client, const char *customer_id,
                                              struct mb_contact *out,
                                              struct cn_error *err) MUST_CHECK;
/* GET contacts/{id}?include_archived=true */
enum mb_outcome mb_contact_get(struct mb_client *client, const char *id, struct mb_contact *out,
                               struct cn_error *err) MUST_CHECK;
/* GET contacts?query=...; MB_OK with the first contact whose `field` equals
 * query exactly, MB_NOT_FOUND when none does. *matches (may be NULL) gets the
 * number of exact matches seen. */
enum mb_outcome mb_contact_search(struct mb_client *client, const char *query,
                                  enum mb_contact_field field, bool include_archived,
                                  struct mb_contact *out, size_t *matches,
                                  struct cn_error *err) MUST_CHECK;
/* POST contacts */
enum mb_outcome mb_contact_create(struct mb_client *client, const struct mb_contact_request *req,
                                  struct mb_contact *out, struct cn_error *err) MUST_CHECK;

/* POST sales_invoices (the result is a draft). */
enum mb_outcome mb_sales_invoice_create(struct mb_client *client,
                                        const struct mb_invoice_request *req,
                                        struct mb_sales_invoice *out,
                                        struct cn_error *err) MUST_CHECK;
/* GET sales_invoices/{id} */
enum mb_outcome mb_sales_invoice_get(struct mb_client *client, const char *id,
                                     struct mb_sales_invoice *out, struct cn_error *err) MUST_CHECK;
/* GET sales_invoices/find_by_reference/{reference} */
enum mb_outcome mb_sales_invoice_find_by_reference(struct mb_client *client, const char *reference,
                                                   struct mb_sales_invoice *out,
                                                   struct cn_error *err) MUST_CHECK;
/* GET sales_invoices?filter=... (all pages, at most 1000 invoices). Filter
 * values are the caller's, e.g. "state:draft,reference:R-1". */
enum mb_outcome mb_sales_invoice_list(struct mb_client *client, const char *filter,
                                      struct mb_sales_invoice **out, size_t *count,
                                      struct cn_error *err) MUST_CHECK;
/*
 * Pure: whether value can stand as one value in Moneybird's filter syntax
 * (`key:value` terms joined by `,`, several values joined by `|`). The
 * syntax has no escape, so a value holding `,`, `|` or `:` would be read
 * as other terms or values; such a value must not go into a filter.
 */
bool mb_filter_value_safe(const char *value);
/*
 * The draft invoices whose reference is exactly reference (*out owned by
 * the caller, free()). A reference that is safe in a filter is asked for
 * with state:draft,reference:<it>; any other (e.g. "A,B:1|x") is found by
 * listing every draft (state:draft, all pages) and comparing the reference
 * here, byte for byte. MB_VALIDATION when there are more drafts than one
 * listing returns (1000): the answer would be a guess.
 */
enum mb_outcome mb_sales_invoice_drafts_by_reference(struct mb_client *client,
                                                     const char *reference,
                                                     struct mb_sales_invoice **out, size_t *count,
                                                     struct cn_error *err) MUST_CHECK;
/* PATCH sales_invoices/{id}/send_invoice with delivery_method Email, Peppol
 * or Manual (Manual only marks it sent). *out is the invoice afterwards. */
enum mb_outcome mb_sales_invoice_send(struct mb_client *client, const char *id,
                                      const char *delivery_method, struct mb_sales_invoice *out,
                                      struct cn_error *err) MUST_CHECK;
/* POST sales_invoices/{id}/payments */
enum mb_outcome mb_payment_create(struct mb_client *client, const char *invoice_id,
                                  const struct mb_payment_request *req, struct mb_payment *out,
                                  struct cn_error *err) MUST_CHECK;

/* GET sales_invoices/synchronization?filter=... (ids and versions). */
enum mb_outcome mb_sales_invoice_sync_list(struct mb_client *client, const char *filter,
                                           struct mb_sync_entry **out, size_t *count,
                                           struct cn_error *err) MUST_CHECK;
/* POST sales_invoices/synchronization with at most MB_SYNC_MAX_IDS ids. */
enum mb_outcome mb_sales_invoice_sync_fetch(struct mb_client *client, const char *const *ids,
                                            size_t id_count, struct mb_sales_invoice **out,
                                            size_t *count, struct cn_error *err) MUST_CHECK;

/* GET contacts/synchronization: every (unarchived) contact's id and version. */
enum mb_outcome mb_contact_sync_list(struct mb_client *client, struct mb_sync_entry **out,
                                     size_t *count, struct cn_error *err) MUST_CHECK;
/* POST contacts/synchronization with at most MB_SYNC_MAX_IDS ids. */
enum mb_outcome mb_contact_sync_fetch(struct mb_client *client, const char *const *ids,
                                      size_t id_count, struct mb_contact **out, size_t *count,
                                      struct cn_error *err) MUST_CHECK;

/* Reference data (all pages). */
enum mb_outcome mb_tax_rates_list(struct mb_client *client, struct mb_tax_rate **out, size_t *count,
                                  struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_ledger_accounts_list(struct mb_client *client, struct mb_ledger_account **out,
                                        size_t *count, struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_financial_accounts_list(struct mb_client *client,
                                           struct mb_financial_account **out, size_t *count,
                                           struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_workflows_list(struct mb_client *client, struct mb_workflow **out, size_t *count,
                                  struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_document_styles_list(struct mb_client *client, struct mb_document_style **out,
                                        size_t *count, struct cn_error *err) MUST_CHECK;

/* Webhooks: POST (no wrapper, enabled_events), GET list, DELETE. */
enum mb_outcome mb_webhook_create(struct mb_client *client, const char *url,
                                  const char *const *events, size_t event_count,
                                  struct mb_webhook *out, struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_webhooks_list(struct mb_client *client, struct mb_webhook **out, size_t *count,
                                 struct cn_error *err) MUST_CHECK;
enum mb_outcome mb_webhook_delete(struct mb_client *client, const char *id,
                                  struct cn_error *err) MUST_CHECK;

#endif
