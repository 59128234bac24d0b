/*
 * The /metrics page: gathers what a scrape reports from outside PostgreSQL
 * (the spool's counts; each connection's rate budget key and window, by the
 * budget's rules) and hands it to store_metrics_scrape with the gauges read
 * from the database.
 */
#ifndef BM_METRICS_PAGE_H
#define BM_METRICS_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "store.h"

/* The exposition text; *out is malloc'd (caller frees). */
int metrics_page_render(struct store_pool *pool, const struct config *config,
                        const int64_t *connection_ids, char **out, size_t *len,
                        struct cn_error *err) MUST_CHECK;

#endif
