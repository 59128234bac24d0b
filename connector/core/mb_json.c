#include "mb_json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "money.h"

/* The largest integer a double holds exactly: bigger JSON-number ids would
 * already have lost digits inside the parser. */
#define EXACT_DOUBLE_MAX 9007199254740992.0

/* ---- small helpers ---- */

/* Copies src into out, cutting on a UTF-8 character boundary. */
static void copy_text(char *out, size_t size, const char *src)
{
	size_t length;

	if (size == 0)
		return;
	if (src == NULL) {
		out[0] = '\0';
		return;
	}
	length = strlen(src);
	if (length >= size) {
		length = size - 1;
		while (length > 0 && ((unsigned char)src[length] & 0xC0) == 0x80)
			length--;
	}
	memcpy(out, src, length);
	out[length] = '\0';
}

static const cJSON *field(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* Display text: strings as they are, numbers printed, anything else "". */
static void get_text(const cJSON *obj, const char *name, char *out, size_t size)
{
	const cJSON *item = field(obj, name);

	if (cJSON_IsString(item)) {
		copy_text(out, size, item->valuestring);
	} else if (cJSON_IsNumber(item) && size > 0) {
		double value = item->valuedouble;

		if (value == floor(value) && fabs(value) <= EXACT_DOUBLE_MAX)
			snprintf(out, size, "%.0f", value);
		else
			snprintf(out, size, "%g", value);
	} else if (size > 0) {
		out[0] = '\0';
	}
}

static bool get_bool(const cJSON *obj, const char *name)
{
	return cJSON_IsTrue(field(obj, name));
}

/* An integer sent as a JSON number or a digit string; 0 when absent. */
static int64_t get_int(const cJSON *obj, const char *name)
{
	const cJSON *item = field(obj, name);

	if (cJSON_IsNumber(item) && fabs(item->valuedouble) <= EXACT_DOUBLE_MAX)
		return (int64_t)item->valuedouble;
	if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
		char *end = NULL;
		long long value;

		errno = 0;
		value = strtoll(item->valuestring, &end, 10);
		if (errno == 0 && end != NULL && *end == '\0')
			return (int64_t)value;
	}
	return 0;
}

static int get_id(const cJSON *obj, const char *name, bool required, char *out, size_t size,
                  struct cn_error *err)
{
	const cJSON *item = field(obj, name);

	if (item == NULL || cJSON_IsNull(item)) {
		if (size > 0)
			out[0] = '\0';
		if (!required)
			return 0;
		error_set(err, "Moneybird's answer has no %s", name);
		return CN_INVALID;
	}
	if (mb_json_id(item, out, size) != 0) {
		error_set(err, "Moneybird's answer has a malformed %s", name);
		return CN_INVALID;
	}
	return 0;
}

static int get_money(const cJSON *obj, const char *name, int64_t *cents, struct cn_error *err)
{
	const cJSON *item = field(obj, name);

	*cents = 0;
	if (item == NULL || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsString(item) || mb_money_parse(item->valuestring, cents) != 0) {
		error_set(err, "Moneybird's answer has %s that is not a decimal amount", name);
		return CN_INVALID;
	}
	return 0;
}

/* ---- money, ids, headers ---- */

int mb_money_format(int64_t cents, char *out, size_t size)
{
	uint64_t magnitude;
	int written;

	/* -(INT64_MIN) overflows; go through unsigned arithmetic instead. */
	magnitude = cents < 0 ? (uint64_t)(-(cents + 1)) + 1u : (uint64_t)cents;
	written = snprintf(out, size, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "",
	                   magnitude / 100u, magnitude % 100u);
	if (written < 0 || (size_t)written >= size)
		return CN_INVALID;
	return 0;
}

int mb_money_parse(const char *text, int64_t *cents)
{
	return money_parse(text, INT64_MAX, cents);
}

bool mb_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0')
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		if (i >= 20 || !isdigit((unsigned char)id[i]))
			return false;
	}
	return true;
}

int mb_json_id(const cJSON *item, char *out, size_t size)
{
	if (cJSON_IsString(item)) {
		if (!mb_id_valid(item->valuestring) || strlen(item->valuestring) >= size)
			return CN_INVALID;
		copy_text(out, size, item->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(item)) {
		double value = item->valuedouble;
		int written;

		if (value < 0 || value != floor(value) || value > EXACT_DOUBLE_MAX)
			return CN_INVALID;
		written = snprintf(out, size, "%.0f", value);
		/* -0 passes the checks above but prints as "-0" */
		if (written < 0 || (size_t)written >= size || !mb_id_valid(out))
			return CN_INVALID;
		return 0;
	}
	return CN_INVALID;
}

int mb_parse_reset_epoch(const char *value, int64_t now, int64_t *epoch)
{
	const char *p = value;
	char *end = NULL;
	long long parsed;

	if (value == NULL)
		return CN_INVALID;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return CN_INVALID;
	errno = 0;
	parsed = strtoll(p, &end, 10);
	if (errno != 0 || end == p)
		return CN_INVALID;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end != '\0')
		return CN_INVALID;
	/* Moneybird documents epoch seconds; tolerate a delta as RFC 9110 has it. */
	*epoch = parsed < 1000000000LL ? now + (int64_t)parsed : (int64_t)parsed;
	return 0;
}

/* ---- error sentences ---- */

struct appender {
	char *buf;
	size_t size;
	size_t length;
};

/* Appends at most max bytes of text (0 = all), with control characters
 * turned into spaces so one sentence stays one line. */
static void append_n(struct appender *a, const char *text, size_t max)
{
	size_t i;

	for (i = 0; text[i] != '\0' && (max == 0 || i < max); i++) {
		unsigned char c = (unsigned char)text[i];

		if (a->length + 1 >= a->size)
			break;
		a->buf[a->length++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (a->size > 0)
		a->buf[a->length < a->size ? a->length : a->size - 1] = '\0';
}

static void append(struct appender *a, const char *text)
{
	append_n(a, text, 0);
}

/* {"field": ["msg", ...], ...} -> "field msg and msg; field2 msg" */
static void append_field_messages(struct appender *a, const cJSON *errors)
{
	const cJSON *entry;
	bool first_field = true;

	cJSON_ArrayForEach(entry, errors)
	{
		const cJSON *message;
		bool first_message = true;

		if (!first_field)
			append(a, "; ");
		first_field = false;
		if (entry->string != NULL && strcmp(entry->string, "base") != 0) {
			append(a, entry->string);
			append(a, " ");
		}
		if (cJSON_IsString(entry)) {
			append(a, entry->valuestring);
			continue;
		}
		cJSON_ArrayForEach(message, entry)
		{
			if (!cJSON_IsString(message))
				continue;
			if (!first_message)
				append(a, " and ");
			first_message = false;
			append(a, message->valuestring);
		}
		if (first_message)
			append(a, "is invalid");
	}
}

/* Appends the text of an HTML <title> (an nginx 429 page); false if none. */
static bool append_html_title(struct appender *a, const char *body, size_t length)
{
	size_t start = 0;
	size_t end = 0;
	size_t i;
	char title[128];
	size_t title_length;

	for (i = 0; i + 7 <= length; i++) {
		if (strncasecmp(body + i, "<title>", 7) == 0) {
			start = i + 7;
			break;
		}
	}
	if (start == 0)
		return false;
	for (i = start; i + 8 <= length; i++) {
		if (strncasecmp(body + i, "</title>", 8) == 0) {
			end = i;
			break;
		}
	}
	if (end <= start)
		return false;
	title_length = end - start < sizeof(title) - 1 ? end - start : sizeof(title) - 1;
	memcpy(title, body + start, title_length);
	title[title_length] = '\0';
	append(a, title);
	return true;
}

void mb_error_sentence(const char *resource, long http_status, const char *body, size_t length,
                       char *out, size_t size)
{
	struct appender a = {out, size, 0};
	cJSON *root = NULL;
	const cJSON *error;
	char fallback[64];

	if (size == 0)
		return;
	out[0] = '\0';
	append(&a, resource != NULL ? resource : "request");
	append(&a, ": ");
	if (body != NULL && length > 0)
		root = cJSON_ParseWithLength(body, length);
	if (cJSON_IsObject(root)) {
		error = field(root, "error");
		if (cJSON_IsString(error) && error->valuestring[0] != '\0') {
			append(&a, error->valuestring);
			goto out;
		}
		if (cJSON_IsObject(error) && error->child != NULL) {
			append_field_messages(&a, error);
			goto out;
		}
		error = field(root, "message");
		if (cJSON_IsString(error) && error->valuestring[0] != '\0') {
			append(&a, error->valuestring);
			goto out;
		}
	} else if (cJSON_IsString(root) && root->valuestring[0] != '\0') {
		append(&a, root->valuestring); /* e.g. the 429 body "Retry later" */
		goto out;
	} else if (root == NULL && body != NULL && length > 0) {
		if (append_html_title(&a, body, length))
			goto out;
	}
	snprintf(fallback, sizeof(fallback), "HTTP %ld without a readable error", http_status);
	append(&a, fallback);
out:
	cJSON_Delete(root);
}

/* ---- typed results ---- */

static int need_object(const cJSON *obj, const char *what, struct cn_error *err)
{
	if (cJSON_IsObject(obj))
		return 0;
	error_set(err, "Moneybird's answer is not a %s object", what);
	return CN_INVALID;
}

/* A text member of a typed result, read from the JSON member of its name. */
struct text_field {
	const char *name;
	size_t offset; /* of a char array in the result */
	size_t size;
};

#define TEXT_FIELD(type, member)                                                                   \
	{                                                                                          \
#member, offsetof(type, member), sizeof(((type *)0)->member)                       \
	}
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static void get_texts(const cJSON *obj, void *out, const struct text_field *fields, size_t count)
{
	for (size_t i = 0; i < count; i++)
		get_text(obj, fields[i].name, (char *)out + fields[i].offset, fields[i].size);
}

/* What every typed result starts with: out cleared (out_size bytes), obj an
 * object (`what` in the error), and its required "id" read into id. */
static int read_head(const cJSON *obj, const char *what, void *out, size_t out_size, char *id,
                     size_t id_size, struct cn_error *err)
{
	memset(out, 0, out_size);
	if (need_object(obj, what, err) != 0 || get_id(obj, "id", true, id, id_size, err) != 0)
		return CN_INVALID;
	return 0;
}

#define READ_HEAD(obj, what, out, err)                                                             \
	read_head(obj, what, out, sizeof(*(out)), (out)->id, sizeof((out)->id), err)

#define ADMINISTRATION(member) TEXT_FIELD(struct mb_administration, member)
static const struct text_field administration_texts[] = {
    ADMINISTRATION(name), ADMINISTRATION(currency), ADMINISTRATION(country),
    ADMINISTRATION(time_zone)};

#define CONTACT(member) TEXT_FIELD(struct mb_contact, member)
static const struct text_field contact_texts[] = {CONTACT(customer_id),
                                                  CONTACT(company_name),
                                                  CONTACT(firstname),
                                                  CONTACT(lastname),
                                                  CONTACT(tax_number),
                                                  CONTACT(si_identifier),
                                                  CONTACT(si_identifier_type),
                                                  CONTACT(send_invoices_to_email),
                                                  CONTACT(country)};

#define PAYMENT(member) TEXT_FIELD(struct mb_payment, member)
static const struct text_field payment_texts[] = {
    PAYMENT(payment_date), PAYMENT(transaction_identifier), PAYMENT(manual_payment_action)};

#define INVOICE(member) TEXT_FIELD(struct mb_sales_invoice, member)
static const struct text_field invoice_texts[] = {INVOICE(invoice_id),   INVOICE(reference),
                                                  INVOICE(state),        INVOICE(currency),
                                                  INVOICE(invoice_date), INVOICE(paid_at)};

#define TAX_RATE(member) TEXT_FIELD(struct mb_tax_rate, member)
static const struct text_field tax_rate_texts[] = {TAX_RATE(name), TAX_RATE(percentage),
                                                   TAX_RATE(tax_rate_type), TAX_RATE(country)};

#define LEDGER(member) TEXT_FIELD(struct mb_ledger_account, member)
static const struct text_field ledger_texts[] = {LEDGER(name), LEDGER(account_type),
                                                 LEDGER(account_id)};

#define FINANCIAL(member) TEXT_FIELD(struct mb_financial_account, member)
static const struct text_field financial_texts[] = {FINANCIAL(name), FINANCIAL(type),
                                                    FINANCIAL(identifier), FINANCIAL(currency)};

#define WORKFLOW(member) TEXT_FIELD(struct mb_workflow, member)
static const struct text_field workflow_texts[] = {WORKFLOW(name), WORKFLOW(type),
                                                   WORKFLOW(currency)};

#define WEBHOOK(member) TEXT_FIELD(struct mb_webhook, member)
static const struct text_field webhook_texts[] = {WEBHOOK(url), WEBHOOK(token), WEBHOOK(secret),
                                                  WEBHOOK(deactivated_at)};

int mb_json_administration(const cJSON *obj, struct mb_administration *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "administration", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, administration_texts, COUNT(administration_texts));
	return 0;
}

int mb_json_contact(const cJSON *obj, struct mb_contact *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "contact", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, contact_texts, COUNT(contact_texts));
	out->archived = get_bool(obj, "archived");
	out->version = get_int(obj, "version");
	return 0;
}

int mb_json_payment(const cJSON *obj, struct mb_payment *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "payment", out, err) != 0 ||
	    get_money(obj, "price", &out->price_cents, err) != 0 ||
	    get_id(obj, "financial_account_id", false, out->financial_account_id,
	           sizeof(out->financial_account_id), err) != 0)
		return CN_INVALID;
	get_texts(obj, out, payment_texts, COUNT(payment_texts));
	return 0;
}

int mb_json_sales_invoice(const cJSON *obj, struct mb_sales_invoice *out, struct cn_error *err)
{
	const cJSON *payments;
	const cJSON *payment;

	if (READ_HEAD(obj, "sales invoice", out, err) != 0 ||
	    get_id(obj, "contact_id", false, out->contact_id, sizeof(out->contact_id), err) != 0 ||
	    get_money(obj, "total_price_excl_tax", &out->total_price_excl_tax_cents, err) != 0 ||
	    get_money(obj, "total_price_incl_tax", &out->total_price_incl_tax_cents, err) != 0 ||
	    get_money(obj, "total_paid", &out->total_paid_cents, err) != 0 ||
	    get_money(obj, "total_unpaid", &out->total_unpaid_cents, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, invoice_texts, COUNT(invoice_texts));
	out->prices_are_incl_tax = get_bool(obj, "prices_are_incl_tax");
	out->version = get_int(obj, "version");
	payments = field(obj, "payments");
	cJSON_ArrayForEach(payment, payments)
	{
		out->payment_count_total++;
		if (out->payment_count >= MB_INVOICE_MAX_PAYMENTS)
			continue;
		if (mb_json_payment(payment, &out->payments[out->payment_count], err) != 0) {
			error_prefix(err, "sales invoice %s", out->id);
			return CN_INVALID;
		}
		out->payment_count++;
	}
	return 0;
}

int mb_json_tax_rate(const cJSON *obj, struct mb_tax_rate *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "tax rate", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, tax_rate_texts, COUNT(tax_rate_texts));
	out->active = get_bool(obj, "active");
	return 0;
}

int mb_json_ledger_account(const cJSON *obj, struct mb_ledger_account *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "ledger account", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, ledger_texts, COUNT(ledger_texts));
	out->active = get_bool(obj, "active");
	return 0;
}

int mb_json_financial_account(const cJSON *obj, struct mb_financial_account *out,
                              struct cn_error *err)
{
	if (READ_HEAD(obj, "financial account", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, financial_texts, COUNT(financial_texts));
	out->active = get_bool(obj, "active");
	return 0;
}

int mb_json_workflow(const cJSON *obj, struct mb_workflow *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "workflow", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, workflow_texts, COUNT(workflow_texts));
	out->is_default = get_bool(obj, "default");
	out->prices_are_incl_tax = get_bool(obj, "prices_are_incl_tax");
	out->active = get_bool(obj, "active");
	return 0;
}

int mb_json_document_style(const cJSON *obj, struct mb_document_style *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "document style", out, err) != 0)
		return CN_INVALID;
	get_text(obj, "name", out->name, sizeof(out->name));
	out->is_default = get_bool(obj, "default");
	return 0;
}

int mb_json_webhook(const cJSON *obj, struct mb_webhook *out, struct cn_error *err)
{
	const cJSON *event;
	struct appender events;

	if (READ_HEAD(obj, "webhook", out, err) != 0)
		return CN_INVALID;
	get_texts(obj, out, webhook_texts, COUNT(webhook_texts));
	out->last_http_status = (long)get_int(obj, "last_http_status");
	events.buf = out->enabled_events;
	events.size = sizeof(out->enabled_events);
	events.length = 0;
	cJSON_ArrayForEach(event, field(obj, "enabled_events"))
	{
		if (!cJSON_IsString(event))
			continue;
		if (events.length > 0)
			append(&events, ",");
		append(&events, event->valuestring);
	}
	return 0;
}

int mb_json_sync_entry(const cJSON *obj, struct mb_sync_entry *out, struct cn_error *err)
{
	if (READ_HEAD(obj, "synchronization entry", out, err) != 0)
		return CN_INVALID;
	out->version = get_int(obj, "version");
	return 0;
}

/* ---- exact matching after a free-text search ---- */

/* Compares ignoring case and the spaces/dots people put in VAT numbers. */
static bool same_tax_number(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '.' || *a == '-')
			a++;
		while (*b == ' ' || *b == '.' || *b == '-')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

/* send_invoices_to_email may hold several comma-separated addresses. */
static bool email_list_contains(const char *list, const char *email)
{
	size_t want = strlen(email);
	const char *p = list;

	while (*p != '\0') {
		const char *start;
		const char *end;

		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if ((size_t)(end - start) == want && want > 0 &&
		    strncasecmp(start, email, want) == 0)
			return true;
	}
	return false;
}

bool mb_json_contact_matches(const cJSON *contact, enum mb_contact_field which, const char *value)
{
	const cJSON *item;
	const char *text;

	if (value == NULL || value[0] == '\0')
		return false;
	switch (which) {
	case MB_CONTACT_FIELD_CUSTOMER_ID:
		item = field(contact, "customer_id");
		break;
	case MB_CONTACT_FIELD_TAX_NUMBER:
		item = field(contact, "tax_number");
		break;
	case MB_CONTACT_FIELD_SI_IDENTIFIER:
		item = field(contact, "si_identifier");
		break;
	case MB_CONTACT_FIELD_EMAIL:
		item = field(contact, "send_invoices_to_email");
		break;
	case MB_CONTACT_FIELD_COMPANY_NAME:
		item = field(contact, "company_name");
		break;
	default:
		return false;
	}
	if (!cJSON_IsString(item))
		return false;
	text = item->valuestring;
	switch (which) {
	case MB_CONTACT_FIELD_TAX_NUMBER:
		return same_tax_number(text, value);
	case MB_CONTACT_FIELD_EMAIL:
		return email_list_contains(text, value);
	default:
		return strcmp(text, value) == 0;
	}
}
