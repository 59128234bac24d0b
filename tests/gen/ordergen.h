/*
 * ordergen: a seeded generator of realistic bookto order.paid payloads, for
 * tests and benchmarks. Each order is a pure function of (seed, index), and
 * each buyer of (seed, buyer number), so a stream is reproducible and any one
 * order can be rebuilt on its own (the load generator builds them lazily).
 *
 * bookto's figures are derived the way bookto derives them, independently of
 * the connector: a retail price incl. VAT gives excl = round_half_up(incl /
 * (1 + r)) and vat = incl - excl; a business price excl. VAT gives vat =
 * round_half_up(excl * r) and incl = excl + vat. Money is integer cents,
 * rates are hundredths of a percent (21 % = 2100).
 */
#ifndef BM_ORDERGEN_H
#define BM_ORDERGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORDERGEN_MAX_FIXED 32
#define ORDERGEN_BODY_MAX 16384

enum ordergen_basis {
	ORDERGEN_BASIS_MIXED, /* retail from incl, a share of business orders from excl */
	ORDERGEN_BASIS_INCL,  /* every order from an incl. price */
	ORDERGEN_BASIS_EXCL,  /* every order from an excl. price */
};

struct ordergen {
	uint64_t seed;
	uint64_t buyers; /* size of the buyer pool; 0 = a new buyer for every order */
	char prefix[48]; /* order_id is PREFIX-INDEX, order_number ORD-PREFIX-INDEX */
	enum ordergen_basis basis;
	/* Every-cent mode (every_to >= every_from > 0): order i costs every_from + i
	 * cents, standard treatment at every_rate_bp, NL buyer. */
	int64_t every_from, every_to;
	int every_rate_bp;
	/* The first fixed_count orders cost these retail prices at standard 21 %. */
	int64_t fixed_cents[ORDERGEN_MAX_FIXED];
	size_t fixed_count;
	/* Hostile text in a share of orders: quotes, markup, long strings,
	 * ",:|/%" and spaces in order numbers. */
	bool hostile;
	/* Only orders Moneybird can reproduce: a retail price whose excl. amount
	 * is an exact tie in bookto's rounding (e.g. 0.99 at 20 %: 0.825) is moved
	 * up by a cent. Without it ~1 in 6 retail prices at 20 % is such a tie. */
	bool bookable_only;
};

/* What one generated order carries, for callers that check outcomes. */
struct ordergen_figures {
	int64_t incl_cents, excl_cents, vat_cents;
	int rate_bp;
	const char *treatment;
	bool from_excl;
	uint64_t buyer;
};

/* Defaults: pool of 60 buyers, mixed basis, prefix "gen". */
void ordergen_init(struct ordergen *g, uint64_t seed);

/* The buyer of order `index` (its pool number, or index when buyers is 0). */
uint64_t ordergen_buyer_of(const struct ordergen *g, uint64_t index);

/* Number of orders every-cent mode produces; 0 when it is off. */
uint64_t ordergen_every_cent_count(const struct ordergen *g);

/*
 * Writes order `index`, placed by `buyer`, as one line of JSON (no newline)
 * into out. Returns its length, or -1 when it does not fit in cap.
 * fig may be NULL.
 */
int ordergen_render(const struct ordergen *g, uint64_t index, uint64_t buyer, char *out, size_t cap,
                    struct ordergen_figures *fig);

/* bookto's arithmetic (round half up, cents >= 0). */
int64_t ordergen_excl_from_incl(int64_t incl_cents, int rate_bp);
int64_t ordergen_vat_from_excl(int64_t excl_cents, int rate_bp);

/* "12.34" or "12,34" or "12" -> cents; -1 when malformed. */
int64_t ordergen_parse_cents(const char *text);

#endif
