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
 * max bytes; the caller frees *out with dynbuf_free. CN_ERR with err "out of
 * memory what" (and *out already freed) when it does not fit. */
int store_array_literal(struct dynbuf *out, size_t max, const void *items, size_t count,
                        store_array_element add, const char *what, struct cn_error *err) MUST_CHECK;

#endif
