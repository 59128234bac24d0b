/*
 * bookto's order.paid webhook: signature and timestamp checks, and the
 * payload parsed into a struct bookto_order with money in integer cents.
 * Pure: bytes in, results out; no I/O, no clock (callers pass "now").
 */
#ifndef BM_BOOKTO_H
#define BM_BOOKTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

/*
 * Checks "sha256=<64 hex>" against HMAC-SHA256(secret, "<timestamp>.<body>")
 * for each secret, in constant time per comparison. Returns 0 when one secret
 * matches, CN_INVALID otherwise (err says "signature does not match").
 * The body is hashed as raw bytes; it may contain NULs. Empty secrets never
 * match. CN_ERR only if OpenSSL itself fails (not the sender's fault).
 */
int bookto_verify_signature(const char *timestamp_header, const char *signature_header,
                            const unsigned char *body, size_t body_len, const char *const *secrets,
                            size_t secret_count, struct cn_error *err) MUST_CHECK;

/*
 * Parses the X-Bookto-Timestamp header (decimal unix seconds, nothing else)
 * and checks |now - timestamp| <= tolerance_seconds (both directions).
 * Returns 0 and sets *timestamp_out, or CN_INVALID with a sentence.
 */
int bookto_check_timestamp(const char *timestamp_header, time_t now, int tolerance_seconds,
                           int64_t *timestamp_out, struct cn_error *err) MUST_CHECK;

/* Writes the lowercase hex HMAC-SHA256 signature header value ("sha256=...")
 * into out (at least 72 bytes). Used by tests, replay and the demo. */
void bookto_sign(const char *secret, const char *timestamp, const unsigned char *body,
                 size_t body_len, char out[72]);

struct bookto_custom_field {
	char *label;
	char *value;
};

/* Everything of an order.paid payload the connector keeps. Strings are owned,
 * NUL-terminated, UTF-8 as received; absent strings are "" (never NULL). */
struct bookto_order {
	char *event;    /* "order.paid", or another event name */
	char *order_id; /* "" when missing (then park_reason is set) */
	char *order_number;
	char *payment_provider;
	char *status;
	char *created_at_text;
	char *paid_at_text;
	int64_t paid_at_epoch; /* seconds since epoch from paid_at; 0 if unusable */
	bool paid_at_valid;

	int64_t total_incl_cents;
	int64_t excl_vat_cents;
	int64_t vat_cents;
	char *vat_rate_text; /* as a decimal string, e.g. "21" or "5.5" */
	char *currency;      /* upper-case ISO 4217, e.g. "EUR" */
	char *vat_treatment; /* standard | reverse_charge | export | oss | exempt */

	char *product_name;
	char *product_description;

	char *buyer_first_name;
	char *buyer_last_name;
	char *buyer_email;
	char *buyer_company;
	char *buyer_vat_number;
	char *buyer_peppol_id;
	char *buyer_address;
	char *buyer_address2;
	char *buyer_postal_code;
	char *buyer_city;
	char *buyer_country; /* ISO 3166-1 alpha-2, upper-case */

	char *match_ref; /* as sent, or derived when sent empty */
	bool match_ref_derived;

	struct bookto_custom_field *custom_fields;
	size_t custom_field_count;

	char *seller_id;
	bool is_test_order;

	/* Why this signed, well-formed delivery cannot be synced as it stands
	 * (missing order_id, no match_ref possible, amounts that do not add up,
	 * unknown vat_treatment, bad paid_at, ...). NULL when it can. When several
	 * things are wrong, the sentences are joined with "; ". */
	char *park_reason;
};

/*
 * Longest values (bytes) the connector keeps per field; a longer one parks
 * the order (README, "Field limits"). order_id and order_number are keys
 * (PostgreSQL indexes them), the rest are far above anything Moneybird takes.
 */
#define BOOKTO_KEY_MAX 255
#define BOOKTO_NAME_MAX 255
#define BOOKTO_SHORT_MAX 64
#define BOOKTO_ADDRESS_MAX 1024
#define BOOKTO_DESCRIPTION_MAX 16384

/*
 * Checks that a body can be kept as text at all: valid UTF-8 (RFC 8259
 * requires it; PostgreSQL refuses anything else in a text column) and no NUL
 * character, neither a raw zero byte nor a \u0000 escape (PostgreSQL's text
 * cannot hold one). CN_INVALID with a sentence naming the byte offset.
 */
int bookto_check_text(const char *body, size_t body_len, struct cn_error *err) MUST_CHECK;

/* Replaces every byte of text that is not part of valid UTF-8 with '?'. */
void bookto_utf8_sanitize(char *text);

/*
 * Parses a JSON body of known length (need not be NUL-terminated).
 * Returns 0 with *out owned by the caller (bookto_order_free) whenever the
 * body is a JSON object -- even one that cannot be synced: then
 * (*out)->park_reason says why. Returns CN_INVALID (err says why, *out NULL)
 * only when the body is not valid JSON or not a JSON object, or fails
 * bookto_check_text. A field longer than its limit above parks the order.
 * Events other than "order.paid" parse with only `event` (and order_id if
 * present) filled; callers ignore them. A body without "event" is parsed as
 * order.paid and parked ("event is missing"), so it is never silently ignored.
 */
int bookto_parse_order(const char *body, size_t body_len, struct bookto_order **out,
                       struct cn_error *err) MUST_CHECK;

void bookto_order_free(struct bookto_order *order);

/* Money: a JSON number or numeric string with at most two decimals ->
 * integer cents, exactly (1.21 -> 121, 0.3 -> 30, 0.1+0.2-style binary noise
 * is not accepted as more decimals). Rejects NaN, >2 decimals, magnitude
 * above 10^13 cents, and non-numbers. */
int bookto_money_parse_text(const char *text, int64_t *cents_out) MUST_CHECK;
int bookto_money_parse_double(double value, int64_t *cents_out) MUST_CHECK;

/*
 * match_ref rule (bookto's documented one): VAT number, else Peppol id, else
 * email, normalised: trimmed, case-folded (ASCII), and for a VAT number also
 * spaces, dots and hyphens removed. Writes "" when all three are empty.
 * Returns CN_INVALID if out_size is too small.
 */
int bookto_derive_match_ref(const char *vat_number, const char *peppol_id, const char *email,
                            char *out, size_t out_size) MUST_CHECK;

#endif
