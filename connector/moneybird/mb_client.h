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

#define MB_ID_MAX 32    /* Moneybird ids are up to 20 digits */
#define MB_TEXT_MAX 256 /* names and other display text (longer text is cut) */
#define MB_MAX_RESPONSE_BYTES_DEFAULT (4 * 1024 * 1024)
#define MB_INVOICE_MAX_PAYMENTS 16
#define MB_SYNC_MAX_IDS 100 /* POST .../synchronization returns at most 100 */

enum mb_outcome {
	MB_OK = 0,
	MB_NOT_FOUND,       /* 404 */
	MB_VALIDATION,      /* 400/422: the request itself is wrong; message names the fields */
	MB_PERMANENT,       /* 401/402/403 (and other refusals retrying cannot fix) */
	MB_RATE_LIMITED,    /* 429, or the shared budget refused; retry_at says when */
	MB_TRANSIENT,       /* 5xx on a read, network failure before the request was sent */
	MB_UNKNOWN_OUTCOME, /* a write may have been applied: look it up before repeating */
};
#define MB_OUTCOME_COUNT 7

/* "ok", "not_found", "validation", "permanent", "rate_limited", "transient",
 * "unknown_outcome". */
const char *mb_outcome_name(enum mb_outcome outcome);

/* The project-wide status for an outcome: CN_OK, CN_NOT_FOUND, CN_INVALID
 * (validation, permanent), CN_RETRYABLE (rate limited, transient) or CN_ERR
 * (unknown outcome: the caller must reconcile, not blindly retry). */
int mb_outcome_status(enum mb_outcome outcome);

/*
 * Pure classification used by every call. http_status is 0 when no response
 * arrived; transport_failed is true when libcurl failed (timeout, reset, ...);
 * request_sent is true when any byte of the request reached the socket;
 * is_write marks calls that change state (POST create, PATCH, DELETE).
 */
enum mb_outcome mb_classify(long http_status, bool transport_failed, bool request_sent,
                            bool is_write);

/* What happened on one call; endpoint is a static template such as
 * "POST sales_invoices" or "GET contacts/customer_id/{customer_id}". */
struct mb_call {
	const char *endpoint;
	enum mb_outcome outcome;
	long http_status;    /* 0 when no response arrived */
	bool request_sent;   /* false: nothing reached Moneybird */
	bool budget_refused; /* the before_call hook said no; nothing was sent */
	int64_t retry_at;    /* epoch seconds (429 / budget), 0 when unknown */
	double seconds;      /* wall time of the HTTP exchange */
};

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

/* ---- typed results (fixed-size fields; longer display text is cut) ---- */

struct mb_administration {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	char currency[8];
	char country[8];
	char time_zone[64];
};

struct mb_contact {
	char id[MB_ID_MAX];
	char customer_id[MB_TEXT_MAX];
	char company_name[MB_TEXT_MAX];
	char firstname[MB_TEXT_MAX];
	char lastname[MB_TEXT_MAX];
	char tax_number[64];
	char si_identifier[MB_TEXT_MAX];
	char si_identifier_type[16];
	char send_invoices_to_email[MB_TEXT_MAX];
	char country[8];
	bool archived;
	int64_t version;
};

/* A contact to create; NULL or "" fields are left out of the request. */
struct mb_contact_request {
	const char *customer_id;
	const char *company_name;
	const char *firstname;
	const char *lastname;
	const char *address1;
	const char *address2;
	const char *zipcode;
	const char *city;
	const char *country; /* ISO 3166 alpha-2 */
	const char *send_invoices_to_email;
	const char *tax_number;
	const char *si_identifier;
	const char *si_identifier_type;
};

/* The field a contact search must match exactly (client-side check). */
enum mb_contact_field {
	MB_CONTACT_FIELD_CUSTOMER_ID,
	MB_CONTACT_FIELD_TAX_NUMBER, /* case and spaces ignored */
	MB_CONTACT_FIELD_SI_IDENTIFIER,
	MB_CONTACT_FIELD_EMAIL, /* send_invoices_to_email, case ignored */
	MB_CONTACT_FIELD_COMPANY_NAME,
};

struct mb_invoice_line {
	const char *description;
	int64_t price_cents;     /* unit price, sent as a decimal string */
	const char *amount;      /* quantity, e.g. "1"; NULL = "1" */
	const char *tax_rate_id; /* NULL = administration default */
	const char *ledger_account_id;
};

struct mb_invoice_request {
	const char *contact_id;
	const char *reference;
	const char *invoice_date; /* YYYY-MM-DD; NULL = set when sent */
	const char *currency;     /* NULL = workflow's */
	bool prices_are_incl_tax;
	const struct mb_invoice_line *lines;
	size_t line_count;
	const char *workflow_id;       /* optional */
	const char *document_style_id; /* optional */
};

struct mb_payment {
	char id[MB_ID_MAX];
	int64_t price_cents;
	char payment_date[16];
	char transaction_identifier[MB_TEXT_MAX];
	char manual_payment_action[32];
	char financial_account_id[MB_ID_MAX];
};

struct mb_payment_request {
	const char *payment_date; /* YYYY-MM-DD */
	int64_t price_cents;
	const char *transaction_identifier; /* optional */
	const char *manual_payment_action;  /* optional, e.g. "private_payment" */
	const char *financial_account_id;   /* optional */
};

struct mb_sales_invoice {
	char id[MB_ID_MAX];
	char contact_id[MB_ID_MAX];
	char invoice_id[64]; /* the invoice number; "" while a draft */
	char reference[MB_TEXT_MAX];
	char state[24]; /* draft, open, paid, ... */
	char currency[8];
	char invoice_date[16];
	char paid_at[32];
	bool prices_are_incl_tax;
	int64_t total_price_excl_tax_cents;
	int64_t total_price_incl_tax_cents;
	int64_t total_paid_cents;
	int64_t total_unpaid_cents;
	int64_t version;
	size_t payment_count;       /* entries filled in payments[] */
	size_t payment_count_total; /* as reported; more than payment_count when cut */
	struct mb_payment payments[MB_INVOICE_MAX_PAYMENTS];
};

struct mb_tax_rate {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	char percentage[16]; /* as sent, e.g. "21.0"; "" when null */
	char tax_rate_type[32];
	char country[8]; /* set for foreign (OSS) rates only */
	bool active;
};

struct mb_ledger_account {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	char account_type[32];
	char account_id[32]; /* the GL code */
	bool active;
};

struct mb_financial_account {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	char type[32];
	char identifier[64];
	char currency[8];
	bool active;
};

struct mb_workflow {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	char type[32]; /* InvoiceWorkflow, EstimateWorkflow */
	char currency[8];
	bool is_default;
	bool prices_are_incl_tax;
	bool active;
};

struct mb_document_style {
	char id[MB_ID_MAX];
	char name[MB_TEXT_MAX];
	bool is_default;
};

struct mb_webhook {
	char id[MB_ID_MAX];
	char url[1024];
	char enabled_events[512]; /* comma-separated */
	char token[128];
	char secret[160];      /* only returned at creation */
	long last_http_status; /* 0 = none yet */
	char deactivated_at[40];
};

struct mb_sync_entry {
	char id[MB_ID_MAX];
	int64_t version;
};

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
