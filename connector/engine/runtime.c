#include "runtime.h"

#include <stdlib.h>

#include "mapping.h"
#include "plan.h"
#include "store.h"

int runtime_create(const struct config *config, struct runtime **out, struct cn_error *err)
{
	struct runtime *runtime = calloc(1, sizeof(*runtime));

	*out = NULL;
	if (runtime == NULL ||
	    (config->connection_count > 0 &&
	     (runtime->connections =
	          calloc(config->connection_count, sizeof(*runtime->connections))) == NULL)) {
		free(runtime);
		error_set(err, "out of memory building the connection runtime");
		return CN_ERR;
	}
	runtime->config = config;
	runtime->count = config->connection_count;
	for (size_t i = 0; i < runtime->count; i++) {
		runtime->connections[i].config = &config->connections[i];
		runtime->connections[i].index = i;
	}
	*out = runtime;
	return CN_OK;
}

void runtime_free(struct runtime *runtime)
{
	if (runtime == NULL)
		return;
	for (size_t i = 0; i < runtime->count; i++) {
		mapping_free(runtime->connections[i].mapping);
		plan_zone_free(runtime->connections[i].zone);
	}
	free(runtime->connections);
	free(runtime);
}

int runtime_load_mapping(struct runtime *runtime, size_t index, FILE *problems,
                         struct cn_error *err)
{
	struct connection_runtime *connection = &runtime->connections[index];
	struct mapping *mapping = NULL;
	int rc = mapping_load(connection->config->mapping_path, &mapping, problems, err);

	if (rc != CN_OK)
		return rc;
	mapping_free(connection->mapping);
	connection->mapping = mapping;
	return CN_OK;
}

int runtime_load_mappings(struct runtime *runtime, FILE *problems, struct cn_error *err)
{
	for (size_t i = 0; i < runtime->count; i++) {
		int rc = runtime_load_mapping(runtime, i, problems, err);

		if (rc != CN_OK) {
			error_prefix(err, "the mapping of connection %s is not valid",
			             runtime->connections[i].config->name);
			return rc;
		}
	}
	return CN_OK;
}

int runtime_load_zones(struct runtime *runtime, struct cn_error *err)
{
	for (size_t i = 0; i < runtime->count; i++) {
		struct connection_runtime *connection = &runtime->connections[i];
		int rc;

		if (connection->zone != NULL)
			continue;
		rc = plan_zone_load(connection->config->time_zone, &connection->zone, err);
		if (rc != CN_OK) {
			error_prefix(err, "connection %s", connection->config->name);
			return rc;
		}
	}
	return CN_OK;
}

int runtime_ensure_ids(struct runtime *runtime, PGconn *conn, struct cn_error *err)
{
	for (size_t i = 0; i < runtime->count; i++) {
		const struct connection_config *cc = runtime->connections[i].config;
		int rc = store_connection_ensure(conn, cc->name, cc->moneybird_administration_id,
		                                 &runtime->connections[i].id, err);

		if (rc != CN_OK)
			return rc;
	}
	return CN_OK;
}

const struct connection_runtime *runtime_find(const struct runtime *runtime, int64_t connection_id)
{
	for (size_t i = 0; i < runtime->count; i++)
		if (runtime->connections[i].id == connection_id)
			return &runtime->connections[i];
	return NULL;
}
