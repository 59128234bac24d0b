#!/usr/bin/env bash
# Moneybird refusals that need a person park the order at once with the
# reason, without burning retries: a locked VAT period, an order in a
# currency other than the administration's (parked before any write: its
# payment would need price_base), and sending by Peppol while the
# administration is not registered for Peppol (a mapping with send_method =
# "Peppol"). A 402 plan limit pauses the connection instead.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=2 rate_limit=300/10

BUYER=(match_ref=NL120000001B01 vat_number=NL120000001B01 email=r@refuse.example company="Refuse B.V.")
sync_warmup ref-warmup "${BUYER[@]}"

# parked NAME NEEDLE WHAT: the order is parked at its first attempt with a
# reason containing NEEDLE.
parked() {
	wait_orders "order_id = '$1' AND state IN ('synced', 'needs_attention', 'skipped')" 1 30
	bm_assert_eq "$(order_value "$1" state)" needs_attention "$3: the order is parked"
	bm_assert_contains "$(order_value "$1" last_error)" "$2" "$3: the reason says why"
	bm_assert_eq "$(bm_psql "SELECT j.attempts FROM jobs j JOIN orders o ON o.id = j.order_pk
		WHERE o.order_id = '$1'")" 1 "$3: parked at the first attempt"
	echo "#   $1: $(order_value "$1" last_error)"
}

# ---- locked VAT period
sim_faults '{"locked_until": "2024-12-31"}'
post_order ref-locked "${BUYER[@]}"
parked ref-locked "locked" "locked VAT period"
bm_assert_eq "$(sim_invoices_with_reference ORD-ref-locked)" 0 "locked VAT period: no invoice"

# ---- 402 plan limit: pauses the connection (test_sync_plan_first.sh), the
# order waits without spending attempts
sim_faults '{"force_status": {"match": "POST sales_invoices", "status": 402, "count": -1}}'
post_order ref-402 "${BUYER[@]}"
for _ in $(seq 1 150); do
	[[ "$(bm_psql "SELECT paused_at IS NOT NULL FROM connections WHERE name = 'shop'")" == t ]] && break
	sleep 0.1
done
bm_assert_contains "$(bm_psql "SELECT paused_reason FROM connections WHERE name = 'shop'")" \
	"creating sales invoices is limited" "402 plan limit: the connection is paused with the reason"
bm_assert_ne "$(order_value ref-402 state)" needs_attention "402 plan limit: the order is not parked"
bm_assert_eq "$(sim_invoices_with_reference ORD-ref-402)" 0 "402 plan limit: no invoice"
sim_faults '{}'
wait_state ref-402 synced 60

# ---- a currency other than EUR: parked before any write
post_order ref-usd currency=USD "${BUYER[@]}"
parked ref-usd "the order is in USD but the Moneybird administration books in EUR" "USD order"
bm_assert_eq "$(sim_invoices_with_reference ORD-ref-usd)" 0 "USD order: no invoice was made"
bm_assert_contains "$(order_value ref-usd last_error)" "; nothing was written to Moneybird" \
	"USD order: the reason says nothing was written for it"

# ---- Peppol while the administration is not registered
sync_remap 's/^send_method = "Manual";/send_method = "Peppol";/' \
	'^send_method = "Peppol";' peppol.cfg workers=2 rate_limit=300/10
sim_faults '{"peppol_registered": false}'
post_order ref-peppol "${BUYER[@]}"
parked ref-peppol "not registered for Peppol" "Peppol not registered"
bm_assert_eq "$(sim_invoice_field ORD-ref-peppol "i->>'state'")" draft "Peppol: the invoice stays a draft"
sim_faults '{}'
post_order ref-peppol-ok "${BUYER[@]}"
wait_state ref-peppol-ok synced 30
bm_assert_eq "$(sim_invoice_field ORD-ref-peppol-ok "i->>'state'")" paid \
	"once registered, a Peppol send goes through"

bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key NL120000001B01)")" 1 "one contact in all"
bm_done
