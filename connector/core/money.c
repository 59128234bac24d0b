#include "money.h"

#include <stdbool.h>

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

int money_parse(const char *text, int64_t max_cents, int64_t *cents)
{
	const char *p = text;
	bool negative = false;
	uint64_t limit = (uint64_t)max_cents;
	uint64_t whole = 0;
	uint64_t fraction = 0;
	int fraction_digits = 0;

	if (p == NULL)
		return CN_INVALID;
	if (*p == '-') {
		negative = true;
		p++;
	}
	if (!digit(*p))
		return CN_INVALID;
	for (; digit(*p); p++) {
		whole = whole * 10u + (uint64_t)(*p - '0');
		if (whole > limit / 100u)
			return CN_INVALID;
	}
	if (*p == '.') {
		p++;
		if (!digit(*p))
			return CN_INVALID;
		for (; digit(*p); p++) {
			if (fraction_digits < 2)
				fraction = fraction * 10u + (uint64_t)(*p - '0');
			else if (*p != '0')
				return CN_INVALID;
			fraction_digits++;
		}
	}
	if (*p != '\0')
		return CN_INVALID;
	if (fraction_digits == 1)
		fraction *= 10u;
	whole = whole * 100u + fraction;
	if (whole > limit)
		return CN_INVALID;
	*cents = negative ? -(int64_t)whole : (int64_t)whole;
	return 0;
}
