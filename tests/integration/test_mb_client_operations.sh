#!/usr/bin/env bash
# Every Moneybird client operation against the simulator, with typed results:
# reference data, contacts (lookup by customer_id, exact search, create),
# sales invoices (create, get, find_by_reference, list with filter, send),
# payments, synchronization, webhooks. All simulator ids are above 2^53, so
# every id compared here also proves ids survive a round trip as strings.
source "$(dirname "$0")/lib.sh"
bm_setup
source "$(dirname "$0")/driver_lib.sh"

bm_mbsim_start

mbc admins
expect ok "GET administrations"
bm_assert_contains "$OUT" "item=$BM_MBSIM_ADMIN|" "the token's administration is listed"

mbc tax-rates
expect ok "GET tax_rates"
bm_assert_contains "$OUT" "|21.0|sales_invoice|" "a 21 % sales tax rate is listed"
bm_assert_contains "$OUT" "|19.0|sales_invoice|DE" "an OSS rate carries its country"
for op in ledger-accounts financial-accounts workflows document-styles; do
	mbc "$op"
	expect ok "$op"
	[[ "$(field count)" -ge 1 ]] || bm_fail "$op returned no entries"
done
mbc ledger-accounts
REVENUE="$(printf '%s\n' "$OUT" | sed -n 's/^item=\([0-9]*\)|.*|revenue$/\1/p' | head -n 1)"
mbc tax-rates
RATE21="$(printf '%s\n' "$OUT" | sed -n 's/^item=\([0-9]*\)|.*|21.0|sales_invoice|$/\1/p' | head -n 1)"
mbc financial-accounts
ACCOUNT="$(printf '%s\n' "$OUT" | sed -n 's/^item=\([0-9]*\)|.*/\1/p' | head -n 1)"
bm_assert_ne "$REVENUE$RATE21$ACCOUNT" "" "ids for the invoice line and payment found"

# ---- contacts
CUSTOMER_ID=90000000000000000017
mbc contact-create customer_id=$CUSTOMER_ID company_name="Jansen Boeken B.V." firstname=Jan \
	lastname=Jansen send_invoices_to_email=jan@example.nl tax_number=NL123456789B01 \
	si_identifier=12345678 si_identifier_type=0106 address1="Keizersgracht 1" \
	address2="2e verdieping" zipcode="1015 CJ" city=Amsterdam country=NL
expect ok "POST contacts"
CONTACT="$(field id)"
[[ "$CONTACT" =~ ^[0-9]{17,20}$ ]] || bm_fail "contact id [$CONTACT] is not a long digit string"
# 17+ digits is at least 10^16, well above 2^53 (9007199254740992)
((${#CONTACT} >= 17)) || bm_fail "contact id $CONTACT is not above 2^53"
bm_assert_eq "$(field customer_id)" "$CUSTOMER_ID" "customer_id is stored as sent"
bm_assert_eq "$(field si_identifier_type)" "0106" "Peppol identifier type is stored"
bm_assert_eq "$(field send_invoices_to_email)" "jan@example.nl" "send_invoices_to_email is stored"

mbc contact-by-customer-id $CUSTOMER_ID
expect ok "GET contacts/customer_id/{customer_id}"
bm_assert_eq "$(field id)" "$CONTACT" "the id above 2^53 survives create -> lookup"
mbc contact-get "$CONTACT"
expect ok "GET contacts/{id}"
bm_assert_eq "$(field tax_number)" "NL123456789B01" "contact get returns the tax number"
mbc contact-by-customer-id 424242
expect not_found "an unknown customer_id is not found"
mbc contact-by-customer-id cust-1
expect validation "a non-numeric customer_id is refused before sending"
bm_assert_eq "$(field sent)" 0 "nothing was sent for a non-numeric customer_id"

mbc contact-search "NL123456789B01" tax_number
expect ok "contact search by tax number"
bm_assert_eq "$(field id)" "$CONTACT" "search finds the contact"
mbc contact-search "jan@example.nl" email
expect ok "contact search by e-mail"
mbc contact-search "Jansen" customer_id
expect not_found "a fuzzy hit that does not match the field exactly is not a match"
bm_assert_eq "$(field matches)" 0 "no exact matches counted"

mbc contact-create customer_id=$CUSTOMER_ID company_name="Someone Else"
expect validation "a second contact with the same customer_id is refused"
bm_assert_eq "$(field error)" "contact: customer_id is already in use" "422 rendered as one sentence"
mbc contact-create customer_id=1
expect validation "a nameless contact is refused before sending"

# ---- invoices
REF="bookto-ord-$RANDOM"
mbc invoice-create contact_id="$CONTACT" reference="$REF" invoice_date=2024-05-02 currency=EUR \
	price=100.00 tax_rate_id="$RATE21" ledger_account_id="$REVENUE" description="Het Grote Boek"
expect ok "POST sales_invoices"
INVOICE="$(field id)"
bm_assert_eq "$(field state)" draft "a new invoice is a draft"
bm_assert_eq "$(field contact_id)" "$CONTACT" "the invoice's contact id round-trips"
bm_assert_eq "$(field total_excl_cents)" 10000 "total excl. VAT in cents"
bm_assert_eq "$(field total_incl_cents)" 12100 "total incl. VAT in cents (21 %)"

mbc invoice-get "$INVOICE"
expect ok "GET sales_invoices/{id}"
bm_assert_eq "$(field reference)" "$REF" "the reference is stored"
mbc invoice-list "state:draft,reference:$REF"
expect ok "GET sales_invoices?filter=state:draft,reference:..."
bm_assert_eq "$(field count)" 1 "the draft is listed by reference"
bm_assert_contains "$OUT" "item=$INVOICE|draft|$REF" "the listed draft is ours"

mbc payment-create "$INVOICE" payment_date=2024-05-02 price=121.00 transaction_identifier=ord-1
expect validation "a payment on a draft is refused"

mbc invoice-send "$INVOICE" Manual
expect ok "PATCH send_invoice (Manual)"
bm_assert_eq "$(field state)" open "a sent invoice is open"
bm_assert_ne "$(field invoice_id)" "" "a sent invoice has a number"
mbc invoice-send "$INVOICE" Post
expect validation "an undocumented delivery method is refused before sending"

mbc invoice-find "$REF"
expect ok "GET find_by_reference finds the sent invoice"
bm_assert_eq "$(field id)" "$INVOICE" "find_by_reference returns the same id"
mbc invoice-find "no-such-reference"
expect not_found "an unknown reference is not found"

mbc payment-create "$INVOICE" payment_date=2024-05-02 price=121.00 transaction_identifier=ord-1
expect ok "POST payments"
bm_assert_eq "$(field price_cents)" 12100 "the payment's price in cents"
bm_assert_eq "$(field transaction_identifier)" ord-1 "transaction_identifier is stored"
mbc invoice-get "$INVOICE"
bm_assert_eq "$(field state)" paid "fully paid invoice is paid"
bm_assert_eq "$(field total_unpaid_cents)" 0 "nothing unpaid"
bm_assert_contains "$OUT" "ord-1" "the payment is listed on the invoice"

# a second invoice: a cent-level price and a payment booked to an account
REF2="bookto-ord-$RANDOM-b"
mbc invoice-create contact_id="$CONTACT" reference="$REF2" price=0.05 tax_rate_id="$RATE21" \
	ledger_account_id="$REVENUE"
expect ok "invoice with a price of 5 cents"
INVOICE2="$(field id)"
bm_assert_eq "$(field total_excl_cents)" 5 "5 cents stay 5 cents"
mbc invoice-send "$INVOICE2" Manual
expect ok "send the second invoice"
mbc payment-create "$INVOICE2" payment_date=2024-05-03 price=0.03 \
	manual_payment_action=private_payment financial_account_id="$ACCOUNT" transaction_identifier=ord-2
expect ok "a partial payment with manual_payment_action and financial_account_id"
bm_assert_eq "$(field financial_account_id)" "$ACCOUNT" "the financial account id round-trips"

# ---- synchronization
mbc sync-list "state:paid"
expect ok "GET sales_invoices/synchronization"
bm_assert_contains "$OUT" "item=$INVOICE|" "the paid invoice is among the ids"
mbc sync-fetch "$INVOICE" "$INVOICE2"
expect ok "POST sales_invoices/synchronization"
bm_assert_eq "$(field count)" 2 "both invoices fetched"
bm_assert_contains "$OUT" "item=$INVOICE|paid|$REF|12100" "the fetched invoice has its state and total"
mapfile -t MANY < <(seq 1 101)
mbc sync-fetch "${MANY[@]}"
expect validation "more than 100 ids are refused before sending"

# ---- webhooks
SINK="http://127.0.0.1:$BM_MBSIM_PORT/_sim/sink/hook"
mbc webhook-create "$SINK" sales_invoice_state_changed_to_paid payment_registered payment_destroyed
expect ok "POST webhooks"
WEBHOOK="$(field id)"
bm_assert_ne "$(field token)" "" "the webhook token is returned"
bm_assert_ne "$(field secret)" "" "the webhook secret is returned at creation"
bm_assert_eq "$(field events)" "sales_invoice_state_changed_to_paid,payment_registered,payment_destroyed" \
	"enabled_events as sent"
mbc webhooks
expect ok "GET webhooks"
bm_assert_contains "$OUT" "item=$WEBHOOK|$SINK|" "the webhook is listed"
mbc webhook-delete "$WEBHOOK"
expect ok "DELETE webhooks/{id}"
bm_assert_eq "$(field status)" 204 "delete answers 204"
mbc webhook-delete "$WEBHOOK"
expect not_found "deleting it again is not found"

bm_done
