/* Moneybird endpoints that list sales invoices: GET sales_invoices and its
 * synchronization variant, with the documented filter=key:value syntax. */
#include "mbsim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- filter=key:value,... ---- */

struct invoice_filter {
	bool any;
	char states[10][20];
	size_t nstates;
	bool has_period;
	long from_day, to_day;
	char references[16][128];
	size_t nreferences;
	char contact_id[24];
	char workflow_id[24];
	bool has_created_after, has_updated_after;
	double created_after, updated_after;
};

static const char *const filter_states[] = {
    "all",  "draft",    "open", "scheduled",     "pending_payment",
    "late", "reminded", "paid", "uncollectible", NULL};

static bool parse_custom_day(const char *s, bool end, long *day)
{
	char buf[11];
	size_t n = strlen(s);

	if (n == 8 && mbsim_is_digits(s)) {
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		return mbsim_date_to_days(buf, day) == 0;
	}
	if (n == 6 && mbsim_is_digits(s)) {
		long first;

		snprintf(buf, sizeof(buf), "%.4s-%.2s-01", s, s + 4);
		if (mbsim_date_to_days(buf, &first) != 0)
			return false;
		if (!end) {
			*day = first;
			return true;
		}
		/* Last day of that month: the day before the first of the next. */
		{
			long y = strtol(buf, NULL, 10), m = strtol(buf + 5, NULL, 10);

			m++;
			if (m == 13) {
				m = 1;
				y++;
			}
			snprintf(buf, sizeof(buf), "%04ld-%02ld-01", y, m);
			if (mbsim_date_to_days(buf, day) != 0)
				return false;
			(*day)--;
			return true;
		}
	}
	return false;
}

/* Named periods relative to today; weeks start on Monday. */
static bool named_period(const char *name, long *from, long *to)
{
	char today[11], buf[11];
	long t, y, m, q, shift = 0, weekday;
	const char *unit;

	mbsim_today(today);
	if (mbsim_date_to_days(today, &t) != 0)
		return false;
	y = strtol(today, NULL, 10);
	m = strtol(today + 5, NULL, 10);
	if (strncmp(name, "this_", 5) == 0)
		unit = name + 5;
	else if (strncmp(name, "prev_", 5) == 0) {
		unit = name + 5;
		shift = -1;
	} else if (strncmp(name, "next_", 5) == 0) {
		unit = name + 5;
		shift = 1;
	} else
		return false;
	if (strcmp(unit, "week") == 0) {
		weekday = ((t % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday; 0 = Monday */
		*from = t - weekday + 7 * shift;
		*to = *from + 6;
		return true;
	}
	if (strcmp(unit, "month") == 0) {
		m += shift;
		if (m == 0) {
			m = 12;
			y--;
		} else if (m == 13) {
			m = 1;
			y++;
		}
		snprintf(buf, sizeof(buf), "%04ld%02ld", y % 10000, m % 100);
		return parse_custom_day(buf, false, from) && parse_custom_day(buf, true, to);
	}
	if (strcmp(unit, "quarter") == 0) {
		q = (m - 1) / 3 + shift;
		if (q < 0) {
			q = 3;
			y--;
		} else if (q > 3) {
			q = 0;
			y++;
		}
		snprintf(buf, sizeof(buf), "%04ld%02ld", y % 10000, (q * 3 + 1) % 100);
		if (!parse_custom_day(buf, false, from))
			return false;
		snprintf(buf, sizeof(buf), "%04ld%02ld", y % 10000, (q * 3 + 3) % 100);
		return parse_custom_day(buf, true, to);
	}
	if (strcmp(unit, "year") == 0) {
		y += shift;
		snprintf(buf, sizeof(buf), "%04ld01", y % 10000);
		if (!parse_custom_day(buf, false, from))
			return false;
		snprintf(buf, sizeof(buf), "%04ld12", y % 10000);
		return parse_custom_day(buf, true, to);
	}
	return false;
}

/* "2026-08-21 13:50:12 UTC", "2026-08-21T13:50:12.123Z", "2026-08-21" -> epoch seconds. */
static bool parse_time(const char *s, double *out)
{
	char date[11];
	long days, hh = 0, mi = 0, ss = 0;
	double frac = 0;
	const char *p;

	if (strlen(s) < 10)
		return false;
	snprintf(date, sizeof(date), "%.10s", s);
	if (mbsim_date_to_days(date, &days) != 0)
		return false;
	p = s + 10;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (strlen(p) < 8 || p[2] != ':' || p[5] != ':' || !isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[3]) || !isdigit((unsigned char)p[6]))
			return false;
		hh = strtol(p, NULL, 10);
		mi = strtol(p + 3, NULL, 10);
		ss = strtol(p + 6, NULL, 10);
		p += 8;
		if (*p == '.') {
			char *end;

			frac = strtod(p, &end);
			p = end;
		}
		if (*p == '+' || *p == '-') {
			long oh = strtol(p + 1, NULL, 10),
			     om = strlen(p) >= 6 ? strtol(p + 4, NULL, 10) : 0;
			long off = oh * 3600 + om * 60;

			ss -= *p == '+' ? off : -off;
		}
	}
	*out = (double)days * 86400.0 + (double)(hh * 3600 + mi * 60 + ss) + frac;
	return true;
}

static int parse_filter(const char *filter, struct invoice_filter *f, struct mbsim_response *resp)
{
	char buf[2048];
	char *save = NULL, *term;

	memset(f, 0, sizeof(*f));
	if (filter == NULL) {
		/* No filter: the documented defaults, state:all and period:this_year. */
		f->has_period = named_period("this_year", &f->from_day, &f->to_day);
		return 0;
	}
	if (strlen(filter) >= sizeof(buf)) {
		mbsim_err_symbolic(resp, 400, "Filter is too long", "filter", "invalid");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", filter);
	for (term = strtok_r(buf, ",", &save); term != NULL; term = strtok_r(NULL, ",", &save)) {
		char *value = strchr(term, ':');
		char *vsave = NULL, *v;

		if (value == NULL)
			continue;
		*value++ = '\0';
		if (strcmp(term, "state") == 0) {
			for (v = strtok_r(value, "|", &vsave); v != NULL;
			     v = strtok_r(NULL, "|", &vsave)) {
				size_t i;
				bool known = false;

				for (i = 0; filter_states[i] != NULL; i++)
					known |= strcmp(filter_states[i], v) == 0;
				if (!known) {
					mbsim_err_symbolic(resp, 400,
					                   "Status is not included in the list",
					                   "filter", "invalid");
					return -1;
				}
				if (f->nstates < 10)
					snprintf(f->states[f->nstates++], 20, "%s", v);
			}
		} else if (strcmp(term, "period") == 0) {
			char *dots = strstr(value, "..");

			f->has_period = true;
			if (dots != NULL) {
				*dots = '\0';
				if (value[0] == '\0' || dots[2] == '\0') {
					mbsim_err_symbolic(resp, 400,
					                   "Period must have both a start and "
					                   "end date",
					                   "filter", "invalid");
					return -1;
				}
				if (!parse_custom_day(value, false, &f->from_day) ||
				    !parse_custom_day(dots + 2, true, &f->to_day)) {
					mbsim_err_symbolic(resp, 400, "Period is invalid", "filter",
					                   "invalid");
					return -1;
				}
			} else if (!named_period(value, &f->from_day, &f->to_day)) {
				mbsim_err_symbolic(resp, 400, "Period is invalid", "filter",
				                   "invalid");
				return -1;
			}
		} else if (strcmp(term, "reference") == 0) {
			for (v = strtok_r(value, "|", &vsave); v != NULL;
			     v = strtok_r(NULL, "|", &vsave))
				if (f->nreferences < 16)
					snprintf(f->references[f->nreferences++], 128, "%s", v);
		} else if (strcmp(term, "contact_id") == 0) {
			snprintf(f->contact_id, sizeof(f->contact_id), "%s", value);
		} else if (strcmp(term, "workflow_id") == 0) {
			snprintf(f->workflow_id, sizeof(f->workflow_id), "%s", value);
		} else if (strcmp(term, "created_after") == 0 ||
		           strcmp(term, "updated_after") == 0) {
			bool created = term[0] == 'c';
			double t;

			if (!parse_time(value, &t)) {
				mbsim_err_symbolic(resp, 400, "Date is invalid", "filter",
				                   "invalid");
				return -1;
			}
			if (created) {
				f->has_created_after = true;
				f->created_after = t;
			} else {
				f->has_updated_after = true;
				f->updated_after = t;
			}
		}
		/* Unknown keys are ignored, as Moneybird does. */
	}
	return 0;
}

static bool invoice_matches(const cJSON *inv, const struct invoice_filter *f)
{
	size_t i;
	const char *state = mbsim_str(inv, "state");

	if (f->nstates > 0) {
		bool ok = false;

		for (i = 0; i < f->nstates; i++)
			ok |= strcmp(f->states[i], "all") == 0 || strcmp(f->states[i], state) == 0;
		if (!ok)
			return false;
	}
	if (f->has_period) {
		char today[11];
		const char *date = mbsim_str(inv, "invoice_date");
		long d;

		mbsim_today(today);
		/* A draft without invoice_date matches only periods containing today. */
		if (mbsim_date_to_days(date[0] != '\0' ? date : today, &d) != 0 ||
		    d < f->from_day || d > f->to_day)
			return false;
	}
	if (f->nreferences > 0) {
		bool ok = false;

		for (i = 0; i < f->nreferences; i++)
			ok |= strcmp(f->references[i], mbsim_str(inv, "reference")) == 0;
		if (!ok)
			return false;
	}
	if (f->contact_id[0] != '\0' && strcmp(f->contact_id, mbsim_str(inv, "contact_id")) != 0)
		return false;
	if (f->workflow_id[0] != '\0' && strcmp(f->workflow_id, mbsim_str(inv, "workflow_id")) != 0)
		return false;
	if (f->has_created_after) {
		double t;

		if (!parse_time(mbsim_str(inv, "created_at"), &t) || t <= f->created_after)
			return false;
	}
	if (f->has_updated_after) {
		double t;

		if (!parse_time(mbsim_str(inv, "updated_at"), &t) || t <= f->updated_after)
			return false;
	}
	return true;
}

/* The invoices matching the request's filter, each rendered by render; NULL
 * (answered) when the filter is refused. */
static cJSON *matching_invoices(struct mbsim *sim, const struct mbsim_request *req,
                                struct mbsim_response *resp,
                                cJSON *(*render)(struct mbsim *, const cJSON *))
{
	struct invoice_filter f;
	cJSON *list;
	const cJSON *inv;

	if (parse_filter(mbsim_query(req, "filter"), &f, resp) != 0)
		return NULL;
	list = cJSON_CreateArray();
	cJSON_ArrayForEach(inv, sim->invoices)
	{
		if (invoice_matches(inv, &f))
			cJSON_AddItemToArray(list, render(sim, inv));
	}
	return list;
}

static cJSON *render_sync_entry(struct mbsim *sim, const cJSON *inv)
{
	(void)sim;
	return mbsim_sync_entry(inv);
}

void mbsim_api_invoices_list(struct mbsim *sim, const struct mbsim_request *req,
                             struct mbsim_response *resp)
{
	cJSON *list = matching_invoices(sim, req, resp, mbsim_render_invoice);

	if (list != NULL)
		mbsim_respond_page(req, resp, list, 25);
}

void mbsim_api_invoices_sync_get(struct mbsim *sim, const struct mbsim_request *req,
                                 struct mbsim_response *resp)
{
	cJSON *list = matching_invoices(sim, req, resp, render_sync_entry);

	if (list != NULL)
		mbsim_respond_json(resp, 200, list);
}
