#include "listener_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "clock_after.h"
#include "log.h"
#include "stop_flag.h"

#define SWEEP_INTERVAL_MS 200

struct guard_entry {
	struct guard_entry *prev, *next;
	int fd;
	int64_t started_ms; /* when the current request began */
	bool answering;
	bool shut; /* its socket was shut down for the deadline */
};

struct listener_guard {
	pthread_mutex_t mutex;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;          /* guarded by mutex */
	struct guard_entry all; /* sentinel of the list of entries; guarded by mutex */
	size_t answering;       /* guarded by mutex */
	int deadline_ms;
	const char *log_name;
	atomic_ulong closes;
};

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Shuts down every connection past its deadline; returns how many. The
 * entries exist from accept until libmicrohttpd's close notification, which
 * comes before it closes the socket, so fd is still this connection's. */
static unsigned long sweep(struct listener_guard *guard, int64_t now_ms)
{
	unsigned long closed = 0;

	for (struct guard_entry *e = guard->all.next; e != &guard->all; e = e->next) {
		if (e->answering || e->shut || now_ms - e->started_ms < guard->deadline_ms)
			continue;
		shutdown(e->fd, SHUT_RDWR);
		e->shut = true;
		closed++;
	}
	return closed;
}

static void *guard_main(void *arg)
{
	struct listener_guard *guard = arg;

	pthread_mutex_lock(&guard->mutex);
	while (!guard->stopping) {
		struct timespec until = clock_after_ms(CLOCK_MONOTONIC, SWEEP_INTERVAL_MS);
		unsigned long closed;

		while (!guard->stopping &&
		       pthread_cond_timedwait(&guard->wake, &guard->mutex, &until) != ETIMEDOUT)
			;
		if (guard->stopping)
			break;
		closed = sweep(guard, monotonic_ms());
		if (closed > 0) {
			char count[24], deadline[24];

			atomic_fetch_add(&guard->closes, closed);
			snprintf(count, sizeof(count), "%lu", closed);
			snprintf(deadline, sizeof(deadline), "%d", guard->deadline_ms / 1000);
			pthread_mutex_unlock(&guard->mutex);
			log_warn("http_request_deadline", "listener", guard->log_name, "closed",
			         count, "deadline_seconds", deadline, NULL);
			pthread_mutex_lock(&guard->mutex);
		}
	}
	pthread_mutex_unlock(&guard->mutex);
	return NULL;
}

int guard_start(int deadline_ms, const char *log_name, struct listener_guard **out,
                struct cn_error *err)
{
	struct listener_guard *guard =
	    error_calloc_start(sizeof(*guard), "the request deadline", err);

	*out = NULL;
	if (guard == NULL)
		return CN_ERR;
	guard->deadline_ms = deadline_ms;
	guard->log_name = log_name;
	guard->all.next = guard->all.prev = &guard->all;
	if (!stop_flag_shared_thread_start(&guard->mutex, &guard->wake, &guard->thread, guard_main,
	                                   guard)) {
		free(guard);
		error_set(err, "cannot start the request deadline thread");
		return CN_ERR;
	}
	*out = guard;
	return CN_OK;
}

void guard_stop(struct listener_guard *guard)
{
	if (guard == NULL)
		return;
	stop_flag_shared_thread_stop(&guard->mutex, &guard->wake, &guard->stopping, guard->thread);
	free(guard);
}

struct guard_entry *guard_add(struct listener_guard *guard, int fd)
{
	struct guard_entry *entry = calloc(1, sizeof(*entry));

	if (entry == NULL)
		return NULL;
	entry->fd = fd;
	entry->started_ms = monotonic_ms();
	pthread_mutex_lock(&guard->mutex);
	entry->next = guard->all.next;
	entry->prev = &guard->all;
	guard->all.next->prev = entry;
	guard->all.next = entry;
	pthread_mutex_unlock(&guard->mutex);
	return entry;
}

void guard_remove(struct listener_guard *guard, struct guard_entry *entry)
{
	if (entry == NULL)
		return;
	pthread_mutex_lock(&guard->mutex);
	entry->prev->next = entry->next;
	entry->next->prev = entry->prev;
	if (entry->answering)
		guard->answering--;
	pthread_mutex_unlock(&guard->mutex);
	free(entry);
}

void guard_answering(struct listener_guard *guard, struct guard_entry *entry)
{
	if (entry == NULL)
		return;
	pthread_mutex_lock(&guard->mutex);
	if (!entry->answering)
		guard->answering++;
	entry->answering = true;
	pthread_mutex_unlock(&guard->mutex);
}

void guard_request_done(struct listener_guard *guard, struct guard_entry *entry)
{
	if (entry == NULL)
		return;
	pthread_mutex_lock(&guard->mutex);
	if (entry->answering)
		guard->answering--;
	entry->answering = false;
	entry->started_ms = monotonic_ms();
	pthread_mutex_unlock(&guard->mutex);
}

size_t guard_answering_count(struct listener_guard *guard)
{
	size_t count;

	pthread_mutex_lock(&guard->mutex);
	count = guard->answering;
	pthread_mutex_unlock(&guard->mutex);
	return count;
}

unsigned long guard_closes(struct listener_guard *guard)
{
	return atomic_load(&guard->closes);
}
