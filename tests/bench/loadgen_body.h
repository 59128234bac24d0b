/*
 * Where bm-loadgen's order.paid bodies come from: the built-in fixed order
 * (121.00 incl. 21 %, the default), bm-ordergen's realistic orders
 * (--realistic SEED), or the lines of a file posted as they are
 * (--bodies FILE, e.g. written by bm-ordergen).
 */
#ifndef BM_LOADGEN_BODY_H
#define BM_LOADGEN_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "ordergen.h"

struct body_source {
	const char *prefix;
	char *file_data; /* --bodies: the file, NUL between lines */
	char **lines;
	uint64_t line_count;
	int realistic; /* --realistic: use gen */
	struct ordergen gen;
};

/* Loads FILE's lines (each at most max_line bytes, at most 10^7 lines, the
 * file at most 1 GiB). Returns 0, or -1 with a message on stderr. */
int body_source_load(struct body_source *src, const char *path, size_t max_line);

/* Writes the body of order `index` from `buyer` into out; returns its
 * length or -1 when it does not fit or there is no such line. */
int body_source_render(const struct body_source *src, uint64_t index, uint64_t buyer, char *out,
                       size_t cap);

void body_source_free(struct body_source *src);

#endif
