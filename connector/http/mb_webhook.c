#include "mb_webhook.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mb_webhook_keys.h"
#include "moneybird_sig.h"
#include "store.h"
#include "store_reconcile.h"

#define POOL_WAIT_MS 2000
#define KEYS_WAIT_MS 2000 /* for another request's first read of the keys */
#define KEYS_WAIT_STEP_MS 20

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

/* Lowercase hex SHA-256 of the body (65 bytes with the NUL); "" on failure. */
static void body_digest(const unsigned char *body, size_t body_len, char out[65])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	out[0] = '\0';
	if (EVP_Digest(body, body_len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
	    digest_len != 32)
		return;
	for (unsigned int i = 0; i < digest_len; i++)
		snprintf(out + 2 * i, 65 - 2 * i, "%02x", digest[i]);
}

/* The header's shape and its time window, with no key and no database:
 * what garbage fails on. */
static int precheck_signature(const char *header, int64_t now_ms, struct cn_error *err)
{
	struct moneybird_sig sig;
	int64_t skew;
	int rc = moneybird_sig_parse(header, &sig, err);

	if (rc != CN_OK)
		return rc;
	skew = now_ms / 1000 - sig.timestamp;
	if (skew > MONEYBIRD_SIG_TOLERANCE_SECONDS || skew < -MONEYBIRD_SIG_TOLERANCE_SECONDS) {
		error_set(err,
		          "the Moneybird-Signature timestamp is more than %d seconds away from now",
		          MONEYBIRD_SIG_TOLERANCE_SECONDS);
		return CN_INVALID;
	}
	return CN_OK;
}

enum key_check {
	KEYS_OK,          /* signature and token verify with the current keys */
	KEYS_OK_PREVIOUS, /* ... with the previous pair (its grace may be over) */
	KEYS_BAD_TOKEN,   /* the signature verifies, the webhook_token does not */
	KEYS_BAD_SIGNATURE,
	KEYS_NOT_JSON, /* the signature verifies; the body is not a JSON object */
};

/* Verifies the push against keys; the reason goes to err. The body is
 * parsed (into *root, once) only after its signature verified. */
static enum key_check check_keys(const struct store_webhook_keys *keys, const char *header,
                                 const unsigned char *body, size_t body_len, int64_t now_ms,
                                 cJSON **root, struct cn_error *err)
{
	const char *secrets[2] = {keys->secret, keys->has_previous ? keys->previous_secret : NULL};
	const char *tokens[2] = {keys->token, keys->previous_token};
	char webhook_token[256];
	size_t matched = 0;

	if (!keys->registered) {
		error_set(err, "no Moneybird webhook is registered for this connection");
		return KEYS_BAD_SIGNATURE;
	}
	if (moneybird_sig_verify(header, body, body_len, secrets, 2, now_ms / 1000,
	                         MONEYBIRD_SIG_TOLERANCE_SECONDS, &matched, err) != CN_OK)
		return KEYS_BAD_SIGNATURE;
	if (*root == NULL)
		*root = cJSON_ParseWithLength((const char *)body, body_len);
	if (!cJSON_IsObject(*root)) {
		error_set(err, "the body is not a JSON object");
		return KEYS_NOT_JSON;
	}
	member_text(*root, "webhook_token", webhook_token, sizeof(webhook_token));
	if (!moneybird_sig_token_equal(tokens[matched], webhook_token)) {
		error_set(err, "webhook_token does not match the registered webhook's token");
		return KEYS_BAD_TOKEN;
	}
	return matched == 0 ? KEYS_OK : KEYS_OK_PREVIOUS;
}

/* A stalled database must not hold an HTTP handler thread: each statement
 * of a push runs under a watchdog (store_deadline). Moneybird retries a push
 * answered 5xx, so giving up is safe. */
#define MB_WEBHOOK_DATABASE_LIMIT_MS 3000

static int deadline_outcome(struct store_deadline *deadline, int rc, struct cn_error *err)
{
	if (store_deadline_disarm(deadline)) {
		error_set(err, "PostgreSQL did not answer within %d ms",
		          MB_WEBHOOK_DATABASE_LIMIT_MS);
		return CN_RETRYABLE;
	}
	return rc;
}

/* Reads the connection's keys from PostgreSQL into the cache and *keys.
 * CN_OK, or a pool/database error. */
static int load_keys(struct intake_context *ctx, struct mb_webhook_keys *cache, size_t index,
                     int64_t now_ms, struct store_webhook_keys *keys, struct cn_error *err)
{
	PGconn *conn = NULL;
	struct store_deadline deadline;
	int rc = store_pool_acquire(ctx->pool, POOL_WAIT_MS, &conn, err);

	if (rc != CN_OK)
		return rc;
	store_deadline_arm(&deadline, conn, MB_WEBHOOK_DATABASE_LIMIT_MS);
	rc = store_reconcile_webhook_keys(conn, ctx->runtime->connections[index].id,
	                                  MB_WEBHOOK_PREVIOUS_SECRET_SECONDS, keys, err);
	rc = deadline_outcome(&deadline, rc, err);
	store_pool_release(ctx->pool, conn, rc != CN_OK);
	if (rc == CN_OK)
		mb_webhook_keys_put(cache, index, now_ms, keys);
	return rc;
}

/*
 * Authenticates a push with the cached keys, reading them from the
 * database only when they are missing or old, when the push verifies but
 * needs the stored word (previous secret, other token), or, rate-limited,
 * when it does not verify (a webhook registered by another process).
 * CN_OK when authentic; CN_INVALID (401/400 in *check) otherwise;
 * CN_RETRYABLE when the database is needed and unavailable.
 */
static int authenticate(struct intake_context *ctx, struct mb_webhook_keys *cache, size_t index,
                        const char *header, const unsigned char *body, size_t body_len,
                        int64_t now_ms, cJSON **root, enum key_check *check, struct cn_error *err)
{
	struct store_webhook_keys keys;
	enum mb_webhook_keys_age age = mb_webhook_keys_get(cache, index, now_ms, &keys);
	bool reloaded = false;
	int rc = CN_OK;

	if (age != MB_WEBHOOK_KEYS_FRESH &&
	    mb_webhook_keys_may_refresh(cache, index, now_ms, false)) {
		rc = load_keys(ctx, cache, index, now_ms, &keys, err);
		reloaded = true;
	} else if (age == MB_WEBHOOK_KEYS_NONE) {
		/* Another request is loading them right now: wait for it. */
		for (int waited = 0; age == MB_WEBHOOK_KEYS_NONE && waited < KEYS_WAIT_MS;
		     waited += KEYS_WAIT_STEP_MS) {
			struct timespec step = {0, KEYS_WAIT_STEP_MS * 1000000L};

			nanosleep(&step, NULL);
			age = mb_webhook_keys_get(cache, index, now_ms, &keys);
		}
		if (age == MB_WEBHOOK_KEYS_NONE) {
			error_set(err, "the webhook keys could not be read yet");
			rc = CN_RETRYABLE;
		}
	}
	if (rc != CN_OK)
		goto out;
	*check = check_keys(&keys, header, body, body_len, now_ms, root, err);
	if (*check != KEYS_OK && *check != KEYS_NOT_JSON && !reloaded &&
	    mb_webhook_keys_may_refresh(cache, index, now_ms, *check != KEYS_BAD_SIGNATURE)) {
		rc = load_keys(ctx, cache, index, now_ms, &keys, err);
		if (rc != CN_OK)
			goto out;
		*check = check_keys(&keys, header, body, body_len, now_ms, root, err);
	}
	rc = *check == KEYS_OK || *check == KEYS_OK_PREVIOUS ? CN_OK : CN_INVALID;
out:
	store_reconcile_webhook_keys_clear(&keys);
	return rc;
}

/* The fields of a verified push, stored as received. */
static int store_push(struct intake_context *ctx, int64_t connection_id, const char *key,
                      const char *digest, const char *header, const cJSON *root,
                      const unsigned char *body, size_t body_len, bool *duplicate,
                      struct cn_error *err)
{
	struct store_mb_event_new event;
	struct moneybird_sig sig;
	struct cn_error ignored = {""};
	char webhook_id[64], action[96], entity_type[48], entity_id[40], payload_state[32];
	PGconn *conn = NULL;
	struct store_deadline deadline;
	int rc;

	member_text(root, "webhook_id", webhook_id, sizeof(webhook_id));
	member_text(root, "action", action, sizeof(action));
	member_text(root, "entity_type", entity_type, sizeof(entity_type));
	member_text(root, "entity_id", entity_id, sizeof(entity_id));
	member_text(root, "state", payload_state, sizeof(payload_state));
	memset(&event, 0, sizeof(event));
	event.connection_id = connection_id;
	event.idempotency_key = key;
	event.body_sha256 = digest;
	if (moneybird_sig_parse(header, &sig, &ignored) == CN_OK)
		event.signature_timestamp = sig.timestamp;
	event.webhook_id = webhook_id;
	event.action = action;
	event.entity_type = entity_type;
	event.entity_id = entity_id;
	event.payload_state = payload_state;
	event.body = body;
	event.body_len = body_len;
	rc = store_pool_acquire(ctx->pool, POOL_WAIT_MS, &conn, err);
	if (rc != CN_OK)
		return rc;
	store_deadline_arm(&deadline, conn, MB_WEBHOOK_DATABASE_LIMIT_MS);
	rc = store_reconcile_event_insert(conn, &event, duplicate, err);
	rc = deadline_outcome(&deadline, rc, err);
	store_pool_release(ctx->pool, conn, rc == CN_RETRYABLE);
	return rc;
}

void mb_webhook_handle(struct intake_context *ctx, struct mb_webhook_keys *keys,
                       size_t connection_index, const char *signature_header,
                       const char *idempotency_key, const unsigned char *body, size_t body_len,
                       int64_t now_ms, struct mb_webhook_response *response)
{
	const char *name = ctx->config->connections[connection_index].name;
	struct cn_error err = {""};
	enum key_check check = KEYS_BAD_SIGNATURE;
	char key[MB_WEBHOOK_IDEMPOTENCY_KEY_MAX + 8];
	char digest[65];
	char action[96], entity_id[40];
	cJSON *root = NULL;
	bool duplicate = false;
	int rc;

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
	if (idempotency_key != NULL && idempotency_key[0] != '\0' && !key_valid(idempotency_key)) {
		respond(response, 400, "error", "the Idempotency-Key header is not valid");
		return;
	}
	if (precheck_signature(signature_header, now_ms, &err) != CN_OK) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason", err.message,
		         NULL);
		respond(response, 401, "error", "the Moneybird-Signature does not verify");
		return;
	}
	rc = authenticate(ctx, keys, connection_index, signature_header, body, body_len, now_ms,
	                  &root, &check, &err);
	if (rc == CN_INVALID && check == KEYS_NOT_JSON) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason", err.message,
		         NULL);
		respond(response, 400, "error", "the body is not a JSON object");
		goto out;
	}
	if (rc == CN_INVALID) {
		log_warn("moneybird_webhook_refused", "connection", name, "reason", err.message,
		         NULL);
		respond(response, 401, "error",
		        check == KEYS_BAD_TOKEN ? "the webhook_token does not verify"
		                                : "the Moneybird-Signature does not verify");
		goto out;
	}
	if (rc != CN_OK) {
		log_error("moneybird_webhook_unavailable", "connection", name, "error", err.message,
		          NULL);
		respond(response, 503, "error", "the database is unavailable; retry later");
		goto out;
	}
	/* The signed body is the replay guard; the key (unsigned) only names
	 * Moneybird's retries of one push. */
	body_digest(body, body_len, digest);
	if (idempotency_key != NULL && idempotency_key[0] != '\0')
		snprintf(key, sizeof(key), "%s", idempotency_key);
	else
		snprintf(key, sizeof(key), "sha256:%s", digest);
	rc = store_push(ctx, ctx->runtime->connections[connection_index].id, key, digest,
	                signature_header, root, body, body_len, &duplicate, &err);
	if (rc != CN_OK) {
		log_error("moneybird_webhook_unavailable", "connection", name, "error", err.message,
		          NULL);
		respond(response, 503, "error", "the push could not be stored; retry later");
		goto out;
	}
	member_text(root, "action", action, sizeof(action));
	member_text(root, "entity_id", entity_id, sizeof(entity_id));
	log_info("moneybird_webhook", "connection", name, "action", action, "entity_id", entity_id,
	         "idempotency_key", key, "outcome", duplicate ? "duplicate" : "accepted", NULL);
	respond(response, 200, "status", duplicate ? "duplicate" : "accepted");
out:
	cJSON_Delete(root);
}
