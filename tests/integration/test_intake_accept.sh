#!/usr/bin/env bash
# Intake, accepted deliveries: a signed order.paid becomes exactly one order
# (money in cents), its raw delivery (byte-exact), a queued job and an audit
# row; unsyncable but signed deliveries are kept and parked needs_attention;
# match_ref is derived when sent empty; /webhooks/bookto without a connection
# name works only while exactly one connection is configured.
source "$(dirname "$0")/lib.sh"
bm_stack

# --- the happy path ---------------------------------------------------------
f="$(bm_order_json ord-1001)"
bm_post_bookto /webhooks/bookto/shop "$f"
bm_assert_eq "$BM_STATUS" 200 "signed order.paid answers 200 (body: $BM_BODY)"
bm_assert_contains "$BM_BODY" '"status":"accepted"' "signed order.paid answers accepted"

bm_assert_eq "$(bm_psql "SELECT count(*) FROM sync_status WHERE order_id = 'ord-1001'")" 1 \
	"sync_status has one row for the order"
bm_assert_eq "$(bm_psql "SELECT connection, order_number, state, match_ref, is_test_order
		FROM sync_status WHERE order_id = 'ord-1001'")" \
	"shop|ORD-ord-1001|queued|NL123456789B01|f" "sync_status row: connection, number, queued, match_ref"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents, excl_vat_cents, vat_cents, currency,
		vat_treatment, vat_rate::numeric = 21 FROM orders WHERE order_id = 'ord-1001'")" \
	"12100|10000|2100|EUR|standard|t" "orders keeps the amounts in integer cents"
bm_assert_eq "$(bm_psql "SELECT buyer_email, buyer_company, buyer_vat_number, buyer_country,
		match_ref_derived FROM orders WHERE order_id = 'ord-1001'")" \
	"Jan.Jansen@Example.NL|Jansen Boeken B.V.|NL123456789B01|NL|f" "orders keeps the buyer fields as sent"
bm_assert_eq "$(bm_psql "SELECT paid_at = '2024-05-02T10:15:27Z'::timestamptz,
		position('PO-2024-17' in custom_fields::text) > 0,
		position(U&'\2014' in product_description) > 0
		FROM orders WHERE order_id = 'ord-1001'")" \
	"t|t|t" "orders keeps paid_at, custom_fields and the unescaped product description"

sha="$(bm_sha256_file "$f")"
size="$(wc -c <"$f" | tr -d ' ')"
bm_assert_eq "$(bm_psql "SELECT body_sha256, encode(sha256(body), 'hex'), octet_length(body),
		outcome, source, order_id FROM deliveries WHERE order_id = 'ord-1001'")" \
	"$sha|$sha|$size|accepted|bookto|ord-1001" "the raw delivery is kept byte-exact"
bm_assert_eq "$(bm_psql "SELECT d.id = o.first_delivery_id FROM deliveries d
		JOIN orders o ON o.order_id = d.order_id WHERE d.order_id = 'ord-1001'")" t \
	"the order points at its first delivery"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs j JOIN orders o ON o.id = j.order_pk
		WHERE o.order_id = 'ord-1001' AND j.state = 'pending' AND j.kind = 'sync_order'")" 1 \
	"one pending sync job for the order"
audit="$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
		WHERE o.order_id = 'ord-1001'")"
[[ "$audit" -ge 1 ]] && bm_pass "an audit row for the new order" ||
	bm_fail "no audit_log row for the new order"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE detail::text ILIKE '%jansen%'
		OR detail::text ILIKE '%keizersgracht%'")" 0 "audit rows carry no personal data"
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the audit hash chain holds"

# Quotes, backslashes, control characters and non-ASCII text reach the
# database exactly (the intake re-serialises the parsed fields as JSON).
f="$(bm_order_json ord-escape-1)"
sed -i 's/"first_name": "Jan"/"first_name": "J\\"a\\\\n\\u0007\\t\\u001f Ω 山田 🧾"/' "$f"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "order with escaped bytes in a name"
bm_assert_eq "$(bm_psql "SELECT encode(convert_to(buyer_first_name, 'UTF8'), 'hex')
		FROM orders WHERE order_id = 'ord-escape-1'")" \
	"$(printf 'J"a\\n\a\t\037 Ω 山田 🧾' | od -An -tx1 | tr -d ' \n')" \
	"a name with quote, backslash, control bytes and four scripts is stored exactly"

# A test order is stored and flagged (the worker applies the skip policy).
f="$(bm_order_json ord-1002 test=true)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "test order"
bm_assert_eq "$(bm_psql "SELECT is_test_order, state IN ('queued', 'skipped')
		FROM sync_status WHERE order_id = 'ord-1002'")" "t|t" "test order flagged is_test_order"

# The single-connection shortcut path.
f="$(bm_order_json ord-1003)"
bm_post_expect /webhooks/bookto "$f" 200 '"status":"accepted"' "POST /webhooks/bookto with one connection"
bm_assert_eq "$(bm_psql "SELECT connection FROM sync_status WHERE order_id = 'ord-1003'")" shop \
	"the shortcut path books into the only connection"

# Amounts as JSON numbers without decimals and as awkward binary fractions.
f="$(bm_order_json ord-1004 total=1.21 excl=1 vat=0.21)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "bookto's documented 1.21/1/0.21 amounts"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents, excl_vat_cents, vat_cents, state
		FROM orders WHERE order_id = 'ord-1004'")" "121|100|21|queued" "1.21 = 121 cents, queued"
f="$(bm_order_json ord-1005 total=0.3 excl=0.1 vat=0.2 rate=200)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "0.1 + 0.2 amounts"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents, excl_vat_cents, vat_cents
		FROM orders WHERE order_id = 'ord-1005'")" "30|10|20" "0.1 + 0.2 = 0.3 in cents"
f="$(bm_order_json ord-1006 total=12345628.91 excl=10202999.10 vat=2142629.81)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a large total"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents, state FROM orders WHERE order_id = 'ord-1006'")" \
	"1234562891|queued" "large totals stay exact"

# --- signed but unsyncable: kept and parked needs_attention ------------------
# bm_expect_parked ORDER_ID REGEX MESSAGE: 200 accepted, needs_attention, and
# last_error matching REGEX (case-insensitive).
bm_expect_parked() {
	bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "$3 is accepted"
	bm_assert_eq "$(bm_psql "SELECT state, last_error ~* '$2' FROM sync_status
			WHERE order_id = '$1'")" "needs_attention|t" \
		"$3 is parked needs_attention naming the problem ($(bm_psql "SELECT last_error FROM orders WHERE order_id = '$1'"))"
}

f="$(bm_order_json ord-1101 total=121.00 excl=100.00 vat=20.00)"
bm_expect_parked ord-1101 'total|amount|add' "amounts that do not add up"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents, excl_vat_cents, vat_cents FROM orders
		WHERE order_id = 'ord-1101'")" "12100|10000|2000" "the parked order keeps the amounts as sent"

f="$(bm_order_json ord-1102 treatment=margin_scheme)"
bm_expect_parked ord-1102 'margin_scheme' "an unknown vat_treatment"

f="$(bm_order_json ord-1103 vat_number= peppol_id= email= match_ref=)"
bm_expect_parked ord-1103 'match|vat|email|peppol|contact' "a buyer with no match_ref, VAT, Peppol id or email"

f="$(bm_order_json ord-1104 total=1.211 excl=1.001 vat=0.21)"
bm_expect_parked ord-1104 'decimal' "amounts with three decimals"

f="$(bm_order_json ord-1105)"
sed -i '/"order_id"/d' "$f"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "an order.paid without order_id is accepted"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders WHERE state = 'needs_attention'
		AND last_error ~* 'order_id' AND first_delivery_id = (SELECT max(id) FROM deliveries)")" 1 \
	"an order.paid without order_id is kept and parked needs_attention naming order_id"

# --- match_ref derivation ----------------------------------------------------
f="$(bm_order_json ord-1200 match_ref=shop-customer-77)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a match_ref other than the VAT number"
bm_assert_eq "$(bm_psql "SELECT match_ref, match_ref_derived FROM orders WHERE order_id = 'ord-1200'")" \
	"shop-customer-77|f" "a sent match_ref is used as sent"

f="$(bm_order_json ord-1201 'vat_number= nl 8888.77.666 b01 ' match_ref=)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "empty match_ref with a VAT number"
bm_assert_eq "$(bm_psql "SELECT lower(match_ref), match_ref_derived, state FROM orders
		WHERE order_id = 'ord-1201'")" "nl888877666b01|t|queued" "match_ref derived from the VAT number"

f="$(bm_order_json ord-1202 vat_number= 'peppol_id= 0106:99999999 ' match_ref=)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "empty match_ref with a Peppol id"
bm_assert_eq "$(bm_psql "SELECT lower(match_ref), match_ref_derived FROM orders
		WHERE order_id = 'ord-1202'")" "0106:99999999|t" "match_ref derived from the Peppol id"

f="$(bm_order_json ord-1203 vat_number= peppol_id= 'email= Piet@Example.COM ' match_ref=)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "empty match_ref with only an email"
bm_assert_eq "$(bm_psql "SELECT lower(match_ref), match_ref_derived FROM orders
		WHERE order_id = 'ord-1203'")" "piet@example.com|t" "match_ref derived from the email"

bm_assert_eq "$(bm_count_orders)" 16 "sixteen orders in total"
bm_serve_stop

# --- two connections: the shortcut path is ambiguous ------------------------
bm_write_config second=1
bm_serve_start
f="$(bm_order_json ord-1301)"
bm_post_bookto /webhooks/bookto "$f"
bm_assert_eq "$BM_STATUS" 404 "POST /webhooks/bookto with two connections is 404 (body: $BM_BODY)"
bm_assert_contains "$BM_BODY" '"error":' "the 404 has a JSON error body"
bm_post_expect /webhooks/bookto/other "$f" 200 '"status":"accepted"' "POST to the second connection"
bm_assert_eq "$(bm_psql "SELECT connection FROM sync_status WHERE order_id = 'ord-1301'")" other \
	"the order belongs to the second connection"
f="$(bm_order_json ord-1001)"
bm_post_expect /webhooks/bookto/other "$f" 200 '"status":"accepted"' \
	"the same order_id on another connection is a different order"
bm_assert_eq "$(bm_psql "SELECT string_agg(connection, ',' ORDER BY connection) FROM sync_status
		WHERE order_id = 'ord-1001'")" "other,shop" "order ids are unique per connection"
bm_serve_stop

# --- no secret in the log --------------------------------------------------
bm_assert_log_clean
bm_done
