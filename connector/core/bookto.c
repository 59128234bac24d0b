#include "bookto.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookto_internal.h"

#define CUSTOM_FIELDS_MAX 50
#define CUSTOM_FIELD_TEXT_MAX 4096
#define PARK_REASON_MAX 2048

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
	/* cJSON's types are single bits (true and false two of them). */
	static const struct {
		int types;
		const char *name;
	} names[] = {{cJSON_String, "a string"},
	             {cJSON_Number, "a number"},
	             {cJSON_True | cJSON_False, "a boolean"},
	             {cJSON_Array, "an array"},
	             {cJSON_Object, "an object"},
	             {cJSON_NULL, "null"}};

	for (size_t i = 0; item != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if ((item->type & 0xFF & names[i].types) != 0)
			return names[i].name;
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
		bookto_format_number(item->valuedouble, shown, shown_size);
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

		bookto_format_cents(*cents, euros, sizeof(euros));
		park_add(park, "amount.%s %s is negative", key, euros);
		return false;
	}
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

		bookto_format_cents(order->excl_vat_cents, excl, sizeof(excl));
		bookto_format_cents(order->vat_cents, vat, sizeof(vat));
		bookto_format_cents(order->total_incl_cents, total, sizeof(total));
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
		bookto_format_rate(rate, rate_text, sizeof(rate_text));
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
		*c = bookto_ascii_upper(*c);

	/* match_ref as sent (trimmed); derived by bookto's rule when empty. */
	start = order->match_ref;
	while (bookto_is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && bookto_is_space(end[-1]))
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
		bookto_format_number(item->valuedouble, number_buffer, buffer_size);
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
	} else if (bookto_parse_iso8601(order->paid_at_text, &order->paid_at_epoch)) {
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
		if (!bookto_is_space(*p)) {
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
