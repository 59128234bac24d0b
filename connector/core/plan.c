#include "plan.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PLAN_ZONE_FILE_MAX_BYTES (512 * 1024)
#define PLAN_ZONE_MAX_TRANSITIONS 20000
#define PLAN_ZONE_MAX_TYPES 256
#define PLAN_REFERENCE_MAX_BYTES 255
#define PLAN_RENDER_MAX_BYTES (256 * 1024)
#define PLAN_PERCENT_ONE 10000 /* ten-thousandths of a percent per percent */
#define PLAN_PERCENT_MAX (100 * PLAN_PERCENT_ONE)
#define PLAN_RATES_LISTED 4 /* names shown in an "ambiguous" message */

/* ======================= park reasons ======================= */

static int park(char **park_reason, struct cn_error *err, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Sets *park_reason to a new sentence; CN_INVALID, or CN_ERR without memory. */
static int park(char **park_reason, struct cn_error *err, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int length;

	va_start(ap, fmt);
	length = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (length < 0) {
		error_set(err, "out of memory while planning");
		return CN_ERR;
	}
	if (park_reason != NULL) {
		free(*park_reason);
		*park_reason = text;
	} else {
		free(text);
	}
	return CN_INVALID;
}

static const char *mapping_path(const struct mapping *mapping)
{
	return mapping != NULL && mapping->path != NULL ? mapping->path : "the mapping file";
}

void plan_format_cents(int64_t cents, char *out, size_t out_size)
{
	uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, out_size, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
}

/* ======================= calendar ======================= */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t year, int month, int day)
{
	int64_t era;
	int64_t year_of_era;
	int64_t day_of_year;
	int64_t day_of_era;

	year -= month <= 2;
	era = floor_div(year, 400);
	year_of_era = year - era * 400;
	day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t era;
	int64_t day_of_era;
	int64_t year_of_era;
	int64_t day_of_year;
	int64_t month_index;

	days += 719468;
	era = floor_div(days, 146097);
	day_of_era = days - era * 146097;
	year_of_era =
	    (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	month_index = (5 * day_of_year + 2) / 153;
	*day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
	*month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
	*year = year_of_era + era * 400 + (*month <= 2);
}

static bool is_leap(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int month_days(int64_t year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* ======================= time zones ======================= */

enum rule_kind { RULE_JULIAN_NO_LEAP, RULE_JULIAN_ZERO, RULE_MONTH_WEEK_DAY };

struct rule_date {
	enum rule_kind kind;
	int day;      /* Jn: 1..365; n: 0..365; M: weekday 0..6 (Sunday = 0) */
	int week;     /* M: 1..5 (5 = last) */
	int month;    /* M: 1..12 */
	int32_t time; /* seconds after local midnight; may be negative or past 24h */
};

/* A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct posix_rule {
	int32_t std_offset; /* seconds east of UTC */
	int32_t dst_offset;
	bool has_dst;
	struct rule_date start;
	struct rule_date end;
};

struct plan_zone {
	int64_t *transitions; /* ascending UTC epochs */
	uint8_t *transition_types;
	size_t transition_count;
	int32_t type_offsets[PLAN_ZONE_MAX_TYPES];
	size_t type_count;
	bool has_rule; /* the footer rule applies after the last transition */
	struct posix_rule rule;
};

/* Day number of a rule date in `year`. */
static int64_t rule_day(int64_t year, const struct rule_date *date)
{
	int64_t first;
	int64_t day;
	int weekday;

	switch (date->kind) {
	case RULE_JULIAN_NO_LEAP:
		/* Feb 29 is never counted: day 60 is always March 1. */
		return days_from_civil(year, 1, 1) + date->day - 1 +
		       (is_leap(year) && date->day >= 60 ? 1 : 0);
	case RULE_JULIAN_ZERO:
		return days_from_civil(year, 1, 1) + date->day;
	case RULE_MONTH_WEEK_DAY:
		break;
	}
	first = days_from_civil(year, date->month, 1);
	weekday = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	day = first + (date->day - weekday + 7) % 7 + (int64_t)(date->week - 1) * 7;
	while (day >= first + month_days(year, date->month))
		day -= 7;
	return day;
}

static int32_t rule_offset(const struct posix_rule *rule, int64_t epoch)
{
	int64_t year;
	int month;
	int day;
	int64_t start;
	int64_t end;
	bool dst;

	if (!rule->has_dst)
		return rule->std_offset;
	civil_from_days(floor_div(epoch + rule->std_offset, 86400), &year, &month, &day);
	/* Start is written in standard time, end in daylight time. */
	start = rule_day(year, &rule->start) * 86400 + rule->start.time - rule->std_offset;
	end = rule_day(year, &rule->end) * 86400 + rule->end.time - rule->dst_offset;
	if (start < end)
		dst = epoch >= start && epoch < end;
	else
		dst = !(epoch >= end && epoch < start);
	return dst ? rule->dst_offset : rule->std_offset;
}

/* [+-]hh[:mm[:ss]] with hh up to max_hours; seconds into *out. */
static bool parse_rule_time(const char **text, int max_hours, int32_t *out)
{
	const char *p = *text;
	int sign = 1;
	long parts[3] = {0, 0, 0};
	int part;

	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	for (part = 0; part < 3; part++) {
		int digits = 0;

		if (part > 0) {
			if (*p != ':')
				break;
			p++;
		}
		while (*p >= '0' && *p <= '9' && digits < 3) {
			parts[part] = parts[part] * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0)
			return false;
	}
	if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59)
		return false;
	*out = (int32_t)(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]));
	*text = p;
	return true;
}

static bool parse_zone_name(const char **text)
{
	const char *p = *text;
	size_t length = 0;

	if (*p == '<') {
		p++;
		while (*p != '\0' && *p != '>') {
			p++;
			length++;
		}
		if (*p != '>' || length < 3)
			return false;
		*text = p + 1;
		return true;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
		p++;
		length++;
	}
	if (length < 3)
		return false;
	*text = p;
	return true;
}

static bool parse_small_number(const char **text, int min, int max, int *out)
{
	const char *p = *text;
	int value = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		value = value * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || value < min || value > max)
		return false;
	*out = value;
	*text = p;
	return true;
}

static bool parse_rule_date(const char **text, struct rule_date *date)
{
	const char *p = *text;

	date->time = 2 * 3600;
	if (*p == 'J') {
		p++;
		date->kind = RULE_JULIAN_NO_LEAP;
		if (!parse_small_number(&p, 1, 365, &date->day))
			return false;
	} else if (*p == 'M') {
		p++;
		date->kind = RULE_MONTH_WEEK_DAY;
		if (!parse_small_number(&p, 1, 12, &date->month) || *p++ != '.' ||
		    !parse_small_number(&p, 1, 5, &date->week) || *p++ != '.' ||
		    !parse_small_number(&p, 0, 6, &date->day))
			return false;
	} else {
		date->kind = RULE_JULIAN_ZERO;
		if (!parse_small_number(&p, 0, 365, &date->day))
			return false;
	}
	if (*p == '/') {
		p++;
		/* RFC 8536 allows -167..167 hours here. */
		if (!parse_rule_time(&p, 167, &date->time))
			return false;
	}
	*text = p;
	return true;
}

/* Parses a POSIX TZ string; false when it is not one this reader understands. */
static bool parse_posix_rule(const char *text, struct posix_rule *rule)
{
	const char *p = text;
	int32_t west;

	memset(rule, 0, sizeof(*rule));
	if (!parse_zone_name(&p) || !parse_rule_time(&p, 24, &west))
		return false;
	rule->std_offset = -west; /* POSIX offsets count west of Greenwich */
	if (*p == '\0')
		return true;
	if (!parse_zone_name(&p))
		return false;
	rule->has_dst = true;
	rule->dst_offset = rule->std_offset + 3600;
	if (*p != ',' && *p != '\0') {
		if (!parse_rule_time(&p, 24, &west))
			return false;
		rule->dst_offset = -west;
	}
	if (*p == '\0') {
		/* No rule given: POSIX leaves it to the implementation; glibc uses the US one. */
		const char *us = ",M3.2.0,M11.1.0";

		p = us;
	}
	if (*p++ != ',' || !parse_rule_date(&p, &rule->start) || *p++ != ',' ||
	    !parse_rule_date(&p, &rule->end) || *p != '\0')
		return false;
	return true;
}

static uint32_t read_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t read_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)read_be32(p) << 32 | (uint64_t)read_be32(p + 4));
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static size_t tzif_block_size(const struct tzif_counts *c, size_t time_size)
{
	return (size_t)c->time * time_size + c->time + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

static bool tzif_header(const unsigned char *data, size_t size, size_t at, struct tzif_counts *c)
{
	if (size < at + 44 || memcmp(data + at, "TZif", 4) != 0)
		return false;
	c->isut = read_be32(data + at + 20);
	c->isstd = read_be32(data + at + 24);
	c->leap = read_be32(data + at + 28);
	c->time = read_be32(data + at + 32);
	c->type = read_be32(data + at + 36);
	c->chars = read_be32(data + at + 40);
	return c->type >= 1 && c->type <= PLAN_ZONE_MAX_TYPES &&
	       c->time <= PLAN_ZONE_MAX_TRANSITIONS && c->leap <= 10000 && c->chars <= 10000 &&
	       c->isut <= c->type && c->isstd <= c->type;
}

/* Parses a TZif file (RFC 8536) into zone; false when it is not a valid one. */
static bool tzif_parse(const unsigned char *data, size_t size, struct plan_zone *zone)
{
	struct tzif_counts counts;
	size_t at = 0;
	size_t time_size = 4;
	size_t i;
	const unsigned char *p;

	if (!tzif_header(data, size, 0, &counts))
		return false;
	if (data[4] >= '2') {
		/* Skip the 32-bit block; the 64-bit one follows with its own header. */
		at = 44 + tzif_block_size(&counts, 4);
		if (!tzif_header(data, size, at, &counts))
			return false;
		time_size = 8;
	}
	at += 44;
	if (size < at + tzif_block_size(&counts, time_size))
		return false;
	p = data + at;
	if (counts.time > 0) {
		zone->transitions = calloc(counts.time, sizeof(*zone->transitions));
		zone->transition_types = calloc(counts.time, 1);
		if (zone->transitions == NULL || zone->transition_types == NULL)
			return false;
	}
	zone->transition_count = counts.time;
	for (i = 0; i < counts.time; i++) {
		zone->transitions[i] = time_size == 8 ? read_be64(p) : (int32_t)read_be32(p);
		if (i > 0 && zone->transitions[i] <= zone->transitions[i - 1])
			return false;
		p += time_size;
	}
	for (i = 0; i < counts.time; i++) {
		if (p[i] >= counts.type)
			return false;
		zone->transition_types[i] = p[i];
	}
	p += counts.time;
	zone->type_count = counts.type;
	for (i = 0; i < counts.type; i++) {
		int32_t offset = (int32_t)read_be32(p);

		if (offset <= -89999 || offset >= 93600) /* RFC 8536: within +-26 hours */
			return false;
		zone->type_offsets[i] = offset;
		p += 6;
	}
	at += tzif_block_size(&counts, time_size);
	if (time_size == 8 && at < size && data[at] == '\n') {
		const unsigned char *start = data + at + 1;
		const unsigned char *newline = memchr(start, '\n', size - at - 1);
		char footer[128];
		size_t length;

		if (newline == NULL)
			return false;
		length = (size_t)(newline - start);
		if (length > 0 && length < sizeof(footer)) {
			memcpy(footer, start, length);
			footer[length] = '\0';
			if (!parse_posix_rule(footer, &zone->rule))
				return false;
			zone->has_rule = true;
		}
	}
	return true;
}

static bool zone_name_ok(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 200)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

int plan_zone_load(const char *name, struct plan_zone **out, struct cn_error *err)
{
	const char *tzdir = getenv("TZDIR");
	struct plan_zone *zone = NULL;
	unsigned char *data = NULL;
	char path[512];
	FILE *file = NULL;
	size_t size;
	int status = CN_INVALID;

	*out = NULL;
	if (name == NULL || !zone_name_ok(name)) {
		error_set(err,
		          "\"%.64s\" is not a time zone name; use an IANA name such as "
		          "\"Europe/Amsterdam\"",
		          name != NULL ? name : "");
		goto out;
	}
	zone = calloc(1, sizeof(*zone));
	if (zone == NULL) {
		status = CN_ERR;
		error_set(err, "out of memory while loading time zone %s", name);
		goto out;
	}
	if (tzdir == NULL || tzdir[0] == '\0')
		tzdir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", tzdir, name);
	file = fopen(path, "rb");
	if (file == NULL) {
		if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
			zone->type_count = 1; /* offset 0 */
			goto done;
		}
		error_set(err,
		          "time zone %s cannot be read from %s (%s); use an IANA name such as "
		          "\"Europe/Amsterdam\" or install tzdata",
		          name, path, strerror(errno));
		goto out;
	}
	data = malloc(PLAN_ZONE_FILE_MAX_BYTES + 1);
	if (data == NULL) {
		status = CN_ERR;
		error_set(err, "out of memory while loading time zone %s", name);
		goto out;
	}
	size = fread(data, 1, PLAN_ZONE_FILE_MAX_BYTES + 1, file);
	if (size > PLAN_ZONE_FILE_MAX_BYTES || !tzif_parse(data, size, zone)) {
		error_set(err, "%s is not a time zone file this program can read (TZif)", path);
		goto out;
	}
done:
	*out = zone;
	zone = NULL;
	status = CN_OK;
out:
	if (file != NULL)
		fclose(file);
	free(data);
	plan_zone_free(zone);
	return status;
}

void plan_zone_free(struct plan_zone *zone)
{
	if (zone == NULL)
		return;
	free(zone->transitions);
	free(zone->transition_types);
	free(zone);
}

int32_t plan_zone_offset(const struct plan_zone *zone, int64_t epoch)
{
	size_t low = 0;
	size_t high;

	if (zone == NULL)
		return 0;
	if (zone->transition_count == 0 || epoch < zone->transitions[0]) {
		if (zone->transition_count == 0 && zone->has_rule)
			return rule_offset(&zone->rule, epoch);
		/* RFC 8536: times before the first transition use type 0. */
		return zone->type_offsets[0];
	}
	high = zone->transition_count;
	if (epoch >= zone->transitions[high - 1] && zone->has_rule)
		return rule_offset(&zone->rule, epoch);
	/* the last transition at or before epoch */
	while (high - low > 1) {
		size_t middle = low + (high - low) / 2;

		if (zone->transitions[middle] <= epoch)
			low = middle;
		else
			high = middle;
	}
	return zone->type_offsets[zone->transition_types[low]];
}

int plan_local_date(const struct plan_zone *zone, int64_t epoch, char out[11])
{
	int64_t year;
	int month;
	int day;

	out[0] = '\0';
	/* keeps the arithmetic far from overflow: years 1..9999 only */
	if (epoch < -62135596800LL || epoch > 253402300799LL)
		return CN_INVALID;
	civil_from_days(floor_div(epoch + plan_zone_offset(zone, epoch), 86400), &year, &month,
	                &day);
	if (year < 1 || year > 9999)
		return CN_INVALID;
	snprintf(out, 11, "%04d-%02d-%02d", (int)year, month, day);
	return CN_OK;
}

/* ======================= money and percentages ======================= */

int plan_percentage_parse(const char *text, int64_t *out)
{
	int64_t whole = 0;
	int64_t fraction = 0;
	int fraction_digits = 0;
	const char *p = text;
	int digits = 0;

	if (text == NULL)
		return CN_INVALID;
	while (*p >= '0' && *p <= '9') {
		if (digits >= 4)
			return CN_INVALID;
		whole = whole * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0)
		return CN_INVALID;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return CN_INVALID;
		while (*p >= '0' && *p <= '9') {
			if (fraction_digits < 4) {
				fraction = fraction * 10 + (*p - '0');
				fraction_digits++;
			} else if (*p != '0') {
				return CN_INVALID; /* more precision than any VAT rate has */
			}
			p++;
		}
	}
	if (*p != '\0')
		return CN_INVALID;
	while (fraction_digits < 4) {
		fraction *= 10;
		fraction_digits++;
	}
	whole = whole * PLAN_PERCENT_ONE + fraction;
	if (whole > PLAN_PERCENT_MAX)
		return CN_INVALID;
	*out = whole;
	return CN_OK;
}

/* round(numerator / denominator) half away from zero, for numerator >= 0. */
static int64_t round_div(int64_t numerator, int64_t denominator)
{
	return (2 * numerator + denominator) / (2 * denominator);
}

int64_t plan_tax_cents(int64_t amount_cents, int64_t percentage, bool included)
{
	int64_t denominator = 100 * PLAN_PERCENT_ONE + (included ? percentage : 0);
	int64_t magnitude;
	int64_t quotient;
	int64_t remainder;
	int64_t tax;

	if (percentage <= 0 || percentage > PLAN_PERCENT_MAX || amount_cents == 0)
		return 0;
	if (amount_cents == INT64_MIN)
		amount_cents++; /* out of any real range; keeps the negation defined */
	magnitude = amount_cents < 0 ? -amount_cents : amount_cents;
	/* a*p/d = q*p + r*p/d with a = q*d + r: exact, and no product overflows */
	quotient = magnitude / denominator;
	remainder = magnitude % denominator;
	tax = quotient * percentage + round_div(remainder * percentage, denominator);
	return amount_cents < 0 ? -tax : tax;
}

/* ======================= contact key ======================= */

void plan_contact_key(const char *match_ref, char out[PLAN_CONTACT_KEY_LENGTH + 1])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	uint64_t number = 0;
	size_t i;

	if (match_ref == NULL)
		match_ref = "";
	SHA256((const unsigned char *)match_ref, strlen(match_ref), digest);
	for (i = 0; i < 8; i++)
		number = number << 8 | digest[i];
	snprintf(out, PLAN_CONTACT_KEY_LENGTH + 1, "9%017llu",
	         (unsigned long long)(number % 100000000000000000ULL));
}

/* ======================= strings ======================= */

/* A copy of text without leading and trailing whitespace; NULL without memory. */
static char *trimmed_copy(const char *text)
{
	size_t length;

	if (text == NULL)
		text = "";
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	length = strlen(text);
	while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t' ||
	                      text[length - 1] == '\n' || text[length - 1] == '\r'))
		length--;
	return strndup(text, length);
}

static bool blank(const char *text)
{
	if (text == NULL)
		return true;
	for (; *text != '\0'; text++)
		if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
			return false;
	return true;
}

/* A growable text with a hard cap. */
struct text_buffer {
	char *data;
	size_t length;
	size_t capacity;
	bool too_big;
	bool out_of_memory;
};

static void buffer_append(struct text_buffer *buffer, const char *text, size_t length)
{
	size_t needed;

	if (buffer->too_big || buffer->out_of_memory)
		return;
	needed = buffer->length + length + 1;
	if (needed > PLAN_RENDER_MAX_BYTES) {
		buffer->too_big = true;
		return;
	}
	if (needed > buffer->capacity) {
		size_t capacity = buffer->capacity == 0 ? 256 : buffer->capacity;
		char *grown;

		while (capacity < needed)
			capacity *= 2;
		grown = realloc(buffer->data, capacity);
		if (grown == NULL) {
			buffer->out_of_memory = true;
			return;
		}
		buffer->data = grown;
		buffer->capacity = capacity;
	}
	memcpy(buffer->data + buffer->length, text, length);
	buffer->length += length;
	buffer->data[buffer->length] = '\0';
}

static void buffer_add(struct text_buffer *buffer, const char *text)
{
	buffer_append(buffer, text, strlen(text));
}

static size_t utf8_characters(const char *text)
{
	size_t count = 0;

	for (; *text != '\0'; text++)
		if (((unsigned char)*text & 0xC0) != 0x80)
			count++;
	return count;
}

/* ======================= templates ======================= */

/* The value of one placeholder; custom_fields renders into `scratch`. */
static const char *placeholder_value(const struct bookto_order *order, const char *name,
                                     size_t length, struct text_buffer *scratch)
{
	size_t i;

#define PLACEHOLDER_IS(literal) (length == strlen(literal) && strncmp(name, literal, length) == 0)
	if (PLACEHOLDER_IS("product_name"))
		return order->product_name;
	if (PLACEHOLDER_IS("product_description"))
		return order->product_description;
	if (PLACEHOLDER_IS("order_number"))
		return order->order_number;
	if (PLACEHOLDER_IS("order_id"))
		return order->order_id;
	if (PLACEHOLDER_IS("custom_fields")) {
		for (i = 0; i < order->custom_field_count; i++) {
			const struct bookto_custom_field *field = &order->custom_fields[i];

			if (blank(field->value))
				continue;
			if (scratch->length > 0)
				buffer_add(scratch, "\n");
			if (!blank(field->label)) {
				buffer_add(scratch, field->label);
				buffer_add(scratch, ": ");
			}
			buffer_add(scratch, field->value);
		}
		return scratch->data != NULL ? scratch->data : "";
	}
#undef PLACEHOLDER_IS
	return ""; /* the mapping loader allows only the names above */
}

/*
 * Renders one template line (no '\n' in it) into out. *had_placeholder and
 * *had_value say whether it used placeholders and whether any was non-empty.
 */
static void render_line(const struct bookto_order *order, const char *line, size_t line_length,
                        struct text_buffer *out, bool *had_placeholder, bool *had_value)
{
	size_t i = 0;

	*had_placeholder = false;
	*had_value = false;
	while (i < line_length) {
		const char *close;

		if ((line[i] == '{' || line[i] == '}') && i + 1 < line_length &&
		    line[i + 1] == line[i]) {
			buffer_append(out, line + i, 1);
			i += 2;
			continue;
		}
		close = line[i] == '{' ? memchr(line + i, '}', line_length - i) : NULL;
		if (close != NULL) {
			struct text_buffer scratch = {0};
			size_t name_length = (size_t)(close - (line + i + 1));
			const char *value =
			    placeholder_value(order, line + i + 1, name_length, &scratch);

			*had_placeholder = true;
			if (value != NULL && !blank(value)) {
				*had_value = true;
				buffer_add(out, value);
			}
			if (scratch.too_big)
				out->too_big = true;
			if (scratch.out_of_memory)
				out->out_of_memory = true;
			free(scratch.data);
			i += name_length + 2;
			continue;
		}
		buffer_append(out, line + i, 1);
		i++;
	}
}

/*
 * Output cleanup: control characters become spaces, each line loses its
 * trailing whitespace, and blank lines are dropped, so empty parts leave no
 * gaps behind.
 */
static void tidy_lines(const char *text, struct text_buffer *out)
{
	const char *line = text;

	while (*line != '\0') {
		const char *newline = strchr(line, '\n');
		size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
		size_t i;
		char *copy = strndup(line, length);

		if (copy == NULL) {
			out->out_of_memory = true;
			return;
		}
		for (i = 0; i < length; i++)
			if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
				copy[i] = ' ';
		while (length > 0 && copy[length - 1] == ' ')
			length--;
		copy[length] = '\0';
		if (!blank(copy)) {
			if (out->length > 0)
				buffer_add(out, "\n");
			buffer_add(out, copy);
		}
		free(copy);
		if (newline == NULL)
			break;
		line = newline + 1;
	}
}

/*
 * Renders a template: a template line whose placeholders are all empty is
 * left out entirely (no "Description: " without a description), and so is
 * any line that ends up blank. Returns the text (caller frees), or NULL:
 * *too_big when the result passed the render cap, else out of memory.
 */
static char *render_template(const struct bookto_order *order, const char *template, bool *too_big)
{
	struct text_buffer raw = {0};
	struct text_buffer tidy = {0};
	const char *line = template;
	char *result = NULL;

	*too_big = false;
	while (line != NULL) {
		const char *newline = strchr(line, '\n');
		size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
		struct text_buffer rendered = {0};
		bool had_placeholder;
		bool had_value;

		render_line(order, line, length, &rendered, &had_placeholder, &had_value);
		if (rendered.too_big)
			raw.too_big = true;
		if (rendered.out_of_memory)
			raw.out_of_memory = true;
		if (rendered.data != NULL && (!had_placeholder || had_value)) {
			if (raw.length > 0)
				buffer_add(&raw, "\n");
			buffer_add(&raw, rendered.data);
		}
		free(rendered.data);
		line = newline != NULL ? newline + 1 : NULL;
	}
	if (raw.too_big || raw.out_of_memory)
		goto out;
	tidy_lines(raw.data != NULL ? raw.data : "", &tidy);
	if (tidy.too_big || tidy.out_of_memory)
		goto out;
	result = tidy.data != NULL ? tidy.data : strdup("");
	tidy.data = NULL;
out:
	*too_big = raw.too_big || tidy.too_big;
	free(raw.data);
	free(tidy.data);
	return result;
}

/* ======================= contact ======================= */

static const char *const peppol_schemes[] = {
    "0002", "0007", "0009", "0037", "0060", "0088", "0096", "0097", "0106", "0130", "0135", "0142",
    "0151", "0183", "0184", "0188", "0190", "0191", "0192", "0193", "0195", "0196", "0198", "0199",
    "0200", "0201", "0204", "0205", "0208", "0209", "0210", "0211", "0212", "0213", "0215", "0216",
    "0221", "0230", "9910", "9913", "9914", "9915", "9918", "9919", "9920", "9922", "9923", "9924",
    "9925", "9926", "9927", "9928", "9929", "9930", "9931", "9932", "9933", "9934", "9935", "9936",
    "9937", "9938", "9939", "9940", "9941", "9942", "9943", "9944", "9945", "9946", "9947", "9948",
    "9949", "9950", "9951", "9952", "9953", "9957", "9959", NULL};

/* Owns text in the contact and returns it; NULL for an empty value. */
static const char *contact_own(struct plan_contact *contact, char *text, bool *out_of_memory)
{
	if (text == NULL) {
		*out_of_memory = true;
		return NULL;
	}
	if (text[0] == '\0' ||
	    contact->owned_count == sizeof(contact->owned) / sizeof(contact->owned[0])) {
		free(text);
		return NULL;
	}
	contact->owned[contact->owned_count++] = text;
	return text;
}

static const char *contact_copy(struct plan_contact *contact, const char *text, bool *out_of_memory)
{
	return contact_own(contact, trimmed_copy(text), out_of_memory);
}

/*
 * Splits a Peppol participant id into Moneybird's si_identifier_type and
 * si_identifier. Returns false (and leaves them unset) when it cannot.
 */
static bool peppol_split(const char *peppol_id, char *scheme, size_t scheme_size,
                         const char **identifier)
{
	static const char prefix[] = "iso6523-actorid-upis::";
	const char *colon;
	size_t i;

	if (strncasecmp(peppol_id, prefix, sizeof(prefix) - 1) == 0)
		peppol_id += sizeof(prefix) - 1;
	colon = strchr(peppol_id, ':');
	if (colon == NULL || colon[1] == '\0' || (size_t)(colon - peppol_id) + 1 > scheme_size)
		return false;
	memcpy(scheme, peppol_id, (size_t)(colon - peppol_id));
	scheme[colon - peppol_id] = '\0';
	for (i = 0; peppol_schemes[i] != NULL; i++)
		if (strcmp(scheme, peppol_schemes[i]) == 0)
			break;
	if (peppol_schemes[i] == NULL)
		return false;
	for (i = 1; colon[i] != '\0'; i++)
		if ((unsigned char)colon[i] <= ' ')
			return false;
	*identifier = colon + 1;
	return true;
}

static bool country_ok(const char *country)
{
	return strlen(country) == 2 && country[0] >= 'A' && country[0] <= 'Z' &&
	       country[1] >= 'A' && country[1] <= 'Z';
}

int plan_contact(const struct bookto_order *order, const struct mapping *mapping,
                 struct plan_contact **out, char **park_reason, struct cn_error *err)
{
	struct plan_contact *contact = NULL;
	struct mb_contact_request *req;
	bool oom = false;
	char *peppol = NULL;
	char *country = NULL;
	char *note = NULL;
	int status = CN_ERR;

	*out = NULL;
	if (order == NULL || blank(order->match_ref)) {
		status = park(park_reason, err,
		              "the order has no buyer.match_ref (no VAT number, Peppol id or "
		              "email), so its Moneybird contact cannot be keyed");
		goto out;
	}
	contact = calloc(1, sizeof(*contact));
	peppol = trimmed_copy(order->buyer_peppol_id);
	country = trimmed_copy(order->buyer_country);
	if (contact == NULL || peppol == NULL || country == NULL)
		goto oom;
	req = &contact->request;
	plan_contact_key(order->match_ref, contact->customer_id);
	req->customer_id = contact->customer_id;

	req->company_name = contact_copy(contact, order->buyer_company, &oom);
	req->firstname = contact_copy(contact, order->buyer_first_name, &oom);
	req->lastname = contact_copy(contact, order->buyer_last_name, &oom);
	req->send_invoices_to_email = contact_copy(contact, order->buyer_email, &oom);
	/* Moneybird needs a company name or a first or last name. */
	if (req->company_name == NULL && req->firstname == NULL && req->lastname == NULL)
		req->company_name = req->send_invoices_to_email != NULL
		                        ? req->send_invoices_to_email
		                        : contact_copy(contact, order->match_ref, &oom);
	req->address1 = contact_copy(contact, order->buyer_address, &oom);
	req->address2 = contact_copy(contact, order->buyer_address2, &oom);
	req->zipcode = contact_copy(contact, order->buyer_postal_code, &oom);
	req->city = contact_copy(contact, order->buyer_city, &oom);
	req->tax_number = contact_copy(contact, order->buyer_vat_number, &oom);
	if (country_ok(country)) {
		req->country = contact_copy(contact, country, &oom);
	} else if (country[0] != '\0' &&
	           asprintf(&note,
	                    "buyer.country \"%.16s\" is not an ISO 3166 alpha-2 code; the "
	                    "contact is created without a country",
	                    country) < 0) {
		note = NULL;
		goto oom;
	}
	if (peppol[0] != '\0') {
		char scheme[8];
		const char *identifier = NULL;

		if (peppol_split(peppol, scheme, sizeof(scheme), &identifier)) {
			req->si_identifier_type = contact_copy(contact, scheme, &oom);
			req->si_identifier = contact_copy(contact, identifier, &oom);
		} else {
			free(note);
			if (asprintf(&note,
			             "buyer.peppol_id \"%.80s\" is not SCHEME:IDENTIFIER with a "
			             "scheme Moneybird accepts (such as 0106 for a Dutch KVK "
			             "number); the contact is created without a Peppol id",
			             peppol) < 0) {
				note = NULL;
				goto oom;
			}
		}
	}
	if (mapping == NULL || mapping->search_existing_contacts) {
		contact->search_tax_number = req->tax_number;
		contact->search_email = req->send_invoices_to_email;
	}
	contact->note = note;
	note = NULL;
	if (oom)
		goto oom;
	*out = contact;
	contact = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the contact");
out:
	free(peppol);
	free(country);
	free(note);
	plan_contact_free(contact);
	return status;
}

void plan_contact_free(struct plan_contact *contact)
{
	size_t i;

	if (contact == NULL)
		return;
	for (i = 0; i < contact->owned_count; i++)
		free(contact->owned[i]);
	free(contact->note);
	free(contact);
}

/* ======================= tax rate choice ======================= */

static bool rate_usable(const struct mb_tax_rate *rate)
{
	return rate->active && strcmp(rate->tax_rate_type, "sales_invoice") == 0;
}

/* Lists the names of the matches for an "ambiguous" message. */
static void list_rates(const struct mb_tax_rate *rates, const size_t *matches, size_t count,
                       char *out, size_t out_size)
{
	size_t used = 0;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < count && i < PLAN_RATES_LISTED && used < out_size; i++) {
		int written =
		    snprintf(out + used, out_size - used, "%s\"%.60s\" (id %s)", i == 0 ? "" : ", ",
		             rates[matches[i]].name, rates[matches[i]].id);

		if (written < 0)
			return;
		used += (size_t)written;
	}
	if (count > PLAN_RATES_LISTED && used < out_size)
		snprintf(out + used, out_size - used, ", ...");
}

/*
 * Picks the tax rate for the order's vat_treatment. Returns 0 with *chosen,
 * or a park status.
 */
static int choose_tax_rate(const struct bookto_order *order, const struct mapping *mapping,
                           const struct mapping_vat_treatment *entry,
                           const struct mb_tax_rate *rates, size_t rate_count, int64_t percentage,
                           const struct mb_tax_rate **chosen, char **park_reason,
                           struct cn_error *err)
{
	size_t matches[PLAN_RATES_LISTED + 1];
	size_t match_count = 0;
	char listed[512];
	const char *path = mapping_path(mapping);
	const char *treatment = entry->treatment;
	const struct mb_tax_rate *unusable = NULL;
	size_t i;

	for (i = 0; i < rate_count; i++) {
		const struct mb_tax_rate *rate = &rates[i];
		int64_t rate_percentage;
		bool hit = false;

		switch (entry->rule) {
		case MAPPING_RATE_BY_PERCENTAGE:
			hit = rate->country[0] == '\0' &&
			      plan_percentage_parse(rate->percentage, &rate_percentage) == 0 &&
			      rate_percentage == percentage;
			break;
		case MAPPING_RATE_BY_COUNTRY_PERCENTAGE:
			hit = rate->country[0] != '\0' &&
			      strcasecmp(rate->country, order->buyer_country) == 0 &&
			      plan_percentage_parse(rate->percentage, &rate_percentage) == 0 &&
			      rate_percentage == percentage;
			break;
		case MAPPING_RATE_BY_NAME:
			hit = entry->tax_rate_name != NULL &&
			      strcasecmp(rate->name, entry->tax_rate_name) == 0;
			break;
		case MAPPING_RATE_BY_ID:
			hit =
			    entry->tax_rate_id != NULL && strcmp(rate->id, entry->tax_rate_id) == 0;
			break;
		}
		if (!hit)
			continue;
		if (!rate_usable(rate)) {
			unusable = rate;
			continue;
		}
		if (match_count <= PLAN_RATES_LISTED)
			matches[match_count] = i;
		match_count++;
	}
	if (match_count == 1) {
		*chosen = &rates[matches[0]];
		return CN_OK;
	}
	if (match_count > 1) {
		list_rates(rates, matches, match_count, listed, sizeof(listed));
		return park(park_reason, err,
		            "%zu active sales tax rates in Moneybird fit vat_treatment \"%s\" (by "
		            "%s): %s; map vat_treatments.%s by id in %s to say which one",
		            match_count, treatment, mapping_rate_rule_name(entry->rule), listed,
		            treatment, path);
	}
	switch (entry->rule) {
	case MAPPING_RATE_BY_PERCENTAGE:
		return park(park_reason, err,
		            "no active sales tax rate in Moneybird has %s %% (vat_treatment \"%s\" "
		            "is mapped by percentage); add that rate in Moneybird or map "
		            "vat_treatments.%s by name or id in %s",
		            order->vat_rate_text, treatment, treatment, path);
	case MAPPING_RATE_BY_COUNTRY_PERCENTAGE:
		if (blank(order->buyer_country))
			return park(park_reason, err,
			            "vat_treatment \"%s\" needs the buyer's country to pick the "
			            "country's tax rate, but buyer.country is empty; map "
			            "vat_treatments.%s by id in %s",
			            treatment, treatment, path);
		return park(park_reason, err,
		            "no active sales tax rate in Moneybird for country %s has %s %% "
		            "(vat_treatment \"%s\" is mapped by country_percentage); add that "
		            "country's rate in Moneybird or map vat_treatments.%s by id in %s",
		            order->buyer_country, order->vat_rate_text, treatment, treatment, path);
	case MAPPING_RATE_BY_NAME:
	case MAPPING_RATE_BY_ID:
		break;
	}
	if (unusable != NULL)
		return park(park_reason, err,
		            "tax rate \"%.60s\" (id %s), which vat_treatments.%s in %s names, is "
		            "%s in Moneybird; activate it or map vat_treatments.%s to an active "
		            "sales tax rate",
		            unusable->name, unusable->id, treatment, path,
		            unusable->active ? "not a sales invoice rate" : "not active",
		            treatment);
	if (entry->rule == MAPPING_RATE_BY_NAME)
		return park(park_reason, err,
		            "no tax rate named \"%.60s\" in Moneybird (vat_treatments.%s.name in "
		            "%s); use a name `bookto-moneybird moneybird check` lists",
		            entry->tax_rate_name != NULL ? entry->tax_rate_name : "", treatment,
		            path);
	return park(park_reason, err,
	            "no tax rate with id %s in Moneybird (vat_treatments.%s.id in %s); use an id "
	            "`bookto-moneybird moneybird check` lists",
	            entry->tax_rate_id != NULL ? entry->tax_rate_id : "", treatment, path);
}

/* ======================= invoice ======================= */

int plan_reference(const struct bookto_order *order, const struct mapping *mapping, char **out,
                   char **park_reason, struct cn_error *err)
{
	const char *template = mapping != NULL && mapping->reference_template != NULL
	                           ? mapping->reference_template
	                           : MAPPING_REFERENCE_DEFAULT;
	char *text = NULL;
	char *trimmed = NULL;
	bool too_big = false;
	int status;

	*out = NULL;
	text = render_template(order, template, &too_big);
	if (text == NULL && !too_big) {
		error_set(err, "out of memory while planning the reference");
		return CN_ERR;
	}
	/* A reference is one line: the template's lines are joined with spaces. */
	if (text != NULL)
		for (char *p = text; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
	trimmed = trimmed_copy(text != NULL ? text : "");
	free(text);
	if (trimmed == NULL) {
		error_set(err, "out of memory while planning the reference");
		return CN_ERR;
	}
	if (too_big || strlen(trimmed) > PLAN_REFERENCE_MAX_BYTES) {
		status =
		    park(park_reason, err,
		         "the invoice reference from invoice.reference in %s is longer than %d "
		         "bytes; use a shorter template",
		         mapping_path(mapping), PLAN_REFERENCE_MAX_BYTES);
		free(trimmed);
		return status;
	}
	if (trimmed[0] == '\0') {
		status =
		    park(park_reason, err,
		         "the invoice reference from invoice.reference (\"%s\") in %s is empty "
		         "for this order (no order_number or order_id)",
		         template, mapping_path(mapping));
		free(trimmed);
		return status;
	}
	*out = trimmed;
	return CN_OK;
}

static const char *choose_ledger_account(const struct bookto_order *order,
                                         const struct mapping *mapping,
                                         const struct mapping_vat_treatment *entry)
{
	size_t i;

	if (mapping == NULL)
		return NULL;
	for (i = 0; i < mapping->product_ledger_count; i++)
		if (strcmp(mapping->product_ledgers[i].product_name, order->product_name) == 0)
			return mapping->product_ledgers[i].ledger_account_id;
	if (entry->ledger_account_id != NULL)
		return entry->ledger_account_id;
	return mapping->ledger_account_id;
}

/* strdup that accepts NULL (NULL out) and records failure. */
static char *copy_optional(const char *text, bool *out_of_memory)
{
	char *copy;

	if (text == NULL)
		return NULL;
	copy = strdup(text);
	if (copy == NULL)
		*out_of_memory = true;
	return copy;
}

int plan_invoice(const struct bookto_order *order, const struct mapping *mapping,
                 const struct mb_tax_rate *tax_rates, size_t tax_rate_count,
                 const struct plan_zone *zone, const char *contact_id, struct plan_invoice **out,
                 char **park_reason, struct cn_error *err)
{
	struct plan_invoice *invoice = NULL;
	const struct mapping_vat_treatment *entry;
	const struct mb_tax_rate *rate = NULL;
	const char *template;
	int64_t percentage = 0;
	int64_t rate_percentage = 0;
	bool oom = false;
	bool too_big = false;
	size_t characters;
	int status = CN_ERR;

	*out = NULL;
	if (order == NULL || mapping == NULL) {
		error_set(err, "plan_invoice needs an order and a mapping");
		return CN_ERR;
	}
	entry = mapping_find_vat_treatment(mapping, order->vat_treatment);
	if (entry == NULL) {
		if (blank(order->vat_treatment))
			return park(park_reason, err,
			            "the order has no vat_treatment; bookto must send one (such as "
			            "\"standard\") before it can be booked");
		return park(
		    park_reason, err,
		    "no mapping for vat_treatment \"%.64s\": add vat_treatments.%.64s to %s",
		    order->vat_treatment, order->vat_treatment, mapping_path(mapping));
	}
	if (plan_percentage_parse(order->vat_rate_text, &percentage) != 0)
		return park(park_reason, err,
		            "amount.vat_rate \"%.32s\" is not a percentage from 0 to 100",
		            order->vat_rate_text);
	if (!order->paid_at_valid)
		return park(park_reason, err,
		            "paid_at \"%.40s\" is not a usable time, so the invoice date is "
		            "unknown",
		            order->paid_at_text);
	if (blank(order->currency))
		return park(park_reason, err, "amount.currency is missing");

	status = choose_tax_rate(order, mapping, entry, tax_rates, tax_rate_count, percentage,
	                         &rate, park_reason, err);
	if (status != CN_OK)
		return status;
	if (plan_percentage_parse(rate->percentage, &rate_percentage) != 0)
		return park(park_reason, err,
		            "tax rate \"%.60s\" (id %s) has no usable percentage (\"%s\") in "
		            "Moneybird; map vat_treatments.%s to another rate in %s",
		            rate->name, rate->id, rate->percentage, entry->treatment,
		            mapping_path(mapping));
	if (rate_percentage != percentage)
		return park(park_reason, err,
		            "vat_treatment \"%s\" maps to tax rate \"%.60s\" with %s %%, but "
		            "bookto's vat_rate is %s %%; fix vat_treatments.%s in %s or the order",
		            entry->treatment, rate->name, rate->percentage, order->vat_rate_text,
		            entry->treatment, mapping_path(mapping));

	invoice = calloc(1, sizeof(*invoice));
	if (invoice == NULL)
		goto oom;
	if (plan_local_date(zone, order->paid_at_epoch, invoice->invoice_date) != 0) {
		status = park(park_reason, err, "paid_at \"%.40s\" is outside the years 1 to 9999",
		              order->paid_at_text);
		goto out;
	}
	status = plan_reference(order, mapping, &invoice->reference, park_reason, err);
	if (status != CN_OK)
		goto out;

	template = mapping->description_template != NULL ? mapping->description_template
	                                                 : MAPPING_DESCRIPTION_DEFAULT;
	invoice->description = render_template(order, template, &too_big);
	if (invoice->description == NULL && !too_big)
		goto oom;
	characters = invoice->description != NULL ? utf8_characters(invoice->description) : 0;
	if (too_big || characters > mapping->description_max_length) {
		if (too_big)
			status = park(park_reason, err,
			              "the invoice line description is longer than %d bytes, more "
			              "than invoice.description_max_length (%zu) in %s allows; "
			              "shorten invoice.description",
			              PLAN_RENDER_MAX_BYTES, mapping->description_max_length,
			              mapping_path(mapping));
		else
			status = park(park_reason, err,
			              "the invoice line description is %zu characters, more than "
			              "invoice.description_max_length (%zu) in %s allows; shorten "
			              "invoice.description or raise "
			              "invoice.description_max_length",
			              characters, mapping->description_max_length,
			              mapping_path(mapping));
		goto out;
	}
	if (invoice->description[0] == '\0') {
		status = park(park_reason, err,
		              "the invoice line description from invoice.description in %s is "
		              "empty for this order; add text that is always there, such as "
		              "{order_number}",
		              mapping_path(mapping));
		goto out;
	}

	/* The basis decides the line's price; it parks the order when neither
	 * allowed basis gives bookto's figures. */
	status = plan_price_basis(order, mapping, percentage, &invoice->basis, park_reason, err);
	if (status != CN_OK)
		goto out;
	invoice->currency = copy_optional(order->currency, &oom);
	invoice->contact_id = copy_optional(contact_id, &oom);
	invoice->tax_rate_id = copy_optional(rate->id, &oom);
	invoice->tax_rate_name = copy_optional(rate->name, &oom);
	invoice->ledger_account_id =
	    copy_optional(choose_ledger_account(order, mapping, entry), &oom);
	invoice->workflow_id = copy_optional(mapping->workflow_id, &oom);
	invoice->document_style_id = copy_optional(mapping->document_style_id, &oom);
	if (oom)
		goto oom;

	invoice->line.description = invoice->description;
	invoice->line.price_cents =
	    invoice->basis.incl ? order->total_incl_cents : order->excl_vat_cents;
	invoice->line.amount = "1";
	invoice->line.tax_rate_id = invoice->tax_rate_id;
	invoice->line.ledger_account_id = invoice->ledger_account_id;
	invoice->order_total_incl_cents = order->total_incl_cents;

	invoice->request.contact_id = invoice->contact_id;
	invoice->request.reference = invoice->reference;
	invoice->request.invoice_date = invoice->invoice_date;
	invoice->request.currency = invoice->currency;
	invoice->request.prices_are_incl_tax = invoice->basis.incl;
	invoice->request.lines = &invoice->line;
	invoice->request.line_count = 1;
	invoice->request.workflow_id = invoice->workflow_id;
	invoice->request.document_style_id = invoice->document_style_id;

	{
		const struct plan_totals *model =
		    invoice->basis.incl ? &invoice->basis.incl_model : &invoice->basis.excl_model;

		invoice->total_excl_cents = model->excl_cents;
		invoice->total_tax_cents = model->tax_cents;
		invoice->total_incl_cents = model->incl_cents;
	}
	*out = invoice;
	invoice = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the invoice");
out:
	plan_invoice_free(invoice);
	return status;
}

int plan_invoice_set_contact(struct plan_invoice *invoice, const char *contact_id,
                             struct cn_error *err)
{
	char *copy = strdup(contact_id);

	if (copy == NULL) {
		error_set(err, "out of memory while planning the invoice");
		return CN_ERR;
	}
	free(invoice->contact_id);
	invoice->contact_id = copy;
	invoice->request.contact_id = copy;
	return CN_OK;
}

void plan_invoice_free(struct plan_invoice *invoice)
{
	if (invoice == NULL)
		return;
	free(invoice->reference);
	free(invoice->description);
	free(invoice->currency);
	free(invoice->contact_id);
	free(invoice->tax_rate_id);
	free(invoice->ledger_account_id);
	free(invoice->workflow_id);
	free(invoice->document_style_id);
	free(invoice->tax_rate_name);
	free(invoice);
}

int plan_check_created_total(const struct plan_invoice *plan, int64_t created_total_incl_cents,
                             int64_t created_total_excl_cents, const char *created_invoice_id,
                             char **park_reason)
{
	char created[32], expected[32], created_excl[32], expected_excl[32];
	const char *id = created_invoice_id != NULL ? created_invoice_id : "(unknown id)";

	if (plan == NULL)
		return park(park_reason, NULL,
		            "no invoice plan to check the created total against");
	plan_format_cents(created_total_incl_cents, created, sizeof(created));
	plan_format_cents(plan->order_total_incl_cents, expected, sizeof(expected));
	if (created_total_incl_cents != plan->order_total_incl_cents)
		return park(park_reason, NULL,
		            "Moneybird's total %s for draft invoice %s differs from bookto's "
		            "total_incl %s; check the draft's tax rate and prices in Moneybird "
		            "before it is sent",
		            created, id, expected);
	/* The incl split is Moneybird's (unconfirmed); the booked VAT must be bookto's. */
	if (created_total_excl_cents != plan->order_total_incl_cents - plan->total_tax_cents) {
		plan_format_cents(created_total_excl_cents, created_excl, sizeof(created_excl));
		plan_format_cents(plan->order_total_incl_cents - plan->total_tax_cents,
		                  expected_excl, sizeof(expected_excl));
		return park(park_reason, NULL,
		            "Moneybird split draft invoice %s's total %s (prices %s VAT) into excl "
		            "%s, but bookto's excl_vat is %s, so the VAT differs; correct the "
		            "draft in Moneybird before it is sent",
		            id, created, plan->basis.incl ? "incl." : "excl.", created_excl,
		            expected_excl);
	}
	return CN_OK;
}

/* ======================= payment, send, test orders ======================= */

int plan_payment(const struct bookto_order *order, const struct mapping *mapping,
                 const struct plan_zone *zone, struct plan_payment **out, char **park_reason,
                 struct cn_error *err)
{
	struct plan_payment *payment = NULL;
	const struct mapping_payment_provider *provider;
	const char *action = NULL;
	const char *account = NULL;
	bool oom = false;
	int status = CN_ERR;

	*out = NULL;
	if (order == NULL) {
		error_set(err, "plan_payment needs an order");
		return CN_ERR;
	}
	if (blank(order->order_id))
		return park(park_reason, err,
		            "the order has no order_id to use as the payment's "
		            "transaction_identifier");
	if (!order->paid_at_valid)
		return park(
		    park_reason, err,
		    "paid_at \"%.40s\" is not a usable time, so the payment date is unknown",
		    order->paid_at_text);
	payment = calloc(1, sizeof(*payment));
	if (payment == NULL)
		goto oom;
	if (plan_local_date(zone, order->paid_at_epoch, payment->payment_date) != 0) {
		status = park(park_reason, err, "paid_at \"%.40s\" is outside the years 1 to 9999",
		              order->paid_at_text);
		goto out;
	}
	provider = mapping_find_provider(mapping, order->payment_provider);
	if (provider != NULL) {
		action = provider->manual_payment_action;
		account = provider->financial_account_id;
	}
	if (mapping != NULL) {
		if (action == NULL)
			action = mapping->manual_payment_action;
		if (account == NULL)
			account = mapping->financial_account_id;
	}
	payment->transaction_identifier = copy_optional(order->order_id, &oom);
	payment->manual_payment_action = copy_optional(action, &oom);
	payment->financial_account_id = copy_optional(account, &oom);
	if (oom)
		goto oom;
	payment->request.payment_date = payment->payment_date;
	payment->request.price_cents = order->total_incl_cents;
	payment->request.transaction_identifier = payment->transaction_identifier;
	payment->request.manual_payment_action = payment->manual_payment_action;
	payment->request.financial_account_id = payment->financial_account_id;
	*out = payment;
	payment = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the payment");
out:
	plan_payment_free(payment);
	return status;
}

void plan_payment_free(struct plan_payment *payment)
{
	if (payment == NULL)
		return;
	free(payment->transaction_identifier);
	free(payment->manual_payment_action);
	free(payment->financial_account_id);
	free(payment);
}

const char *plan_send_method(const struct mapping *mapping)
{
	return mapping_send_method_name(mapping != NULL ? mapping->send_method
	                                                : MAPPING_SEND_MANUAL);
}

struct plan_contact_search plan_contact_search(const struct plan_contact *contact)
{
	struct plan_contact_search search = {NULL, MB_CONTACT_FIELD_EMAIL, "email address"};

	if (contact->search_tax_number != NULL && contact->search_tax_number[0] != '\0') {
		search.query = contact->search_tax_number;
		search.field = MB_CONTACT_FIELD_TAX_NUMBER;
		search.field_name = "VAT number";
	} else if (contact->search_email != NULL && contact->search_email[0] != '\0') {
		search.query = contact->search_email;
	}
	return search;
}

char *plan_ambiguous_contact_reason(size_t matches, const struct plan_contact_search *search,
                                    const char *customer_id)
{
	char *reason = NULL;

	/* Never guess and never merge: a person picks the right one. */
	if (asprintf(&reason,
	             "%zu Moneybird contacts have this buyer's %s; merge them or give one "
	             "customer_id %s, then retry",
	             matches, search->field_name, customer_id) < 0)
		return NULL;
	return reason;
}

/* True when every condition of `conditions` holds for the order's buyer. */
static bool delivery_conditions_hold(const struct bookto_order *order, unsigned conditions)
{
	char scheme[8];
	const char *identifier;
	char *peppol = trimmed_copy(order->buyer_peppol_id);
	bool has_peppol = peppol != NULL && peppol[0] != '\0';
	bool usable_peppol =
	    has_peppol && peppol_split(peppol, scheme, sizeof(scheme), &identifier);
	bool has_vat = !blank(order->buyer_vat_number);
	bool business = has_vat || has_peppol;
	bool holds = true;

	free(peppol);
	if ((conditions & MAPPING_WHEN_PEPPOL_ID) != 0 && !usable_peppol)
		holds = false;
	if ((conditions & MAPPING_WHEN_VAT_NUMBER) != 0 && !has_vat)
		holds = false;
	if ((conditions & MAPPING_WHEN_EMAIL) != 0 && blank(order->buyer_email))
		holds = false;
	if ((conditions & MAPPING_WHEN_BUSINESS) != 0 && !business)
		holds = false;
	if ((conditions & MAPPING_WHEN_PRIVATE) != 0 && business)
		holds = false;
	return holds;
}

static void describe_rule(const struct mapping_delivery_rule *rule, size_t number, char *out,
                          size_t size)
{
	size_t used = (size_t)snprintf(out, size, "delivery rule %zu (", number);
	const char *separator = "";

	for (unsigned bit = 1; bit <= MAPPING_WHEN_PRIVATE && used < size; bit <<= 1) {
		if ((rule->conditions & bit) == 0)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s", separator,
		                         mapping_delivery_condition_name(bit));
		separator = ", ";
	}
	if (rule->country[0] != '\0' && used < size) {
		used += (size_t)snprintf(out + used, size - used, "%scountry %s", separator,
		                         rule->country);
		separator = ", ";
	}
	if (used < size)
		snprintf(out + used, size - used, "%s)", separator[0] == '\0' ? "always" : "");
}

void plan_delivery(const struct bookto_order *order, const struct mapping *mapping,
                   struct plan_delivery *out)
{
	out->method = plan_send_method(mapping);
	out->rule = 0;
	snprintf(out->why, sizeof(out->why), "send_method (no delivery rule holds)");
	if (mapping == NULL || order == NULL)
		return;
	for (size_t i = 0; i < mapping->delivery_rule_count; i++) {
		const struct mapping_delivery_rule *rule = &mapping->delivery_rules[i];

		if (rule->country[0] != '\0' && (order->buyer_country == NULL ||
		                                 strcmp(order->buyer_country, rule->country) != 0))
			continue;
		if (!delivery_conditions_hold(order, rule->conditions))
			continue;
		out->method = mapping_send_method_name(rule->method);
		out->rule = i + 1;
		describe_rule(rule, i + 1, out->why, sizeof(out->why));
		return;
	}
}

int plan_check_delivery(const struct bookto_order *order, const struct plan_delivery *delivery,
                        char **park_reason, struct cn_error *err)
{
	if (strcmp(delivery->method, "Peppol") == 0 &&
	    !delivery_conditions_hold(order, MAPPING_WHEN_PEPPOL_ID))
		return park(
		    park_reason, err,
		    "the invoice would be sent by Peppol (chosen by %s), but the buyer has no "
		    "Peppol id the contact can carry (buyer.peppol_id \"%.80s\"), so "
		    "Moneybird cannot deliver it; add a delivery rule (when = \"peppol_id\") "
		    "that sends it otherwise, or fix the buyer's Peppol id",
		    delivery->why, order->buyer_peppol_id != NULL ? order->buyer_peppol_id : "");
	if (strcmp(delivery->method, "Email") == 0 && blank(order->buyer_email))
		return park(
		    park_reason, err,
		    "the invoice would be sent by Email (chosen by %s), but the buyer has no "
		    "email address; add a delivery rule (when = \"email\") that sends it "
		    "otherwise",
		    delivery->why);
	return CN_OK;
}

enum plan_test_policy plan_test_order_policy(const struct bookto_order *order,
                                             const struct mapping *mapping)
{
	if (order == NULL || !order->is_test_order)
		return PLAN_SYNC;
	if (mapping != NULL && mapping->test_orders == MAPPING_TEST_ORDERS_SYNC)
		return PLAN_SYNC;
	return PLAN_SKIP;
}
