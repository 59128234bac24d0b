#!/usr/bin/env bash
# Every retail price books to the cent, and a parked order writes nothing.
# - 49.00 incl. at 21 % (40.50 + 8.50) and 10.00 (8.26 + 1.74), which a line
#   carrying excl_vat would book a cent off, are booked with
#   prices_are_incl_tax = true; the simulator's totals equal bookto's.
# - What sync can decide locally is decided before the first Moneybird
#   write: a USD order (the administration books in EUR), a missing tax rate
#   and a Peppol send without a Peppol id park with no contact and no invoice
#   made, and each reason says truthfully that nothing was written.
# - A 402 plan limit pauses the connection (status shows it) instead of
#   spending the order's attempts; it resumes when the limit is gone.
# - reconcile after such a run lists the parked and skipped orders under
#   their own heading and exits 0; a real difference still exits 3.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_testing pause_probe_seconds=2
bm_setup
sync_start --rate-limit 300/10

mapping="$BM_TMP/plan-first.cfg"
cat "$BM_SOURCE_DIR/mappings/default.cfg" - >"$mapping" <<'CFG'

delivery_rules = (
  { when = "business"; method = "Peppol"; }
);
CFG
bm_write_config workers=2 rate_limit=300/10 mapping="$mapping"
bm_migrate
bm_serve_start

# Private buyers (no VAT number, no Peppol id): sent Manual.
private() {
	post_order "$1" match_ref="$1@example.nl" email="$1@example.nl" vat_number="" peppol_id="" \
		company="" "${@:2}"
}

# ---- prices incl. VAT that an excl line would book a cent off
private pf-49 total=49.00 excl=40.50 vat=8.50
private pf-10 total=10.00 excl=8.26 vat=1.74
private pf-121 total=121.00 excl=100.00 vat=21.00
# ---- parked before any write
private pf-usd currency=USD
private pf-rate total=105.00 excl=100.00 vat=5.00 rate=5
post_order pf-peppol match_ref=NL800000008B01 vat_number=NL800000008B01 peppol_id="" \
	email=pf@peppol.example company="Peppolloos B.V."
private pf-test test=true
wait_settled 7 40

for order in pf-49 pf-10 pf-121; do
	bm_assert_eq "$(order_value "$order" state)" synced "$order is booked, not parked ($(order_value "$order" "coalesce(last_error, '')"))"
done
check_totals() { # ORDER TOTAL EXCL
	bm_assert_eq "$(sim_invoice_field "ORD-$1" "(i->>'prices_are_incl_tax') || '/' ||
		(i->>'total_price_incl_tax')::numeric || '/' || (i->>'total_price_excl_tax')::numeric")" \
		"true/$2/$3" "$1: incl prices; Moneybird's totals equal bookto's ($2 incl, $3 excl)"
}
check_totals pf-49 49.0 40.5
check_totals pf-10 10.0 8.26
check_totals pf-121 121.0 100.0
bm_assert_eq "$(sim_invoice_field ORD-pf-49 "(i->'details'->0->>'price')::numeric")" 49.0 \
	"the line carries what the buyer paid"

for order in pf-usd pf-rate pf-peppol; do
	bm_assert_eq "$(order_value "$order" state)" needs_attention "$order is parked"
	bm_assert_eq "$(order_value "$order" "coalesce(moneybird_contact_id, '-')")" - \
		"$order: no contact recorded"
	bm_assert_contains "$(order_value "$order" last_error)" "nothing was written to Moneybird" \
		"$order: the reason says nothing was written"
done
bm_assert_contains "$(order_value pf-usd last_error)" "the order is in USD but the Moneybird administration books in EUR" \
	"the USD reason names the currency"
bm_assert_contains "$(order_value pf-rate last_error)" "no active sales tax rate in Moneybird has 5 %" \
	"the tax rate reason"
bm_assert_contains "$(order_value pf-peppol last_error)" "would be sent by Peppol (chosen by delivery rule 1 (business))" \
	"the Peppol reason names the rule"
# What exists in "Moneybird": only the three booked buyers.
bm_assert_eq "$(sim_q "jsonb_array_length(s->'contacts')")" 3 "contacts only for the booked orders"
for who in pf-usd@example.nl pf-rate@example.nl pf@peppol.example; do
	bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'contacts') c
		WHERE c->>'send_invoices_to_email' = '$who')")" 0 "no contact for $who"
done
bm_assert_eq "$(sim_q "(SELECT string_agg(i->>'reference', ' ' ORDER BY i->>'reference')
	FROM jsonb_array_elements(s->'sales_invoices') i)")" "ORD-pf-10 ORD-pf-121 ORD-pf-49" \
	"invoices only for the booked orders"
bm_assert_eq "$(sim_calls "POST sales_invoices/:id/payments")" 3 "no payment was tried for a USD invoice"

# ---- reconcile: parked and skipped orders are known, not differences
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json >"$BM_TMP/rec.json" 2>"$BM_TMP/rec.err" || rc=$?
bm_assert_eq "$rc" 0 "reconcile after a clean run with parked orders exits 0 ($(cat "$BM_TMP/rec.err"))"
json="$(cat "$BM_TMP/rec.json")"
bm_assert_contains "$json" '"differences":[]' "no differences"
bm_assert_contains "$json" '"known":{"needs_attention":3,"skipped":1,' "known orders counted by state"
bm_assert_contains "$json" '{"order_id":"pf-usd","state":"needs_attention","reason":"the order is in USD' \
	"each parked order is listed with its reason"
bm_assert_contains "$json" '"differences_remaining":0' "none remains"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile >"$BM_TMP/rec.txt" 2>&1 || rc=$?
bm_assert_eq "$rc" 0 "the table form exits 0 too"
table="$(cat "$BM_TMP/rec.txt")"
bm_assert_contains "$table" "Parked and skipped orders (known, not differences): 3 parked" \
	"the table lists them under their own heading"
bm_assert_contains "$table" "pf-test" "the skipped test order is listed"
bm_assert_contains "$table" "No differences." "and says there are no differences"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_differences")" 0 \
	"no parked order is recorded as a difference"

# A real difference still exits 3: a bookkeeper deletes a payment.
inv="$(order_value pf-121 moneybird_invoice_id)"
pay="$(order_value pf-121 moneybird_payment_id)"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X DELETE \
	-H "Authorization: Bearer $BM_MBSIM_TOKEN" \
	"$BM_MBSIM_URL/$BM_MBSIM_ADMIN/sales_invoices/$inv/payments/$pay")"
bm_assert_eq "$code" 204 "the payment of pf-121 was deleted in Moneybird"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json >"$BM_TMP/rec2.json" 2>&1 || rc=$?
bm_assert_eq "$rc" 3 "a real difference still exits 3"
bm_assert_contains "$(cat "$BM_TMP/rec2.json")" '"kind":"not_paid","connection":"shop","order_id":"pf-121"' \
	"the deleted payment is the difference"
bm_assert_contains "$(cat "$BM_TMP/rec2.json")" '"differences_remaining":1' "only that one"

# ---- 402: Moneybird's plan limit pauses the connection
paused_reason() {
	bm_psql "SELECT coalesce(paused_reason, '') FROM connections WHERE name = 'shop'"
}
sim_faults '{"force_status": {"match": "POST sales_invoices", "status": 402, "count": -1}}'
private pf-402
for _ in $(seq 1 150); do
	[[ -n "$(paused_reason)" ]] && break
	sleep 0.1
done
bm_assert_contains "$(paused_reason)" "plan limit" "a 402 pauses the connection with its reason"
out="$("$BM_BINARY" -c "$BM_CONFIG" status 2>&1 || true)"
bm_assert_contains "$out" "creating sales invoices is limited" "status shows the plan limit"
sleep 3
bm_assert_ne "$(order_value pf-402 state)" needs_attention "the order is not parked for it"
sim_faults '{}'
wait_state pf-402 synced 30
bm_assert_eq "$(bm_psql "SELECT j.attempts FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id = 'pf-402'")" 1 "the refused attempts were not spent: the one that synced counts"
bm_assert_eq "$(bm_psql "SELECT coalesce(paused_at::text, '') FROM connections WHERE name = 'shop'")" "" \
	"the connection resumed once invoices could be created"
bm_assert_eq "$(sim_invoices_with_reference ORD-pf-402)" 1 "one invoice for pf-402"
bm_serve_stop

# ---- the deprecated prices_are_incl_tax is still read, with a notice
sed 's/^price_basis = "auto";/prices_are_incl_tax = false;/' "$mapping" >"$BM_TMP/old.cfg"
grep -q '^prices_are_incl_tax = false;' "$BM_TMP/old.cfg" || bm_fail "could not write the old mapping"
sed "s#mapping = \"$mapping\";#mapping = \"$BM_TMP/old.cfg\";#" "$BM_CONFIG" >"$BM_TMP/old-connector.cfg"
rc=0
out="$("$BM_BINARY" -c "$BM_TMP/old-connector.cfg" config check 2>&1)" || rc=$?
bm_assert_eq "$rc" 0 "config check accepts prices_are_incl_tax ($out)"
bm_assert_contains "$out" "old.cfg:$(grep -n '^prices_are_incl_tax' "$BM_TMP/old.cfg" | cut -d: -f1): notice: \`prices_are_incl_tax\` is deprecated; it is read as price_basis = \"excl\"" \
	"config check says it is deprecated and how it is read"
bm_done
