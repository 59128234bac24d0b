#include "bookto.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "tz.h"

#define SIGNATURE_PREFIX "sha256="
#define SIGNATURE_HEX_LEN 64

/* 10^13 cents = 100 billion euros: far beyond any order, far inside the
 * 2^53 range where a double still holds every whole number of cents. */
#define MONEY_MAX_CENTS 10000000000000LL

#define CUSTOM_FIELDS_MAX 50
#define CUSTOM_FIELD_TEXT_MAX 4096
#define PARK_REASON_MAX 2048

/* ---- signature ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses "sha256=<64 hex>" (hex in either case) into 32 bytes. */
static bool signature_decode(const char *header, unsigned char out[HMAC_SHA256_LEN])
{
	size_t prefix_len = strlen(SIGNATURE_PREFIX);
	const char *hex;

	if (header == NULL || strncmp(header, SIGNATURE_PREFIX, prefix_len) != 0)
		return false;
	hex = header + prefix_len;
	if (strlen(hex) != SIGNATURE_HEX_LEN)
		return false;
	for (size_t i = 0; i < HMAC_SHA256_LEN; i++) {
		int high = hex_value(hex[2 * i]);
		int low = hex_value(hex[2 * i + 1]);

		if (high < 0 || low < 0)
			return false;
		out[i] = (unsigned char)(high << 4 | low);
	}
	return true;
}

int bookto_verify_signature(const char *timestamp_header, const char *signature_header,
                            const unsigned char *body, size_t body_len, const char *const *secrets,
                            size_t secret_count, struct cn_error *err)
{
	unsigned char sent[HMAC_SHA256_LEN];
	unsigned char expected[HMAC_SHA256_LEN];
	bool matched = false;
	bool usable_secret = false;
	int rc = CN_INVALID;

	if (timestamp_header == NULL || (body == NULL && body_len > 0)) {
		error_set(err, "signature does not match: timestamp or body missing");
		goto out;
	}
	if (!signature_decode(signature_header, sent)) {
		error_set(err, "signature header is not \"sha256=\" followed by 64 hex digits");
		goto out;
	}
	for (size_t i = 0; secrets != NULL && i < secret_count; i++) {
		/* An empty key would let anyone sign; it never matches. */
		if (secrets[i] == NULL || secrets[i][0] == '\0')
			continue;
		usable_secret = true;
		if (!hmac_sha256_dotted(secrets[i], timestamp_header, body, body_len, expected)) {
			error_set(err, "could not compute HMAC-SHA256");
			rc = CN_ERR;
			goto out;
		}
		if (CRYPTO_memcmp(sent, expected, sizeof(sent)) == 0)
			matched = true;
	}
	if (!usable_secret) {
		error_set(err, "signature does not match: no signing secret is configured");
		goto out;
	}
	if (!matched) {
		error_set(err, "signature does not match");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(expected, sizeof(expected));
	return rc;
}

void bookto_sign(const char *secret, const char *timestamp, const unsigned char *body,
                 size_t body_len, char out[72])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[HMAC_SHA256_LEN];
	size_t prefix_len = strlen(SIGNATURE_PREFIX);

	out[0] = '\0';
	if (secret == NULL || timestamp == NULL || (body == NULL && body_len > 0))
		return;
	if (!hmac_sha256_dotted(secret, timestamp, body, body_len, mac))
		return;
	memcpy(out, SIGNATURE_PREFIX, prefix_len);
	for (size_t i = 0; i < HMAC_SHA256_LEN; i++) {
		out[prefix_len + 2 * i] = digits[mac[i] >> 4];
		out[prefix_len + 2 * i + 1] = digits[mac[i] & 0x0f];
	}
	out[prefix_len + SIGNATURE_HEX_LEN] = '\0';
}

/* ---- timestamp ---- */

int bookto_check_timestamp(const char *timestamp_header, time_t now, int tolerance_seconds,
                           int64_t *timestamp_out, struct cn_error *err)
{
	int64_t timestamp = 0;
	uint64_t distance;
	int rc = CN_INVALID;

	if (timestamp_header == NULL || timestamp_header[0] == '\0') {
		error_set(err, "timestamp header is empty");
		goto out;
	}
	if (tolerance_seconds < 0) {
		error_set(err, "timestamp tolerance is negative");
		goto out;
	}
	for (const char *p = timestamp_header; *p != '\0'; p++) {
		int digit = *p - '0';

		if (*p < '0' || *p > '9') {
			error_set(err, "timestamp header is not unix seconds in decimal digits");
			goto out;
		}
		if (timestamp > (INT64_MAX - digit) / 10) {
			error_set(err, "timestamp header is out of range");
			goto out;
		}
		timestamp = timestamp * 10 + digit;
	}
	/* Unsigned subtraction: exact for any two int64 values in order. */
	if (timestamp >= (int64_t)now)
		distance = (uint64_t)timestamp - (uint64_t)(int64_t)now;
	else
		distance = (uint64_t)(int64_t)now - (uint64_t)timestamp;
	if (distance > (uint64_t)tolerance_seconds) {
		error_set(err, "timestamp %lld is more than %d seconds %s the current time",
		          (long long)timestamp, tolerance_seconds,
		          timestamp > (int64_t)now ? "ahead of" : "behind");
		goto out;
	}
	if (timestamp_out != NULL)
		*timestamp_out = timestamp;
	rc = 0;
out:
	return rc;
}

/* ---- money ---- */

int bookto_money_parse_text(const char *text, int64_t *cents_out)
{
	const char *p = text;
	bool negative = false;
	int64_t whole = 0;
	int64_t fraction = 0;
	int fraction_digits = 0;

	if (p == NULL)
		return CN_INVALID;
	if (*p == '-') {
		negative = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return CN_INVALID;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > MONEY_MAX_CENTS / 100)
			return CN_INVALID;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return CN_INVALID;
		for (; *p >= '0' && *p <= '9'; p++) {
			/* "1.210" is still two decimals; "1.215" is not. */
			if (fraction_digits >= 2) {
				if (*p != '0')
					return CN_INVALID;
				continue;
			}
			fraction = fraction * 10 + (*p - '0');
			fraction_digits++;
		}
	}
	if (*p != '\0')
		return CN_INVALID;
	for (; fraction_digits < 2; fraction_digits++)
		fraction *= 10;
	whole = whole * 100 + fraction;
	if (whole > MONEY_MAX_CENTS)
		return CN_INVALID;
	*cents_out = negative ? -whole : whole;
	return 0;
}

int bookto_money_parse_double(double value, int64_t *cents_out)
{
	double scaled;
	double rounded;
	double tolerance;

	if (!isfinite(value))
		return CN_INVALID;
	scaled = value * 100.0;
	if (fabs(scaled) > (double)MONEY_MAX_CENTS + 0.5)
		return CN_INVALID;
	rounded = round(scaled);
	/* Binary noise (0.1 + 0.2) is a few ULPs; a third decimal is >= 0.1. */
	tolerance = fmax(1e-6, fabs(scaled) * 8.0 * DBL_EPSILON);
	if (fabs(scaled - rounded) > tolerance)
		return CN_INVALID;
	if (fabs(rounded) > (double)MONEY_MAX_CENTS)
		return CN_INVALID;
	*cents_out = (int64_t)llround(scaled);
	return 0;
}

/* "1.21", "-0.50": cents as euros for sentences. */
static void format_cents(int64_t cents, char *out, size_t out_size)
{
	uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, out_size, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
}

/* 2100 -> "21", 550 -> "5.5", 525 -> "5.25" (hundredths to a plain decimal). */
static void format_rate(int64_t hundredths, char *out, size_t out_size)
{
	uint64_t magnitude =
	    hundredths < 0 ? (uint64_t)0 - (uint64_t)hundredths : (uint64_t)hundredths;
	unsigned long long whole = (unsigned long long)(magnitude / 100);
	unsigned long long fraction = (unsigned long long)(magnitude % 100);
	const char *sign = hundredths < 0 ? "-" : "";

	if (fraction == 0)
		snprintf(out, out_size, "%s%llu", sign, whole);
	else if (fraction % 10 == 0)
		snprintf(out, out_size, "%s%llu.%llu", sign, whole, fraction / 10);
	else
		snprintf(out, out_size, "%s%llu.%02llu", sign, whole, fraction);
}

/* Shortest text that reads back as the same double ("0.1", not 0.1000...01). */
static void format_number(double value, char *out, size_t out_size)
{
	if (value == floor(value) && fabs(value) < 9007199254740992.0) {
		snprintf(out, out_size, "%.0f", value);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(out, out_size, "%.*g", precision, value);
		if (strtod(out, NULL) == value)
			return;
	}
}

/* ---- match_ref ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Trims, folds ASCII case and, for a VAT number, drops separators. Returns
 * the normalised length, or -1 when out is too small. */
static long normalise_ref(const char *text, bool strip_separators, char *out, size_t out_size)
{
	const char *start = text;
	const char *end;
	size_t length = 0;

	while (is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		end--;
	for (const char *p = start; p < end; p++) {
		if (strip_separators && (is_space(*p) || *p == '.' || *p == '-'))
			continue;
		if (length + 1 >= out_size)
			return -1;
		out[length++] = ascii_lower(*p);
	}
	if (out_size == 0)
		return -1;
	out[length] = '\0';
	return (long)length;
}

int bookto_derive_match_ref(const char *vat_number, const char *peppol_id, const char *email,
                            char *out, size_t out_size)
{
	const char *sources[3] = {vat_number, peppol_id, email};

	if (out == NULL || out_size == 0)
		return CN_INVALID;
	out[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		long length;

		if (sources[i] == NULL)
			continue;
		length = normalise_ref(sources[i], i == 0, out, out_size);
		if (length < 0) {
			out[0] = '\0';
			return CN_INVALID;
		}
		if (length > 0)
			return 0;
	}
	return 0;
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
	size_t len;
	unsigned int min, code;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		min = 0x80;
		code = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		min = 0x800;
		code = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		min = 0x10000;
		code = p[0] & 0x07;
	} else {
		return 0;
	}
	if (left < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (p[i] & 0x3f);
	}
	if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return len;
}

int bookto_check_text(const char *body, size_t body_len, struct cn_error *err)
{
	const unsigned char *p = (const unsigned char *)body;
	size_t i = 0;

	while (i < body_len) {
		size_t len = utf8_sequence(p + i, body_len - i);

		if (len == 0) {
			error_set(err, "the body is not valid UTF-8 (byte %zu)", i);
			return CN_INVALID;
		}
		if (p[i] == '\0') {
			error_set(err, "the body contains a NUL byte (byte %zu)", i);
			return CN_INVALID;
		}
		/* An escape: \u0000 is a NUL once decoded; any other escaped
		 * character is skipped so that \\u0000 is not mistaken for one. */
		if (p[i] == '\\' && i + 1 < body_len) {
			if (p[i + 1] == 'u' && i + 5 < body_len &&
			    memcmp(p + i + 2, "0000", 4) == 0) {
				error_set(
				    err,
				    "the body contains a NUL character (\\u0000 at byte %zu), "
				    "which cannot be stored as text",
				    i);
				return CN_INVALID;
			}
			if (p[i + 1] != '\0')
				i++;
		}
		i += len;
	}
	return 0;
}

void bookto_utf8_sanitize(char *text)
{
	unsigned char *p = (unsigned char *)text;
	size_t left;

	if (text == NULL)
		return;
	left = strlen(text);
	while (left > 0) {
		size_t len = utf8_sequence(p, left);

		if (len == 0) {
			*p = '?';
			len = 1;
		}
		p += len;
		left -= len;
	}
}

/* ---- payload ---- */

/* Every string member; all start as "" so none is ever NULL. */
static const size_t order_string_members[] = {
    offsetof(struct bookto_order, event),
    offsetof(struct bookto_order, order_id),
    offsetof(struct bookto_order, order_number),
    offsetof(struct bookto_order, payment_provider),
    offsetof(struct bookto_order, status),
    offsetof(struct bookto_order, created_at_text),
    offsetof(struct bookto_order, paid_at_text),
    offsetof(struct bookto_order, vat_rate_text),
    offsetof(struct bookto_order, currency),
    offsetof(struct bookto_order, vat_treatment),
    offsetof(struct bookto_order, product_name),
    offsetof(struct bookto_order, product_description),
    offsetof(struct bookto_order, buyer_first_name),
    offsetof(struct bookto_order, buyer_last_name),
    offsetof(struct bookto_order, buyer_email),
    offsetof(struct bookto_order, buyer_company),
    offsetof(struct bookto_order, buyer_vat_number),
    offsetof(struct bookto_order, buyer_peppol_id),
    offsetof(struct bookto_order, buyer_address),
    offsetof(struct bookto_order, buyer_address2),
    offsetof(struct bookto_order, buyer_postal_code),
    offsetof(struct bookto_order, buyer_city),
    offsetof(struct bookto_order, buyer_country),
    offsetof(struct bookto_order, match_ref),
    offsetof(struct bookto_order, seller_id),
};

#define ORDER_STRING_COUNT (sizeof(order_string_members) / sizeof(order_string_members[0]))

static char **order_string(struct bookto_order *order, size_t index)
{
	return (char **)(void *)((char *)order + order_string_members[index]);
}

/* Collects the sentences of park_reason; bounded, then "; ..." */
struct park_list {
	char text[PARK_REASON_MAX];
	size_t length;
	bool full;
};

static void park_add(struct park_list *park, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void park_add(struct park_list *park, const char *fmt, ...)
{
	char sentence[512];
	size_t needed;
	va_list ap;

	if (park->full)
		return;
	va_start(ap, fmt);
	vsnprintf(sentence, sizeof(sentence), fmt, ap);
	va_end(ap);
	needed = strlen(sentence) + (park->length > 0 ? 2 : 0);
	if (park->length + needed + 6 >= sizeof(park->text)) {
		snprintf(park->text + park->length, sizeof(park->text) - park->length, "; ...");
		park->full = true;
		return;
	}
	snprintf(park->text + park->length, sizeof(park->text) - park->length, "%s%s",
	         park->length > 0 ? "; " : "", sentence);
	park->length += needed;
}

static const char *json_type_name(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	if (cJSON_IsNull(item))
		return "null";
	return "not valid";
}

static int replace_string(char **slot, const char *text, size_t length)
{
	char *copy = malloc(length + 1);

	if (copy == NULL)
		return CN_ERR;
	memcpy(copy, text, length);
	copy[length] = '\0';
	free(*slot);
	*slot = copy;
	return 0;
}

/* Optional string member: absent or null -> "", wrong type -> parked. */
static int take_string(const cJSON *object, const char *key, const char *path, char **slot,
                       struct park_list *park)
{
	const cJSON *item;

	if (object == NULL)
		return 0;
	item = cJSON_GetObjectItemCaseSensitive(object, key);
	if (item == NULL || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		park_add(park, "%s is %s, not a string", path, json_type_name(item));
		return 0;
	}
	return replace_string(slot, item->valuestring, strlen(item->valuestring));
}

/* The member when it is an object; absent/null -> NULL; other types parked. */
static const cJSON *take_object(const cJSON *object, const char *key, struct park_list *park,
                                bool *present)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);

	*present = item != NULL && !cJSON_IsNull(item);
	if (!*present)
		return NULL;
	if (!cJSON_IsObject(item)) {
		park_add(park, "%s is %s, not an object", key, json_type_name(item));
		return NULL;
	}
	return item;
}

enum decimal_result { DECIMAL_OK, DECIMAL_MISSING, DECIMAL_BAD, DECIMAL_WRONG_TYPE };

/* A number or numeric string with at most two decimals, in hundredths. */
static enum decimal_result take_hundredths(const cJSON *object, const char *key,
                                           int64_t *hundredths, char *shown, size_t shown_size)
{
	const cJSON *item = object != NULL ? cJSON_GetObjectItemCaseSensitive(object, key) : NULL;

	shown[0] = '\0';
	if (item == NULL || cJSON_IsNull(item))
		return DECIMAL_MISSING;
	if (cJSON_IsNumber(item)) {
		format_number(item->valuedouble, shown, shown_size);
		return bookto_money_parse_double(item->valuedouble, hundredths) == 0 ? DECIMAL_OK
		                                                                     : DECIMAL_BAD;
	}
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		snprintf(shown, shown_size, "\"%.40s\"", item->valuestring);
		return bookto_money_parse_text(item->valuestring, hundredths) == 0 ? DECIMAL_OK
		                                                                   : DECIMAL_BAD;
	}
	snprintf(shown, shown_size, "%s", json_type_name(item));
	return DECIMAL_WRONG_TYPE;
}

static bool take_amount(const cJSON *amount, const char *key, int64_t *cents,
                        struct park_list *park)
{
	char shown[64];

	switch (take_hundredths(amount, key, cents, shown, sizeof(shown))) {
	case DECIMAL_OK:
		break;
	case DECIMAL_MISSING:
		park_add(park, "amount.%s is missing", key);
		return false;
	case DECIMAL_BAD:
		park_add(park, "amount.%s %s is not an amount with at most two decimals", key,
		         shown);
		return false;
	case DECIMAL_WRONG_TYPE:
		park_add(park, "amount.%s is %s, not a number", key, shown);
		return false;
	}
	if (*cents < 0) {
		char euros[32];

		format_cents(*cents, euros, sizeof(euros));
		park_add(park, "amount.%s %s is negative", key, euros);
		return false;
	}
	return true;
}

static bool read_digits(const char **p, int count, int *value)
{
	int result = 0;

	for (int i = 0; i < count; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		result = result * 10 + (c - '0');
	}
	*p += count;
	*value = result;
	return true;
}

static bool expect_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" -> unix seconds. */
static bool parse_iso8601(const char *text, int64_t *epoch)
{
	const char *p = text;
	int year, month, day, hour, minute, second;
	int offset_seconds = 0;
	int max_day;

	if (!read_digits(&p, 4, &year) || !expect_char(&p, '-') || !read_digits(&p, 2, &month) ||
	    !expect_char(&p, '-') || !read_digits(&p, 2, &day))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!read_digits(&p, 2, &hour) || !expect_char(&p, ':') || !read_digits(&p, 2, &minute) ||
	    !expect_char(&p, ':') || !read_digits(&p, 2, &second))
		return false;
	if (*p == '.') {
		int fraction_digits = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			fraction_digits++;
		}
		if (fraction_digits == 0 || fraction_digits > 12)
			return false;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int offset_hours, offset_minutes;

		p++;
		if (!read_digits(&p, 2, &offset_hours) || !expect_char(&p, ':') ||
		    !read_digits(&p, 2, &offset_minutes))
			return false;
		if (offset_hours > 23 || offset_minutes > 59)
			return false;
		offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60)
		return false;
	max_day = tz_month_days(year, month);
	if (day < 1 || day > max_day)
		return false;
	/* A leap second stays within its minute rather than moving the date. */
	if (second == 60)
		second = 59;
	*epoch = tz_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
	         offset_seconds;
	return true;
}

static int parse_amount(const cJSON *root, struct bookto_order *order, struct park_list *park)
{
	const cJSON *amount;
	bool present;
	bool total_ok, excl_ok, vat_ok;
	int64_t rate = 0;
	char shown[64];
	char rate_text[32];
	const char *currency;
	int rc = 0;

	amount = take_object(root, "amount", park, &present);
	if (!present) {
		park_add(park, "amount is missing");
		goto out;
	}
	if (amount == NULL)
		goto out;
	total_ok = take_amount(amount, "total_incl", &order->total_incl_cents, park);
	excl_ok = take_amount(amount, "excl_vat", &order->excl_vat_cents, park);
	vat_ok = take_amount(amount, "vat", &order->vat_cents, park);
	if (total_ok && excl_ok && vat_ok &&
	    order->excl_vat_cents + order->vat_cents != order->total_incl_cents) {
		char excl[32], vat[32], total[32];

		format_cents(order->excl_vat_cents, excl, sizeof(excl));
		format_cents(order->vat_cents, vat, sizeof(vat));
		format_cents(order->total_incl_cents, total, sizeof(total));
		park_add(park, "amounts do not add up: excl_vat %s + vat %s != total_incl %s", excl,
		         vat, total);
	}

	switch (take_hundredths(amount, "vat_rate", &rate, shown, sizeof(shown))) {
	case DECIMAL_OK:
		if (rate < 0 || rate > 10000) {
			park_add(park, "amount.vat_rate %s is not a percentage from 0 to 100",
			         shown);
			break;
		}
		format_rate(rate, rate_text, sizeof(rate_text));
		rc = replace_string(&order->vat_rate_text, rate_text, strlen(rate_text));
		if (rc != 0)
			goto out;
		break;
	case DECIMAL_MISSING:
		park_add(park, "amount.vat_rate is missing");
		break;
	case DECIMAL_BAD:
		park_add(park, "amount.vat_rate %s is not a percentage with at most two decimals",
		         shown);
		break;
	case DECIMAL_WRONG_TYPE:
		park_add(park, "amount.vat_rate is %s, not a number", shown);
		break;
	}

	rc = take_string(amount, "currency", "amount.currency", &order->currency, park);
	if (rc != 0)
		goto out;
	currency = order->currency;
	if (currency[0] == '\0') {
		park_add(park, "amount.currency is missing");
	} else if (strlen(currency) != 3 || currency[0] < 'A' || currency[0] > 'Z' ||
	           currency[1] < 'A' || currency[1] > 'Z' || currency[2] < 'A' ||
	           currency[2] > 'Z') {
		park_add(park, "amount.currency \"%.16s\" is not three upper-case letters",
		         currency);
	}
out:
	return rc;
}

static int parse_buyer(const cJSON *root, struct bookto_order *order, struct park_list *park)
{
	static const struct {
		const char *key;
		const char *path;
		size_t member;
	} fields[] = {
	    {"first_name", "buyer.first_name", offsetof(struct bookto_order, buyer_first_name)},
	    {"last_name", "buyer.last_name", offsetof(struct bookto_order, buyer_last_name)},
	    {"email", "buyer.email", offsetof(struct bookto_order, buyer_email)},
	    {"company", "buyer.company", offsetof(struct bookto_order, buyer_company)},
	    {"vat_number", "buyer.vat_number", offsetof(struct bookto_order, buyer_vat_number)},
	    {"peppol_id", "buyer.peppol_id", offsetof(struct bookto_order, buyer_peppol_id)},
	    {"address", "buyer.address", offsetof(struct bookto_order, buyer_address)},
	    {"address2", "buyer.address2", offsetof(struct bookto_order, buyer_address2)},
	    {"postal_code", "buyer.postal_code", offsetof(struct bookto_order, buyer_postal_code)},
	    {"city", "buyer.city", offsetof(struct bookto_order, buyer_city)},
	    {"country", "buyer.country", offsetof(struct bookto_order, buyer_country)},
	    {"match_ref", "buyer.match_ref", offsetof(struct bookto_order, match_ref)},
	};
	const cJSON *buyer;
	bool present;
	char *derived = NULL;
	const char *start;
	const char *end;
	size_t size;
	int rc = 0;

	buyer = take_object(root, "buyer", park, &present);
	if (present && buyer == NULL)
		goto out; /* wrong type: already parked, a match_ref sentence adds nothing */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char **slot = (char **)(void *)((char *)order + fields[i].member);

		rc = take_string(buyer, fields[i].key, fields[i].path, slot, park);
		if (rc != 0)
			goto out;
	}
	for (char *c = order->buyer_country; *c != '\0'; c++)
		*c = ascii_upper(*c);

	/* match_ref as sent (trimmed); derived by bookto's rule when empty. */
	start = order->match_ref;
	while (is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		end--;
	if (end > start) {
		if (start != order->match_ref || *end != '\0') {
			memmove(order->match_ref, start, (size_t)(end - start));
			order->match_ref[end - start] = '\0';
		}
		goto out;
	}
	size = strlen(order->buyer_vat_number) + strlen(order->buyer_peppol_id) +
	       strlen(order->buyer_email) + 1;
	derived = malloc(size);
	if (derived == NULL) {
		rc = CN_ERR;
		goto out;
	}
	rc = bookto_derive_match_ref(order->buyer_vat_number, order->buyer_peppol_id,
	                             order->buyer_email, derived, size);
	if (rc != 0)
		goto out;
	if (derived[0] == '\0') {
		park_add(park, "buyer has no VAT number, Peppol id or email to match a contact on");
		rc = replace_string(&order->match_ref, "", 0);
		goto out;
	}
	free(order->match_ref);
	order->match_ref = derived;
	derived = NULL;
	order->match_ref_derived = true;
out:
	free(derived);
	return rc;
}

/* Custom field label or value as text; NULL-free. Returns false if unusable. */
static bool custom_field_text(const cJSON *item, char *number_buffer, size_t buffer_size,
                              const char **text)
{
	if (item == NULL || cJSON_IsNull(item)) {
		*text = "";
		return true;
	}
	if (cJSON_IsString(item) && item->valuestring != NULL) {
		*text = item->valuestring;
		return true;
	}
	if (cJSON_IsBool(item)) {
		*text = cJSON_IsTrue(item) ? "true" : "false";
		return true;
	}
	if (cJSON_IsNumber(item)) {
		format_number(item->valuedouble, number_buffer, buffer_size);
		*text = number_buffer;
		return true;
	}
	return false;
}

static int parse_custom_fields(const cJSON *root, struct bookto_order *order,
                               struct park_list *park)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "custom_fields");
	struct bookto_custom_field *fields = NULL;
	size_t count = 0;
	size_t index = 0;
	const cJSON *entry;
	bool usable = true;
	int rc = 0;

	if (list == NULL || cJSON_IsNull(list))
		goto out;
	if (!cJSON_IsArray(list)) {
		park_add(park, "custom_fields is %s, not an array", json_type_name(list));
		goto out;
	}
	count = (size_t)cJSON_GetArraySize(list);
	if (count == 0)
		goto out;
	if (count > CUSTOM_FIELDS_MAX) {
		park_add(park, "custom_fields has %zu entries, more than the %d allowed", count,
		         CUSTOM_FIELDS_MAX);
		count = 0;
		goto out;
	}
	fields = calloc(count, sizeof(*fields));
	if (fields == NULL) {
		rc = CN_ERR;
		count = 0;
		goto out;
	}
	cJSON_ArrayForEach(entry, list)
	{
		static const char *const parts[2] = {"label", "value"};
		char *copies[2] = {NULL, NULL};

		if (!cJSON_IsObject(entry)) {
			park_add(park, "custom_fields[%zu] is %s, not an object", index,
			         json_type_name(entry));
			usable = false;
			index++;
			continue;
		}
		for (size_t part = 0; part < 2; part++) {
			const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, parts[part]);
			char number[64];
			const char *text;
			size_t length;

			if (!custom_field_text(item, number, sizeof(number), &text)) {
				park_add(park, "custom_fields[%zu].%s is %s, not text", index,
				         parts[part], json_type_name(item));
				usable = false;
				continue;
			}
			length = strlen(text);
			if (length > CUSTOM_FIELD_TEXT_MAX) {
				park_add(park, "custom_fields[%zu].%s is %zu bytes, more than %d",
				         index, parts[part], length, CUSTOM_FIELD_TEXT_MAX);
				usable = false;
				continue;
			}
			rc = replace_string(&copies[part], text, length);
			if (rc != 0)
				break;
		}
		fields[index].label = copies[0];
		fields[index].value = copies[1];
		index++;
		if (rc != 0)
			goto out;
	}
out:
	if (!usable || rc != 0) {
		/* Parked or failed: keep none rather than a silently partial list. */
		for (size_t i = 0; fields != NULL && i < count; i++) {
			free(fields[i].label);
			free(fields[i].value);
		}
		free(fields);
		fields = NULL;
		count = 0;
	}
	order->custom_fields = fields;
	order->custom_field_count = count;
	return rc;
}

static int parse_order_paid(const cJSON *root, struct bookto_order *order, struct park_list *park)
{
	static const struct {
		const char *key;
		size_t member;
	} top_strings[] = {
	    {"order_number", offsetof(struct bookto_order, order_number)},
	    {"payment_provider", offsetof(struct bookto_order, payment_provider)},
	    {"status", offsetof(struct bookto_order, status)},
	    {"created_at", offsetof(struct bookto_order, created_at_text)},
	    {"paid_at", offsetof(struct bookto_order, paid_at_text)},
	    {"vat_treatment", offsetof(struct bookto_order, vat_treatment)},
	};
	const cJSON *product;
	const cJSON *seller;
	const cJSON *test_flag;
	bool present;
	int rc = 0;

	for (size_t i = 0; i < sizeof(top_strings) / sizeof(top_strings[0]); i++) {
		char **slot = (char **)(void *)((char *)order + top_strings[i].member);

		rc = take_string(root, top_strings[i].key, top_strings[i].key, slot, park);
		if (rc != 0)
			goto out;
	}
	if (order->order_number[0] == '\0')
		park_add(park, "order_number is missing");

	if (order->paid_at_text[0] == '\0') {
		park_add(park, "paid_at is missing");
	} else if (parse_iso8601(order->paid_at_text, &order->paid_at_epoch)) {
		order->paid_at_valid = true;
	} else {
		park_add(park,
		         "paid_at \"%.64s\" is not an ISO 8601 date and time with a time zone",
		         order->paid_at_text);
	}

	rc = parse_amount(root, order, park);
	if (rc != 0)
		goto out;

	/* Whether a present value is mapped is the connection's mapping's
	 * question (it may add treatments); the intake asks it. */
	if (order->vat_treatment[0] == '\0')
		park_add(park, "vat_treatment is missing; add a mapping entry for the value bookto "
		               "sends under `vat_treatments` in the connection's mapping file");

	product = take_object(root, "product", park, &present);
	rc = take_string(product, "name", "product.name", &order->product_name, park);
	if (rc == 0)
		rc = take_string(product, "description", "product.description",
		                 &order->product_description, park);
	if (rc != 0)
		goto out;

	rc = parse_buyer(root, order, park);
	if (rc != 0)
		goto out;
	rc = parse_custom_fields(root, order, park);
	if (rc != 0)
		goto out;

	seller = take_object(root, "seller", park, &present);
	rc = take_string(seller, "id", "seller.id", &order->seller_id, park);
	if (rc != 0)
		goto out;

	test_flag = cJSON_GetObjectItemCaseSensitive(root, "is_test_order");
	if (cJSON_IsBool(test_flag))
		order->is_test_order = cJSON_IsTrue(test_flag);
	else if (test_flag != NULL && !cJSON_IsNull(test_flag))
		park_add(park, "is_test_order is %s, not true or false", json_type_name(test_flag));
out:
	return rc;
}

/* The longest value kept per field; longer parks the order (bookto.h). */
static const struct {
	size_t member;
	const char *path;
	size_t max;
} field_limits[] = {
    {offsetof(struct bookto_order, order_id), "order_id", BOOKTO_KEY_MAX},
    {offsetof(struct bookto_order, order_number), "order_number", BOOKTO_KEY_MAX},
    {offsetof(struct bookto_order, payment_provider), "payment_provider", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, status), "status", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, created_at_text), "created_at", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, paid_at_text), "paid_at", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, vat_treatment), "vat_treatment", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, product_name), "product.name", BOOKTO_ADDRESS_MAX},
    {offsetof(struct bookto_order, product_description), "product.description",
     BOOKTO_DESCRIPTION_MAX},
    {offsetof(struct bookto_order, buyer_first_name), "buyer.first_name", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_last_name), "buyer.last_name", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_email), "buyer.email", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_company), "buyer.company", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_vat_number), "buyer.vat_number", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, buyer_peppol_id), "buyer.peppol_id", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_address), "buyer.address", BOOKTO_ADDRESS_MAX},
    {offsetof(struct bookto_order, buyer_address2), "buyer.address2", BOOKTO_ADDRESS_MAX},
    {offsetof(struct bookto_order, buyer_postal_code), "buyer.postal_code", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, buyer_city), "buyer.city", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, buyer_country), "buyer.country", BOOKTO_SHORT_MAX},
    {offsetof(struct bookto_order, match_ref), "buyer.match_ref", BOOKTO_NAME_MAX},
    {offsetof(struct bookto_order, seller_id), "seller.id", BOOKTO_NAME_MAX},
};

static void check_field_limits(struct bookto_order *order, struct park_list *park)
{
	for (size_t i = 0; i < sizeof(field_limits) / sizeof(field_limits[0]); i++) {
		const char *value = *(char **)(void *)((char *)order + field_limits[i].member);
		size_t length = strlen(value);

		if (length > field_limits[i].max)
			park_add(park, "%s is %zu bytes, more than the %zu allowed",
			         field_limits[i].path, length, field_limits[i].max);
	}
}

static struct bookto_order *order_new(void)
{
	struct bookto_order *order = calloc(1, sizeof(*order));

	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < ORDER_STRING_COUNT; i++) {
		char **slot = order_string(order, i);

		*slot = calloc(1, 1);
		if (*slot == NULL) {
			bookto_order_free(order);
			return NULL;
		}
	}
	return order;
}

int bookto_parse_order(const char *body, size_t body_len, struct bookto_order **out,
                       struct cn_error *err)
{
	struct bookto_order *order = NULL;
	struct park_list *park = NULL;
	cJSON *root = NULL;
	const char *parse_end = NULL;
	const cJSON *event;
	int rc = CN_INVALID;

	*out = NULL;
	if (body == NULL || body_len == 0) {
		error_set(err, "body is empty, not a JSON object");
		goto out;
	}
	if (bookto_check_text(body, body_len, err) != 0)
		goto out;
	root = cJSON_ParseWithLengthOpts(body, body_len, &parse_end, 0);
	if (root == NULL) {
		size_t offset =
		    parse_end != NULL && parse_end >= body ? (size_t)(parse_end - body) : 0;

		error_set(err, "body is not valid JSON (error near byte %zu)", offset);
		goto out;
	}
	/* cJSON stops after the first value; anything but whitespace after it is junk. */
	for (const char *p = parse_end; p != NULL && p < body + body_len; p++) {
		if (!is_space(*p)) {
			error_set(err, "body is not valid JSON (unexpected data after byte %zu)",
			          (size_t)(parse_end - body));
			goto out;
		}
	}
	if (!cJSON_IsObject(root)) {
		error_set(err, "body is %s, not a JSON object", json_type_name(root));
		goto out;
	}

	rc = CN_ERR;
	order = order_new();
	park = calloc(1, sizeof(*park));
	if (order == NULL || park == NULL) {
		error_set(err, "out of memory parsing the order");
		goto out;
	}

	if (take_string(root, "event", "event", &order->event, park) != 0 ||
	    take_string(root, "order_id", "order_id", &order->order_id, park) != 0) {
		error_set(err, "out of memory parsing the order");
		goto out;
	}
	event = cJSON_GetObjectItemCaseSensitive(root, "event");
	if (cJSON_IsString(event) && strcmp(order->event, "order.paid") != 0) {
		/* Another event: callers ignore it, so nothing here parks it. */
		rc = 0;
		goto done;
	}
	/* Without an event name it is parsed as the only event bookto sends, and
	 * parked so a person looks at it rather than it being ignored. */
	if (event == NULL || cJSON_IsNull(event))
		park_add(park, "event is missing (expected \"order.paid\")");
	if (order->order_id[0] == '\0')
		park_add(park, "order_id is missing");
	if (parse_order_paid(root, order, park) != 0) {
		error_set(err, "out of memory parsing the order");
		goto out;
	}
	check_field_limits(order, park);
	if (park->length > 0) {
		order->park_reason = strdup(park->text);
		if (order->park_reason == NULL) {
			error_set(err, "out of memory parsing the order");
			goto out;
		}
		/* Quoted values are cut at a byte count, maybe inside a character. */
		bookto_utf8_sanitize(order->park_reason);
	}
	rc = 0;
done:
	*out = order;
	order = NULL;
out:
	bookto_order_free(order);
	free(park);
	cJSON_Delete(root);
	return rc;
}

void bookto_order_free(struct bookto_order *order)
{
	if (order == NULL)
		return;
	for (size_t i = 0; i < ORDER_STRING_COUNT; i++)
		free(*order_string(order, i));
	for (size_t i = 0; i < order->custom_field_count; i++) {
		free(order->custom_fields[i].label);
		free(order->custom_fields[i].value);
	}
	free(order->custom_fields);
	free(order->park_reason);
	free(order);
}
