/*
 * The intake: turns a bookto delivery into durable rows. It verifies the
 * signature and timestamp, parses the payload, and commits delivery + order +
 * job (+ audit row) in one transaction before anything is answered 200. When
 * PostgreSQL cannot take it, the verified delivery is fsynced to the spool
 * and drained into PostgreSQL later through the very same storing path.
 */
#ifndef BM_INTAKE_H
#define BM_INTAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "runtime.h"
#include "store.h"

struct committer;

#define INTAKE_DELIVERY_KEY_LEN 32

struct intake_context {
	const struct config *config;
	struct store_pool *pool;
	const struct runtime *runtime; /* the connections: ids, mappings */
	struct committer *committer;   /* shared commits (serve); NULL: a transaction each */
	atomic_llong deliveries_spooled;
};

enum intake_outcome {
	INTAKE_ACCEPTED,
	INTAKE_DUPLICATE,
	INTAKE_IGNORED,
	INTAKE_INVALID_JSON,
	INTAKE_SPOOLED,
	INTAKE_UNUSABLE, /* signed, but PostgreSQL cannot hold it as an order: kept raw */
};

const char *intake_outcome_name(enum intake_outcome outcome);

/* A delivery that passed (or, from the spool, once passed) verification. */
struct intake_delivery {
	size_t connection_index; /* into config->connections */
	char delivery_key[INTAKE_DELIVERY_KEY_LEN + 1];
	int64_t received_at_ms;
	int64_t signature_timestamp;
	const char *source; /* "bookto", "spool" or "replay" */
	const unsigned char *body;
	size_t body_len;
	/* The verified signature headers ("bookto"; NULL for a replay): the
	 * spool keeps them so that a drain can verify the file again. */
	const char *timestamp_header;
	const char *signature_header;
};

/* Fills delivery_key with a fresh random id. */
void intake_new_delivery_key(char out[INTAKE_DELIVERY_KEY_LEN + 1]);

/*
 * The key of a signed delivery: a hash of the connection, both signature
 * headers and the body. An exact replay of a request (same body, same
 * signature) gets the same key, so PostgreSQL stores it once; a redelivery
 * bookto signs anew (another timestamp) is a delivery of its own.
 */
void intake_signed_delivery_key(const char *connection_name, const char *timestamp_header,
                                const char *signature_header, const unsigned char *body,
                                size_t body_len, char out[INTAKE_DELIVERY_KEY_LEN + 1]);

/*
 * Stores a verified delivery in PostgreSQL in one transaction and reports what
 * it became. CN_RETRYABLE when PostgreSQL is unreachable, did not commit
 * within http.commit_timeout_ms, or the transaction failed (nothing is known
 * to be committed); the caller then spools it. A delivery PostgreSQL cannot
 * hold as an order (not UTF-8, a NUL, or its data refused) is stored raw as
 * INTAKE_UNUSABLE, with err saying why; CN_INVALID only when even that is
 * refused; CN_ERR when the database answered but failed to store it (the
 * caller spools it; a drain tries it again later, after the other files).
 */
int intake_store(struct intake_context *ctx, const struct intake_delivery *delivery,
                 enum intake_outcome *outcome_out, struct cn_error *err) MUST_CHECK;

/* The HTTP answer to a bookto delivery. */
struct intake_response {
	unsigned int status;
	char body[600]; /* JSON */
};

/*
 * Verifies and stores one POST /webhooks/bookto delivery for a known
 * connection: 400 missing headers, 401 bad signature/timestamp, 400 invalid
 * JSON or unusable (kept), 200 accepted/duplicate/ignored/spooled (an exact
 * replay of a stored delivery is a duplicate), 503 when neither
 * PostgreSQL nor the spool could take it. now is the current unix time.
 */
void intake_handle_bookto(struct intake_context *ctx, size_t connection_index,
                          const char *timestamp_header, const char *signature_header,
                          const unsigned char *body, size_t body_len, int64_t now_ms,
                          struct intake_response *response);

#endif
