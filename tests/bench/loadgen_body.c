#include "loadgen_body.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (1024L * 1024L * 1024L)
#define MAX_LINES 10000000u

int body_source_load(struct body_source *src, const char *path, size_t max_line)
{
	FILE *f = fopen(path, "rb");
	long size;
	size_t got, i, start = 0;
	int rc = -1;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "bm-loadgen: cannot read %s\n", path);
		goto out;
	}
	src->file_data = malloc((size_t)size + 1);
	src->lines =
	    calloc(MAX_LINES < (size_t)size + 1 ? MAX_LINES : (size_t)size + 1, sizeof(char *));
	if (src->file_data == NULL || src->lines == NULL) {
		fprintf(stderr, "bm-loadgen: out of memory for %s\n", path);
		goto out;
	}
	got = fread(src->file_data, 1, (size_t)size, f);
	src->file_data[got] = '\0';
	for (i = 0; i <= got; i++) {
		if (i < got && src->file_data[i] != '\n')
			continue;
		src->file_data[i] = '\0';
		if (i > start) {
			if (i - start > max_line || src->line_count == MAX_LINES) {
				fprintf(stderr,
				        "bm-loadgen: %s: line %" PRIu64 " too long or too many\n",
				        path, src->line_count + 1);
				goto out;
			}
			src->lines[src->line_count++] = src->file_data + start;
		}
		start = i + 1;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

/* The fixed order of earlier bench runs: 100.00 + 21 % = 121.00, a business
 * buyer per buyer number. */
static int render_builtin(const struct body_source *src, uint64_t index, uint64_t buyer, char *out,
                          size_t cap)
{
	int n = snprintf(
	    out, cap,
	    "{\"event\":\"order.paid\",\"payment_provider\":\"mollie\","
	    "\"order_id\":\"%s-%" PRIu64 "\",\"order_number\":\"B%s-%" PRIu64 "\","
	    "\"status\":\"paid\",\"created_at\":\"2024-05-02T10:14:03Z\","
	    "\"paid_at\":\"2024-05-02T10:15:27Z\","
	    "\"amount\":{\"total_incl\":121.00,\"excl_vat\":100.00,\"vat\":21.00,"
	    "\"vat_rate\":21,\"currency\":\"EUR\"},\"vat_treatment\":\"standard\","
	    "\"product\":{\"name\":\"Het Grote Boek\",\"description\":\"Hardcover\"},"
	    "\"buyer\":{\"first_name\":\"Jan\",\"last_name\":\"Koper %" PRIu64 "\","
	    "\"email\":\"buyer%" PRIu64 "@example.nl\",\"company\":\"Koper %" PRIu64
	    " B.V.\",\"vat_number\":\"NL%09" PRIu64 "B01\",\"peppol_id\":\"\","
	    "\"address\":\"Keizersgracht 1\",\"address2\":\"\",\"postal_code\":\"1015 CJ\","
	    "\"city\":\"Amsterdam\",\"country\":\"NL\",\"match_ref\":\"NL%09" PRIu64 "B01\"},"
	    "\"custom_fields\":[],\"seller\":{\"id\":\"seller_42\",\"entity\":null},"
	    "\"is_test_order\":false}",
	    src->prefix, index, src->prefix, index, buyer, buyer, buyer, buyer % 1000000000u,
	    buyer % 1000000000u);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int body_source_render(const struct body_source *src, uint64_t index, uint64_t buyer, char *out,
                       size_t cap)
{
	size_t len;

	if (src->lines != NULL) {
		if (index >= src->line_count)
			return -1;
		len = strlen(src->lines[index]);
		if (len + 1 > cap)
			return -1;
		memcpy(out, src->lines[index], len + 1);
		return (int)len;
	}
	if (src->realistic)
		return ordergen_render(&src->gen, index, buyer, out, cap, NULL);
	return render_builtin(src, index, buyer, out, cap);
}

void body_source_free(struct body_source *src)
{
	free(src->lines);
	free(src->file_data);
	src->lines = NULL;
	src->file_data = NULL;
}
