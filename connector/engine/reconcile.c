#include "reconcile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "log.h"
#include "mb_client.h"
#include "mb_session.h"
#include "metrics.h"
#include "migrations.h"
#include "store.h"
#include "store_reconcile.h"

#define MAX_DIFFERENCES 100000

/* ======================= the comparison ======================= */

bool reconcile_date_valid(const char *text)
{
	int year, month, day;
	char tail;

	if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
			return false;
	if (sscanf(text, "%4d-%2d-%2d%c", &year, &month, &day, &tail) != 3)
		return false;
	if (month < 1 || month > 12 || day < 1)
		return false;
	{
		static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

		if (day > days[month - 1] || (month == 2 && day == 29 && !leap))
			return false;
	}
	return year >= 1970;
}

/* Epoch of a YYYY-MM-DD at 00:00 UTC. */
static int64_t date_epoch(const char *text)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

void reconcile_report_clear(struct reconcile_report *report)
{
	if (report == NULL)
		return;
	free(report->items);
	free(report->known);
	memset(report, 0, sizeof(*report));
}

static struct reconcile_difference *add_difference(struct reconcile_report *report,
                                                   const char *kind,
                                                   const struct store_rc_order *order,
                                                   const char *invoice_id, bool repairable,
                                                   const char *fmt, ...) PRINTF_LIKE(6, 7);

static struct reconcile_difference *add_difference(struct reconcile_report *report,
                                                   const char *kind,
                                                   const struct store_rc_order *order,
                                                   const char *invoice_id, bool repairable,
                                                   const char *fmt, ...)
{
	struct reconcile_difference *d;
	va_list ap;

	if (report->count == report->cap) {
		size_t cap = report->cap == 0 ? 16 : report->cap * 2;
		struct reconcile_difference *grown;

		if (cap > MAX_DIFFERENCES)
			return NULL;
		grown = realloc(report->items, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		report->items = grown;
		report->cap = cap;
	}
	d = &report->items[report->count++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	if (order != NULL) {
		d->order_pk = order->order_pk;
		snprintf(d->order_id, sizeof(d->order_id), "%s", order->order_id);
	}
	snprintf(d->invoice_id, sizeof(d->invoice_id), "%s", invoice_id != NULL ? invoice_id : "");
	d->repairable = repairable;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
	return d;
}

static int by_id_text(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int by_sync_id(const void *a, const void *b)
{
	return strcmp(((const struct mb_sync_entry *)a)->id, ((const struct mb_sync_entry *)b)->id);
}

static bool in_state(const char *state, const char *const *states)
{
	for (size_t i = 0; states[i] != NULL; i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

static const char *const non_terminal[] = {"queued", "in_progress", "retrying", NULL};
static const char *const in_flight[] = {"queued", "in_progress", "retrying", NULL};
static const char *const done_states[] = {"synced", "reconciled", NULL};

/* Orders are read RECONCILE_PAGE at a time (keyset pagination by id), so a
 * run's memory does not grow with the number of orders. */
#define RECONCILE_PAGE 1000
#define OWNED 1u          /* an order has this invoice */
#define OWNER_IN_SCOPE 2u /* ... one that is in scope */

/* Everything a run holds. */
struct run {
	const struct config *config;
	size_t index;
	int64_t connection_id;
	PGconn *conn;
	const struct reconcile_options *options;
	struct reconcile_report *report;
	struct store_rc_order *page; /* RECONCILE_PAGE orders at a time, never all */
	unsigned char *listed_owner; /* parallel to listed: OWNED, OWNER_IN_SCOPE */
	char (*contacts)[STORE_RECONCILE_ID_MAX];
	size_t contact_count;
	struct mb_sync_entry *listed; /* sorted by id */
	size_t listed_count;
	struct mb_sales_invoice *fetched; /* parallel to listed; id "" = not fetched */
	bool *fetched_ok;
};

/* True (with err set) when the caller asked the run to stop. */
static bool run_stopped(const struct run *r, struct cn_error *err)
{
	if (r->options->stop_requested == NULL || !r->options->stop_requested(r->options->stop_ctx))
		return false;
	error_set(err, "stopped before it finished (the process is shutting down)");
	return true;
}

static void count_call(void *ctx, const struct mb_call *call)
{
	struct reconcile_report *report = ctx;

	metrics_moneybird_call(call);
	if (!call->budget_refused)
		report->moneybird_calls++;
}

/* Compares one in-scope order with what Moneybird has. */
static int check_order(struct run *r, const struct store_rc_order *o, struct cn_error *err)
{
	struct reconcile_report *report = r->report;
	const struct mb_sales_invoice *inv = NULL;
	bool stuck = in_state(o->state, non_terminal) && o->age_seconds >= RECONCILE_STUCK_SECONDS;
	bool blocked = false; /* a difference a person must look at first */
	struct store_invoice_seen seen;
	enum store_paid_move move = STORE_PAID_KEEP;
	bool moved = false;

	/* Parked and skipped orders are known, not differences: the run lists
	 * them apart (store_reconcile_known_load), with their reasons. */
	if (strcmp(o->state, "skipped") == 0 || strcmp(o->state, "needs_attention") == 0)
		return CN_OK;
	report->orders_checked++;
	if (stuck)
		add_difference(report, "stuck", o, o->invoice_id, false,
		               "the order has been %s for %" PRId64 " minutes", o->state,
		               o->age_seconds / 60);
	if (in_state(o->state, in_flight) && !stuck)
		return CN_OK; /* a worker is on it */
	if (o->invoice_id[0] == '\0') {
		add_difference(report, "missing_invoice", o, "", true,
		               "the order is paid in bookto but has no invoice in Moneybird");
		return CN_OK;
	}
	{
		struct mb_sync_entry key;
		const struct mb_sync_entry *listed;

		snprintf(key.id, sizeof(key.id), "%s", o->invoice_id);
		listed = bsearch(&key, r->listed, r->listed_count, sizeof(*r->listed), by_sync_id);
		if (listed != NULL && r->fetched_ok[listed - r->listed])
			inv = &r->fetched[listed - r->listed];
	}
	if (inv == NULL) {
		add_difference(report, "invoice_deleted", o, o->invoice_id, false,
		               "invoice %s no longer exists in Moneybird", o->invoice_id);
		return CN_OK;
	}
	if (o->contact_id[0] != '\0' && strcmp(inv->contact_id, o->contact_id) != 0) {
		blocked = true;
		add_difference(
		    report, "invoice_changed", o, inv->id, false,
		    "the invoice was moved in Moneybird to contact %s (the order's is %s)",
		    inv->contact_id, o->contact_id);
	} else if (o->invoice_reference[0] != '\0' &&
	           strcmp(inv->reference, o->invoice_reference) != 0) {
		blocked = true;
		add_difference(report, "invoice_changed", o, inv->id, false,
		               "the invoice's reference was changed in Moneybird to \"%s\" (the "
		               "connector made it as \"%s\")",
		               inv->reference, o->invoice_reference);
	}
	if (inv->total_price_incl_tax_cents != o->total_incl_cents) {
		blocked = true;
		add_difference(report, "amount_differs", o, inv->id, false,
		               "the invoice totals %" PRId64 " cents, the order %" PRId64 " cents",
		               inv->total_price_incl_tax_cents, o->total_incl_cents);
	}
	if (strcmp(inv->state, "draft") == 0) {
		add_difference(report, "not_sent", o, inv->id, !blocked,
		               "the invoice is still a draft in Moneybird");
	} else if (strcmp(inv->state, "paid") != 0 && in_state(o->state, done_states)) {
		/* Registering the whole amount is safe only when nothing was paid. */
		bool safe = !blocked && inv->total_paid_cents == 0;

		add_difference(report, "not_paid", o, inv->id, safe,
		               "the invoice is %s in Moneybird with %" PRId64
		               " cents paid and %" PRId64 " unpaid",
		               inv->state, inv->total_paid_cents, inv->total_unpaid_cents);
	}
	if (strcmp(inv->state, "paid") == 0)
		move = STORE_PAID_CONFIRM;
	else if (strcmp(o->state, "reconciled") == 0)
		move = STORE_PAID_WITHDRAWN;
	memset(&seen, 0, sizeof(seen));
	seen.state = inv->state;
	seen.total_paid_cents = inv->total_paid_cents;
	seen.total_unpaid_cents = inv->total_unpaid_cents;
	seen.version = inv->version;
	return store_reconcile_invoice_seen(r->conn, o->order_pk, "reconcile", &seen, move,
	                                    "reconciliation", &moved, err);
}

/* An invoice in Moneybird that no order has: a second invoice for an order
 * (same reference) or an orphan (for a contact the connector made). */
static int check_unknown(struct run *r, const struct mb_sales_invoice *inv, struct cn_error *err)
{
	struct store_invoice_order found;
	struct store_rc_order owner_row;
	const struct store_rc_order *owner = NULL;

	r->report->invoices_checked++;
	if (inv->reference[0] != '\0') {
		int rc = store_reconcile_order_by_reference(r->conn, r->connection_id,
		                                            inv->reference, &found, err);

		if (rc != CN_OK && rc != CN_NOT_FOUND)
			return rc;
		if (rc == CN_OK) {
			memset(&owner_row, 0, sizeof(owner_row));
			owner_row.order_pk = found.order_pk;
			snprintf(owner_row.order_id, sizeof(owner_row.order_id), "%s",
			         found.order_id);
			snprintf(owner_row.invoice_id, sizeof(owner_row.invoice_id), "%s",
			         found.invoice_id);
			owner = &owner_row;
		}
	}
	if (owner != NULL) {
		add_difference(r->report, "duplicate_invoice", owner, inv->id, false,
		               "invoice %s carries the reference \"%s\" of this order, whose "
		               "invoice is %s",
		               inv->id, inv->reference,
		               owner->invoice_id[0] != '\0' ? owner->invoice_id : "not stored");
		return CN_OK;
	}
	if (inv->contact_id[0] != '\0' && bsearch(inv->contact_id, r->contacts, r->contact_count,
	                                          sizeof(*r->contacts), by_id_text) != NULL)
		add_difference(r->report, "orphan_invoice", NULL, inv->id, false,
		               "invoice %s (reference \"%s\") is for a contact the connector made, "
		               "but no order knows it",
		               inv->id, inv->reference);
	return CN_OK;
}

/* Reads every listed invoice that matters, 100 per call. */
static int fetch_invoices(struct run *r, struct mb_client *client, int64_t since_epoch,
                          struct cn_error *err)
{
	const char **ids = NULL;
	size_t *slots = NULL;
	size_t wanted = 0, done = 0;
	int rc = CN_OK;

	ids = calloc(r->listed_count + 1, sizeof(*ids));
	slots = calloc(r->listed_count + 1, sizeof(*slots));
	if (ids == NULL || slots == NULL) {
		error_set(err, "out of memory");
		rc = CN_ERR;
		goto out;
	}
	for (size_t i = 0; i < r->listed_count; i++) {
		unsigned char owner = r->listed_owner[i];

		/* Out-of-scope orders' invoices are skipped; with --since, so are
		 * unknown invoices unchanged since then. */
		if ((owner & OWNED) != 0 ? (owner & OWNER_IN_SCOPE) == 0
		                         : r->listed[i].version < since_epoch)
			continue;
		slots[wanted++] = i;
	}
	if (r->options->progress != NULL)
		r->options->progress(r->options->progress_ctx, 0, wanted);
	while (done < wanted) {
		size_t batch = wanted - done < MB_SYNC_MAX_IDS ? wanted - done : MB_SYNC_MAX_IDS;
		struct mb_sales_invoice *got = NULL;
		size_t got_count = 0;
		enum mb_outcome outcome;

		if (run_stopped(r, err)) {
			rc = CN_RETRYABLE;
			goto out;
		}
		for (size_t k = 0; k < batch; k++)
			ids[k] = r->listed[slots[done + k]].id;
		outcome = mb_sales_invoice_sync_fetch(client, ids, batch, &got, &got_count, err);
		if (outcome != MB_OK) {
			error_prefix(err, "reading the invoices");
			rc = outcome == MB_RATE_LIMITED || outcome == MB_TRANSIENT ? CN_RETRYABLE
			                                                           : CN_ERR;
			goto out;
		}
		for (size_t g = 0; g < got_count; g++) {
			struct mb_sync_entry key;
			const struct mb_sync_entry *listed;

			snprintf(key.id, sizeof(key.id), "%s", got[g].id);
			listed = bsearch(&key, r->listed, r->listed_count, sizeof(*r->listed),
			                 by_sync_id);
			if (listed == NULL)
				continue;
			r->fetched[listed - r->listed] = got[g];
			r->fetched_ok[listed - r->listed] = true;
		}
		free(got);
		done += batch;
		if (r->options->progress != NULL)
			r->options->progress(r->options->progress_ctx, done, wanted);
	}
out:
	free(ids);
	free(slots);
	return rc;
}

/* Records each difference (and queues the repairs asked for). */
static int record_differences(struct run *r, struct cn_error *err)
{
	struct reconcile_report *report = r->report;
	int64_t last_repaired = 0;

	for (size_t i = 0; i < report->count; i++) {
		struct reconcile_difference *d = &report->items[i];
		int rc;

		if (r->options->repair && d->repairable && d->order_pk != last_repaired) {
			bool queued = false;

			rc = store_reconcile_repair(r->conn, d->order_pk, d->kind, &queued, err);
			if (rc != CN_OK)
				return rc;
			d->repair_queued = queued;
			if (queued) {
				report->repairs_queued++;
				last_repaired = d->order_pk;
			}
		} else if (d->repairable && d->order_pk == last_repaired) {
			d->repair_queued = true; /* the same re-queued job fixes it */
		}
		rc = store_reconcile_difference_add(
		    r->conn, report->run_id, r->connection_id, "reconcile", d->kind, d->order_pk,
		    d->invoice_id, d->detail, d->repair_queued, err);
		if (rc != CN_OK)
			return rc;
	}
	return CN_OK;
}

/* The listed invoice with this id (NULL when Moneybird did not list it). */
static const struct mb_sync_entry *find_listed(const struct run *r, const char *invoice_id)
{
	struct mb_sync_entry key;

	if (invoice_id[0] == '\0')
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", invoice_id);
	return bsearch(&key, r->listed, r->listed_count, sizeof(*r->listed), by_sync_id);
}

/* Calls visit on every order of the connection, one page at a time. */
static int for_each_order(struct run *r,
                          int (*visit)(struct run *r, const struct store_rc_order *o,
                                       struct cn_error *err),
                          struct cn_error *err)
{
	int64_t after = 0;
	size_t count = 0;
	int rc = CN_OK;

	do {
		if (run_stopped(r, err))
			return CN_RETRYABLE;
		rc = store_reconcile_orders_page(r->conn, r->connection_id, r->options->since,
		                                 r->report->run_id, after, r->page, RECONCILE_PAGE,
		                                 &count, err);
		for (size_t i = 0; i < count && rc == CN_OK; i++)
			rc = visit(r, &r->page[i], err);
		if (count > 0)
			after = r->page[count - 1].order_pk;
	} while (rc == CN_OK && count == RECONCILE_PAGE);
	return rc;
}

/* First pass: which listed invoices belong to an order (in scope or not). */
static int mark_owner(struct run *r, const struct store_rc_order *o, struct cn_error *err)
{
	const struct mb_sync_entry *listed = find_listed(r, o->invoice_id);

	(void)err;
	if (listed != NULL)
		r->listed_owner[listed - r->listed] |=
		    (unsigned char)(OWNED | (o->in_scope ? OWNER_IN_SCOPE : 0u));
	return CN_OK;
}

/* Second pass: compares each in-scope order with Moneybird. An order that
 * changed after the run began (its invoice may be newer than the list) is
 * left to the next run. */
static int visit_order(struct run *r, const struct store_rc_order *o, struct cn_error *err)
{
	if (!o->in_scope || o->is_test_order || o->changed_during_run)
		return CN_OK;
	return check_order(r, o, err);
}

/* The comparison proper, once the client is ready. */
static int run_compare(struct run *r, struct mb_client *client, int64_t since_epoch,
                       struct cn_error *err)
{
	int rc;

	if (run_stopped(r, err))
		return CN_RETRYABLE;
	/* Every invoice of any date and state: "any filter replaces the
	 * defaults", so state:all alone drops the default period:this_year. */
	{
		enum mb_outcome outcome = mb_sales_invoice_sync_list(
		    client, "state:all", &r->listed, &r->listed_count, err);

		if (outcome != MB_OK) {
			error_prefix(err, "listing the invoices");
			return outcome == MB_RATE_LIMITED || outcome == MB_TRANSIENT ? CN_RETRYABLE
			                                                             : CN_ERR;
		}
	}
	qsort(r->listed, r->listed_count, sizeof(*r->listed), by_sync_id);
	r->fetched = calloc(r->listed_count + 1, sizeof(*r->fetched));
	r->fetched_ok = calloc(r->listed_count + 1, sizeof(*r->fetched_ok));
	r->listed_owner = calloc(r->listed_count + 1, sizeof(*r->listed_owner));
	if (r->fetched == NULL || r->fetched_ok == NULL || r->listed_owner == NULL) {
		error_set(err, "out of memory for %zu invoices", r->listed_count);
		return CN_ERR;
	}
	rc = for_each_order(r, mark_owner, err);
	if (rc == CN_OK)
		rc = fetch_invoices(r, client, since_epoch, err);
	if (rc != CN_OK)
		return rc;

	rc = for_each_order(r, visit_order, err);
	for (size_t i = 0; i < r->listed_count && rc == CN_OK; i++) {
		if (!r->fetched_ok[i])
			continue;
		if ((r->listed_owner[i] & OWNED) != 0)
			r->report->invoices_checked++;
		else
			rc = check_unknown(r, &r->fetched[i], err);
	}
	if (rc == CN_OK)
		rc = record_differences(r, err);
	return rc;
}

/* Records the run's totals (done or failed) and counts its differences. */
static void run_record(struct run *r, int rc, struct cn_error *err)
{
	struct store_rc_run_totals totals;

	memset(&totals, 0, sizeof(totals));
	totals.status = rc == CN_OK ? "done" : "failed";
	totals.invoices_checked = r->report->invoices_checked;
	totals.orders_checked = r->report->orders_checked;
	totals.moneybird_calls = r->report->moneybird_calls;
	totals.differences = (long)r->report->count;
	totals.repairs_queued = r->report->repairs_queued;
	totals.error = rc == CN_OK ? NULL : err->message;
	if (rc == CN_OK)
		metrics_reconcile_differences(r->index, (int64_t)r->report->count);
	if (r->report->run_id > 0) {
		struct cn_error end_err = {""};

		if (store_reconcile_run_end(r->conn, r->report->run_id, &totals, &end_err) != CN_OK)
			log_warn("reconcile_run_not_recorded", "error", end_err.message, NULL);
	}
}

int reconcile_connection(const struct config *config, size_t index, int64_t connection_id,
                         PGconn *conn, PGconn *budget_conn, const struct reconcile_options *options,
                         struct reconcile_report *report, struct cn_error *err)
{
	const struct connection_config *cc = &config->connections[index];
	struct mb_session_options session_options = {.priority = BUDGET_BACKGROUND,
	                                             .max_wait_ms = options->budget_wait_ms,
	                                             .after_call = count_call,
	                                             .after_ctx = report};
	struct mb_session session;
	struct mb_client *client = NULL;
	struct run r = {.config = config,
	                .index = index,
	                .connection_id = connection_id,
	                .conn = conn,
	                .options = options,
	                .report = report};
	int64_t since_epoch = 0;
	int rc;

	memset(report, 0, sizeof(*report));
	memset(&session, 0, sizeof(session));
	if (options->since != NULL)
		since_epoch = date_epoch(options->since);

	rc = store_reconcile_run_begin(conn, connection_id, options->trigger, options->repair,
	                               options->since, &report->run_id, err);
	if (rc != CN_OK)
		return rc;
	r.page = calloc(RECONCILE_PAGE, sizeof(*r.page));
	if (r.page == NULL) {
		error_set(err, "out of memory");
		rc = CN_ERR;
		goto out;
	}
	rc = store_reconcile_known_load(conn, connection_id, options->since, RECONCILE_KNOWN_LISTED,
	                                &report->known, &report->known_count, &report->parked,
	                                &report->skipped, err);
	if (rc == CN_OK)
		rc = store_reconcile_contacts_load(conn, cc->moneybird_administration_id,
		                                   &r.contacts, &r.contact_count, err);
	if (rc != CN_OK)
		goto out;

	rc = mb_session_open(&session, cc, budget_conn, &session_options, err);
	if (rc != CN_OK)
		goto out;
	client = session.client;

	rc = run_compare(&r, client, since_epoch, err);
out:
	run_record(&r, rc, err);
	mb_session_close(&session);
	free(r.page);
	free(r.listed_owner);
	free(r.contacts);
	free(r.listed);
	free(r.fetched);
	free(r.fetched_ok);
	return rc;
}
