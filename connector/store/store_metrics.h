/*
 * The metrics gauges that live in PostgreSQL, read at scrape time in one
 * short read-only transaction with a statement timeout (a slow database
 * makes a scrape report database_up 0, never hang): orders per state and
 * connection, pauses, the job queue, the received -> synced latency
 * histogram and the rate budget left per token. Orders per state and the
 * histogram come from counters that triggers keep (migration 0010), so a
 * scrape costs the same at any number of orders. store_metrics_scrape puts
 * them together with the process counters into the exposition text.
 */
#ifndef BM_STORE_METRICS_H
#define BM_STORE_METRICS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "metrics.h"
#include "store.h"

#define STORE_METRICS_TIMEOUT_MS 2000

/* Fills gauges from the database; gauges->connections[i] must already have
 * its name and corresponds to config->connections[i] / connection_ids[i]. */
int store_metrics_read(PGconn *conn, const struct config *config, const int64_t *connection_ids,
                       struct metrics_gauges *gauges, struct cn_error *err) MUST_CHECK;

/* A whole scrape: spool count, gauges (database_up 0 when PostgreSQL does
 * not answer within the timeout), counters. *out is malloc'd (caller frees). */
int store_metrics_scrape(struct store_pool *pool, const struct config *config,
                         const int64_t *connection_ids, char **out, size_t *len,
                         struct cn_error *err) MUST_CHECK;

#endif
