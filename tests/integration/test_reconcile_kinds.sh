#!/usr/bin/env bash
# `reconcile` finds each kind of difference. Orders are synced by the real
# worker; the differences are then made the way they happen: Moneybird
# refuses a step (force_status: no invoice, a draft never sent), a
# bookkeeper deletes a payment or an invoice, or creates an invoice by hand
# carrying an order's reference or for one of the connector's contacts. The
# simulator has no invoice-update endpoint, so "changed" and "amount differs"
# are made by changing what the connector recorded. One order is backdated to
# look stuck. A parked and a skipped order are listed apart, not as
# differences. Then: exit 3, every kind reported (JSON and table), each in
# reconcile_differences, and a paid invoice moves its order to reconciled.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_testing backoff_base_seconds=1
bm_stack --mbsim -- workers=1

rc_sync_one rk-ok synced
rc_sync_one rk-missing needs_attention '{"force_status": {"match": "POST sales_invoices", "status": 422}}'
rc_sync_one rk-notsent needs_attention '{"force_status": {"match": "PATCH sales_invoices/:id/send_invoice", "status": 422}}'
rc_sync_one rk-parked needs_attention '{"force_status": {"match": "POST sales_invoices", "status": 422}}'
rc_post_order rk-test match_ref="buyer-rk-test" vat_number="" email="rk-test@example.nl" company="" test=true
rc_wait_state rk-test skipped 30
rc_sync_one rk-unpaid synced
rc_sync_one rk-amount synced
rc_sync_one rk-deleted synced
rc_sync_one rk-changed synced
rc_sync_one rk-stuck synced
bm_pass "ten orders taken as far as Moneybird let them"

# A bookkeeper removes a payment, and deletes another invoice entirely.
inv="$(rc_order rk-unpaid moneybird_invoice_id)"
rc_api DELETE "sales_invoices/$inv/payments/$(rc_order rk-unpaid moneybird_payment_id)"
bm_assert_eq "$RC_STATUS" 204 "payment of rk-unpaid deleted in Moneybird"
inv="$(rc_order rk-deleted moneybird_invoice_id)"
rc_api DELETE "sales_invoices/$inv/payments/$(rc_order rk-deleted moneybird_payment_id)"
rc_api DELETE "sales_invoices/$inv"
bm_assert_eq "$RC_STATUS" 204 "invoice of rk-deleted deleted in Moneybird"
# Invoices made by hand: one carrying rk-ok's reference, one orphan.
contact="$(rc_order rk-ok moneybird_contact_id)"
body='{"sales_invoice":{"contact_id":"'"$contact"'","reference":"ORD-rk-ok","details_attributes":[{"description":"by hand","price":"100.00"}]}}'
rc_api POST sales_invoices "$body"
dup="$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' <<<"$RC_BODY")"
bm_assert_eq "$RC_STATUS" 201 "a second invoice with rk-ok's reference created by hand"
body='{"sales_invoice":{"contact_id":"'"$contact"'","reference":"ORD-ghost","details_attributes":[{"description":"by hand","price":"50.00"}]}}'
rc_api POST sales_invoices "$body"
orphan="$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' <<<"$RC_BODY")"
bm_assert_eq "$RC_STATUS" 201 "an invoice for the connector's contact with an unknown reference"
# What the connector recorded no longer matches. A parked order is known, not
# a difference: rk-missing and rk-notsent are recorded synced as if their
# invoice had been made and sent.
bm_psql "UPDATE orders SET state = 'synced' WHERE order_id IN ('rk-missing', 'rk-notsent');
	UPDATE orders SET total_incl_cents = total_incl_cents + 1 WHERE order_id = 'rk-amount';
	UPDATE orders SET invoice_reference = 'ORD-renamed' WHERE order_id = 'rk-changed';
	UPDATE orders SET state = 'retrying', received_at = now() - interval '2 days'
		WHERE order_id = 'rk-stuck';
	UPDATE jobs SET state = 'pending', next_attempt_at = now() + interval '1 day'
		WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'rk-stuck')" >/dev/null

rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json >"$BM_TMP/reconcile.json" 2>"$BM_TMP/reconcile.err" || rc=$?
bm_assert_eq "$rc" 3 "reconcile exits 3 when differences remain"
json="$(cat "$BM_TMP/reconcile.json")"
kinds() {
	bm_psql "SELECT string_agg(d->>'kind' || ':' || coalesce(d->>'order_id', d->>'moneybird_invoice_id'), ' '
		ORDER BY d->>'kind', d->>'order_id')
		FROM jsonb_array_elements('$(printf '%s' "$json" | sed "s/'/''/g")'::jsonb->'connections'->0->'run'->'differences') d"
}
found="$(kinds)"
for expected in "amount_differs:rk-amount" "duplicate_invoice:rk-ok" "invoice_changed:rk-changed" \
	"invoice_deleted:rk-deleted" "missing_invoice:rk-missing" "not_paid:rk-unpaid" \
	"not_sent:rk-notsent" "orphan_invoice:$orphan" "stuck:rk-stuck"; do
	bm_assert_contains " $found " " $expected " "reported: $expected"
done
bm_assert_eq "$(wc -w <<<"$found" | tr -d ' ')" 9 "nothing else is reported ($found)"
bm_assert_contains "$json" "\"moneybird_invoice_id\":\"$dup\"" "the duplicate names the hand-made invoice"
bm_assert_contains "$json" '"differences_remaining":9' "JSON totals"
bm_assert_contains "$json" '"known":{"needs_attention":1,"skipped":1,"orders":[{"order_id":"rk-parked","state":"needs_attention","reason":"creating the invoice: Moneybird refused it' \
	"the parked and the skipped order are listed apart, with the reason"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_differences WHERE run_id = (SELECT max(id) FROM reconcile_runs)")" 9 \
	"each difference is recorded with its run"
bm_assert_eq "$(bm_psql "SELECT status || '/' || differences FROM reconcile_runs ORDER BY id DESC LIMIT 1")" "done/9" \
	"the run is recorded"
bm_assert_eq "$(rc_order rk-ok state)" reconciled "a synced order whose invoice is paid becomes reconciled"
bm_assert_eq "$(rc_order rk-unpaid "state || '/' || invoice_state")" "synced/open" \
	"the unpaid invoice's state is recorded"
bm_assert_eq "$(rc_sim_q "jsonb_array_length(s->'sales_invoices')")" 8 "reconcile (without --repair) wrote nothing to Moneybird"

# The table for people (not a TTY here: no progress bar).
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --connection shop >"$BM_TMP/reconcile.txt" 2>&1 || rc=$?
bm_assert_eq "$rc" 3 "table mode exits 3 too"
table="$(cat "$BM_TMP/reconcile.txt")"
bm_assert_contains "$table" "KIND" "a table header"
bm_assert_contains "$table" "missing_invoice    rk-missing" "a table row"
bm_assert_contains "$table" "9 differences remain." "the closing count"
bm_assert_contains "$table" "Parked and skipped orders (known, not differences): 1 parked" \
	"the table has the parked orders under their own heading"
bm_assert_contains "$table" "rk-parked            needs_attention" "a parked row"

# --since: only orders received since then; rk-stuck was received before.
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json --since "$(date -u +%Y-%m-%d)" >"$BM_TMP/since.json" 2>&1 || rc=$?
bm_assert_eq "$rc" 3 "--since still finds today's differences"
bm_assert_not_contains "$(cat "$BM_TMP/since.json")" '"kind":"stuck"' "--since leaves out older orders"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --since 2024-02-30 >/dev/null 2>&1 || rc=$?
bm_assert_eq "$rc" 2 "an invalid --since date is a usage error"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --connection nope >/dev/null 2>&1 || rc=$?
bm_assert_eq "$rc" 2 "an unknown connection is a usage error"
bm_serve_stop
bm_done
