#include "bookto.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookto_internal.h"
#include "money.h"
#include "tz.h"

/* 10^13 cents = 100 billion euros: far beyond any order, far inside the
 * 2^53 range where a double still holds every whole number of cents. */
#define MONEY_MAX_CENTS 10000000000000LL

/* ---- money ---- */

int bookto_money_parse_text(const char *text, int64_t *cents_out)
{
	return money_parse(text, MONEY_MAX_CENTS, cents_out);
}

int bookto_money_parse_double(double value, int64_t *cents_out)
{
	double scaled;
	double rounded;
	double tolerance;

	if (!isfinite(value))
		return CN_INVALID;
	scaled = value * 100.0;
	if (fabs(scaled) > (double)MONEY_MAX_CENTS + 0.5)
		return CN_INVALID;
	rounded = round(scaled);
	/* Binary noise (0.1 + 0.2) is a few ULPs; a third decimal is >= 0.1. */
	tolerance = fmax(1e-6, fabs(scaled) * 8.0 * DBL_EPSILON);
	if (fabs(scaled - rounded) > tolerance)
		return CN_INVALID;
	if (fabs(rounded) > (double)MONEY_MAX_CENTS)
		return CN_INVALID;
	*cents_out = (int64_t)llround(scaled);
	return 0;
}

/* "1.21", "-0.50": cents as euros for sentences. */
void bookto_format_cents(int64_t cents, char *out, size_t out_size)
{
	uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, out_size, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
}

/* 2100 -> "21", 550 -> "5.5", 525 -> "5.25" (hundredths to a plain decimal). */
void bookto_format_rate(int64_t hundredths, char *out, size_t out_size)
{
	uint64_t magnitude =
	    hundredths < 0 ? (uint64_t)0 - (uint64_t)hundredths : (uint64_t)hundredths;
	unsigned long long whole = (unsigned long long)(magnitude / 100);
	unsigned long long fraction = (unsigned long long)(magnitude % 100);
	const char *sign = hundredths < 0 ? "-" : "";

	if (fraction == 0)
		snprintf(out, out_size, "%s%llu", sign, whole);
	else if (fraction % 10 == 0)
		snprintf(out, out_size, "%s%llu.%llu", sign, whole, fraction / 10);
	else
		snprintf(out, out_size, "%s%llu.%02llu", sign, whole, fraction);
}

/* Shortest text that reads back as the same double ("0.1", not 0.1000...01). */
void bookto_format_number(double value, char *out, size_t out_size)
{
	if (value == floor(value) && fabs(value) < 9007199254740992.0) {
		snprintf(out, out_size, "%.0f", value);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(out, out_size, "%.*g", precision, value);
		if (strtod(out, NULL) == value)
			return;
	}
}

/* ---- times ---- */

static bool read_digits(const char **p, int count, int *value)
{
	int result = 0;

	for (int i = 0; i < count; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		result = result * 10 + (c - '0');
	}
	*p += count;
	*value = result;
	return true;
}

static bool expect_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" -> unix seconds. */
bool bookto_parse_iso8601(const char *text, int64_t *epoch)
{
	const char *p = text;
	int year, month, day, hour, minute, second;
	int offset_seconds = 0;
	int max_day;

	if (!read_digits(&p, 4, &year) || !expect_char(&p, '-') || !read_digits(&p, 2, &month) ||
	    !expect_char(&p, '-') || !read_digits(&p, 2, &day))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!read_digits(&p, 2, &hour) || !expect_char(&p, ':') || !read_digits(&p, 2, &minute) ||
	    !expect_char(&p, ':') || !read_digits(&p, 2, &second))
		return false;
	if (*p == '.') {
		int fraction_digits = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			fraction_digits++;
		}
		if (fraction_digits == 0 || fraction_digits > 12)
			return false;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int offset_hours, offset_minutes;

		p++;
		if (!read_digits(&p, 2, &offset_hours) || !expect_char(&p, ':') ||
		    !read_digits(&p, 2, &offset_minutes))
			return false;
		if (offset_hours > 23 || offset_minutes > 59)
			return false;
		offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60)
		return false;
	max_day = tz_month_days(year, month);
	if (day < 1 || day > max_day)
		return false;
	/* A leap second stays within its minute rather than moving the date. */
	if (second == 60)
		second = 59;
	*epoch = tz_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
	         offset_seconds;
	return true;
}
