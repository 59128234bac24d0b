#include "store_array.h"

int store_array_literal(struct dynbuf *out, size_t max, const void *items, size_t count,
                        store_array_element add, const char *what, struct cn_error *err)
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
	error_set(err, "out of memory %s", what);
	return CN_ERR;
}
