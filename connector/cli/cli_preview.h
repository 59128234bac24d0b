/*
 * `preview` inside: what a payload would become in Moneybird, planned by
 * cli_preview.c exactly as sync would plan it (writing nothing), and shown
 * by cli_preview_out.c as aligned text or as --json (deploy/README.md).
 */
#ifndef BM_CLI_PREVIEW_H
#define BM_CLI_PREVIEW_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "bookto.h"
#include "budget.h"
#include "config.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_session.h"
#include "plan.h"
#include "store.h"
#include "store_sync.h"

#define PREVIEW_BUDGET_WAIT_MS 15000
#define PREVIEW_MAX_REASONS 8

/* Stands for the id of a contact that sync would create first (README). */
#define PREVIEW_CONTACT_ID_PLACEHOLDER "<contact id>"

/* How sync would find the buyer's contact (resolve_contact in sync.c). */
enum preview_resolution {
	PREVIEW_CONTACT_UNKNOWN,   /* Moneybird was not asked (unreachable) */
	PREVIEW_CONTACT_MAPPED,    /* the local map has it: no call */
	PREVIEW_CONTACT_FOUND,     /* GET contacts/customer_id/{key} finds it */
	PREVIEW_CONTACT_SEARCHED,  /* the exact search adopts a hand-made one */
	PREVIEW_CONTACT_AMBIGUOUS, /* the search finds several: parked */
	PREVIEW_CONTACT_CREATE,    /* none anywhere: POST contacts */
};

/* The JSON names of enum preview_resolution, in its order. */
extern const char *const preview_resolution_names[];

/* The exact request bodies sync would send, as parsed JSON (owned). */
struct preview_requests {
	cJSON *contact;       /* POST contacts; NULL when the contact is reused */
	cJSON *sales_invoice; /* POST sales_invoices */
	cJSON *send_invoice;  /* PATCH sales_invoices/{id}/send_invoice */
	cJSON *payment;       /* POST sales_invoices/{id}/payments */
};

struct preview {
	const struct connection_config *connection;
	const struct mapping *mapping;
	struct bookto_order *order;
	bool paid_order;
	bool test_skip;
	char *reasons[PREVIEW_MAX_REASONS]; /* why it would be parked (owned) */
	size_t reason_count;
	/* Read-only access: the contact map, the shared rate budget, Moneybird. */
	PGconn *db;
	struct mb_session session;
	struct mb_client *client;
	bool rates_known;
	char rates_error[512];
	enum preview_resolution resolution;
	char contact_id[STORE_ID_MAX]; /* known when mapped or found */
	char resolution_error[512];
	struct preview_requests requests;
	struct plan_delivery delivery; /* the send method, chosen as sync chooses it */
	struct mb_tax_rate *rates;
	size_t rate_count;
	struct plan_zone *zone;
	struct plan_contact *contact;
	struct plan_invoice *invoice;
	struct plan_payment *payment;
	char *reference; /* when the invoice could not be planned */
	/* The price basis without Moneybird's rates (plan_price_basis alone). */
	bool local_check_done;
	bool local_check_ok;
	struct plan_basis local_basis;
	char currency[8]; /* the administration's; "" when unknown */
};

/* "sync", "skip", "park", "ignore" or "unknown" (Moneybird not reached). */
const char *preview_verdict(const struct preview *p);

/* The --json document of a planned preview (caller deletes). */
cJSON *preview_json(const struct preview *p);

/* The human text of a planned preview, on stdout. */
void preview_print(const struct preview *p);

#endif
