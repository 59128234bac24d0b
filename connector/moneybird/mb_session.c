#include "mb_session.h"

#include <string.h>

void mb_session_limits(const struct connection_config *connection, struct budget_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->requests = connection->moneybird_rate_limit_requests;
	out->per_seconds = connection->moneybird_rate_limit_per_seconds;
}

int mb_session_open(struct mb_session *session, const struct connection_config *connection,
                    PGconn *budget_conn, const struct mb_session_options *options,
                    struct cn_error *err)
{
	struct mb_client_options client_options;
	struct budget_limits limits;
	int rc;

	memset(session, 0, sizeof(*session));
	memset(&client_options, 0, sizeof(client_options));
	session->connection = connection;
	client_options.base_url = connection->moneybird_base_url;
	client_options.administration_id = connection->moneybird_administration_id;
	client_options.api_token = connection->moneybird_api_token;
	client_options.timeout_ms = options->timeout_ms;
	if (budget_conn != NULL) {
		mb_session_limits(connection, &limits);
		rc = budget_gate_init(&session->gate, budget_conn, connection->moneybird_api_token,
		                      &limits, options->priority, options->max_wait_ms, err);
		if (rc != CN_OK)
			return rc;
		session->gate.next_after_call = options->after_call;
		session->gate.next_ctx = options->after_ctx;
		budget_gate_hooks(&session->gate, &client_options.hooks);
		session->gated = true;
	} else {
		client_options.hooks.after_call = options->after_call;
		client_options.hooks.ctx = options->after_ctx;
	}
	return mb_client_create(&client_options, &session->client, err);
}

void mb_session_set_conn(struct mb_session *session, PGconn *budget_conn)
{
	if (session->gated)
		session->gate.conn = budget_conn;
}

void mb_session_close(struct mb_session *session)
{
	if (session == NULL)
		return;
	mb_client_free(session->client);
	session->client = NULL;
}
