/*
 * libFuzzer target: bookto_parse_order (JSON parse + validation into a
 * struct bookto_order). Besides memory errors it checks the header's
 * promises: on success every string is non-NULL, an order that is not parked
 * has amounts that add up and a non-empty order_id and match_ref.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bookto.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bookto_order *order = NULL;
	struct cn_error err;
	int rc;

	rc = bookto_parse_order((const char *)data, size, &order, &err);
	if (rc != 0) {
		CHECK(order == NULL);
		CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		return 0;
	}
	CHECK(order != NULL);
	CHECK(order->event != NULL && order->order_id != NULL && order->currency != NULL);
	CHECK(order->buyer_email != NULL && order->match_ref != NULL);
	CHECK(order->vat_treatment != NULL && order->buyer_country != NULL);
	CHECK(order->custom_field_count == 0 || order->custom_fields != NULL);
	for (size_t i = 0; i < order->custom_field_count; i++)
		CHECK(order->custom_fields[i].label != NULL &&
		      order->custom_fields[i].value != NULL);
	if (order->park_reason == NULL && strcmp(order->event, "order.paid") == 0) {
		CHECK(order->order_id[0] != '\0');
		CHECK(order->match_ref[0] != '\0');
		CHECK(order->total_incl_cents == order->excl_vat_cents + order->vat_cents);
	}
	bookto_order_free(order);
	return 0;
}
