#include "store_array.h"

#include <inttypes.h>

int store_array_literal(struct dynbuf *out, size_t max, const void *items, size_t count,
                        store_array_element add, const char *oom_message, struct cn_error *err)
{
	int rc;

	dynbuf_init(out, max);
	rc = dynbuf_adds(out, "{");
	for (size_t i = 0; rc == CN_OK && i < count; i++) {
		if (i > 0)
			rc = dynbuf_adds(out, ",");
		if (rc == CN_OK)
			rc = add(out, items, i);
	}
	if (rc == CN_OK)
		rc = dynbuf_adds(out, "}");
	if (rc == CN_OK)
		return CN_OK;
	dynbuf_free(out);
	error_set(err, "%s", oom_message);
	return CN_ERR;
}

int store_array_add_int64(struct dynbuf *out, const void *items, size_t i)
{
	return dynbuf_addf(out, "%" PRId64, ((const int64_t *)items)[i]);
}

int store_array_add_plain_text(struct dynbuf *out, const void *items, size_t i)
{
	return dynbuf_adds(out, ((const char *const *)items)[i]);
}
