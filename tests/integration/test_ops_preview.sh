#!/usr/bin/env bash
# `preview`: what an order.paid payload would become in Moneybird (contact,
# invoice with the tax rate from Moneybird and the totals check, send method,
# payment), human and --json, for orders that would sync, be skipped (test
# order), be parked, or be ignored (another event); Moneybird unreachable is
# said and planned around; nothing is written; exit codes 0 / 1 / 2.
source "$(dirname "$0")/lib.sh"
bm_stack --mbsim -- --no-serve workers=0

# ops CMD...: bm_ops (sets OUT, ERR and RC; never fails the test).
ops() { bm_ops "$@"; }
jget() {
	bm_psql "SELECT \$bmj\$$1\$bmj\$::jsonb #>> '{$2}'"
}

good="$(bm_order_json pv-1)"
ops preview "$good"
bm_assert_eq "$RC" 0 "preview of a good order exits 0 ($ERR)"
bm_assert_contains "$OUT" "Preview of order pv-1 (number ORD-pv-1) for connection shop; nothing is written." "the heading"
bm_assert_contains "$OUT" "customer_id          9" "the contact key (18 digits starting with 9)"
bm_assert_contains "$OUT" "reference            ORD-pv-1" "the invoice reference"
bm_assert_contains "$OUT" "invoice date         2024-05-02" "the invoice date in the administration's zone"
bm_assert_contains "$OUT" "100.00 + 21.00 = 121.00: equals bookto's total_incl" "the totals check"
bm_assert_contains "$OUT" "delivery method      Manual" "the send method"
bm_assert_contains "$OUT" "transaction id       pv-1" "the payment's transaction id is the order id"
bm_assert_contains "$OUT" "Verdict: would sync" "the verdict"

ops preview --json "$good"
bm_assert_eq "$RC" 0 "preview --json exits 0"
json="$OUT"
bm_assert_eq "$(jget "$json" verdict)" sync "json: verdict sync"
bm_assert_eq "$(jget "$json" moneybird_reachable)" true "json: moneybird_reachable"
bm_assert_eq "$(jget "$json" invoice,total_incl_cents)" 12100 "json: invoice.total_incl_cents"
bm_assert_eq "$(jget "$json" invoice,reference)" ORD-pv-1 "json: invoice.reference"
bm_assert_ne "$(jget "$json" invoice,tax_rate_id)" "" "json: invoice.tax_rate_id"
bm_assert_eq "$(jget "$json" totals_check,matches)" true "json: totals_check.matches"
bm_assert_eq "$(jget "$json" totals_check,checked_against)" moneybird_tax_rate "json: checked against Moneybird's rate"
bm_assert_eq "$(jget "$json" payment,price_cents)" 12100 "json: payment.price_cents"
bm_assert_eq "$(jget "$json" payment,payment_date)" 2024-05-02 "json: payment.payment_date"
bm_assert_eq "$(jget "$json" send_method)" Manual "json: send_method"
bm_assert_eq "$(jget "$json" contact,tax_number)" NL123456789B01 "json: contact.tax_number"
bm_assert_eq "$(jget "$json" invoice,price_basis)" incl "json: 1.00 + 0.21 fits both bases; incl is preferred"

# 49.00 incl at 21 % (40.50 + 8.50): only prices incl. VAT give bookto's VAT.
ops preview "$(bm_order_json pv-49 total=49.00 excl=40.50 vat=8.50)"
bm_assert_contains "$OUT" "Verdict: would sync" "49.00 at 21 % would sync"
bm_assert_contains "$OUT" "1 x 49.00 (incl. VAT)" "the line carries the incl price"
bm_assert_contains "$OUT" "auto: only prices incl. VAT reproduce bookto's figures" \
	"preview says why the basis was chosen"
ops preview --json "$(bm_order_json pv-49 total=49.00 excl=40.50 vat=8.50)"
bm_assert_eq "$(jget "$OUT" invoice,prices_are_incl_tax)" true "json: prices_are_incl_tax"
bm_assert_eq "$(jget "$OUT" invoice,price_basis)" incl "json: price_basis"
bm_assert_contains "$(jget "$OUT" invoice,price_basis_why)" "excl. VAT (line 40.50) Moneybird computes excl 40.50 + VAT 8.51" \
	"json: why names the excl computation"
bm_assert_eq "$(jget "$OUT" requests,sales_invoice,sales_invoice,prices_are_incl_tax)" true \
	"json: the request body carries prices_are_incl_tax"

# A currency other than the administration's (EUR) parks before any write.
ops preview --json "$(bm_order_json pv-usd currency=USD)"
bm_assert_eq "$(jget "$OUT" verdict)" park "json: a USD order would be parked"
bm_assert_contains "$(jget "$OUT" park_reasons)" "the order is in USD but the Moneybird administration books in EUR" \
	"json: the reason names the currency"
bm_assert_eq "$(jget "$json" park_reasons)" "[]" "json: no park reasons"
bm_assert_eq "$(bm_psql "SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(\$bmj\$$json\$bmj\$::jsonb) k")" \
	"connection,contact,event,invoice,moneybird_error,moneybird_reachable,order_id,order_number,park_reasons,payment,reference,requests,send_method,send_method_chosen_by,test_order,test_order_policy,totals_check,verdict" \
	"json: the top-level keys"

# stdin works too.
ops preview --json - <"$good"
bm_assert_eq "$(jget "$OUT" order_id)" pv-1 "preview reads - (stdin)"

# A test order is skipped by the default policy.
ops preview --json "$(bm_order_json pv-2 test=true)"
bm_assert_eq "$(jget "$OUT" verdict)" skip "json: a test order would be skipped"

# Unmapped treatment and amounts that do not add up: parked, with reasons.
ops preview "$(bm_order_json pv-3 treatment=margin_scheme)"
bm_assert_eq "$RC" 0 "preview of an order that would be parked exits 0"
bm_assert_contains "$OUT" "Verdict: would be parked needs_attention:" "the park verdict"
bm_assert_contains "$OUT" "vat_treatments.margin_scheme" "the reason names the mapping key"
ops preview --json "$(bm_order_json pv-4 total=121.00 excl=100.00 vat=20.00)"
bm_assert_eq "$(jget "$OUT" verdict)" park "json: amounts that do not add up would be parked"
bm_assert_ne "$(jget "$OUT" park_reasons,0)" "" "json: with a reason"

# Another event is ignored.
ops preview --json "$(bm_order_json pv-5 event=order.refunded)"
bm_assert_eq "$(jget "$OUT" verdict)" ignore "json: another event would be ignored"

# Moneybird unreachable: said, and the totals checked against vat_rate.
bm_write_config workers=0 moneybird_url=http://127.0.0.1:9/api/v2
ops preview "$good"
bm_assert_eq "$RC" 0 "preview with Moneybird unreachable exits 0"
bm_assert_contains "$OUT" "Moneybird could not be reached" "it says Moneybird is unreachable"
bm_assert_contains "$OUT" "equal to bookto's figures" "the local totals check"
bm_assert_contains "$OUT" "chosen by auto: prices incl. VAT reproduce" "the local check names the price basis"
ops preview --json "$good"
bm_assert_eq "$(jget "$OUT" verdict)" unknown "json: verdict unknown without the tax rates"
bm_assert_eq "$(jget "$OUT" moneybird_reachable)" false "json: moneybird_reachable false"
bm_assert_eq "$(jget "$OUT" totals_check,checked_against)" vat_rate "json: checked against vat_rate"
bm_assert_eq "$(jget "$OUT" totals_check,matches)" true "json: the local check matches"

# Errors and usage.
printf '{"event": ' >"$BM_TMP/broken.json"
ops preview "$BM_TMP/broken.json"
bm_assert_eq "$RC" 1 "preview of invalid JSON exits 1"
bm_assert_contains "$ERR" "not a JSON object" "it says the payload is not JSON"
ops preview "$BM_TMP/none.json"
bm_assert_eq "$RC" 1 "preview of a missing file exits 1"
ops preview
bm_assert_eq "$RC" 2 "preview without FILE exits 2"
ops preview a b
bm_assert_eq "$RC" 2 "preview with two files exits 2"

bm_assert_eq "$(bm_psql "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM deliveries)
		+ (SELECT count(*) FROM jobs) + (SELECT count(*) FROM audit_log)")" 0 \
	"preview wrote no order, delivery, job or audit row"
bm_done
