#include "mb_webhook.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "moneybird_sig.h"
#include "store.h"
#include "store_reconcile.h"

#define POOL_WAIT_MS 2000

static void respond(struct mb_webhook_response *response, unsigned int status, const char *key,
                    const char *value)
{
	response->status = status;
	snprintf(response->body, sizeof(response->body), "{\"%s\":\"%s\"}", key, value);
}

/* A string member, or "" (ids may also come as numbers in old payloads). */
static void member_text(const cJSON *object, const char *name, char *out, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	out[0] = '\0';
	if (cJSON_IsString(item) && item->valuestring != NULL)
		snprintf(out, size, "%s", item->valuestring);
	else if (cJSON_IsNumber(item))
		snprintf(out, size, "%.0f", item->valuedouble);
}

/* Printable ASCII without spaces, 1..MAX bytes. */
static bool key_valid(const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > MB_WEBHOOK_IDEMPOTENCY_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (key[i] <= ' ' || key[i] > '~')
			return false;
	return true;
}

/* Without an Idempotency-Key the body's digest stands in: a retry of one
 * push carries the same body. */
static void body_key(const unsigned char *body, size_t body_len, char *out, size_t size)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	size_t used;

	snprintf(out, size, "sha256:");
	used = strlen(out);
	if (EVP_Digest(body, body_len, digest, &digest_len, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned int i = 0; i < digest_len && used + 3 <= size; i++) {
		snprintf(out + used, size - used, "%02x", digest[i]);
		used += 2;
	}
}

void mb_webhook_handle(struct intake_context *ctx, size_t connection_index,
                       const char *signature_header, const char *idempotency_key,
                       const unsigned char *body, size_t body_len, int64_t now_ms,
                       struct mb_webhook_response *response)
{
	const char *name = ctx->config->connections[connection_index].name;
	int64_t connection_id = ctx->connection_ids[connection_index];
	struct store_webhook_keys keys;
	struct store_mb_event_new event;
	struct cn_error err = {""};
	const char *secrets[2];
	const char *tokens[2];
	size_t secret_count = 0, matched = 0;
	char key[MB_WEBHOOK_IDEMPOTENCY_KEY_MAX + 8];
	char webhook_id[64], webhook_token[256], action[96], entity_type[48], entity_id[40];
	char payload_state[32];
	cJSON *root = NULL;
	PGconn *conn = NULL;
	bool duplicate = false;
	bool broken = false;
	int rc;

	memset(&keys, 0, sizeof(keys));
	/* Moneybird checks a new webhook's URL with an empty, unsigned POST. */
	if (body_len == 0 && (signature_header == NULL || signature_header[0] == '\0')) {
		log_info("moneybird_webhook_check", "connection", name, NULL);
		respond(response, 200, "status", "ok");
		return;
	}
	if (signature_header == NULL || signature_header[0] == '\0') {
		log_warn("moneybird_webhook_refused", "connection", name, "reason",
		         "no Moneybird-Signature header", NULL);
		respond(response, 401, "error", "the Moneybird-Signature header is missing");
		return;
	}
	if (idempotency_key != NULL && idempotency_key[0] != '\0') {
		if (!key_valid(idempotency_key)) {
			respond(response, 400, "error", "the Idempotency-Key header is not valid");
			return;
		}
		snprintf(key, sizeof(key), "%s", idempotency_key);
	} else {
		body_key(body, body_len, key, sizeof(key));
	}

	rc = store_pool_acquire(ctx->pool, POOL_WAIT_MS, &conn, &err);
	if (rc == CN_OK)
		rc = store_reconcile_webhook_keys(conn, connection_id,
		                                  MB_WEBHOOK_PREVIOUS_SECRET_SECONDS, &keys, &err);
	if (rc != CN_OK) {
		broken = true;
		log_error("moneybird_webhook_unavailable", "connection", name, "error", err.message,
		          NULL);
		respond(response, 503, "error", "the database is unavailable; retry later");
		goto out;
	}
	if (!keys.registered) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason",
		         "no webhook is registered for this connection", NULL);
		respond(response, 401, "error",
		        "no Moneybird webhook is registered for this connection");
		goto out;
	}
	secrets[secret_count] = keys.secret;
	tokens[secret_count++] = keys.token;
	if (keys.has_previous) {
		secrets[secret_count] = keys.previous_secret;
		tokens[secret_count++] = keys.previous_token;
	}
	if (moneybird_sig_verify(signature_header, body, body_len, secrets, secret_count,
	                         now_ms / 1000, MONEYBIRD_SIG_TOLERANCE_SECONDS, &matched,
	                         &err) != CN_OK) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason", err.message,
		         NULL);
		respond(response, 401, "error", "the Moneybird-Signature does not verify");
		goto out;
	}
	root = cJSON_ParseWithLength((const char *)body, body_len);
	if (!cJSON_IsObject(root)) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason",
		         "the body is not a JSON object", NULL);
		respond(response, 400, "error", "the body is not a JSON object");
		goto out;
	}
	member_text(root, "webhook_token", webhook_token, sizeof(webhook_token));
	if (!moneybird_sig_token_equal(tokens[matched], webhook_token)) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason",
		         "webhook_token does not match the registered webhook's token", NULL);
		respond(response, 401, "error", "the webhook_token does not verify");
		goto out;
	}
	member_text(root, "webhook_id", webhook_id, sizeof(webhook_id));
	member_text(root, "action", action, sizeof(action));
	member_text(root, "entity_type", entity_type, sizeof(entity_type));
	member_text(root, "entity_id", entity_id, sizeof(entity_id));
	member_text(root, "state", payload_state, sizeof(payload_state));

	memset(&event, 0, sizeof(event));
	event.connection_id = connection_id;
	event.idempotency_key = key;
	{
		struct moneybird_sig sig;
		struct cn_error ignored = {""};

		if (moneybird_sig_parse(signature_header, &sig, &ignored) == CN_OK)
			event.signature_timestamp = sig.timestamp;
	}
	event.webhook_id = webhook_id;
	event.action = action;
	event.entity_type = entity_type;
	event.entity_id = entity_id;
	event.payload_state = payload_state;
	event.body = body;
	event.body_len = body_len;
	rc = store_reconcile_event_insert(conn, &event, &duplicate, &err);
	if (rc != CN_OK) {
		broken = rc == CN_RETRYABLE;
		log_error("moneybird_webhook_unavailable", "connection", name, "error", err.message,
		          NULL);
		respond(response, 503, "error", "the push could not be stored; retry later");
		goto out;
	}
	log_info("moneybird_webhook", "connection", name, "action", action, "entity_id", entity_id,
	         "idempotency_key", key, "outcome", duplicate ? "duplicate" : "accepted", NULL);
	respond(response, 200, "status", duplicate ? "duplicate" : "accepted");
out:
	cJSON_Delete(root);
	store_reconcile_webhook_keys_clear(&keys);
	if (conn != NULL)
		store_pool_release(ctx->pool, conn, broken);
}
