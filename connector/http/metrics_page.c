#include "metrics_page.h"

#include <stdlib.h>

#include "budget.h"
#include "spool.h"
#include "status.h"
#include "store_metrics.h"

_Static_assert(BUDGET_KEY_SIZE == STORE_BUDGET_KEY_SIZE, "one token key size");

int metrics_page_render(struct store_pool *pool, const struct config *config,
                        const int64_t *connection_ids, char **out, size_t *len,
                        struct cn_error *err)
{
	struct store_metrics_inputs inputs = {0, 0, NULL, status_order_counts_many};
	struct store_metrics_budget *budgets;
	int rc;

	budgets = calloc(config->connection_count + 1, sizeof(*budgets));
	if (budgets == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	for (size_t c = 0; c < config->connection_count; c++) {
		const struct connection_config *cc = &config->connections[c];
		struct budget_limits limits = {cc->moneybird_rate_limit_requests,
		                               cc->moneybird_rate_limit_per_seconds, 0};
		struct cn_error key_err = {""};

		budgets[c].requests = cc->moneybird_rate_limit_requests;
		budgets[c].window_ms = budget_window_ms(&limits);
		/* An empty key makes the scrape report the database part as down,
		 * as a failed budget read does. */
		if (budget_token_key(cc->moneybird_api_token, budgets[c].token_key, &key_err) !=
		    CN_OK)
			budgets[c].token_key[0] = '\0';
	}
	inputs.spooled_deliveries = (int64_t)spool_count(config->spool_dir);
	inputs.spool_rejected_files = (int64_t)spool_rejected_count(config->spool_dir);
	inputs.budgets = budgets;
	rc = store_metrics_scrape(pool, config, connection_ids, &inputs, out, len, err);
	free(budgets);
	return rc;
}
