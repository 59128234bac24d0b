#include "intake.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bookto.h"
#include "committer.h"
#include "log.h"
#include "mapping.h"
#include "metrics.h"
#include "spool.h"
#include "store_intake.h"

#define POOL_WAIT_MS 2000

const char *intake_outcome_name(enum intake_outcome outcome)
{
	switch (outcome) {
	case INTAKE_ACCEPTED:
		return "accepted";
	case INTAKE_DUPLICATE:
		return "duplicate";
	case INTAKE_IGNORED:
		return "ignored";
	case INTAKE_INVALID_JSON:
		return "invalid_json";
	case INTAKE_SPOOLED:
		return "spooled";
	case INTAKE_UNUSABLE:
		return "unusable";
	}
	return "unknown";
}

void intake_new_delivery_key(char out[INTAKE_DELIVERY_KEY_LEN + 1])
{
	unsigned char random_bytes[INTAKE_DELIVERY_KEY_LEN / 2];

	if (RAND_bytes(random_bytes, (int)sizeof(random_bytes)) != 1)
		memset(random_bytes, 0, sizeof(random_bytes)); /* never reached in practice */
	for (size_t i = 0; i < sizeof(random_bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", random_bytes[i]);
}

static void sha256_hex(const unsigned char *data, size_t len, char out[65])
{
	unsigned char digest[32];
	unsigned int digest_len = 0;

	EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < digest_len; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

void intake_signed_delivery_key(const char *connection_name, const char *timestamp_header,
                                const char *signature_header, const unsigned char *body,
                                size_t body_len, char out[INTAKE_DELIVERY_KEY_LEN + 1])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	unsigned int digest_len = 0;
	char signature[80];
	size_t i;

	/* The hex of a signature may come in either case; it is the same one. */
	for (i = 0; signature_header[i] != '\0' && i + 1 < sizeof(signature); i++)
		signature[i] = (char)(signature_header[i] >= 'A' && signature_header[i] <= 'Z'
		                          ? signature_header[i] - 'A' + 'a'
		                          : signature_header[i]);
	signature[i] = '\0';
	memset(digest, 0, sizeof(digest));
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, "bookto-delivery", 16) != 1 ||
	    EVP_DigestUpdate(md, connection_name, strlen(connection_name) + 1) != 1 ||
	    EVP_DigestUpdate(md, timestamp_header, strlen(timestamp_header) + 1) != 1 ||
	    EVP_DigestUpdate(md, signature, strlen(signature) + 1) != 1 ||
	    (body_len > 0 && EVP_DigestUpdate(md, body, body_len) != 1) ||
	    EVP_DigestFinal_ex(md, digest, &digest_len) != 1) {
		/* Never reached in practice; a random key only loses the dedup. */
		EVP_MD_CTX_free(md);
		intake_new_delivery_key(out);
		return;
	}
	EVP_MD_CTX_free(md);
	for (size_t j = 0; j < INTAKE_DELIVERY_KEY_LEN / 2; j++)
		snprintf(out + 2 * j, 3, "%02x", digest[j]);
}

/* Parks an order whose vat_treatment the connection's mapping cannot map. */
static int check_vat_treatment(const struct mapping *mapping, struct bookto_order *order)
{
	char *reason = NULL;
	int written;

	if (mapping == NULL || order->vat_treatment[0] == '\0' ||
	    mapping_find_vat_treatment(mapping, order->vat_treatment) != NULL)
		return CN_OK;
	if (order->park_reason != NULL)
		written = asprintf(&reason,
		                   "%s; no mapping for vat_treatment \"%.64s\": add "
		                   "vat_treatments.%.64s to %s",
		                   order->park_reason, order->vat_treatment, order->vat_treatment,
		                   mapping->path);
	else
		written =
		    asprintf(&reason,
		             "no mapping for vat_treatment \"%.64s\": add vat_treatments.%.64s "
		             "to %s",
		             order->vat_treatment, order->vat_treatment, mapping->path);
	if (written < 0)
		return CN_ERR;
	free(order->park_reason);
	order->park_reason = reason;
	return CN_OK;
}

/* Microseconds on the monotonic clock, for durations in the log. */
static int64_t monotonic_us(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* One storing attempt through the committer (serve) or a pooled connection. */
static int store_row(struct intake_context *ctx, const struct store_delivery_row *row,
                     const struct bookto_order *order, enum store_delivery_result *result,
                     struct cn_error *err)
{
	PGconn *conn = NULL;
	int rc;

	if (ctx->committer != NULL)
		return committer_store(ctx->committer, row, order, result, err);
	rc = store_pool_acquire(ctx->pool, POOL_WAIT_MS, &conn, err);
	if (rc != CN_OK)
		return CN_RETRYABLE;
	rc = store_intake_delivery(conn, row, order, result, err);
	store_pool_release(ctx->pool, conn, rc != CN_OK && store_conn_broken(conn));
	return rc;
}

/* A key for an order whose order_id cannot be one: missing or too long. */
static int replace_order_id(struct bookto_order *order, const char *prefix, const char *body_sha256)
{
	char *key = NULL;

	if (asprintf(&key, "%s:%.16s", prefix, body_sha256) < 0)
		return CN_ERR;
	free(order->order_id);
	order->order_id = key;
	return CN_OK;
}

/* Parses the body into row and *order_out (NULL unless it parsed). */
static int classify(struct intake_context *ctx, const struct intake_delivery *delivery,
                    struct store_delivery_row *row, struct bookto_order **order_out,
                    enum intake_outcome *outcome_out, struct cn_error *reason)
{
	struct bookto_order *order = NULL;
	struct cn_error parse_err = {""};
	bool paid_order;

	*order_out = NULL;
	if (bookto_check_text((const char *)delivery->body, delivery->body_len, reason) != CN_OK) {
		row->outcome = "unusable";
		*outcome_out = INTAKE_UNUSABLE;
		return CN_OK;
	}
	if (bookto_parse_order((const char *)delivery->body, delivery->body_len, &order,
	                       &parse_err) != CN_OK) {
		row->outcome = "invalid_json";
		*outcome_out = INTAKE_INVALID_JSON;
		return CN_OK;
	}
	*order_out = order;
	paid_order = strcmp(order->event, "order.paid") == 0;
	row->event = order->event;
	row->outcome = paid_order ? "accepted" : "ignored";
	*outcome_out = paid_order ? INTAKE_ACCEPTED : INTAKE_IGNORED;
	if (paid_order &&
	    check_vat_treatment(ctx->runtime->connections[delivery->connection_index].mapping,
	                        order) != CN_OK)
		return CN_ERR;
	/* An order.paid without a usable order id cannot be deduplicated or
	 * synced; it is kept (parked) under a key derived from its body. An
	 * order_id too long for PostgreSQL's index is never used as a key. */
	if (strlen(order->order_id) > BOOKTO_KEY_MAX &&
	    replace_order_id(order, "invalid-order-id", row->body_sha256_hex) != CN_OK)
		return CN_ERR;
	if (paid_order && order->order_id[0] == '\0' &&
	    replace_order_id(order, "missing-order-id", row->body_sha256_hex) != CN_OK)
		return CN_ERR;
	row->order_id = order->order_id[0] != '\0' ? order->order_id : NULL;
	return CN_OK;
}

/* Stores the delivery raw, as "unusable": nothing in it PostgreSQL must
 * parse or index, so only the database's state can refuse it. */
static int store_unusable(struct intake_context *ctx, struct store_delivery_row *row,
                          enum store_delivery_result *result, struct cn_error *err)
{
	row->event = NULL;
	row->order_id = NULL;
	row->outcome = "unusable";
	return store_row(ctx, row, NULL, result, err);
}

static void log_stored(const struct connection_config *connection,
                       const struct intake_delivery *delivery, enum intake_outcome outcome,
                       const char *order_id, int64_t started_us)
{
	char duration_ms[24];

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	snprintf(duration_ms, sizeof(duration_ms), "%.1f",
	         (double)(monotonic_us() - started_us) / 1000.0);
	log_info("delivery_stored", "connection", connection->name, "delivery",
	         delivery->delivery_key, "source", delivery->source, "outcome",
	         intake_outcome_name(outcome), "order_id", order_id, "duration_ms", duration_ms,
	         NULL);
}

int intake_store(struct intake_context *ctx, const struct intake_delivery *delivery,
                 enum intake_outcome *outcome_out, struct cn_error *err)
{
	int64_t started_us = monotonic_us();
	const struct connection_config *connection =
	    &ctx->config->connections[delivery->connection_index];
	struct bookto_order *order = NULL;
	struct store_delivery_row row;
	enum store_delivery_result result = STORE_DELIVERY_KEPT;
	struct cn_error reason = {""};
	char body_sha256[65];
	bool paid_order;
	const char *metric = NULL;
	int rc;

	sha256_hex(delivery->body, delivery->body_len, body_sha256);
	memset(&row, 0, sizeof(row));
	row.connection_id = ctx->runtime->connections[delivery->connection_index].id;
	row.delivery_key = delivery->delivery_key;
	row.source = delivery->source;
	row.received_at_ms = delivery->received_at_ms;
	row.signature_timestamp = delivery->signature_timestamp;
	row.body = delivery->body;
	row.body_len = delivery->body_len;
	row.body_sha256_hex = body_sha256;

	if (classify(ctx, delivery, &row, &order, outcome_out, &reason) != CN_OK) {
		error_set(err, "out of memory");
		rc = CN_ERR;
		goto out;
	}
	paid_order = *outcome_out == INTAKE_ACCEPTED;
	rc = store_row(ctx, &row, paid_order ? order : NULL, &result, err);
	if (rc == CN_INVALID) {
		/* PostgreSQL refuses this delivery's data, and always will: keep
		 * it raw rather than spool it for a drain that would fail again. */
		log_warn("delivery_refused_by_database", "connection", connection->name, "delivery",
		         delivery->delivery_key, "error", err->message, NULL);
		error_set(&reason, "PostgreSQL cannot store it as an order (%s)", err->message);
		*outcome_out = INTAKE_UNUSABLE;
		paid_order = false;
		rc = store_unusable(ctx, &row, &result, err);
		if (rc == CN_INVALID)
			goto out;
	}
	if (rc != CN_OK) {
		/* Anything not committed is spooled, never lost. CN_ERR: the
		 * database answered, but did not take this delivery. */
		if (rc != CN_ERR)
			rc = CN_RETRYABLE;
		goto out;
	}
	if (result == STORE_DELIVERY_DUPLICATE || result == STORE_DELIVERY_DUPLICATE_DIFFERS ||
	    (result == STORE_DELIVERY_ALREADY_STORED && paid_order))
		*outcome_out = INTAKE_DUPLICATE;
	if (result == STORE_DELIVERY_DUPLICATE_DIFFERS) {
		metric = "duplicate_differs";
		log_warn("redelivery_differs", "connection", connection->name, "order_id",
		         row.order_id, "delivery", delivery->delivery_key, NULL);
	} else if (result == STORE_DELIVERY_ALREADY_STORED &&
	           strcmp(delivery->source, "bookto") == 0) {
		metric = "replay"; /* the very same signed request again */
	} else {
		metric = intake_outcome_name(*outcome_out);
	}
	if (result == STORE_DELIVERY_NEW_ORDER && order->park_reason != NULL)
		log_warn("order_parked", "connection", connection->name, "order_id", row.order_id,
		         "reason", order->park_reason, NULL);
	if (*outcome_out == INTAKE_UNUSABLE) {
		log_warn("delivery_unusable", "connection", connection->name, "delivery",
		         delivery->delivery_key, "reason", reason.message, NULL);
		if (err != NULL)
			*err = reason;
	}
	log_stored(connection, delivery, *outcome_out, row.order_id, started_us);
	metrics_delivery(delivery->connection_index, metric);
out:
	bookto_order_free(order);
	return rc;
}

static void respond(struct intake_response *response, unsigned int status, const char *key,
                    const char *value)
{
	char escaped[400];
	size_t j = 0;

	/* Our own sentences carry no quotes or backslashes, but be safe. */
	for (size_t i = 0; value[i] != '\0' && j + 2 < sizeof(escaped); i++) {
		if (value[i] == '"' || value[i] == '\\')
			escaped[j++] = '\\';
		escaped[j++] = (unsigned char)value[i] < 0x20 ? ' ' : value[i];
	}
	escaped[j] = '\0';
	response->status = status;
	snprintf(response->body, sizeof(response->body), "{\"%s\":\"%s\"}", key, escaped);
}

static void respond_unusable(struct intake_response *response, const char *reason)
{
	char sentence[400];

	snprintf(sentence, sizeof(sentence),
	         "%s; it cannot become an order (the delivery was kept)", reason);
	respond(response, 400, "error", sentence);
}

static int spool_delivery(struct intake_context *ctx, const struct intake_delivery *delivery,
                          struct cn_error *err)
{
	struct spool_entry entry;

	memset(&entry, 0, sizeof(entry));
	snprintf(entry.connection_name, sizeof(entry.connection_name), "%s",
	         ctx->config->connections[delivery->connection_index].name);
	snprintf(entry.delivery_key, sizeof(entry.delivery_key), "%s", delivery->delivery_key);
	snprintf(entry.source, sizeof(entry.source), "%s", delivery->source);
	entry.received_at_ms = delivery->received_at_ms;
	entry.signature_timestamp = delivery->signature_timestamp;
	snprintf(entry.timestamp_header, sizeof(entry.timestamp_header), "%s",
	         delivery->timestamp_header != NULL ? delivery->timestamp_header : "");
	snprintf(entry.signature_header, sizeof(entry.signature_header), "%s",
	         delivery->signature_header != NULL ? delivery->signature_header : "");
	entry.body = (unsigned char *)(uintptr_t)delivery->body;
	entry.body_len = delivery->body_len;
	return spool_write(ctx->config->spool_dir, &entry, err);
}

/* Headers, signature and timestamp; false (and the answer) when refused. */
static bool verify_request(struct intake_context *ctx, size_t connection_index,
                           const char *timestamp_header, const char *signature_header,
                           const unsigned char *body, size_t body_len, int64_t now_ms,
                           int64_t *timestamp, struct intake_response *response)
{
	const struct connection_config *connection = &ctx->config->connections[connection_index];
	struct cn_error err = {""};

	if (timestamp_header == NULL || timestamp_header[0] == '\0') {
		metrics_delivery(connection_index, "rejected");
		respond(response, 400, "error", "the X-Bookto-Timestamp header is missing");
		return false;
	}
	if (signature_header == NULL || signature_header[0] == '\0') {
		metrics_delivery(connection_index, "rejected");
		respond(response, 400, "error", "the X-Bookto-Signature header is missing");
		return false;
	}
	if (bookto_verify_signature(timestamp_header, signature_header, body, body_len,
	                            (const char *const *)connection->bookto_signing_secrets,
	                            connection->bookto_signing_secret_count, &err) != CN_OK) {
		log_warn("delivery_rejected", "connection", connection->name, "reason",
		         "signature does not match", NULL);
		metrics_delivery(connection_index, "rejected");
		respond(response, 401, "error",
		        "the signature does not match any configured signing secret");
		return false;
	}
	if (bookto_check_timestamp(timestamp_header, (time_t)(now_ms / 1000),
	                           connection->bookto_timestamp_tolerance_seconds, timestamp,
	                           &err) != CN_OK) {
		log_warn("delivery_rejected", "connection", connection->name, "reason", err.message,
		         NULL);
		metrics_delivery(connection_index, "rejected");
		respond(response, 401, "error", err.message);
		return false;
	}
	return true;
}

/* PostgreSQL did not take it: the spool keeps it, and says so. */
static void answer_unstored(struct intake_context *ctx, const struct intake_delivery *delivery,
                            enum intake_outcome outcome, const struct cn_error *store_err,
                            struct intake_response *response)
{
	const struct connection_config *connection =
	    &ctx->config->connections[delivery->connection_index];
	struct cn_error err = {""};

	log_warn("database_unavailable", "connection", connection->name, "delivery",
	         delivery->delivery_key, "error", store_err->message, NULL);
	if (spool_delivery(ctx, delivery, &err) != CN_OK) {
		log_error("delivery_lost_refused", "connection", connection->name, "delivery",
		          delivery->delivery_key, "error", err.message, NULL);
		metrics_delivery(delivery->connection_index, "refused");
		respond(response, 503, "error",
		        "the delivery could not be stored durably; retry later");
		return;
	}
	atomic_fetch_add(&ctx->deliveries_spooled, 1);
	metrics_delivery(delivery->connection_index, "spooled");
	log_info("delivery_spooled", "connection", connection->name, "delivery",
	         delivery->delivery_key, NULL);
	/* intake_store parsed before it failed: a spooled body that is not
	 * JSON is still answered as such. */
	if (outcome == INTAKE_INVALID_JSON) {
		respond(response, 400, "error",
		        "the body is not valid JSON (the delivery was kept)");
		return;
	}
	if (outcome == INTAKE_UNUSABLE &&
	    bookto_check_text((const char *)delivery->body, delivery->body_len, &err) != CN_OK) {
		respond_unusable(response, err.message);
		return;
	}
	respond(response, 200, "status", "spooled");
}

void intake_handle_bookto(struct intake_context *ctx, size_t connection_index,
                          const char *timestamp_header, const char *signature_header,
                          const unsigned char *body, size_t body_len, int64_t now_ms,
                          struct intake_response *response)
{
	const struct connection_config *connection = &ctx->config->connections[connection_index];
	struct intake_delivery delivery;
	enum intake_outcome outcome = INTAKE_ACCEPTED;
	struct cn_error err = {""};
	int64_t timestamp = 0;
	int rc;

	if (!verify_request(ctx, connection_index, timestamp_header, signature_header, body,
	                    body_len, now_ms, &timestamp, response))
		return;
	memset(&delivery, 0, sizeof(delivery));
	delivery.connection_index = connection_index;
	intake_signed_delivery_key(connection->name, timestamp_header, signature_header, body,
	                           body_len, delivery.delivery_key);
	delivery.received_at_ms = now_ms;
	delivery.signature_timestamp = timestamp;
	delivery.source = "bookto";
	delivery.body = body;
	delivery.body_len = body_len;
	delivery.timestamp_header = timestamp_header;
	delivery.signature_header = signature_header;

	rc = intake_store(ctx, &delivery, &outcome, &err);
	if (rc == CN_INVALID) {
		/* Not even its raw bytes could be stored: the spool keeps it,
		 * and the drain sets it aside for a person. */
		if (spool_delivery(ctx, &delivery, &err) != CN_OK)
			log_error("delivery_lost_refused", "connection", connection->name,
			          "delivery", delivery.delivery_key, "error", err.message, NULL);
		metrics_delivery(connection_index, "unusable");
		respond(response, 400, "error",
		        "the delivery cannot be stored as an order (it was kept for a person)");
		return;
	}
	if (rc != CN_OK) {
		answer_unstored(ctx, &delivery, outcome, &err, response);
		return;
	}
	if (outcome == INTAKE_INVALID_JSON) {
		respond(response, 400, "error",
		        "the body is not valid JSON (the delivery was kept)");
		return;
	}
	if (outcome == INTAKE_UNUSABLE) {
		respond_unusable(response, err.message);
		return;
	}
	respond(response, 200, "status", intake_outcome_name(outcome));
}
