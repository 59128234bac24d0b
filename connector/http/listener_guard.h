/*
 * The whole-request deadline of a listener. libmicrohttpd's connection
 * timeout is an idle timer: a client sending one header line every few
 * seconds resets it forever. The guard knows when each connection's current
 * request began (accept, or the previous answer) and shuts down the socket
 * of any connection whose request has not arrived whole by the deadline;
 * libmicrohttpd then sees the end of the stream and closes it as usual.
 */
#ifndef BM_LISTENER_GUARD_H
#define BM_LISTENER_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct listener_guard;
struct guard_entry;

/* Starts the guard's thread; requests get deadline_ms to arrive whole. */
int guard_start(int deadline_ms, const char *log_name, struct listener_guard **out,
                struct cn_error *err) MUST_CHECK;

/* Stops the thread and frees the guard (every entry must be removed). */
void guard_stop(struct listener_guard *guard);

/* A connection was accepted on socket fd: its first request begins. NULL
 * when out of memory (the connection is then not guarded). */
struct guard_entry *guard_add(struct listener_guard *guard, int fd);

/* The connection is closing (before its socket is closed). */
void guard_remove(struct listener_guard *guard, struct guard_entry *entry);

/* The request arrived whole and is being answered: the deadline no longer
 * applies. */
void guard_answering(struct listener_guard *guard, struct guard_entry *entry);

/* The answer is done: the connection's next request begins now. */
void guard_request_done(struct listener_guard *guard, struct guard_entry *entry);

/* Connections whose request is being answered. */
size_t guard_answering_count(struct listener_guard *guard);

/* Requests closed for missing the deadline so far. */
unsigned long guard_closes(struct listener_guard *guard);

#endif
