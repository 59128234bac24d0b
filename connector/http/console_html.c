#include "console_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "tz.h"

void console_redirect(struct console_reply *reply, const char *location)
{
	reply->status = 303;
	snprintf(reply->location, sizeof(reply->location), "%s", location);
}

int console_error_page(struct console_request *req, struct console_reply *reply,
                       unsigned int status, const char *sentence)
{
	int rc;

	reply->status = status;
	dynbuf_reset(&reply->html);
	rc = console_page_begin(req, &reply->html, "Not possible");
	if (rc == CN_OK)
		rc = html_element(&reply->html, "<p class=\"problem\">", sentence,
		                  "</p><p><a href=\"/\">Back to the overview</a></p>");
	if (rc == CN_OK)
		rc = console_page_end(&reply->html);
	return rc;
}

int console_csrf_field(struct console_request *req, struct dynbuf *out)
{
	int rc = html_raw(out, "<input type=\"hidden\" name=\"csrf\" value=\"");

	if (rc == CN_OK)
		rc = html_text(out, req->session.csrf_token);
	if (rc == CN_OK)
		rc = html_raw(out, "\">");
	return rc;
}

int console_page_begin(struct console_request *req, struct dynbuf *out, const char *title)
{
	int rc = html_raw(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                       "<meta name=\"viewport\" content=\"width=device-width, "
	                       "initial-scale=1\"><title>");

	if (rc == CN_OK)
		rc = html_text(out, title);
	if (rc == CN_OK)
		rc = html_raw(out, " · bookto-moneybird</title>"
		                   "<link rel=\"stylesheet\" href=\"/static/console.css\"></head>"
		                   "<body><header><span class=\"brand\">bookto → Moneybird</span>");
	if (rc == CN_OK && req->signed_in) {
		rc = html_raw(out, "<nav><a href=\"/\">Overview</a> <a href=\"/orders\">Orders</a> "
		                   "<a href=\"/orders?state=needs_attention\">Needs attention</a> "
		                   "<a href=\"/reconcile\">Reconcile</a></nav>"
		                   "<form class=\"logout\" method=\"post\" action=\"/logout\">"
		                   "<span class=\"user\">");
		if (rc == CN_OK)
			rc = html_text(out, req->session.user);
		if (rc == CN_OK)
			rc = html_raw(out, " (%s)</span>",
			              console_is_operator(req) ? "operator" : "viewer");
		if (rc == CN_OK)
			rc = console_csrf_field(req, out);
		if (rc == CN_OK)
			rc = html_raw(out, "<button type=\"submit\">Log out</button></form>");
	}
	if (rc == CN_OK)
		rc = html_element(out, "</header><main><h1>", title, "</h1>\n");
	return rc;
}

int console_page_end(struct dynbuf *out)
{
	return html_raw(out, "</main><footer>bookto-moneybird %s</footer></body></html>\n",
	                BM_VERSION);
}

int console_money(struct dynbuf *out, const char *cents, const char *currency)
{
	int64_t value = cents != NULL ? text_int64(cents) : 0;
	uint64_t magnitude = value < 0 ? (uint64_t)(-(value + 1)) + 1 : (uint64_t)value;
	int rc = html_text(out, currency != NULL && currency[0] != '\0' ? currency : "?");

	if (rc == CN_OK)
		rc = html_raw(out, " %s%" PRIu64 ".%02" PRIu64, value < 0 ? "-" : "",
		              magnitude / 100, magnitude % 100);
	return rc;
}

static const struct connection_runtime *find_connection(struct console_request *req,
                                                        const char *name)
{
	const struct runtime *runtime = req->console->runtime;

	for (size_t i = 0; name != NULL && i < runtime->count; i++)
		if (strcmp(runtime->connections[i].config->name, name) == 0)
			return &runtime->connections[i];
	return NULL;
}

const char *console_zone_name(struct console_request *req, const char *connection)
{
	const struct connection_runtime *c = find_connection(req, connection);

	return c != NULL && c->zone != NULL ? c->config->time_zone : "UTC";
}

/* "YYYY-MM-DDTHH:MM:SSZ" to epoch seconds; false when not that shape. */
static bool parse_iso_utc(const char *text, int64_t *epoch)
{
	int year, month, day, hour, minute, second;
	char z = 0;

	if (text == NULL ||
	    sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute, &second,
	           &z) != 7 ||
	    z != 'Z')
		return false;
	*epoch = tz_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	return true;
}

int console_time(struct console_request *req, struct dynbuf *out, const char *connection,
                 const char *iso_utc)
{
	const struct connection_runtime *c = find_connection(req, connection);
	const struct plan_zone *zone = c != NULL ? c->zone : NULL;
	int64_t epoch, local, days, seconds;
	char date[11];

	if (iso_utc == NULL || iso_utc[0] == '\0')
		return html_raw(out, "—");
	if (!parse_iso_utc(iso_utc, &epoch))
		return html_text(out, iso_utc);
	local = epoch + plan_zone_offset(zone, epoch);
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	seconds = local - days * 86400;
	if (plan_local_date(NULL, days * 86400, date) != CN_OK)
		return html_text(out, iso_utc);
	if (html_raw(out, "<time datetime=\"") != CN_OK || html_text(out, iso_utc) != CN_OK)
		return CN_INVALID;
	return html_raw(out, "\">%s %02d:%02d</time>", date, (int)(seconds / 3600),
	                (int)(seconds % 3600 / 60));
}

int console_state(struct dynbuf *out, const char *state)
{
	static const char *const known[] = {"queued",          "in_progress", "retrying",
	                                    "needs_attention", "skipped",     "synced",
	                                    "reconciled"};
	const char *css = "unknown";

	for (size_t i = 0; state != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(state, known[i]) == 0)
			css = known[i];
	if (html_raw(out, "<span class=\"state state-%s\">", css) != CN_OK ||
	    html_text(out, state != NULL ? state : "?") != CN_OK)
		return CN_INVALID;
	return html_raw(out, "</span>");
}

int console_order_href(struct dynbuf *out, const char *connection, const char *order_id)
{
	int rc = dynbuf_adds(out, "/orders/");

	if (rc == CN_OK)
		rc = html_url_component(out, connection);
	if (rc == CN_OK)
		rc = dynbuf_adds(out, "/");
	if (rc == CN_OK)
		rc = html_url_component(out, order_id);
	return rc;
}

bool console_is_operator(const struct console_request *req)
{
	return req->signed_in && strcmp(req->session.role, "operator") == 0;
}

int console_fact(struct dynbuf *out, const char *label, const char *text)
{
	int rc = html_raw(out, "<dt>%s</dt><dd>", label);

	if (rc == CN_OK)
		rc = html_text(out, text);
	if (rc == CN_OK)
		rc = html_raw(out, "</dd>");
	return rc;
}
