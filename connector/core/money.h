/* Decimal money amounts as bookto and Moneybird write them ("12", "-3.5",
 * "1.210"), read once for both (money.c). */
#ifndef BM_MONEY_H
#define BM_MONEY_H

#include <stdint.h>

#include "error.h"

/*
 * Reads an optional "-", digits, and optionally "." and digits, into cents.
 * Digits past the second decimal must be zeros ("1.210" is two decimals,
 * "1.215" is not money we book). CN_INVALID for anything else, or when the
 * amount's size exceeds max_cents.
 */
int money_parse(const char *text, int64_t max_cents, int64_t *cents) MUST_CHECK;

#endif
