#!/usr/bin/env bash
# Invoices against the simulator (compressed rate window 300/10): each VAT
# treatment books on the right seeded tax rate; invoice_date and
# payment_date are the paid_at date in Europe/Amsterdam (summer and winter
# edges); custom fields and the order number are in the line description;
# the payment carries total_incl and the order id. Test orders are skipped
# by default (no call) and synced under test_orders = "sync"; an unmapped
# treatment, a VAT rate without a tax rate, and VAT that Moneybird would
# compute differently park the order with a sentence before any invoice.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=2 rate_limit=300/10

RATE_21=496081347565061258
RATE_9=496081347576595595
RATE_REVERSE=496081347578692748
RATE_EXPORT=496081347578692761
RATE_EXEMPT=496081347578692774
RATE_OSS_DE_19=496081347591275649

post_order inv-std21
post_order inv-std9 total=109.00 excl=100.00 vat=9.00 rate=9
post_order inv-rc treatment=reverse_charge total=100.00 excl=100.00 vat=0 rate=0 country=DE \
	vat_number=DE123456789 match_ref=DE123456789 peppol_id=
post_order inv-export treatment=export total=50.00 excl=50.00 vat=0 rate=0 country=US \
	vat_number= peppol_id= match_ref=buyer@us.example email=buyer@us.example
post_order inv-exempt treatment=exempt total=80.00 excl=80.00 vat=0 rate=0
post_order inv-oss treatment=oss total=119.00 excl=100.00 vat=19.00 rate=19 country=DE \
	vat_number= peppol_id= company= match_ref=b2c@de.example email=b2c@de.example
post_order inv-late paid_at=2024-05-02T22:30:00Z
post_order inv-winter paid_at=2024-01-15T23:10:00Z
post_order inv-winter-early paid_at=2024-01-15T22:59:59Z
post_order inv-margin treatment=margin
post_order inv-rate6 total=106.00 excl=100.00 vat=6.00 rate=6
post_order inv-oss-fr19 treatment=oss total=119.00 excl=100.00 vat=19.00 rate=19 country=FR \
	vat_number= peppol_id= company= match_ref=b2c@fr.example email=b2c@fr.example
post_order inv-vat-off total=121.01 excl=100.00 vat=21.01 rate=21
wait_settled 13 60

# ---- the tax rate of each treatment
tax_of() {
	sim_invoice_field "ORD-$1" "i->'details'->0->>'tax_rate_id'"
}
bm_assert_eq "$(tax_of inv-std21)" $RATE_21 "standard 21 % books on BTW hoog"
bm_assert_eq "$(tax_of inv-std9)" $RATE_9 "standard 9 % books on BTW laag"
bm_assert_eq "$(tax_of inv-rc)" $RATE_REVERSE "reverse_charge books on BTW verlegd"
bm_assert_eq "$(tax_of inv-export)" $RATE_EXPORT "export books on Export buiten EU"
bm_assert_eq "$(tax_of inv-exempt)" $RATE_EXEMPT "exempt books on Vrijgesteld"
bm_assert_eq "$(tax_of inv-oss)" $RATE_OSS_DE_19 "oss DE 19 % books on OSS Duitsland 19%"
for order in inv-std21 inv-std9 inv-rc inv-export inv-exempt inv-oss inv-late inv-winter inv-winter-early; do
	bm_assert_eq "$(order_value "$order" state)" synced "$order is synced"
	bm_assert_eq "$(sim_invoices_with_reference "ORD-$order")" 1 "$order: exactly one invoice"
done
bm_assert_eq "$(sim_invoice_field ORD-inv-std9 "(i->>'total_price_incl_tax')::numeric")" 109.0 \
	"the 9 % invoice totals 109.00"
bm_assert_eq "$(sim_invoice_field ORD-inv-oss "(i->>'total_price_incl_tax')::numeric")" 119.0 \
	"the OSS invoice totals 119.00"
bm_assert_eq "$(sim_invoice_field ORD-inv-export "(i->>'total_price_incl_tax')::numeric")" 50.0 \
	"the export invoice totals 50.00"
bm_assert_eq "$(order_value inv-oss invoice_total_cents)" 11900 "the created total is recorded in cents"

# ---- the invoice and the payment of a standard order
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->>'state'")" paid "the invoice is paid"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->>'invoice_date'")" 2024-05-02 "invoice_date"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->>'currency'")" EUR "currency"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "(i->>'total_price_incl_tax')::numeric")" 121.0 \
	"the invoice totals total_incl"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "jsonb_array_length(i->'details')")" 1 "one line"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "(i->'details'->0->>'price')::numeric || '/' ||
	(i->>'prices_are_incl_tax')")" 121.0/true \
	"the line carries total_incl (price_basis auto: 100.00 + 21.00 fits both, incl is preferred)"
DESCRIPTION="$(sim_invoice_field ORD-inv-std21 "i->'details'->0->>'description'")"
bm_assert_contains "$DESCRIPTION" "Het Grote Boek" "the description names the product"
bm_assert_contains "$DESCRIPTION" "bookto order ORD-inv-std21" "the description names the order number"
bm_assert_contains "$DESCRIPTION" "PO number: PO-2024-17" "the custom field is in the description"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->'contact_id'")" \
	"\"$(order_value inv-std21 moneybird_contact_id)\"" "the invoice is the buyer's contact's"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "jsonb_array_length(i->'payments')")" 1 "one payment"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->'payments'->0->>'transaction_identifier'")" \
	inv-std21 "the payment's transaction_identifier is the order id"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "(i->'payments'->0->>'price')::numeric")" 121.0 \
	"the payment's price is total_incl"
bm_assert_eq "$(sim_invoice_field ORD-inv-std21 "i->'payments'->0->>'payment_date'")" 2024-05-02 \
	"payment_date"
bm_assert_eq "$(order_value inv-std21 "invoice_state")" paid "the order records the paid state"
bm_assert_eq "$(order_value inv-std21 "moneybird_payment_id IS NOT NULL AND sent_at IS NOT NULL")" t \
	"the order records the sending and the payment"

# ---- dates in Europe/Amsterdam
bm_assert_eq "$(sim_invoice_field ORD-inv-late "i->>'invoice_date'")" 2024-05-03 \
	"22:30 UTC in May is the next day in Amsterdam (invoice_date)"
bm_assert_eq "$(sim_invoice_field ORD-inv-late "i->'payments'->0->>'payment_date'")" 2024-05-03 \
	"... and the payment_date"
bm_assert_eq "$(sim_invoice_field ORD-inv-winter "i->>'invoice_date'")" 2024-01-16 \
	"23:10 UTC in January is the next day in Amsterdam"
bm_assert_eq "$(sim_invoice_field ORD-inv-winter-early "i->>'invoice_date'")" 2024-01-15 \
	"22:59:59 UTC in January is still the same day in Amsterdam"

# ---- what parks, and why, without an invoice
bm_assert_eq "$(order_value inv-test state)" "" "(no test order posted yet)"
bm_assert_eq "$(order_value inv-margin state)" needs_attention "an unmapped treatment parks"
bm_assert_contains "$(order_value inv-margin last_error)" "add vat_treatments.margin" \
	"the reason names the mapping key to add"
bm_assert_eq "$(order_value inv-rate6 state)" needs_attention "a VAT rate without an active tax rate parks"
bm_assert_contains "$(order_value inv-rate6 last_error)" "6" "the reason names the rate"
bm_assert_eq "$(order_value inv-oss-fr19 state)" needs_attention "an OSS country/rate without a tax rate parks"
bm_assert_contains "$(order_value inv-oss-fr19 last_error)" "FR" "the reason names the country"
bm_assert_eq "$(order_value inv-vat-off state)" needs_attention \
	"VAT that Moneybird would compute differently parks"
bm_assert_contains "$(order_value inv-vat-off last_error)" "21.01" "the reason names bookto's figure"
for order in inv-margin inv-rate6 inv-oss-fr19 inv-vat-off; do
	bm_assert_eq "$(sim_invoices_with_reference "ORD-$order")" 0 "$order: no invoice was created"
	bm_assert_eq "$(order_value "$order" "invoice_intent_at IS NULL")" t "$order: no invoice intent"
done
bm_assert_eq "$(sim_calls "POST sales_invoices")" 9 "only the 9 plannable orders were sent to Moneybird"
echo "# park reasons:"
bm_psql "SELECT order_id || ': ' || last_error FROM orders WHERE state = 'needs_attention' ORDER BY order_id" |
	sed 's/^/#   /'

# ---- a test order: skipped by default, with no call
TOTAL_BEFORE="$(sim_q "(s->'requests'->>'total')::int")"
post_order inv-test test=true
wait_state inv-test skipped 20
bm_assert_contains "$(order_value inv-test last_error)" "test order" "the skip says why"
bm_assert_eq "$(sim_q "(s->'requests'->>'total')::int")" "$TOTAL_BEFORE" "a skipped test order costs no call"
bm_assert_eq "$(sim_invoices_with_reference ORD-inv-test)" 0 "no invoice for the skipped test order"

# ---- test_orders = "sync" books them
sync_remap 's/^test_orders = "skip";/test_orders = "sync";/' \
	'^test_orders = "sync";' sync-test-orders.cfg workers=2 rate_limit=300/10
post_order inv-test2 test=true
wait_state inv-test2 synced 30
bm_assert_eq "$(sim_invoices_with_reference ORD-inv-test2)" 1 "under test_orders = sync a test order is booked"
bm_assert_eq "$(order_value inv-test state)" skipped "the earlier skipped test order stays skipped"
bm_done
