#!/usr/bin/env bash
# `reconcile --repair` queues the safe fixes and waits for them: the missing
# invoice is created, the draft is sent, the missing payment is registered
# (each by re-queueing the order's sync job, which resumes from its recorded
# step and looks before it creates). Nothing is deleted and nothing is made
# twice; afterwards a plain `reconcile` reports no differences (exit 0).
# Differences a person must judge (an amount that differs) are never
# repaired and keep the exit code at 3.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_testing backoff_base_seconds=1
bm_testing reconcile_wait_seconds=60
bm_stack --mbsim -- workers=1

rc_sync_one rp-missing needs_attention '{"force_status": {"match": "POST sales_invoices", "status": 422}}'
rc_sync_one rp-notsent needs_attention '{"force_status": {"match": "PATCH sales_invoices/:id/send_invoice", "status": 422}}'
# Parked orders are known, not differences: these two are recorded synced as
# if their invoice had been made and sent, so reconcile finds what is missing.
bm_psql "UPDATE orders SET state = 'synced' WHERE order_id IN ('rp-missing', 'rp-notsent')" >/dev/null
rc_sync_one rp-unpaid synced
inv="$(rc_order rp-unpaid moneybird_invoice_id)"
rc_api DELETE "sales_invoices/$inv/payments/$(rc_order rp-unpaid moneybird_payment_id)"
bm_assert_eq "$RC_STATUS" 204 "the payment of rp-unpaid was deleted in Moneybird"
invoices_before="$(rc_sim_q "jsonb_array_length(s->'sales_invoices')")"

rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --repair --json >"$BM_TMP/repair.json" 2>"$BM_TMP/repair.err" || rc=$?
bm_assert_eq "$rc" 0 "reconcile --repair exits 0 once its repairs are done ($(cat "$BM_TMP/repair.err"))"
json="$(cat "$BM_TMP/repair.json")"
bm_assert_contains "$json" '"repairs_queued":3' "three repairs were queued"
for kind in missing_invoice not_sent not_paid; do
	bm_assert_contains "$json" "\"kind\":\"$kind\"" "found $kind"
done
bm_assert_contains "$json" '"after_repair":{' "a second pass after the repairs"
bm_assert_contains "$json" '"differences_remaining":0}]' "no difference remains"
for order in rp-missing rp-notsent rp-unpaid; do
	bm_assert_eq "$(rc_order "$order" state)" reconciled "$order is synced and its invoice confirmed paid"
done
bm_assert_eq "$(rc_sim_q "jsonb_array_length(s->'sales_invoices')")" "$((invoices_before + 1))" \
	"exactly one invoice was created (for rp-missing)"
bm_assert_eq "$(rc_sim_q "(SELECT string_agg(i->>'reference' || '=' || (i->>'state') || '/' ||
	jsonb_array_length(i->'payments'), ' ' ORDER BY i->>'reference')
	FROM jsonb_array_elements(s->'sales_invoices') i)")" \
	"ORD-rp-missing=paid/1 ORD-rp-notsent=paid/1 ORD-rp-unpaid=paid/1" \
	"each invoice is sent and paid once"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE actor = 'reconcile' AND action = 'repair_queued'")" 3 \
	"each repair is in the audit log"

rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile >"$BM_TMP/again.txt" 2>&1 || rc=$?
bm_assert_eq "$rc" 0 "a second reconcile reports no differences"
bm_assert_contains "$(cat "$BM_TMP/again.txt")" "No differences." "and says so"

# Not repairable: an amount that differs stays (exit 3), nothing is queued.
bm_psql "UPDATE orders SET total_incl_cents = 99 WHERE order_id = 'rp-unpaid'" >/dev/null
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --repair >"$BM_TMP/amount.txt" 2>&1 || rc=$?
bm_assert_eq "$rc" 3 "a difference --repair may not fix keeps exit 3"
bm_assert_contains "$(cat "$BM_TMP/amount.txt")" "amount_differs" "it is reported"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE actor = 'reconcile' AND action = 'repair_queued'")" 3 \
	"and nothing was queued for it"
"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/audit.out" 2>&1 || bm_fail "audit verify failed"
bm_serve_stop
bm_done
