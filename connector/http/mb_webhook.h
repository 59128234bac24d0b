/*
 * The Moneybird webhook receiver (POST /webhooks/moneybird/{connection}).
 * It answers Moneybird's registration check (no body, no signature) with 200
 * without touching anything; every other request must carry a
 * Moneybird-Signature that verifies against the connection's stored secret
 * (or, during a rotation, the previous one) and the matching webhook_token.
 * The header's shape and time window are checked before anything else, and
 * the keys come from an in-memory cache (mb_webhook_keys), so a flood of
 * forged pushes costs no database query. A verified push is stored once per
 * Idempotency-Key and once per signed body (the key is not signed: a
 * replay under a new key is a duplicate), and answered 200 at once;
 * mb_events applies it later, so a slow Moneybird call or a busy database
 * never makes Moneybird retry.
 */
#ifndef BM_MB_WEBHOOK_H
#define BM_MB_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "intake.h"
#include "mb_webhook_keys.h"

/* How long a replaced webhook's token and secret still verify. */
#define MB_WEBHOOK_PREVIOUS_SECRET_SECONDS (72 * 3600)
#define MB_WEBHOOK_IDEMPOTENCY_KEY_MAX 128

struct mb_webhook_response {
	unsigned int status;
	char body[300]; /* JSON */
};

/*
 * Handles one request for a known connection: 200 {"status":"ok"} for the
 * registration check; 401 when the signature, its timestamp or the token
 * does not verify (or no webhook is registered); 400 for a verified body
 * that is not a JSON object or a malformed Idempotency-Key; 200
 * {"status":"accepted"|"duplicate"} once stored; 503 when PostgreSQL cannot
 * take it (Moneybird retries). keys is the process's key cache; now_ms is
 * the current time.
 */
void mb_webhook_handle(struct intake_context *ctx, struct mb_webhook_keys *keys,
                       size_t connection_index, const char *signature_header,
                       const char *idempotency_key, const unsigned char *body, size_t body_len,
                       int64_t now_ms, struct mb_webhook_response *response);

#endif
