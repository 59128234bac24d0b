/*
 * Time zones (tz.c): the IANA zone a connection books in, so an invoice date
 * is the local calendar date of the payment.
 */
#ifndef BM_TZ_H
#define BM_TZ_H

#include <stdint.h>

#include "error.h"

/*
 * An IANA time zone read from the TZif file under $TZDIR (default
 * /usr/share/zoneinfo), including the POSIX rule in its footer for dates past
 * the last listed transition. Immutable after loading, so one loaded zone may
 * be used by every thread: unlike setenv("TZ") + localtime_r, nothing
 * process-wide changes.
 */
struct plan_zone;

/* Loads zone `name` ("UTC" works without a file). *out is owned by the caller
 * (plan_zone_free). CN_INVALID with a sentence for an unknown or bad zone. */
int plan_zone_load(const char *name, struct plan_zone **out, struct cn_error *err) MUST_CHECK;
void plan_zone_free(struct plan_zone *zone);

/* The zone's offset from UTC in seconds at `epoch` (e.g. 7200 for CEST); NULL is UTC. */
int32_t plan_zone_offset(const struct plan_zone *zone, int64_t epoch);

/* The local calendar date of `epoch` as "YYYY-MM-DD". CN_INVALID outside years 1..9999. */
int plan_local_date(const struct plan_zone *zone, int64_t epoch, char out[11]) MUST_CHECK;

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t tz_days_from_civil(int64_t year, int month, int day);

/* The number of days of `month` (1..12) in `year`. */
int tz_month_days(int64_t year, int month);

#endif
