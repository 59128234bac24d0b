/* Small helpers for the simulator: time, ids, money, dates, JSON and error bodies. */
#include "mbsim.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mbsim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mbsim_wall_seconds(void)
{
	return (int64_t)time(NULL);
}

void mbsim_iso_now(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void mbsim_today(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;

	/* TZ is set to the administration's zone (Europe/Amsterdam) in main. */
	localtime_r(&now, &tm);
	snprintf(out, 11, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* splitmix64: tiny, seedable, good enough for ids and fault dice. */
uint64_t mbsim_random(struct mbsim *sim)
{
	uint64_t z = (sim->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void mbsim_new_id(struct mbsim *sim, char out[24])
{
	/* Strictly increasing, 18 digits, far above 2^53 like Moneybird's. */
	sim->next_id += 1 + mbsim_random(sim) % 4096;
	snprintf(out, 24, "%" PRIu64, sim->next_id);
}

void mbsim_random_alnum(struct mbsim *sim, char *out, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = alphabet[mbsim_random(sim) % (sizeof(alphabet) - 1)];
	out[len] = '\0';
}

void mbsim_random_hex(struct mbsim *sim, char *out, size_t hex_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < hex_len; i++)
		out[i] = hex[mbsim_random(sim) % 16];
	out[hex_len] = '\0';
}

/*
 * Parses "-12.5", "10,95" or a JSON number into an integer scaled by 10^scale.
 * Returns 0, -1 when malformed, -2 when there are more than scale decimals.
 */
static int parse_scaled(const cJSON *item, int scale, int64_t limit, int64_t *out)
{
	char buf[64];
	const char *p;
	int64_t whole = 0, frac = 0;
	int decimals = 0;
	bool negative = false;
	int i;

	if (cJSON_IsNumber(item)) {
		double v = item->valuedouble * pow(10.0, scale);

		if (!isfinite(v) || fabs(v) > (double)limit * pow(10.0, scale))
			return -1;
		/* Reject numbers that carry more precision than scale allows. */
		if (fabs(v - round(v)) > 1e-6 * fabs(v) + 1e-6)
			return -2;
		*out = (int64_t)llround(v);
		return 0;
	}
	if (!cJSON_IsString(item) || strlen(item->valuestring) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", item->valuestring);
	p = buf;
	if (*p == '-') {
		negative = true;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (*p - '0');
		if (whole > limit)
			return -1;
		p++;
	}
	if (*p == '.' || *p == ',') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (decimals == scale) {
				if (*p != '0')
					return -2;
			} else {
				frac = frac * 10 + (*p - '0');
				decimals++;
			}
			p++;
		}
	}
	if (*p != '\0')
		return -1;
	for (i = decimals; i < scale; i++)
		frac *= 10;
	for (i = 0; i < scale; i++) {
		whole *= 10;
		limit *= 10;
	}
	if (whole + frac > limit) /* e.g. "1000000000.01" */
		return -1;
	*out = negative ? -(whole + frac) : whole + frac;
	return 0;
}

int mbsim_parse_money(const cJSON *item, int64_t *cents)
{
	/* [OAS] money: -1,000,000,000 <= n <= 1,000,000,000 */
	return parse_scaled(item, 2, 1000000000, cents);
}

int mbsim_parse_money_str(const char *s, int64_t *cents)
{
	cJSON *item = cJSON_CreateString(s);
	int rc = item != NULL ? mbsim_parse_money(item, cents) : -1;

	cJSON_Delete(item);
	return rc;
}

int mbsim_parse_decimal_micro(const cJSON *item, int64_t *micro)
{
	return parse_scaled(item, 6, 1000000000, micro);
}

/* Ruby BigDecimal style as in Moneybird's bodies: "157.24", "363.0", "12.5". */
void mbsim_format_money(int64_t cents, char out[32])
{
	uint64_t abs_cents = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
	uint64_t frac = abs_cents % 100;

	if (frac % 10 == 0)
		snprintf(out, 32, "%s%" PRIu64 ".%" PRIu64, cents < 0 ? "-" : "", abs_cents / 100,
		         frac / 10);
	else
		snprintf(out, 32, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", abs_cents / 100,
		         frac);
}

/* Integer division rounding half away from zero (commercial rounding). */
int64_t mbsim_round_div(int64_t numerator, int64_t denominator)
{
	int64_t q, r;

	if (denominator < 0) {
		numerator = -numerator;
		denominator = -denominator;
	}
	q = numerator / denominator;
	r = numerator % denominator;
	if (r < 0)
		r = -r;
	if (2 * r >= denominator)
		q += numerator < 0 ? -1 : 1;
	return q;
}

static long days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int mbsim_date_to_days(const char *s, long *days)
{
	long y, m, d;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

void mbsim_days_to_date(long z, char out[11])
{
	long era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	snprintf(out, 11, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

bool mbsim_valid_date(const char *s)
{
	long days;

	return mbsim_date_to_days(s, &days) == 0;
}

bool mbsim_is_digits(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool mbsim_is_true(const char *s)
{
	return s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

const char *mbsim_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : "";
}

void mbsim_set_str(cJSON *obj, const char *key, const char *value)
{
	cJSON *item = cJSON_CreateString(value);

	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

void mbsim_set_null(cJSON *obj, const char *key)
{
	cJSON *item = cJSON_CreateNull();

	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

cJSON *mbsim_find_by(const cJSON *array, const char *key, const char *value)
{
	cJSON *item;

	cJSON_ArrayForEach(item, array)
	{
		if (strcmp(mbsim_str(item, key), value) == 0)
			return item;
	}
	return NULL;
}

cJSON *mbsim_find_by_id(const cJSON *array, const char *id)
{
	return mbsim_find_by(array, "id", id);
}

static void strip_private(cJSON *obj)
{
	cJSON *item = obj->child;

	while (item != NULL) {
		cJSON *next = item->next;

		if (obj->type == cJSON_Object && item->string != NULL && item->string[0] == '_')
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, item));
		else if (cJSON_IsObject(item) || cJSON_IsArray(item))
			strip_private(item);
		item = next;
	}
}

cJSON *mbsim_public_copy(const cJSON *obj)
{
	cJSON *copy = cJSON_Duplicate(obj, 1);

	if (copy != NULL)
		strip_private(copy);
	return copy;
}

char *mbsim_print(const cJSON *json)
{
	return cJSON_PrintUnformatted(json);
}

void mbsim_respond_json(struct mbsim_response *r, unsigned status, cJSON *json)
{
	free(r->body);
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	r->body = json != NULL ? mbsim_print(json) : NULL;
	cJSON_Delete(json);
}

void mbsim_err_symbolic(struct mbsim_response *r, unsigned status, const char *message,
                        const char *field, const char *code)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *symbolic = cJSON_AddObjectToObject(body, "symbolic");

	cJSON_AddStringToObject(body, "error", message);
	/* cJSON keeps insertion order; put "error" first like Moneybird. */
	cJSON_DetachItemViaPointer(body, symbolic);
	cJSON_AddItemToObject(body, "symbolic", symbolic);
	cJSON_AddStringToObject(symbolic, field, code);
	mbsim_respond_json(r, status, body);
}

void mbsim_err_plain(struct mbsim_response *r, unsigned status, const char *message)
{
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(body, "error", message);
	mbsim_respond_json(r, status, body);
}

cJSON *mbsim_validation_new(void)
{
	cJSON *v = cJSON_CreateObject();

	cJSON_AddObjectToObject(v, "error");
	cJSON_AddObjectToObject(v, "details");
	return v;
}

void mbsim_validation_add(cJSON *v, const char *field, const char *message, const char *code)
{
	cJSON *errors = cJSON_GetObjectItemCaseSensitive(v, "error");
	cJSON *details = cJSON_GetObjectItemCaseSensitive(v, "details");
	cJSON *list = cJSON_GetObjectItemCaseSensitive(errors, field);
	cJSON *detail_list = cJSON_GetObjectItemCaseSensitive(details, field);
	cJSON *detail = cJSON_CreateObject();

	if (list == NULL)
		list = cJSON_AddArrayToObject(errors, field);
	if (detail_list == NULL)
		detail_list = cJSON_AddArrayToObject(details, field);
	cJSON_AddItemToArray(list, cJSON_CreateString(message));
	cJSON_AddStringToObject(detail, "error", code);
	cJSON_AddItemToArray(detail_list, detail);
}

bool mbsim_validation_empty(const cJSON *v)
{
	return cJSON_GetObjectItemCaseSensitive(v, "error")->child == NULL;
}

void mbsim_validation_respond(struct mbsim_response *r, cJSON *v)
{
	mbsim_respond_json(r, 422, v);
}

void mbsim_err_validation(struct mbsim_response *r, const char *field, const char *message,
                          const char *code)
{
	cJSON *v = mbsim_validation_new();

	mbsim_validation_add(v, field, message, code);
	mbsim_validation_respond(r, v);
}

bool mbsim_reject_unknown(struct mbsim_response *r, const cJSON *obj, const char *wrapper,
                          const char *const *allowed)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj)
	{
		const char *const *a;
		bool known = false;
		char name[160];

		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, item->string) == 0)
				known = true;
		if (known)
			continue;
		/* Grape-style parameter names, as in Moneybird's 400 messages. */
		if (wrapper[0] != '\0')
			snprintf(name, sizeof(name), "%s[%s]", wrapper, item->string);
		else
			snprintf(name, sizeof(name), "%s", item->string);
		{
			char message[220];

			snprintf(message, sizeof(message), "%s is not allowed", name);
			mbsim_err_symbolic(r, 400, message, name, "not_allowed");
		}
		return true;
	}
	return false;
}

cJSON *mbsim_sync_entry(const cJSON *obj)
{
	cJSON *entry = cJSON_CreateObject();

	cJSON_AddStringToObject(entry, "id", mbsim_str(obj, "id"));
	cJSON_AddItemToObject(entry, "version",
	                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(obj, "version"), 1));
	return entry;
}

const cJSON *mbsim_wrapped(struct mbsim_response *r, const cJSON *body, const char *wrapper,
                           const char *required, const char *const *top_allowed,
                           const char *const *allowed)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, wrapper);

	if (!cJSON_IsObject(in)) {
		mbsim_err_symbolic(r, 400, required, wrapper, "required");
		return NULL;
	}
	if (mbsim_reject_unknown(r, body, "", top_allowed) ||
	    mbsim_reject_unknown(r, in, wrapper, allowed))
		return NULL;
	return in;
}

bool mbsim_reject_custom_fields(struct mbsim_response *r, const cJSON *obj)
{
	const cJSON *custom = cJSON_GetObjectItemCaseSensitive(obj, "custom_fields_attributes");

	if (custom == NULL || cJSON_GetArraySize(custom) == 0)
		return false;
	mbsim_err_symbolic(r, 404, "Custom field with id 0 not found for administration",
	                   "custom_fields_attributes", "not_found");
	return true;
}

void mbsim_add_nulls(cJSON *obj, const char *const *names)
{
	for (; *names != NULL; names++)
		cJSON_AddNullToObject(obj, *names);
}
