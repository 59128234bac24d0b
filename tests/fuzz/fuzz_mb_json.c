/*
 * libFuzzer target: the Moneybird response parsers of mb_json.h. The input
 * is used three ways: as a response body for mb_error_sentence (any bytes),
 * as JSON handed to every typed parser (the object itself, and each element
 * when it is an array, as list endpoints return), and as a NUL-terminated
 * string for the money and reset-header parsers. Money that parses must
 * survive a format/parse round trip unchanged.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mb_json.h"

static void parse_all(const cJSON *obj)
{
	struct cn_error err;
	struct mb_administration administration;
	struct mb_contact contact;
	struct mb_sales_invoice invoice;
	struct mb_payment payment;
	struct mb_tax_rate tax_rate;
	struct mb_ledger_account ledger;
	struct mb_financial_account financial;
	struct mb_workflow workflow;
	struct mb_document_style style;
	struct mb_webhook webhook;
	struct mb_sync_entry entry;
	char id[64];

	(void)mb_json_administration(obj, &administration, &err);
	(void)mb_json_contact(obj, &contact, &err);
	(void)mb_json_sales_invoice(obj, &invoice, &err);
	(void)mb_json_payment(obj, &payment, &err);
	(void)mb_json_tax_rate(obj, &tax_rate, &err);
	(void)mb_json_ledger_account(obj, &ledger, &err);
	(void)mb_json_financial_account(obj, &financial, &err);
	(void)mb_json_workflow(obj, &workflow, &err);
	(void)mb_json_document_style(obj, &style, &err);
	(void)mb_json_webhook(obj, &webhook, &err);
	(void)mb_json_sync_entry(obj, &entry, &err);
	if (mb_json_id(obj, id, sizeof(id)) == 0)
		CHECK(mb_id_valid(id));
	(void)mb_json_id(cJSON_GetObjectItemCaseSensitive(obj, "id"), id, sizeof(id));
	(void)mb_json_contact_matches(obj, MB_CONTACT_FIELD_CUSTOMER_ID, "12345");
	(void)mb_json_contact_matches(obj, MB_CONTACT_FIELD_TAX_NUMBER, "NL123456789B01");
	(void)mb_json_contact_matches(obj, MB_CONTACT_FIELD_SI_IDENTIFIER, "0106:12345678");
	(void)mb_json_contact_matches(obj, MB_CONTACT_FIELD_EMAIL, "jan@example.nl");
	(void)mb_json_contact_matches(obj, MB_CONTACT_FIELD_COMPANY_NAME, "Jansen B.V.");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sentence[512];
	char *text;
	cJSON *root;
	int64_t cents = 0, again = 0, epoch = 0;
	char formatted[64];

	mb_error_sentence("contact", 422, (const char *)data, size, sentence, sizeof(sentence));
	CHECK(memchr(sentence, '\0', sizeof(sentence)) != NULL);
	mb_error_sentence("payment", 429, (const char *)data, size, sentence, 8);
	CHECK(memchr(sentence, '\0', 8) != NULL);

	root = cJSON_ParseWithLength((const char *)data, size);
	if (root != NULL) {
		const cJSON *item;

		parse_all(root);
		if (cJSON_IsArray(root) || cJSON_IsObject(root))
			cJSON_ArrayForEach(item, root) parse_all(item);
		cJSON_Delete(root);
	}

	text = fuzz_cstring(data, size);
	if (mb_money_parse(text, &cents) == 0) {
		CHECK(mb_money_format(cents, formatted, sizeof(formatted)) == 0);
		CHECK(mb_money_parse(formatted, &again) == 0);
		CHECK(again == cents);
	}
	(void)mb_parse_reset_epoch(text, 1714644927, &epoch);
	(void)mb_id_valid(text);
	free(text);
	return 0;
}
