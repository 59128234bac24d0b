#!/usr/bin/env bash
# Moneybird pushes end to end: the webhook is registered through
# `moneybird webhook register` (token and secret from the simulator, kept in
# PostgreSQL), an order is synced, the simulator pushes signed
# payment_registered / sales_invoice_state_changed_to_paid and the order
# becomes reconciled. A payment removed in Moneybird moves it back to synced
# and is recorded as a difference; a bookkeeper's payment (mark_paid) makes it
# reconciled again, with every push delivered twice (duplicate_webhooks) and
# stored once per Idempotency-Key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_stack --mbsim --webhook-retry-seconds 1 -- workers=1

rc_register_webhook
bm_assert_contains "$(cat "$BM_TMP/register.out")" "webhooks/moneybird/shop" "webhook registered"
bm_assert_eq "$(bm_psql "SELECT moneybird_webhook_secret IS NOT NULL AND moneybird_webhook_token IS NOT NULL FROM connections WHERE name = 'shop'")" \
	t "token and secret stored in the connections row"
bm_assert_contains "$(grep -c moneybird_webhook_check "$BM_TMP/connector.log")" 1 \
	"Moneybird's registration check (no body, no signature) was answered without processing"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM moneybird_events")" 0 "the check stored nothing"

# --- synced by the worker, then reconciled by the pushes its payment caused
rc_post_order paid-1
rc_wait_state paid-1 reconciled 30
bm_pass "order paid-1 went synced -> reconciled through signed pushes"
bm_assert_eq "$(rc_order paid-1 "paid_confirmed_at IS NOT NULL AND synced_at IS NOT NULL")" t \
	"paid_confirmed_at and synced_at are set"
bm_assert_eq "$(bm_psql "SELECT paid_confirmed_at IS NOT NULL FROM sync_status WHERE order_id = 'paid-1'")" t \
	"sync_status shows paid_confirmed_at"
bm_assert_eq "$(rc_order paid-1 "invoice_state || '/' || invoice_total_unpaid_cents")" "paid/0" \
	"the invoice's state and unpaid amount are recorded"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'paid-1' AND a.action = 'paid_confirmed' AND a.from_state = 'synced'
	AND a.to_state = 'reconciled'")" 1 "one audit row synced -> reconciled"
rc_wait_sql "SELECT count(*) FROM moneybird_events WHERE status IN ('pending', 'waiting')" 0 10
bm_assert_eq "$(bm_psql "SELECT string_agg(DISTINCT action || ':' || status, ',' ORDER BY action || ':' || status)
	FROM moneybird_events")" \
	"contact_created:applied,payment_registered:applied,sales_invoice_state_changed_to_paid:applied" \
	"both pushes were stored and applied (and the new buyer's contact_created, kept in the contact index)"

invoice="$(rc_order paid-1 moneybird_invoice_id)"
payment="$(rc_order paid-1 moneybird_payment_id)"

# --- a payment removed in Moneybird: back to synced, and a difference
rc_api DELETE "sales_invoices/$invoice/payments/$payment"
bm_assert_eq "$RC_STATUS" 204 "the bookkeeper deletes the payment in Moneybird"
rc_wait_state paid-1 synced 20
bm_pass "payment_destroyed moved the reconciled order back to synced"
bm_assert_eq "$(rc_order paid-1 "paid_confirmed_at IS NULL AND invoice_state = 'open' AND invoice_total_unpaid_cents = 12100")" t \
	"the refreshed invoice is open with 121.00 unpaid"
bm_assert_eq "$(bm_psql "SELECT kind || '/' || source FROM reconcile_differences")" "payment_removed/webhook" \
	"the removed payment is recorded as a difference"

# --- paid again by hand, every push delivered twice
rc_sim_post /_sim/faults '{"duplicate_webhooks": true}' >/dev/null
before="$(bm_psql "SELECT count(*) FROM moneybird_events")"
rc_sim_post "/_sim/sales_invoices/$invoice/mark_paid" '{}' >/dev/null
rc_wait_state paid-1 reconciled 20
bm_pass "mark_paid in Moneybird makes the order reconciled again"
for _ in $(seq 1 50); do
	dups="$(rc_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'webhook_deliveries') d
		WHERE (d->>'duplicate')::boolean AND d->>'status' = 'delivered')")"
	[[ "$dups" -ge 2 ]] && break
	sleep 0.2
done
bm_assert_eq "$dups" 2 "the simulator delivered both pushes a second time"
bm_assert_eq "$(($(bm_psql "SELECT count(*) FROM moneybird_events") - before))" 2 \
	"each push is stored once (deduplicated by Idempotency-Key)"
bm_assert_eq "$(grep -c 'outcome=duplicate' "$BM_TMP/connector.log")" 2 \
	"the duplicates were answered 200 as duplicates"
bm_assert_eq "$(rc_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'webhook_deliveries') d
	WHERE d->>'status' <> 'delivered')")" 0 "every push was answered 200 (nothing to retry)"

secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
bm_assert_eq "$(grep -c -F "$secret" "$BM_TMP/connector.log" || true)" 0 "the secret never appears in the log"
"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/audit.out" 2>&1 || bm_fail "audit verify failed"
bm_serve_stop
bm_done
