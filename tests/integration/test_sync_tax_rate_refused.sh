#!/usr/bin/env bash
# Tax rates are read once and cached; when a bookkeeper replaces a rate in
# Moneybird after that (the old one deactivated, a new one with the same
# percentage made), the next invoice create is refused (422 naming the tax
# rate): the worker drops the cached rates, reads them once, plans again and
# creates the invoice with the new rate in the same attempt, with no
# duplicate and one extra read (plus the refused create). When the rates
# read again still leave no usable rate, the order parks naming the rate.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=1 rate_limit=300/10
OLD_21=496081347565061258 # the seeded 21 % "BTW hoog" (tests/mbsim/README.md)

# ---- the cache is filled by a first order
sync_warmup tr-1 match_ref=NL100000001B01 vat_number=NL100000001B01
bm_assert_eq "$(sim_invoice_field ORD-tr-1 "i->'details'->0->>'tax_rate_id'")" "$OLD_21" \
	"the first invoice uses the seeded 21 % rate"
bm_assert_eq "$(sim_calls "GET tax_rates")" 1 "the tax rates are read once"

# ---- the rate is replaced by hand in Moneybird
NEW="$(sim_post /_sim/tax_rates '{"name":"BTW 21% (2026)","percentage":"21.0"}')"
NEW_21="$(printf '%s' "$NEW" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)"
[[ -n "$NEW_21" ]] || bm_fail "no id in $NEW"
sim_post "/_sim/tax_rates/$OLD_21/deactivate" '{}' >/dev/null
TOTAL="$(sim_q "(s->'requests'->>'total')::int")"
CREATES="$(sim_calls "POST sales_invoices")"

post_order tr-2 match_ref=NL100000001B01 vat_number=NL100000001B01 # a returning buyer
wait_state tr-2 synced 30
bm_assert_eq "$(sim_invoice_field ORD-tr-2 "i->'details'->0->>'tax_rate_id'")" "$NEW_21" \
	"the next order is booked with the new rate"
bm_assert_eq "$(sim_invoices_with_reference ORD-tr-2)" 1 "one invoice, no duplicate"
bm_assert_eq "$(sim_calls "GET tax_rates")" 2 "the rates are read again once"
bm_assert_eq "$(($(sim_calls "POST sales_invoices") - CREATES))" 2 "one refused create, one create"
bm_assert_eq "$(($(sim_q "(s->'requests'->>'total')::int") - TOTAL))" 5 \
	"3 calls (invoice, send, payment) + the refused create + 1 read of the rates"
bm_assert_eq "$(order_value tr-2 attempts)" 1 "within the same attempt"

# ---- the cache now has the new rate: no more refusals
post_order tr-3 match_ref=NL100000001B01 vat_number=NL100000001B01
wait_state tr-3 synced 30
bm_assert_eq "$(sim_calls "GET tax_rates")" 2 "no further read"
bm_assert_eq "$(sim_invoice_field ORD-tr-3 "i->'details'->0->>'tax_rate_id'")" "$NEW_21" "new rate again"

# ---- the new rate deleted too: nothing usable is left, so the order parks
code="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$(sim_url)/_sim/tax_rates/$NEW_21")"
bm_assert_eq "$code" 204 "the simulator deletes the rate"
post_order tr-4 match_ref=NL100000001B01 vat_number=NL100000001B01
wait_state tr-4 needs_attention 30
REASON="$(order_value tr-4 last_error)"
bm_assert_contains "$REASON" "Moneybird refused tax rate \"BTW 21% (2026)\" (id $NEW_21)" \
	"the reason names the refused rate"
bm_assert_contains "$REASON" "tax_rate_id" "the reason carries Moneybird's refusal"
bm_assert_eq "$(sim_invoices_with_reference ORD-tr-4)" 0 "no invoice for the parked order"
bm_assert_eq "$(sim_calls "GET tax_rates")" 3 "read once more, then parked"
bm_done
