/*
 * The Moneybird webhook keys (token and signing secret, and the previous
 * pair during a rotation) of each connection, cached in memory so that a
 * push is verified without a database query, and above all so that garbage
 * cannot cost one: a push that does not verify against the cached keys may
 * refresh them (another process may have registered a new webhook) at most
 * once per refresh interval per connection. A push that does verify but
 * needs the database's word (it matched the previous secret, whose
 * 72-hour grace may be over, or its webhook_token differs) refreshes at
 * once: only a holder of a secret can send one. Cached keys are also
 * reloaded once they are older than the time to live. Thread-safe.
 */
#ifndef BM_MB_WEBHOOK_KEYS_H
#define BM_MB_WEBHOOK_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store_reconcile.h"

#define MB_WEBHOOK_KEYS_REFRESH_MS 2000 /* at most one unverified refresh per 2 s */
#define MB_WEBHOOK_KEYS_TTL_MS 60000

struct mb_webhook_keys;

/* A cache for count connections; *out is owned by the caller
 * (mb_webhook_keys_free). */
int mb_webhook_keys_create(size_t count, struct mb_webhook_keys **out,
                           struct cn_error *err) MUST_CHECK;

/* Wipes the secrets and frees the cache; NULL is fine. */
void mb_webhook_keys_free(struct mb_webhook_keys *cache);

enum mb_webhook_keys_age {
	MB_WEBHOOK_KEYS_NONE,  /* never loaded (*out is empty) */
	MB_WEBHOOK_KEYS_STALE, /* older than MB_WEBHOOK_KEYS_TTL_MS, still usable */
	MB_WEBHOOK_KEYS_FRESH,
};

/* Copies the keys of connection index into *out and says how old they are. */
enum mb_webhook_keys_age mb_webhook_keys_get(struct mb_webhook_keys *cache, size_t index,
                                             int64_t now_ms, struct store_webhook_keys *out);

/*
 * Whether the caller may read the keys from the database now. forced (an
 * authentic push needs fresh keys) always may; otherwise at most once per
 * MB_WEBHOOK_KEYS_REFRESH_MS per connection, counted from this call, so a
 * flood of pushes that do not verify costs at most one query per interval.
 */
bool mb_webhook_keys_may_refresh(struct mb_webhook_keys *cache, size_t index, int64_t now_ms,
                                 bool forced);

/* Stores freshly read keys for connection index. */
void mb_webhook_keys_put(struct mb_webhook_keys *cache, size_t index, int64_t now_ms,
                         const struct store_webhook_keys *keys);

#endif
