#include "mb_webhook_keys.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cached_keys {
	bool loaded;
	int64_t loaded_at_ms;
	int64_t refresh_at_ms; /* the last refresh allowed; 0 = never */
	struct store_webhook_keys keys;
};

struct mb_webhook_keys {
	pthread_mutex_t mutex;
	size_t count;
	struct cached_keys *entries; /* count entries */
};

int mb_webhook_keys_create(size_t count, struct mb_webhook_keys **out, struct cn_error *err)
{
	struct mb_webhook_keys *cache = calloc(1, sizeof(*cache));

	*out = NULL;
	if (cache == NULL ||
	    (cache->entries = calloc(count > 0 ? count : 1, sizeof(*cache->entries))) == NULL) {
		free(cache);
		error_set(err, "out of memory creating the webhook key cache");
		return CN_ERR;
	}
	cache->count = count;
	pthread_mutex_init(&cache->mutex, NULL);
	*out = cache;
	return CN_OK;
}

void mb_webhook_keys_free(struct mb_webhook_keys *cache)
{
	if (cache == NULL)
		return;
	OPENSSL_cleanse(cache->entries, cache->count * sizeof(*cache->entries));
	free(cache->entries);
	pthread_mutex_destroy(&cache->mutex);
	free(cache);
}

enum mb_webhook_keys_age mb_webhook_keys_get(struct mb_webhook_keys *cache, size_t index,
                                             int64_t now_ms, struct store_webhook_keys *out)
{
	enum mb_webhook_keys_age age = MB_WEBHOOK_KEYS_NONE;
	int64_t loaded_at_ms;

	memset(out, 0, sizeof(*out));
	if (index >= cache->count)
		return age;
	pthread_mutex_lock(&cache->mutex);
	if (cache->entries[index].loaded) {
		*out = cache->entries[index].keys;
		loaded_at_ms = cache->entries[index].loaded_at_ms;
		age = now_ms - loaded_at_ms < MB_WEBHOOK_KEYS_TTL_MS && now_ms >= loaded_at_ms
		          ? MB_WEBHOOK_KEYS_FRESH
		          : MB_WEBHOOK_KEYS_STALE;
	}
	pthread_mutex_unlock(&cache->mutex);
	return age;
}

bool mb_webhook_keys_may_refresh(struct mb_webhook_keys *cache, size_t index, int64_t now_ms,
                                 bool forced)
{
	struct cached_keys *entry;
	bool allowed;

	if (index >= cache->count)
		return false;
	pthread_mutex_lock(&cache->mutex);
	entry = &cache->entries[index];
	allowed = forced || entry->refresh_at_ms == 0 ||
	          now_ms - entry->refresh_at_ms >= MB_WEBHOOK_KEYS_REFRESH_MS ||
	          now_ms < entry->refresh_at_ms; /* the clock stepped back */
	if (allowed)
		entry->refresh_at_ms = now_ms;
	pthread_mutex_unlock(&cache->mutex);
	return allowed;
}

void mb_webhook_keys_put(struct mb_webhook_keys *cache, size_t index, int64_t now_ms,
                         const struct store_webhook_keys *keys)
{
	if (index >= cache->count)
		return;
	pthread_mutex_lock(&cache->mutex);
	cache->entries[index].keys = *keys;
	cache->entries[index].loaded = true;
	cache->entries[index].loaded_at_ms = now_ms;
	pthread_mutex_unlock(&cache->mutex);
}
