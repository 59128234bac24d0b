/*
 * The pure half of the Moneybird client: request bodies built from typed
 * requests, typed results parsed from response JSON, money as int64 cents <->
 * decimal strings, ids kept as strings (a JSON number id is accepted only when
 * a double holds it exactly), rate-limit reset headers read as epoch seconds,
 * and Moneybird's error bodies (the 422 field map, the symbolic 400/404 form,
 * a bare JSON string, an nginx HTML page) turned into one readable sentence.
 * No I/O, so all of it is unit-tested on its own.
 */
#ifndef BM_MB_JSON_H
#define BM_MB_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mb_types.h"

/* cents -> "129.95", "-0.05", "100.00". CN_INVALID when out is too small. */
int mb_money_format(int64_t cents, char *out, size_t size) MUST_CHECK;

/* "129.95", "363.0", "-0.5", "12" -> cents. More than two decimals are only
 * accepted when the extra digits are zeros. CN_INVALID otherwise. */
int mb_money_parse(const char *text, int64_t *cents) MUST_CHECK;

/* True for 1..20 ASCII digits (a Moneybird id or a numeric customer_id). */
bool mb_id_valid(const char *id);

/* Copies an id that arrived as a JSON string of digits, or as a JSON number
 * that a double represents exactly (<= 2^53). CN_INVALID otherwise. */
int mb_json_id(const cJSON *item, char *out, size_t size) MUST_CHECK;

/* Reads a Retry-After / RateLimit-Reset value. Moneybird sends epoch seconds;
 * a small number (< 10^9) is taken as seconds from now. CN_INVALID when it
 * is not a number. */
int mb_parse_reset_epoch(const char *value, int64_t now, int64_t *epoch) MUST_CHECK;

/*
 * Renders an error body as "resource: details", e.g.
 * "contact: customer_id is already in use" or
 * "payment: payment_date can't be blank and is not a valid date; price ...".
 * Works on any bytes (not JSON, HTML, empty); never fails; always terminates.
 */
void mb_error_sentence(const char *resource, long http_status, const char *body, size_t length,
                       char *out, size_t size);

/* Request bodies: each returns a string from cJSON's allocator (free with
 * cJSON_free), or NULL with err set. */
char *mb_json_contact_body(const struct mb_contact_request *req, struct cn_error *err);
char *mb_json_invoice_body(const struct mb_invoice_request *req, struct cn_error *err);
char *mb_json_payment_body(const struct mb_payment_request *req, struct cn_error *err);
char *mb_json_send_body(const char *delivery_method, struct cn_error *err);
char *mb_json_webhook_body(const char *url, const char *const *events, size_t event_count,
                           struct cn_error *err);
char *mb_json_ids_body(const char *const *ids, size_t id_count, struct cn_error *err);

/* Typed results from one response object. CN_INVALID when the id is
 * missing or malformed, or an amount is not a decimal string. */
int mb_json_administration(const cJSON *obj, struct mb_administration *out,
                           struct cn_error *err) MUST_CHECK;
int mb_json_contact(const cJSON *obj, struct mb_contact *out, struct cn_error *err) MUST_CHECK;
int mb_json_sales_invoice(const cJSON *obj, struct mb_sales_invoice *out,
                          struct cn_error *err) MUST_CHECK;
int mb_json_payment(const cJSON *obj, struct mb_payment *out, struct cn_error *err) MUST_CHECK;
int mb_json_tax_rate(const cJSON *obj, struct mb_tax_rate *out, struct cn_error *err) MUST_CHECK;
int mb_json_ledger_account(const cJSON *obj, struct mb_ledger_account *out,
                           struct cn_error *err) MUST_CHECK;
int mb_json_financial_account(const cJSON *obj, struct mb_financial_account *out,
                              struct cn_error *err) MUST_CHECK;
int mb_json_workflow(const cJSON *obj, struct mb_workflow *out, struct cn_error *err) MUST_CHECK;
int mb_json_document_style(const cJSON *obj, struct mb_document_style *out,
                           struct cn_error *err) MUST_CHECK;
int mb_json_webhook(const cJSON *obj, struct mb_webhook *out, struct cn_error *err) MUST_CHECK;
int mb_json_sync_entry(const cJSON *obj, struct mb_sync_entry *out,
                       struct cn_error *err) MUST_CHECK;

/* True when the contact object's `field` equals value exactly (see enum
 * mb_contact_field for the fields compared without case or spaces). */
bool mb_json_contact_matches(const cJSON *contact, enum mb_contact_field field, const char *value);

#endif
