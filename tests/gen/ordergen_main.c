/*
 * bm-ordergen: prints seeded, realistic bookto order.paid payloads, one JSON
 * object per line, each line exactly the body to sign and POST (see
 * ordergen.h for what the stream holds and how its figures are derived).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ordergen.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bm-ordergen [--seed N] [--count N] [--start N] [--buyers N]\n"
	        "                   [--prefix P] [--basis mixed|incl|excl] [--price EUR]...\n"
	        "                   [--every-cent FROM-TO [--rate PERCENT]] [--hostile]\n"
	        "                   [--bookable] [--summary]\n"
	        "Prints order.paid payloads, one per line, deterministic for a seed.\n"
	        "  --count N        orders (default 100); --start N: first index (default 0)\n"
	        "  --buyers N       pool of returning buyers (default 60; 0: all new)\n"
	        "  --prefix P       order_id P-INDEX, order_number ORD-P-INDEX (default gen)\n"
	        "  --basis B        mixed (default): retail orders from an incl. price, a\n"
	        "                   share of business orders from an excl. price\n"
	        "  --price EUR      the first orders cost these retail prices at 21 %%\n"
	        "                   (repeatable, e.g. --price 49.00 --price 10.00)\n"
	        "  --every-cent A-B one order per cent from A to B euros (e.g. 0.01-20.00),\n"
	        "                   standard treatment at --rate (default 21); overrides --count\n"
	        "  --hostile        ~15 %% of orders carry quotes, markup, ,:|/%% and spaces\n"
	        "                   in order numbers, long texts\n"
	        "  --bookable       move retail prices whose excl. amount is a rounding tie\n"
	        "                   for bookto (0.99 at 20 %%) up a cent: every order can be\n"
	        "                   reproduced by Moneybird's arithmetic on some basis\n"
	        "  --summary        counts per treatment and basis on stderr\n");
}

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;

	errno = 0;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	*out = strtoull(text, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int parse_range(const char *text, struct ordergen *g)
{
	char from[32];
	const char *dash = text != NULL ? strchr(text, '-') : NULL;

	if (dash == NULL || (size_t)(dash - text) >= sizeof(from))
		return -1;
	memcpy(from, text, (size_t)(dash - text));
	from[dash - text] = '\0';
	g->every_from = ordergen_parse_cents(from);
	g->every_to = ordergen_parse_cents(dash + 1);
	return g->every_from > 0 && g->every_to >= g->every_from ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct ordergen *g, uint64_t *count, uint64_t *start,
                      int *summary)
{
	int i;
	uint64_t v;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--hostile") == 0) {
			g->hostile = true;
			continue;
		}
		if (strcmp(a, "--bookable") == 0) {
			g->bookable_only = true;
			continue;
		}
		if (strcmp(a, "--summary") == 0) {
			*summary = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (val == NULL)
			return -1;
		i++;
		if (strcmp(a, "--seed") == 0 && parse_u64(val, &v) == 0) {
			g->seed = v;
		} else if (strcmp(a, "--count") == 0 && parse_u64(val, count) == 0) {
		} else if (strcmp(a, "--start") == 0 && parse_u64(val, start) == 0) {
		} else if (strcmp(a, "--buyers") == 0 && parse_u64(val, &v) == 0) {
			g->buyers = v;
		} else if (strcmp(a, "--prefix") == 0 && strlen(val) > 0 &&
		           strlen(val) < sizeof(g->prefix)) {
			snprintf(g->prefix, sizeof(g->prefix), "%s", val);
		} else if (strcmp(a, "--basis") == 0 && strcmp(val, "mixed") == 0) {
			g->basis = ORDERGEN_BASIS_MIXED;
		} else if (strcmp(a, "--basis") == 0 && strcmp(val, "incl") == 0) {
			g->basis = ORDERGEN_BASIS_INCL;
		} else if (strcmp(a, "--basis") == 0 && strcmp(val, "excl") == 0) {
			g->basis = ORDERGEN_BASIS_EXCL;
		} else if (strcmp(a, "--price") == 0 && g->fixed_count < ORDERGEN_MAX_FIXED &&
		           ordergen_parse_cents(val) > 0) {
			g->fixed_cents[g->fixed_count++] = ordergen_parse_cents(val);
		} else if (strcmp(a, "--every-cent") == 0 && parse_range(val, g) == 0) {
		} else if (strcmp(a, "--rate") == 0 && ordergen_parse_cents(val) >= 0 &&
		           ordergen_parse_cents(val) <= 10000) {
			g->every_rate_bp = (int)ordergen_parse_cents(val);
		} else {
			fprintf(stderr, "bm-ordergen: bad option or value: %s %s\n", a, val);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ordergen g;
	struct ordergen_figures fig;
	uint64_t count = 100, start = 0, i, from_excl = 0;
	int summary = 0;
	static char body[ORDERGEN_BODY_MAX];
	static const char *const names[] = {"standard", "reverse_charge", "export", "exempt",
	                                    "oss"};
	uint64_t per[5] = {0};
	size_t k;

	ordergen_init(&g, 1);
	if (parse_args(argc, argv, &g, &count, &start, &summary) != 0) {
		usage(stderr);
		return 2;
	}
	if (ordergen_every_cent_count(&g) > 0) {
		count = ordergen_every_cent_count(&g);
		start = 0;
	}
	for (i = start; i < start + count; i++) {
		int n = ordergen_render(&g, i, ordergen_buyer_of(&g, i), body, sizeof(body), &fig);

		if (n < 0) {
			fprintf(stderr, "bm-ordergen: order %" PRIu64 " does not fit\n", i);
			return 1;
		}
		fwrite(body, 1, (size_t)n, stdout);
		fputc('\n', stdout);
		for (k = 0; k < 5; k++)
			per[k] += strcmp(fig.treatment, names[k]) == 0;
		from_excl += fig.from_excl;
	}
	if (summary) {
		for (k = 0; k < 5; k++)
			fprintf(stderr, "%s=%" PRIu64 "\n", names[k], per[k]);
		fprintf(stderr, "from_excl=%" PRIu64 "\n", from_excl);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
