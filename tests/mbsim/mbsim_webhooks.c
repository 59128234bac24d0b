/*
 * Outgoing webhooks: the delivery queue, the thread that pushes signed
 * deliveries (retrying with a growing delay), and a minimal HTTP/1.1 client
 * for plain http:// URLs on loopback or any resolvable host.
 */
#include "mbsim.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HTTP_TIMEOUT_SECONDS 10
#define MAX_ANSWER 4096

void mbsim_hmac_hex(const char *secret, const char *data, size_t data_len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	unsigned int i;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, data_len, mac,
	     &mac_len);
	for (i = 0; i < mac_len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[2 * (mac_len < 32 ? mac_len : 32)] = '\0';
}

static bool subscribed(const cJSON *hook, const char *event)
{
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(hook, "enabled_events");
	const cJSON *e;

	if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(hook, "deactivated_at")))
		return false;
	if (cJSON_GetArraySize(events) == 0)
		/* "the old implementation will be used (notifications after state
		 * changes of sales invoices)" [CL 2017-03-27] */
		return strncmp(event, "sales_invoice_state_changed_to_", 31) == 0;
	cJSON_ArrayForEach(e, events)
	{
		/* Event groups "are matched on events starting with the group name". */
		if (cJSON_IsString(e) &&
		    strncmp(event, e->valuestring, strlen(e->valuestring)) == 0)
			return true;
	}
	return false;
}

static void delivery_clear(struct mbsim_delivery *d)
{
	free(d->url);
	free(d->secret);
	free(d->body);
	d->url = d->secret = d->body = NULL;
}

void mbsim_deliveries_free(struct mbsim *sim)
{
	size_t i;

	for (i = 0; i < sim->delivery_count; i++)
		delivery_clear(&sim->deliveries[i]);
	free(sim->deliveries);
	sim->deliveries = NULL;
	sim->delivery_count = 0;
}

static void enqueue(struct mbsim *sim, const cJSON *hook, const char *event, const char *entity_id,
                    const char *body, const char *key, bool duplicate)
{
	struct mbsim_delivery *grown, *d;

	if (sim->delivery_count >= MBSIM_MAX_DELIVERIES) {
		fprintf(stderr, "mbsim: webhook queue full, dropping %s\n", event);
		return;
	}
	grown = realloc(sim->deliveries, (sim->delivery_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return;
	sim->deliveries = grown;
	d = &sim->deliveries[sim->delivery_count];
	memset(d, 0, sizeof(*d));
	snprintf(d->webhook_id, sizeof(d->webhook_id), "%s", mbsim_str(hook, "id"));
	snprintf(d->event, sizeof(d->event), "%s", event);
	snprintf(d->entity_id, sizeof(d->entity_id), "%s", entity_id);
	snprintf(d->idempotency_key, sizeof(d->idempotency_key), "%s", key);
	d->url = strdup(mbsim_str(hook, "url"));
	d->secret = strdup(mbsim_str(hook, "_secret"));
	d->body = strdup(body);
	d->duplicate = duplicate;
	d->next_at_ms = mbsim_now_ms();
	if (d->url == NULL || d->secret == NULL || d->body == NULL) {
		delivery_clear(d);
		return;
	}
	sim->delivery_count++;
}

void mbsim_webhooks_emit(struct mbsim *sim, const char *event, const char *entity_type,
                         const char *entity_id, const char *state, const cJSON *entity)
{
	const cJSON *hook;
	bool queued = false;

	cJSON_ArrayForEach(hook, sim->webhooks)
	{
		cJSON *payload;
		char *body;
		char key[33];

		if (!subscribed(hook, event))
			continue;
		payload = cJSON_CreateObject();
		cJSON_AddStringToObject(payload, "administration_id", sim->opt.administration_id);
		cJSON_AddStringToObject(payload, "webhook_id", mbsim_str(hook, "id"));
		cJSON_AddStringToObject(payload, "webhook_token", mbsim_str(hook, "token"));
		cJSON_AddStringToObject(payload, "entity_type", entity_type);
		cJSON_AddStringToObject(payload, "entity_id", entity_id);
		if (state != NULL)
			cJSON_AddStringToObject(payload, "state", state);
		else
			cJSON_AddNullToObject(payload, "state");
		cJSON_AddStringToObject(payload, "action", event);
		cJSON_AddItemToObject(payload, "entity", cJSON_Duplicate(entity, 1));
		body = mbsim_print(payload);
		cJSON_Delete(payload);
		if (body == NULL)
			continue;
		mbsim_random_hex(sim, key, 32);
		enqueue(sim, hook, event, entity_id, body, key, false);
		if (sim->faults.duplicate_webhooks)
			/* Duplicates happen even after a 200 (picqer issue #305); same key. */
			enqueue(sim, hook, event, entity_id, body, key, true);
		free(body);
		queued = true;
	}
	if (queued)
		pthread_cond_signal(&sim->wake);
}

/* Splits http://host[:port]/path; returns 0 on success. */
static int split_url(const char *url, char *host, size_t host_len, char *port, size_t port_len,
                     const char **path)
{
	const char *p, *slash, *colon;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	*path = slash != NULL ? slash : "/";
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	if (colon != NULL) {
		snprintf(host, host_len, "%.*s", (int)(colon - p), p);
		snprintf(port, port_len, "%.*s", (int)(n - (size_t)(colon - p) - 1), colon + 1);
	} else {
		snprintf(host, host_len, "%.*s", (int)n, p);
		snprintf(port, port_len, "80");
	}
	return host[0] != '\0' ? 0 : -1;
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int mbsim_http_post(const char *url, const char *const *headers, const char *body, char *answer,
                    size_t answer_len)
{
	char host[256], port[16], head[2048], buf[MAX_ANSWER + 1];
	const char *path;
	struct addrinfo hints, *res = NULL;
	struct timeval tv = {HTTP_TIMEOUT_SECONDS, 0};
	size_t used = 0, head_len, i;
	int fd = -1, status = -1;
	int n;

	if (answer_len > 0)
		answer[0] = '\0';
	if (split_url(url, host, sizeof(host), port, sizeof(port), &path) != 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		goto out;
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0)
		goto out;
	/* On Linux SO_SNDTIMEO also bounds connect(). */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0)
		goto out;
	n = snprintf(head, sizeof(head),
	             "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Length: %zu\r\n"
	             "Connection: close\r\n",
	             path, host, port, strlen(body));
	head_len = n > 0 ? (size_t)n : 0;
	if (body[0] != '\0' && head_len < sizeof(head)) {
		n = snprintf(head + head_len, sizeof(head) - head_len,
		             "Content-Type: application/json\r\n");
		head_len += n > 0 ? (size_t)n : 0;
	}
	for (i = 0; headers != NULL && headers[i] != NULL && head_len < sizeof(head); i++) {
		n = snprintf(head + head_len, sizeof(head) - head_len, "%s\r\n", headers[i]);
		head_len += n > 0 ? (size_t)n : 0;
	}
	if (head_len + 3 > sizeof(head))
		goto out;
	memcpy(head + head_len, "\r\n", 3);
	head_len += 2;
	if (send_all(fd, head, head_len) != 0 || send_all(fd, body, strlen(body)) != 0)
		goto out;
	/* Read until the peer closes, the buffer is full or the timeout hits. */
	for (;;) {
		ssize_t got = recv(fd, buf + used, MAX_ANSWER - used, 0);
		char *end;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
		buf[used] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			if (cl != NULL && cl < end &&
			    used - (size_t)(end + 4 - buf) >= (size_t)strtol(cl + 17, NULL, 10))
				break;
		}
		if (used == MAX_ANSWER)
			break;
	}
	buf[used] = '\0';
	if (used >= 12 && strncmp(buf, "HTTP/1.", 7) == 0) {
		char *end = NULL;
		long code = strtol(buf + 9, &end, 10);
		const char *content = strstr(buf, "\r\n\r\n");

		if (end != buf + 9 && code >= 100 && code <= 599)
			status = (int)code;
		if (content != NULL && answer_len > 0)
			snprintf(answer, answer_len, "%s", content + 4);
	}
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return status;
}

/* Retry delay grows with each attempt: n x --webhook-retry-seconds. */
static void finish_attempt(struct mbsim *sim, size_t index, int status, const char *answer)
{
	struct mbsim_delivery *d = &sim->deliveries[index];
	cJSON *hook = mbsim_find_by_id(sim->webhooks, d->webhook_id);

	d->attempts++;
	d->last_http_status = status;
	if (hook != NULL) {
		if (status > 0)
			cJSON_ReplaceItemInObjectCaseSensitive(hook, "last_http_status",
			                                       cJSON_CreateNumber(status));
		cJSON_ReplaceItemInObjectCaseSensitive(hook, "last_http_body",
		                                       cJSON_CreateString(answer));
	}
	if (status == 200) {
		d->state = 2;
	} else if (d->attempts > MBSIM_MAX_WEBHOOK_RETRIES) {
		d->state = 3;
	} else {
		d->state = 0;
		d->next_at_ms =
		    mbsim_now_ms() + (int64_t)sim->opt.webhook_retry_seconds * 1000 * d->attempts;
	}
	fprintf(stderr, "mbsim: webhook %s %s attempt %u -> %d%s\n", d->event, d->url, d->attempts,
	        status, d->state == 0 ? " (will retry)" : "");
}

static void *webhook_thread(void *arg)
{
	struct mbsim *sim = arg;

	pthread_mutex_lock(&sim->lock);
	while (!sim->stopping) {
		int64_t now = mbsim_now_ms(), earliest = -1;
		size_t i, due = sim->delivery_count;

		for (i = 0; i < sim->delivery_count; i++) {
			if (sim->deliveries[i].state != 0)
				continue;
			if (sim->deliveries[i].next_at_ms <= now) {
				due = i;
				break;
			}
			if (earliest < 0 || sim->deliveries[i].next_at_ms < earliest)
				earliest = sim->deliveries[i].next_at_ms;
		}
		if (due < sim->delivery_count) {
			struct mbsim_delivery *d = &sim->deliveries[due];
			char *url = strdup(d->url), *secret = strdup(d->secret);
			char *body = strdup(d->body);
			char key_header[80], sig_header[160], sig[65], answer[1024];
			char *signed_payload = NULL;
			const char *headers[4];
			long long t = (long long)mbsim_wall_seconds();
			int status = -1;
			size_t len;

			d->state = 1;
			snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s",
			         d->idempotency_key);
			pthread_mutex_unlock(&sim->lock);
			answer[0] = '\0';
			if (url != NULL && secret != NULL && body != NULL) {
				len = strlen(body) + 32;
				signed_payload = malloc(len);
			}
			if (signed_payload != NULL) {
				int n = snprintf(signed_payload, len, "%lld.%s", t, body);

				mbsim_hmac_hex(secret, signed_payload, n > 0 ? (size_t)n : 0, sig);
				snprintf(sig_header, sizeof(sig_header),
				         "Moneybird-Signature: t=%lld,v1=%s", t, sig);
				headers[0] = key_header;
				headers[1] = sig_header;
				headers[2] = "User-Agent: MoneyBird Webhook";
				headers[3] = NULL;
				status =
				    mbsim_http_post(url, headers, body, answer, sizeof(answer));
			}
			free(signed_payload);
			free(url);
			free(secret);
			free(body);
			pthread_mutex_lock(&sim->lock);
			/* A reset may have emptied the queue meanwhile. */
			if (due < sim->delivery_count && sim->deliveries[due].state == 1)
				finish_attempt(sim, due, status, answer);
			continue;
		}
		if (earliest < 0) {
			pthread_cond_wait(&sim->wake, &sim->lock);
		} else {
			struct timespec ts;
			int64_t wait_ms = earliest - now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)(wait_ms / 1000);
			ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sim->wake, &sim->lock, &ts);
		}
	}
	pthread_mutex_unlock(&sim->lock);
	return NULL;
}

int mbsim_webhooks_start(struct mbsim *sim, pthread_t *thread)
{
	return pthread_create(thread, NULL, webhook_thread, sim) == 0 ? 0 : -1;
}
