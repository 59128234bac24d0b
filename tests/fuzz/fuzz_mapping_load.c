/*
 * libFuzzer target: mapping_load on a file holding the input, then the
 * lookups a worker does on a loaded mapping.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_temp_file(data, size, ".cfg");
	struct mapping *mapping = NULL;
	struct cn_error err;
	FILE *problems = fuzz_null_stream();

	if (mapping_load(path, &mapping, problems, &err) == 0) {
		CHECK(mapping != NULL);
		CHECK(mapping->description_template != NULL && mapping->reference_template != NULL);
		(void)mapping_find_vat_treatment(mapping, "standard");
		(void)mapping_find_vat_treatment(mapping, "reverse_charge");
		(void)mapping_find_provider(mapping, "mollie");
		(void)mapping_send_method_name(mapping->send_method);
	} else {
		CHECK(mapping == NULL);
	}
	mapping_free(mapping);
	fuzz_stream_close(problems);
	return 0;
}
