/*
 * libFuzzer target: config_load on a file holding the input. A loaded
 * config must keep its promises (at least one connection, at least one
 * secret each); errors must leave *out NULL. The seeds name the mapping
 * "bm-fuzz-mapping.cfg", which config_load finds next to the config file
 * (the temp folder), so this target writes a valid one there first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz_util.h"

static const char mapping_text[] =
    "vat_treatments = {\n"
    "  standard = { by = \"percentage\"; };\n"
    "  reverse_charge = { by = \"name\"; name = \"BTW verlegd\"; };\n"
    "};\n"
    "send_method = \"Manual\";\n"
    "test_orders = \"skip\";\n";

static void write_mapping(void)
{
	static int written;
	char path[256];
	const char *dir = getenv("TMPDIR");
	FILE *file;

	if (written)
		return;
	snprintf(path, sizeof(path), "%s/bm-fuzz-mapping.cfg", dir != NULL ? dir : "/tmp");
	file = fopen(path, "w");
	if (file == NULL || fputs(mapping_text, file) < 0 || fclose(file) != 0)
		abort();
	written = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_temp_file(data, size, ".cfg");
	struct config *config = NULL;
	struct cn_error err;
	FILE *problems = fuzz_null_stream();

	write_mapping();
	if (config_load(path, &config, problems, &err) == 0) {
		CHECK(config != NULL && config->connection_count >= 1);
		for (size_t i = 0; i < config->connection_count; i++)
			CHECK(config->connections[i].bookto_signing_secret_count >= 1);
	} else {
		CHECK(config == NULL);
	}
	config_free(config);
	fuzz_stream_close(problems);
	return 0;
}
