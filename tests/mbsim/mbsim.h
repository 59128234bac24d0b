/*
 * mbsim: an in-memory stand-in for the Moneybird REST API v2, used by the
 * integration tests and the README demo because the real service cannot be
 * reached from CI. It keeps contacts, sales invoices, payments and webhook
 * subscriptions in memory, validates requests as strictly as Moneybird's
 * published spec allows (so a wrong client fails here, not in production),
 * enforces a sliding-window rate limit, injects faults on demand and sends
 * signed webhook deliveries back. State is guarded by one mutex; entities are
 * kept as cJSON objects in their response shape, internal bookkeeping keys
 * start with '_' and are stripped before anything is sent.
 */
#ifndef MBSIM_H
#define MBSIM_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBSIM_MUST_CHECK __attribute__((warn_unused_result))

/* Hard caps on anything that grows from outside input. */
#define MBSIM_MAX_BODY_BYTES (1024 * 1024)
#define MBSIM_MAX_DELIVERIES 10000
#define MBSIM_MAX_MATCH 128
#define MBSIM_MAX_WEBHOOK_RETRIES 10
#define MBSIM_MAX_SINK 1000
#define MBSIM_MAX_REQUEST_LOG 2000 /* write requests kept for GET /_sim/requests */

struct mbsim_options {
	unsigned port;
	const char *port_file;
	const char *token;
	const char *administration_id;
	unsigned rate_requests;
	unsigned rate_seconds;
	uint64_t seed;
	bool seed_given;
	unsigned webhook_retry_seconds;
};

/* One armed fault that applies to requests whose route name matches. */
struct mbsim_fault_rule {
	char match[MBSIM_MAX_MATCH]; /* "" = not armed; "*" = any API request */
	unsigned status;
	long count; /* remaining applications; < 0 = unlimited */
};

struct mbsim_faults {
	double error_rate;
	unsigned latency_ms;
	struct mbsim_fault_rule apply_then_drop;
	struct mbsim_fault_rule apply_then_status;
	struct mbsim_fault_rule force_status;
	bool duplicate_webhooks;
	bool peppol_registered;
	char locked_until[11];         /* "" or YYYY-MM-DD */
	char rate_limit_body[8];       /* "" (alternate), "json" or "html" */
	bool find_by_reference_drafts; /* let find_by_reference return drafts */
	unsigned sink_statuses[16];    /* answers of /_sim/sink, used in order, then 200 */
	size_t sink_status_count;
	size_t sink_status_next;
};

/* A queued webhook push; retried until 200 or MBSIM_MAX_WEBHOOK_RETRIES. */
struct mbsim_delivery {
	char webhook_id[24];
	char event[64];
	char entity_id[24];
	char idempotency_key[40];
	char *url;
	char *secret;
	char *body;
	unsigned attempts;
	int last_http_status; /* 0 = no answer */
	int64_t next_at_ms;
	int state; /* 0 pending, 1 in flight, 2 delivered, 3 failed */
	bool duplicate;
};

struct mbsim {
	struct mbsim_options opt;
	unsigned bound_port;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* signals the webhook thread */
	bool stopping;

	/* Everything below is guarded by lock. */
	uint64_t rng;
	uint64_t next_id;
	unsigned next_customer_id;
	unsigned next_draft_id;
	unsigned next_invoice_number;
	unsigned rate_limited_count;
	cJSON *contacts;  /* array of contact objects */
	cJSON *invoices;  /* array of sales invoice objects (without "contact") */
	cJSON *webhooks;  /* array of webhook objects; "_secret" kept inside */
	cJSON *tax_rates; /* seeded reference data, never reset */
	cJSON *ledger_accounts;
	cJSON *financial_accounts;
	cJSON *workflows;
	cJSON *document_styles;
	cJSON *request_counts; /* object: route name -> count */
	cJSON *sink;           /* requests received by /_sim/sink (a test receiver) */
	cJSON *request_log;    /* API write requests, oldest first (GET /_sim/requests) */
	size_t request_log_count;
	unsigned long request_log_seq; /* seq of the last logged request */
	unsigned long request_total;
	struct mbsim_faults faults;
	struct mbsim_delivery *deliveries;
	size_t delivery_count;

	/* Sliding window of admitted request times (monotonic ms). */
	int64_t *rate_log;
	size_t rate_head;
	size_t rate_len;
	unsigned long rate_429_count;
};

/* A response under construction; body is owned (malloc) or NULL. */
struct mbsim_response {
	unsigned status;
	char *body;
	const char *content_type;
	char retry_after[24];
	char ratelimit_limit[24];
	char ratelimit_reset[24];
	char location[256];
	char link[1024];
	char signature[256];      /* /_sim/sink raw replay only */
	char idempotency_key[64]; /* /_sim/sink raw replay only */
	bool drop_connection;
};

/* A parsed API request as handed to an endpoint handler. */
struct mbsim_request {
	const char *method;
	const char *route;  /* e.g. "POST sales_invoices/:id/payments" */
	const char *param1; /* first path parameter or NULL */
	const char *param2; /* second path parameter or NULL */
	const char *body;   /* raw body, NUL-terminated, may be "" */
	size_t body_len;
	void *connection;         /* struct MHD_Connection *, for query lookups */
	const char *host;         /* "127.0.0.1:PORT", for Link headers */
	const char *path;         /* request path without query */
	int webhook_check_status; /* POST webhooks: the URL's answer to the check */
};

/* ---- util (mbsim_util.c) ---- */
int64_t mbsim_now_ms(void);       /* monotonic */
int64_t mbsim_wall_seconds(void); /* UTC epoch */
void mbsim_iso_now(char out[32]); /* 2026-08-21T13:48:42.191Z */
void mbsim_today(char out[11]);   /* administration-local date */
uint64_t mbsim_random(struct mbsim *sim);
void mbsim_new_id(struct mbsim *sim, char out[24]);
void mbsim_random_alnum(struct mbsim *sim, char *out, size_t len);
void mbsim_random_hex(struct mbsim *sim, char *out, size_t hex_len);
int mbsim_parse_money(const cJSON *item, int64_t *cents) MBSIM_MUST_CHECK;
int mbsim_parse_money_str(const char *s, int64_t *cents) MBSIM_MUST_CHECK;
int mbsim_parse_decimal_micro(const cJSON *item, int64_t *micro) MBSIM_MUST_CHECK;
void mbsim_format_money(int64_t cents, char out[32]);
int64_t mbsim_round_div(int64_t numerator, int64_t denominator);
bool mbsim_valid_date(const char *s);
int mbsim_date_to_days(const char *s, long *days) MBSIM_MUST_CHECK;
void mbsim_days_to_date(long days, char out[11]);
bool mbsim_is_digits(const char *s);
bool mbsim_is_true(const char *s);
const char *mbsim_str(const cJSON *obj, const char *key); /* "" when absent/not a string */
void mbsim_set_str(cJSON *obj, const char *key, const char *value);
void mbsim_set_null(cJSON *obj, const char *key);
/* The first object of array whose string member key equals value, or NULL. */
cJSON *mbsim_find_by(const cJSON *array, const char *key, const char *value);
cJSON *mbsim_find_by_id(const cJSON *array, const char *id);
/* A synchronization listing's entry: {"id": ..., "version": ...} of obj. */
cJSON *mbsim_sync_entry(const cJSON *obj);
cJSON *mbsim_public_copy(const cJSON *obj); /* deep copy without "_" keys */
char *mbsim_print(const cJSON *json);       /* unformatted, caller frees */

/* Error bodies in Moneybird's two documented shapes. */
void mbsim_err_symbolic(struct mbsim_response *r, unsigned status, const char *message,
                        const char *field, const char *code);
void mbsim_err_plain(struct mbsim_response *r, unsigned status, const char *message);
/* 422 {"error":{field:[message]},"details":{field:[{"error":code}]}} */
void mbsim_err_validation(struct mbsim_response *r, const char *field, const char *message,
                          const char *code);
/* Builds up a multi-field validation error. */
cJSON *mbsim_validation_new(void);
void mbsim_validation_add(cJSON *v, const char *field, const char *message, const char *code);
bool mbsim_validation_empty(const cJSON *v);
void mbsim_validation_respond(struct mbsim_response *r, cJSON *v);               /* takes v */
void mbsim_respond_json(struct mbsim_response *r, unsigned status, cJSON *json); /* takes json */
/* 400 for keys of obj not in allowed (NULL-terminated); wrapper "" = top level. */
bool mbsim_reject_unknown(struct mbsim_response *r, const cJSON *obj, const char *wrapper,
                          const char *const *allowed);
/* The object under `wrapper` in a request body; NULL, answered, when it is not
 * an object (400 `required`) or when the body or it has a key not allowed. */
const cJSON *mbsim_wrapped(struct mbsim_response *r, const cJSON *body, const char *wrapper,
                           const char *required, const char *const *top_allowed,
                           const char *const *allowed);
/* True, answered 404, when obj sets custom fields (the simulated
 * administration has none). */
bool mbsim_reject_custom_fields(struct mbsim_response *r, const cJSON *obj);
/* OBJ gets each of NAMES (NULL-ended) as a null member, in order: an entity's
 * empty defaults. */
void mbsim_add_nulls(cJSON *obj, const char *const *names);

/* ---- store (mbsim_store.c) ---- */
void mbsim_store_seed(struct mbsim *sim);
void mbsim_store_reset(struct mbsim *sim);
void mbsim_store_free(struct mbsim *sim);
void mbsim_touch(struct mbsim *sim, cJSON *entity);
void mbsim_add_event(cJSON *entity, const char *action);
cJSON *mbsim_render_invoice(struct mbsim *sim, const cJSON *invoice);
cJSON *mbsim_render_contact(const cJSON *contact);
/* A contact's text fields: each a string, stored as given, "" by default. */
extern const char *const mbsim_contact_string_fields[];
enum mbsim_state_change { MBSIM_UNCHANGED, MBSIM_BECAME_PAID, MBSIM_BECAME_OPEN };
int mbsim_recompute_invoice(struct mbsim *sim, cJSON *invoice) MBSIM_MUST_CHECK;
enum mbsim_state_change mbsim_refresh_payment_state(cJSON *invoice);
void mbsim_emit_invoice(struct mbsim *sim, const cJSON *invoice, const char *event);
void mbsim_emit_state_change(struct mbsim *sim, const cJSON *invoice,
                             enum mbsim_state_change change);
cJSON *mbsim_contact_build(struct mbsim *sim, const cJSON *input, cJSON *errors);
cJSON *mbsim_contact_new(struct mbsim *sim, const cJSON *input, struct mbsim_response *resp);
cJSON *mbsim_contact_by_customer_id(const cJSON *contacts, const char *customer_id);
bool mbsim_date_locked(const struct mbsim *sim, const char *date);
cJSON *mbsim_register_payment(struct mbsim *sim, cJSON *invoice, int64_t cents, int64_t base_cents,
                              const char *date, const char *transaction_id, const char *action,
                              const char *financial_account_id);

/* ---- API handlers (mbsim_api.c, mbsim_api_invoices.c) ---- */
/* An API handler's type: its declarations below name it, the routing table holds
 * pointers to it. */
typedef void mbsim_handler_fn(struct mbsim *sim, const struct mbsim_request *req,
                              struct mbsim_response *resp);
typedef mbsim_handler_fn *mbsim_handler;
mbsim_handler_fn mbsim_api_administrations;
mbsim_handler_fn mbsim_api_reference;
mbsim_handler_fn mbsim_api_contacts_list;
mbsim_handler_fn mbsim_api_contacts_get;
mbsim_handler_fn mbsim_api_contacts_by_customer_id;
mbsim_handler_fn mbsim_api_contacts_create;
mbsim_handler_fn mbsim_api_contacts_sync_get;
mbsim_handler_fn mbsim_api_contacts_sync_post;
mbsim_handler_fn mbsim_api_invoices_list;
mbsim_handler_fn mbsim_api_invoices_get;
mbsim_handler_fn mbsim_api_invoices_by_reference;
mbsim_handler_fn mbsim_api_invoices_create;
mbsim_handler_fn mbsim_api_invoices_delete;
mbsim_handler_fn mbsim_api_invoices_send;
mbsim_handler_fn mbsim_api_payments_create;
mbsim_handler_fn mbsim_api_payments_delete;
mbsim_handler_fn mbsim_api_invoices_sync_get;
mbsim_handler_fn mbsim_api_invoices_sync_post;
mbsim_handler_fn mbsim_api_webhooks_list;
mbsim_handler_fn mbsim_api_webhooks_create;
mbsim_handler_fn mbsim_api_webhooks_delete;

/* Parses the request body as a JSON object; answers 400 and returns NULL if not. */
cJSON *mbsim_parse_body(const struct mbsim_request *req, struct mbsim_response *resp,
                        bool empty_ok);
const char *mbsim_query(const struct mbsim_request *req, const char *key);
/* Applies page/per_page to array (taken); answers 400 on bad values. */
void mbsim_respond_page(const struct mbsim_request *req, struct mbsim_response *resp, cJSON *array,
                        unsigned default_per_page);

/* ---- control endpoints (mbsim_control.c) ---- */
void mbsim_control(struct mbsim *sim, const char *method, const char *path,
                   const struct mbsim_request *req, struct mbsim_response *resp);
int mbsim_faults_parse(struct mbsim_faults *faults, const cJSON *json, char *err,
                       size_t err_len) MBSIM_MUST_CHECK;
void mbsim_faults_default(struct mbsim_faults *faults);

/* ---- webhooks (mbsim_webhooks.c) ---- */
/* Queues pushes of event for entity to every subscribed webhook; lock held. */
void mbsim_webhooks_emit(struct mbsim *sim, const char *event, const char *entity_type,
                         const char *entity_id, const char *state, const cJSON *entity);
int mbsim_webhooks_start(struct mbsim *sim, pthread_t *thread) MBSIM_MUST_CHECK;
/* POSTs body to an http:// URL; returns the HTTP status, or -1 without an answer. */
int mbsim_http_post(const char *url, const char *const *headers, const char *body, char *answer,
                    size_t answer_len);
void mbsim_hmac_hex(const char *secret, const char *data, size_t data_len, char out[65]);
void mbsim_deliveries_free(struct mbsim *sim);

/* ---- HTTP front end (mbsim_http.c) ---- */
void *mbsim_http_start(struct mbsim *sim, unsigned *bound_port);
void mbsim_http_stop(void *daemon);
bool mbsim_route_known(const char *name); /* a fault "match": "*" or a route name */

#endif
