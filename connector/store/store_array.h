/*
 * A list as one PostgreSQL array literal ("{a,b,c}"), so a single statement
 * takes the whole list (= ANY ($1::text[]), unnest($1::bigint[])) instead of
 * one round trip per element.
 */
#ifndef BM_STORE_ARRAY_H
#define BM_STORE_ARRAY_H

#include <stddef.h>

#include "dynbuf.h"

/* Appends items[i] to out as one element; the caller's elements must need no
 * quoting (digits, ids). Returns dynbuf's status. */
typedef int (*store_array_element)(struct dynbuf *out, const void *items, size_t i);

/* Sets *out to "{e0,e1,...}" for count items, built in a buffer of at most
 * max bytes; the caller frees *out with dynbuf_free. CN_ERR with err reading
 * oom_message (and *out already freed) when it does not fit. */
int store_array_literal(struct dynbuf *out, size_t max, const void *items, size_t count,
                        store_array_element add, const char *oom_message,
                        struct cn_error *err) MUST_CHECK;

/* Elements for the common lists: items is an int64_t array, or an array of
 * strings that need no quoting (digits, hex keys). */
int store_array_add_int64(struct dynbuf *out, const void *items, size_t i);
int store_array_add_plain_text(struct dynbuf *out, const void *items, size_t i);

#endif
