/* Administrations, reference data (tax rates, ledger and financial
 * accounts, workflows, document styles) and webhooks. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_transport.h"

PARSER_ADAPTER(parse_administration, struct mb_administration, mb_json_administration)
PARSER_ADAPTER(parse_tax_rate, struct mb_tax_rate, mb_json_tax_rate)
PARSER_ADAPTER(parse_ledger_account, struct mb_ledger_account, mb_json_ledger_account)
PARSER_ADAPTER(parse_financial_account, struct mb_financial_account, mb_json_financial_account)
PARSER_ADAPTER(parse_workflow, struct mb_workflow, mb_json_workflow)
PARSER_ADAPTER(parse_document_style, struct mb_document_style, mb_json_document_style)
PARSER_ADAPTER(parse_webhook, struct mb_webhook, mb_json_webhook)

enum mb_outcome mb_administrations_list(struct mb_client *client, struct mb_administration **out,
                                        size_t *count, struct cn_error *err)
{
	struct request req = {"GET administrations",
	                      "administration",
	                      "GET",
	                      "administrations",
	                      true,
	                      NULL,
	                      NULL,
	                      false};

	return mb_transport_fetch_list(client, &req, NULL, false, parse_administration,
	                               sizeof(**out), (void **)out, count, err);
}

enum mb_outcome mb_tax_rates_list(struct mb_client *client, struct mb_tax_rate **out, size_t *count,
                                  struct cn_error *err)
{
	struct request req = {"GET tax_rates", "tax_rate", "GET", "tax_rates",
	                      false,           NULL,       NULL,  false};

	return mb_transport_fetch_list(client, &req, NULL, true, parse_tax_rate, sizeof(**out),
	                               (void **)out, count, err);
}

enum mb_outcome mb_ledger_accounts_list(struct mb_client *client, struct mb_ledger_account **out,
                                        size_t *count, struct cn_error *err)
{
	/* Documented as not paginated. */
	struct request req = {"GET ledger_accounts",
	                      "ledger_account",
	                      "GET",
	                      "ledger_accounts",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return mb_transport_fetch_list(client, &req, NULL, false, parse_ledger_account,
	                               sizeof(**out), (void **)out, count, err);
}

enum mb_outcome mb_financial_accounts_list(struct mb_client *client,
                                           struct mb_financial_account **out, size_t *count,
                                           struct cn_error *err)
{
	struct request req = {"GET financial_accounts",
	                      "financial_account",
	                      "GET",
	                      "financial_accounts",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return mb_transport_fetch_list(client, &req, NULL, true, parse_financial_account,
	                               sizeof(**out), (void **)out, count, err);
}

enum mb_outcome mb_workflows_list(struct mb_client *client, struct mb_workflow **out, size_t *count,
                                  struct cn_error *err)
{
	struct request req = {"GET workflows", "workflow", "GET", "workflows",
	                      false,           NULL,       NULL,  false};

	return mb_transport_fetch_list(client, &req, NULL, true, parse_workflow, sizeof(**out),
	                               (void **)out, count, err);
}

enum mb_outcome mb_document_styles_list(struct mb_client *client, struct mb_document_style **out,
                                        size_t *count, struct cn_error *err)
{
	struct request req = {"GET document_styles",
	                      "document_style",
	                      "GET",
	                      "document_styles",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return mb_transport_fetch_list(client, &req, NULL, true, parse_document_style,
	                               sizeof(**out), (void **)out, count, err);
}

enum mb_outcome mb_webhook_create(struct mb_client *client, const char *url,
                                  const char *const *events, size_t event_count,
                                  struct mb_webhook *out, struct cn_error *err)
{
	struct request req = {"POST webhooks", "webhook", "POST", "webhooks",
	                      false,           NULL,      NULL,   true};

	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = req.endpoint;
	return mb_transport_write_one(client, &req,
	                              mb_json_webhook_body(url, events, event_count, err),
	                              parse_webhook, out, err);
}

enum mb_outcome mb_webhooks_list(struct mb_client *client, struct mb_webhook **out, size_t *count,
                                 struct cn_error *err)
{
	struct request req = {"GET webhooks", "webhook", "GET", "webhooks",
	                      false,          NULL,      NULL,  false};

	return mb_transport_fetch_list(client, &req, NULL, false, parse_webhook, sizeof(**out),
	                               (void **)out, count, err);
}

enum mb_outcome mb_webhook_delete(struct mb_client *client, const char *id, struct cn_error *err)
{
	static const char endpoint[] = "DELETE webhooks/{id}";
	struct request req = {endpoint, "webhook", "DELETE", NULL, false, NULL, NULL, true};
	char path[128];

	if (!mb_id_valid(id))
		return mb_transport_refuse_locally(client, endpoint, err,
		                                   "webhook: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "webhooks/%s", id);
	req.path = path;
	return mb_transport_perform(client, &req, NULL, err);
}
