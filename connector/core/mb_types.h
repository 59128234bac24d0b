/*
 * Moneybird's wire types: the requests the connector sends and the typed
 * results it reads back (fixed-size fields; ids stay strings, money is int64
 * cents), the outcome of a call and what one call did. Pure data shared by
 * the core (plan, Moneybird JSON), metrics and the HTTP client, so the lower
 * layers need not include the client.
 */
#ifndef BM_MB_TYPES_H
#define BM_MB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
