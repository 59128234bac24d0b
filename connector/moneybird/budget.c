#include "budget.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_budget.h"

#define WINDOW_MARGIN_MIN_MS 50
#define WAIT_STEP_MIN_MS 1

_Static_assert(BUDGET_STAMP_SIZE == STORE_BUDGET_STAMP_MAX, "one size for a log entry's stamp");

int budget_token_key(const char *api_token, char key[BUDGET_KEY_SIZE], struct cn_error *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_length = 0;
	unsigned int i;

	if (api_token == NULL || api_token[0] == '\0') {
		error_set(err, "the Moneybird API token is empty");
		return CN_INVALID;
	}
	if (EVP_Digest(api_token, strlen(api_token), digest, &digest_length, EVP_sha256(), NULL) !=
	        1 ||
	    digest_length != 32) {
		error_set(err, "could not hash the Moneybird API token");
		return CN_ERR;
	}
	for (i = 0; i < digest_length; i++)
		snprintf(key + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

int budget_allowed(const struct budget_limits *limits, enum budget_priority priority)
{
	int reserve_percent = limits->background_reserve_percent > 0
	                          ? limits->background_reserve_percent
	                          : BUDGET_DEFAULT_RESERVE_PERCENT;
	int reserve;

	if (limits->requests < 1)
		return 1;
	if (priority == BUDGET_LIVE)
		return limits->requests;
	if (reserve_percent > 100)
		reserve_percent = 100;
	/* Round the reserve up: live work keeps at least its share. */
	reserve = (limits->requests * reserve_percent + 99) / 100;
	return limits->requests - reserve >= 1 ? limits->requests - reserve : 1;
}

int64_t budget_window_ms(const struct budget_limits *limits)
{
	int64_t window = (int64_t)(limits->per_seconds > 0 ? limits->per_seconds : 1) * 1000;
	int64_t margin = window / 100;

	return window + (margin > WINDOW_MARGIN_MIN_MS ? margin : WINDOW_MARGIN_MIN_MS);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* budget_acquire, also returning the granted entry's stamp (may be NULL). */
static int acquire(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                   enum budget_priority priority, int64_t *retry_at_ms,
                   char stamp[BUDGET_STAMP_SIZE], struct cn_error *err)
{
	bool granted = false;
	int used = 0;

	*retry_at_ms = 0;
	if (store_budget_take(conn, token_key, budget_allowed(limits, priority),
	                      budget_window_ms(limits), (int)priority, &granted, retry_at_ms, &used,
	                      stamp, err) != 0)
		return CN_ERR; /* CN_RETRYABLE is reserved for "no slot" */
	if (granted) {
		*retry_at_ms = 0;
		return 0;
	}
	error_set(err, "the Moneybird rate budget (%d calls per %d s) is used up until %lld",
	          limits->requests, limits->per_seconds, (long long)(*retry_at_ms / 1000));
	return CN_RETRYABLE;
}

int budget_acquire(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                   enum budget_priority priority, int64_t *retry_at_ms, struct cn_error *err)
{
	return acquire(conn, token_key, limits, priority, retry_at_ms, NULL, err);
}

/* budget_acquire_wait, also returning the granted entry's stamp. The sleep
 * ends exactly when the database said the slot frees (rounded up to the ms),
 * so a waiting worker takes it the moment it exists; several waiters race
 * for it under the budget's row lock and the others sleep again. */
static int acquire_wait(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        enum budget_priority priority, int max_wait_ms, int64_t *retry_at_ms,
                        char stamp[BUDGET_STAMP_SIZE], struct cn_error *err)
{
	int64_t deadline = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);

	for (;;) {
		int rc = acquire(conn, token_key, limits, priority, retry_at_ms, stamp, err);
		int64_t now;
		int64_t sleep_ms;
		struct timespec ts;

		if (rc != CN_RETRYABLE)
			return rc;
		now = now_ms();
		if (*retry_at_ms > deadline || now >= deadline)
			return rc;
		sleep_ms = *retry_at_ms - now;
		if (sleep_ms < WAIT_STEP_MIN_MS)
			sleep_ms = WAIT_STEP_MIN_MS;
		if (sleep_ms > deadline - now)
			sleep_ms = deadline - now;
		ts.tv_sec = (time_t)(sleep_ms / 1000);
		ts.tv_nsec = (long)(sleep_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
}

int budget_acquire_wait(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        enum budget_priority priority, int max_wait_ms, int64_t *retry_at_ms,
                        struct cn_error *err)
{
	return acquire_wait(conn, token_key, limits, priority, max_wait_ms, retry_at_ms, NULL, err);
}

int budget_next_free_ms(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        enum budget_priority priority, int64_t *at_ms, struct cn_error *err)
{
	return store_budget_next_free(conn, token_key, budget_allowed(limits, priority),
	                              budget_window_ms(limits), at_ms, err);
}

int budget_rate_limited(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        int64_t reset_epoch, struct cn_error *err)
{
	int window = limits->per_seconds > 0 ? limits->per_seconds : 1;
	int fallback = window / 5 > 1 ? window / 5 : 1;

	/* Moneybird's window cannot end later than one window from now. */
	return store_budget_pause(conn, token_key, reset_epoch, fallback, window + 1, err);
}

int budget_read(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                struct budget_state *out, struct cn_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->requests = limits->requests;
	rc = store_budget_read(conn, token_key, budget_window_ms(limits), &out->used,
	                       &out->paused_until_ms, err);
	if (rc != 0)
		return rc;
	out->remaining = store_budget_remaining(out->requests, out->used, out->paused_until_ms);
	return 0;
}

/* ---- client hooks ---- */

static int gate_before_call(void *ctx, const char *endpoint, int64_t *retry_at,
                            struct cn_error *err)
{
	struct budget_gate *gate = ctx;
	int64_t retry_at_ms = 0;
	int rc;

	gate->granted_stamp[0] = '\0';
	rc = acquire_wait(gate->conn, gate->token_key, &gate->limits, gate->priority,
	                  gate->max_wait_ms, &retry_at_ms, gate->granted_stamp, err);
	if (rc == CN_RETRYABLE)
		*retry_at = (retry_at_ms + 999) / 1000;
	else if (rc != 0)
		error_prefix(err, "cannot check the Moneybird rate budget for %s", endpoint);
	return rc;
}

static void gate_after_call(void *ctx, const struct mb_call *call)
{
	struct budget_gate *gate = ctx;
	struct cn_error err = {""};

	if (gate->granted_stamp[0] != '\0' && !call->budget_refused &&
	    store_budget_stamp(gate->conn, gate->token_key, gate->granted_stamp, &err) != 0)
		log_debug("rate_budget_stamp_failed", "error", err.message, NULL);
	gate->granted_stamp[0] = '\0';
	if (call->outcome == MB_RATE_LIMITED && !call->budget_refused) {
		char until[32];

		snprintf(until, sizeof(until), "%lld", (long long)call->retry_at);
		log_warn("moneybird_rate_limited", "endpoint", call->endpoint, "reset_epoch", until,
		         NULL);
		if (budget_rate_limited(gate->conn, gate->token_key, &gate->limits, call->retry_at,
		                        &err) != 0)
			log_warn("rate_budget_pause_failed", "error", err.message, NULL);
	}
	if (gate->next_after_call != NULL)
		gate->next_after_call(gate->next_ctx, call);
}

int budget_gate_init(struct budget_gate *gate, PGconn *conn, const char *api_token,
                     const struct budget_limits *limits, enum budget_priority priority,
                     int max_wait_ms, struct cn_error *err)
{
	memset(gate, 0, sizeof(*gate));
	gate->conn = conn;
	gate->limits = *limits;
	gate->priority = priority;
	gate->max_wait_ms = max_wait_ms;
	if (limits->requests < 1 || limits->per_seconds < 1) {
		error_set(err, "the Moneybird rate limit needs requests >= 1 and per_seconds >= 1");
		return CN_INVALID;
	}
	return budget_token_key(api_token, gate->token_key, err);
}

void budget_gate_hooks(struct budget_gate *gate, struct mb_client_hooks *hooks)
{
	hooks->before_call = gate_before_call;
	hooks->after_call = gate_after_call;
	hooks->ctx = gate;
}
