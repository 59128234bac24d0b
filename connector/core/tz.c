/*
 * Time zones for the planner: an IANA zone read once from its TZif file
 * (RFC 8536), with the POSIX TZ rule in its footer for dates past the last
 * listed transition. Pure arithmetic apart from plan_zone_load()'s one read.
 */
#include "tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_ZONE_FILE_MAX_BYTES (512 * 1024)
#define PLAN_ZONE_MAX_TRANSITIONS 20000
#define PLAN_ZONE_MAX_TYPES 256

/* ======================= calendar ======================= */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t tz_days_from_civil(int64_t year, int month, int day)
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

int tz_month_days(int64_t year, int month)
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
		return tz_days_from_civil(year, 1, 1) + date->day - 1 +
		       (is_leap(year) && date->day >= 60 ? 1 : 0);
	case RULE_JULIAN_ZERO:
		return tz_days_from_civil(year, 1, 1) + date->day;
	case RULE_MONTH_WEEK_DAY:
		break;
	}
	first = tz_days_from_civil(year, date->month, 1);
	weekday = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	day = first + (date->day - weekday + 7) % 7 + (int64_t)(date->week - 1) * 7;
	while (day >= first + tz_month_days(year, date->month))
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
