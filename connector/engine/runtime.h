/*
 * The connection runtime: what the running connector knows about each
 * configured connection, built once from the configuration and passed down
 * to every part that works per connection (intake, sync workers, Moneybird
 * events, periodic reconciliation): its settings, its row id in the
 * database, its loaded mapping and the options its Moneybird session is
 * opened with. One array of these replaces the arrays each part kept
 * indexed by connection, and runtime_find() is the one lookup by id.
 */
#ifndef BM_RUNTIME_H
#define BM_RUNTIME_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

struct mapping;
struct plan_zone;

struct connection_runtime {
	const struct connection_config *config; /* its settings */
	size_t index;                           /* in config->connections (metrics slots) */
	int64_t id;                             /* its row in the database; 0 = not known yet */
	struct mapping *mapping;                /* owned; NULL = not loaded */
	struct plan_zone *zone;                 /* its time_zone; owned; NULL = not loaded */
};

struct runtime {
	const struct config *config;
	struct connection_runtime *connections; /* config->connection_count of them */
	size_t count;
};

/* One entry per configured connection, no ids or mappings yet; *out is
 * owned by the caller (runtime_free). */
int runtime_create(const struct config *config, struct runtime **out,
                   struct cn_error *err) MUST_CHECK;
void runtime_free(struct runtime *runtime);

/* Loads one connection's mapping (problems go to `problems` with file:line). */
int runtime_load_mapping(struct runtime *runtime, size_t index, FILE *problems,
                         struct cn_error *err) MUST_CHECK;
/* Loads every connection's mapping; err names the connection that failed. */
int runtime_load_mappings(struct runtime *runtime, FILE *problems, struct cn_error *err) MUST_CHECK;

/* Loads every connection's time zone (read-only once loaded: threads share it). */
int runtime_load_zones(struct runtime *runtime, struct cn_error *err) MUST_CHECK;

/* Makes sure each connection has its database row and records its id. */
int runtime_ensure_ids(struct runtime *runtime, PGconn *conn, struct cn_error *err) MUST_CHECK;

/* The connection whose database id this is; NULL when none is configured. */
const struct connection_runtime *runtime_find(const struct runtime *runtime, int64_t connection_id);

#endif
