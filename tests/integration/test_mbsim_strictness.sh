#!/usr/bin/env bash
# The Moneybird simulator itself: does it refuse what Moneybird refuses, and
# behave like Moneybird where a client could get it wrong? Needs only bash,
# curl, grep and sed (no PostgreSQL, no jq, no python).
set -u

source "$(dirname "$0")/mbsim_lib.sh" strict
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# start_sim NAME [extra args...]: starts mbsim on a free port; sets PORT_<NAME>.
start_sim() {
	local name=$1
	shift
	local portfile="$WORK/$name.port" i
	"$MBSIM" --port 0 --port-file "$portfile" --token "$TOKEN" --administration-id "$ADMIN" \
		--seed 42 "$@" 2>"$WORK/$name.log" &
	PIDS+=($!)
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	[ -s "$portfile" ] || { echo "mbsim did not start:"; cat "$WORK/$name.log"; exit 1; }
	printf -v "PORT_$name" '%s' "$(tr -d '\n' <"$portfile")"
}

# call PORT METHOD PATH [BODY] [auth]: sets STATUS, BODY, HEADERS (file) and CURL_RC.
call() {
	local port=$1 method=$2 path=$3 body=${4-} auth=${5-yes}
	local args=(-s -X "$method" -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}'
		-H 'Content-Type: application/json' -H 'Accept: application/json')
	[ "$auth" = yes ] && args+=(-H "Authorization: Bearer $TOKEN")
	[ -n "$body" ] && args+=(--data-binary "$body")
	STATUS=$(curl "${args[@]}" "http://127.0.0.1:$port$path")
	CURL_RC=$?
	BODY=$(cat "$WORK/body" 2>/dev/null)
	HEADERS="$WORK/headers"
}

api() { call "$PORT_main" "$1" "/api/v2/$ADMIN/$2" "${3-}" "${4-yes}"; }

expect_status() {
	[ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS; body: ${BODY:0:300}"
}

expect_body() {
	printf '%s' "$BODY" | grep -q -- "$1" || fail "$2: body lacks '$1'; body: ${BODY:0:300}"
}

json_id() { printf '%s' "$BODY" | sed -n 's/^{"id":"\([0-9]*\)".*/\1/p'; }

count_of() { printf '%s' "$2" | grep -o -- "$1" | wc -l | tr -d ' '; }

header() { grep -i "^$1:" "$HEADERS" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }

start_sim main --rate-limit 1000/10

# --- auth ---
api GET contacts.json "" no
expect_status 401 "no Authorization header"
expect_body '"error"' "401 body is a Moneybird error"
call "$PORT_main" GET "/api/v2/$ADMIN/contacts.json" "" no
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" \
	"http://127.0.0.1:$PORT_main/api/v2/$ADMIN/contacts.json" | grep -q 401 ||
	fail "wrong token is not 401"
call "$PORT_main" GET "/api/v2/999/contacts.json"
expect_status 404 "wrong administration id"
call "$PORT_main" GET "/api/v2/administrations.json"
expect_status 200 "administrations list"
expect_body "\"id\":\"$ADMIN\"" "administration id listed as a string"

# --- contacts ---
api POST contacts.json '{"company_name":"No wrapper B.V."}'
expect_status 400 "contact without wrapper"
expect_body '"contact":"required"' "missing wrapper symbolic code"
api POST contacts.json '{"contact":{"company_name":"X","colour":"blue"}}'
expect_status 400 "unknown contact attribute"
expect_body 'colour' "unknown attribute named"
api POST contacts.json '{"contact":{"company_name":"X","email":"x@example.com"}}'
expect_status 400 "email is not writable"
api POST contacts.json '{"contact":{"city":"Utrecht"}}'
expect_status 422 "contact without a name"
expect_body '"company_name":\["is required"\]' "422 names company_name"
expect_body '"details":' "422 has the documented details object"
api POST contacts.json '{"contact":{"company_name":"Acme B.V.","customer_id":"7000001","send_invoices_to_email":"billing@acme.example","country":"NL"}}'
expect_status 201 "create contact"
CONTACT=$(json_id)
[ -n "$CONTACT" ] || fail "contact id missing"
api POST contacts.json '{"contact":{"company_name":"Acme again","customer_id":"7000001"}}'
expect_status 422 "second contact with the same customer_id"
expect_body '"customer_id":\["is already in use"\]' "already in use message"
api GET contacts/customer_id/7000001.json
expect_status 200 "lookup by customer_id"
expect_body "\"id\":\"$CONTACT\"" "lookup finds the contact"
api GET contacts/customer_id/7000002.json
expect_status 404 "unknown customer_id"
expect_body '"customer_id":"not_found"' "customer_id 404 symbolic"
api GET contacts/customer_id/abc.json
expect_status 404 "non-digit customer_id"
api POST contacts.json '{"contact":{"firstname":"Jan","lastname":"Jansen","customer_id":"7000003"}}'
NOMAIL_CONTACT=$(json_id)

# Archived contacts, created by hand: hidden unless include_archived=true.
call "$PORT_main" POST /_sim/contacts '{"company_name":"Old Customer","customer_id":"7000009","archived":true}'
expect_status 201 "/_sim/contacts creates an archived contact"
api GET contacts/customer_id/7000009.json
expect_status 404 "archived contact not found by customer_id"
api POST contacts.json '{"contact":{"company_name":"Old Customer","customer_id":"7000009"}}'
expect_status 422 "archived contact still holds its customer_id"
api GET 'contacts.json?query=Old%20Customer'
[ "$BODY" = "[]" ] || fail "search shows archived contact without include_archived: ${BODY:0:200}"
api GET 'contacts.json?query=Old%20Customer&include_archived=true'
expect_body '"customer_id":"7000009"' "search with include_archived finds it"

# --- reference data ---
api GET tax_rates.json
expect_status 200 "tax rates"
for name in "BTW hoog" "BTW laag" "BTW verlegd" "Export buiten EU" "Vrijgesteld"; do
	expect_body "\"name\":\"$name\"" "seeded tax rate $name"
done
expect_body '"country":"DE"' "OSS rate with country"
RATE21=$(printf '%s' "$BODY" | grep -o '{"id":"[0-9]*","administration_id":"[0-9]*","name":"BTW hoog"' |
	sed 's/{"id":"\([0-9]*\)".*/\1/')
PURCHASE_RATE=$(printf '%s' "$BODY" | grep -o '{"id":"[0-9]*"[^}]*"tax_rate_type":"purchase_invoice"' |
	head -1 | sed 's/{"id":"\([0-9]*\)".*/\1/')
for r in ledger_accounts financial_accounts workflows document_styles; do
	api GET "$r.json"
	expect_status 200 "$r"
	expect_body '"id":"' "$r has string ids"
done

# --- sales invoices ---
invoice_body() { # contact reference price [tax_rate_id]
	printf '{"sales_invoice":{"contact_id":"%s","reference":"%s","details_attributes":[{"description":"Order %s","price":"%s","amount":"1","tax_rate_id":"%s"}]}}' \
		"$1" "$2" "$2" "$3" "${4:-$RATE21}"
}
api POST sales_invoices.json '{"contact_id":"1"}'
expect_status 400 "invoice without wrapper"
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"shipping\":1}}"
expect_status 400 "unknown invoice attribute"
api POST sales_invoices.json "$(invoice_body 1 BAD-1 10.00)"
expect_status 422 "unknown contact_id"
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":$CONTACT,\"details_attributes\":[{\"description\":\"x\",\"price\":\"1.00\"}]}}"
expect_status 422 "contact_id sent as a JSON number"
api POST sales_invoices.json "$(invoice_body "$CONTACT" BAD-2 10.00 "$PURCHASE_RATE")"
expect_status 422 "purchase tax rate on a sales invoice"
api POST sales_invoices.json "$(invoice_body "$CONTACT" BAD-3 10.001)"
expect_status 422 "price with three decimals"

api POST sales_invoices.json "$(invoice_body "$CONTACT" ORDER-1001 129.95)"
expect_status 201 "create invoice"
INVOICE=$(json_id)
expect_body '"state":"draft"' "new invoice is a draft"
expect_body '"invoice_id":null' "draft has no invoice number"
expect_body '"total_price_incl_tax":"157.24"' "129.95 + 21% = 157.24"
expect_body '"reference":"ORDER-1001"' "reference stored"
[ -n "$INVOICE" ] && (( INVOICE > 9007199254740992 )) ||
	fail "invoice id '$INVOICE' is not a numeric string above 2^53"
printf '%s' "$BODY" | grep -q '"id":[0-9]' && fail "some id is a JSON number"

api POST "sales_invoices/$INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"157.24"}}'
expect_status 422 "payment on a draft"
api GET "sales_invoices/$INVOICE.json"
expect_body '"payments":\[\]' "refused payment left no trace"

api PATCH "sales_invoices/$INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Fax"}}'
expect_status 422 "unknown delivery_method"
api PATCH "sales_invoices/$INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Manual"}}'
expect_status 200 "send manually"
expect_body '"state":"open"' "sent invoice is open"
printf '%s' "$BODY" | grep -q '"invoice_id":"[0-9]\{4\}-[0-9]\{4\}"' || fail "no invoice number after sending"

api POST "sales_invoices/$INVOICE/payments.json" '{"price":"157.24"}'
expect_status 400 "payment without wrapper"
api POST "sales_invoices/$INVOICE/payments.json" '{"payment":{"price":"157.24"}}'
expect_status 422 "payment without payment_date"
api POST "sales_invoices/$INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"100.00","transaction_identifier":"tr_part"}}'
expect_status 201 "partial payment"
api GET "sales_invoices/$INVOICE.json"
expect_body '"state":"open"' "partly paid invoice stays open"
expect_body '"total_unpaid":"57.24"' "unpaid after partial payment"
api POST "sales_invoices/$INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"57.24","transaction_identifier":"tr_rest"}}'
expect_status 201 "payment of the rest"
PAYMENT=$(json_id)
api GET "sales_invoices/$INVOICE.json"
expect_body '"state":"paid"' "fully paid invoice is paid"
expect_body '"transaction_identifier":"tr_rest"' "payments listed with transaction_identifier"
api DELETE "sales_invoices/$INVOICE/payments/$PAYMENT.json"
expect_status 204 "delete payment"
api GET "sales_invoices/$INVOICE.json"
expect_body '"state":"open"' "deleting a payment reopens the invoice"

# Totals by the reference's arithmetic (tests/mbsim/README.md, "Totals"):
# prices incl. VAT have the tax taken out of the incl. sum; excl. prices get
# it added, half away from zero.
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"reference\":\"INCL-1\",\"prices_are_incl_tax\":true,\"details_attributes\":[{\"description\":\"x\",\"price\":\"49.00\"}]}}"
expect_status 201 "create an incl. invoice"
expect_body '"total_price_incl_tax":"49.0"' "49.00 incl. stays 49.00"
expect_body '"total_price_excl_tax":"40.5"' "49.00 incl. at 21% is 40.50 excl."
expect_body '"tax_amount":"8.5"' "and 8.50 tax (49 x 21/121 = 8.504)"
expect_body '"total_price_excl_tax_with_discount":"40.5"' "the detail's excl. total"
api POST sales_invoices.json "$(invoice_body "$CONTACT" EXCL-1 40.50)"
expect_body '"total_price_incl_tax":"49.01"' "40.50 excl. + 21% (8.505 -> 8.51) = 49.01"
api POST sales_invoices.json "$(invoice_body "$CONTACT" EXCL-2 10.50)"
expect_body '"tax_amount":"2.21"' "10.50 x 21% = 2.205 -> 2.21 (the spec's own example)"

# A foreign currency: _base figures in EUR (the spec's USD example converts at
# 0.8), and a payment needs price_base.
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"reference\":\"USD-1\",\"currency\":\"USD\",\"details_attributes\":[{\"description\":\"x\",\"price\":\"100.00\"}]}}"
expect_status 201 "create a USD invoice"
USD_INVOICE=$(json_id)
expect_body '"currency":"USD"' "currency kept"
expect_body '"total_price_incl_tax":"121.0"' "USD total"
expect_body '"total_price_incl_tax_base":"96.8"' "EUR base total at 0.8"
api PATCH "sales_invoices/$USD_INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Manual"}}'
api POST "sales_invoices/$USD_INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"121.00"}}'
expect_status 422 "a USD payment without price_base"
expect_body '"price_base"' "the error names price_base"
api POST "sales_invoices/$USD_INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"121.00","price_base":"96.80"}}'
expect_status 201 "a USD payment with price_base"
api GET "sales_invoices/$USD_INVOICE.json"
expect_body '"state":"paid"' "the USD invoice is paid"
expect_body '"total_unpaid_base":"0.0"' "nothing unpaid in EUR either"

# Outside the money range: refused, not overflowed.
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"reference\":\"BIG-1\",\"details_attributes\":[{\"description\":\"x\",\"price\":\"900000000\",\"amount\":\"1000000\"}]}}"
expect_status 422 "a total above 1,000,000,000"
api POST sales_invoices.json "$(invoice_body "$CONTACT" BIG-2 1000000000.01)"
expect_status 422 "a price above 1,000,000,000"

# Email sending needs an address.
api POST sales_invoices.json "$(invoice_body "$NOMAIL_CONTACT" ORDER-1002 10.00)"
NOMAIL_INVOICE=$(json_id)
api PATCH "sales_invoices/$NOMAIL_INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Email"}}'
expect_status 422 "email sending without an address"
expect_body '"email_address":\["can'"'"'t be blank"\]' "documented no-email body"
call "$PORT_main" POST /_sim/faults '{"peppol_registered":false}'
api PATCH "sales_invoices/$NOMAIL_INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Peppol"}}'
expect_status 422 "Peppol while the administration is not registered"
call "$PORT_main" POST /_sim/faults '{"locked_until":"2025-12-31"}'
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"invoice_date\":\"2025-06-01\",\"details_attributes\":[{\"description\":\"x\",\"price\":\"1.00\"}]}}"
expect_status 422 "invoice_date in a locked period"
call "$PORT_main" POST /_sim/faults '{}'

# --- reference is not unique ---
api POST sales_invoices.json "$(invoice_body "$CONTACT" DUP-7 10.00)"
expect_status 201 "first invoice with reference DUP-7"
api POST sales_invoices.json "$(invoice_body "$CONTACT" DUP-7 10.00)"
expect_status 201 "second invoice with reference DUP-7"
call "$PORT_main" GET /_sim/state
[ "$(count_of '"reference":"DUP-7"' "$BODY")" = 2 ] || fail "duplicate reference did not make two invoices"
api GET 'sales_invoices.json?filter=state:draft,reference:DUP-7'
[ "$(count_of '"reference":"DUP-7"' "$BODY")" = 2 ] || fail "filter state:draft,reference: lists both drafts"
api GET 'sales_invoices.json?filter=state:bogus'
expect_status 400 "invalid state filter"
api GET 'sales_invoices/find_by_reference/NOPE-1.json'
expect_status 404 "find_by_reference miss"
expect_body '"reference":"not_found"' "find_by_reference 404 symbolic"

# --- hostile references: a filter value has no escape, a path is routed raw ---
api POST sales_invoices.json "$(invoice_body "$CONTACT" 'A,B:1|x/y' 10.00)"
expect_status 201 "invoice with reference A,B:1|x/y"
api GET 'sales_invoices.json?filter=state:draft,reference:A,B:1|x/y'
expect_status 200 "a filter with , | : in a reference value is still a filter"
[ "$(count_of '"reference":"A,B:1|x/y"' "$BODY")" = 0 ] ||
	fail "the filter value must be cut at , (reference:A, then an unknown key B), as documented"
call "$PORT_main" POST /_sim/faults '{"find_by_reference_drafts":true}'
api GET 'sales_invoices/find_by_reference/A%2CB%3A1%7Cx%2Fy.json'
expect_status 200 "find_by_reference with the reference percent-encoded"
expect_body '"reference":"A,B:1|x/y"' "find_by_reference decodes the encoded segment"
api GET 'sales_invoices/find_by_reference/A,B:1|x/y.json'
expect_status 404 "an unescaped / in the reference makes another path"
expect_body '"error":"Not Found"' "the unescaped path is no route (not a reference miss)"
call "$PORT_main" POST /_sim/faults '{}'

# --- apply_then_drop: the write happens, the answer never comes ---
call "$PORT_main" POST /_sim/faults '{"apply_then_drop":{"match":"POST sales_invoices","count":1}}'
expect_status 200 "arm apply_then_drop"
api POST sales_invoices.json "$(invoice_body "$CONTACT" DROP-1 20.00)"
[ "$STATUS" = "000" ] || fail "apply_then_drop: client got HTTP $STATUS instead of no answer"
[ "$CURL_RC" != 0 ] || fail "apply_then_drop: curl reported success"
api GET 'sales_invoices.json?filter=state:draft,reference:DROP-1'
[ "$(count_of '"reference":"DROP-1"' "$BODY")" = 1 ] || fail "apply_then_drop: the write was not applied"
api POST sales_invoices.json "$(invoice_body "$CONTACT" DROP-2 20.00)"
expect_status 201 "apply_then_drop fires only count times"
call "$PORT_main" POST /_sim/faults '{"force_status":{"match":"POST contacts","status":402,"count":1}}'
api POST contacts.json '{"contact":{"company_name":"Forced"}}'
expect_status 402 "force_status 402"
api POST contacts.json '{"contact":{"company_name":"Forced"}}'
expect_status 201 "force_status spent"
call "$PORT_main" POST /_sim/faults '{"apply_then_status":{"match":"PATCH sales_invoices/:id/send_invoice","status":502}}'
api PATCH "sales_invoices/$NOMAIL_INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Manual"}}'
expect_status 502 "apply_then_status"
api GET "sales_invoices/$NOMAIL_INVOICE.json"
expect_body '"state":"open"' "apply_then_status applied the send"
call "$PORT_main" POST /_sim/faults '{"no_such_fault":1}'
expect_status 400 "unknown fault key"
call "$PORT_main" POST /_sim/faults '{"force_status":{"match":"POST invoices","status":500}}'
expect_status 400 "fault match that names no route"
call "$PORT_main" POST /_sim/faults '{}'

# --- deleting invoices ---
api POST sales_invoices.json "$(invoice_body "$CONTACT" DEL-1 5.00)"
DEL_INVOICE=$(json_id)
api DELETE "sales_invoices/$DEL_INVOICE.json"
expect_status 204 "delete a draft"
api GET "sales_invoices/$DEL_INVOICE.json"
expect_status 404 "deleted invoice is gone"
expect_body '"id":"not_found"' "404 symbolic id"
api POST "sales_invoices/$INVOICE/payments.json" '{"payment":{"payment_date":"2026-03-01","price":"1.00"}}'
api DELETE "sales_invoices/$INVOICE.json"
expect_status 422 "delete an invoice with payments"

# --- synchronization ---
api GET 'sales_invoices/synchronization.json?filter=state:draft'
expect_status 200 "GET synchronization"
printf '%s' "$BODY" | grep -q '^\[{"id":"[0-9]*","version":[0-9]*}' || fail "sync list shape: ${BODY:0:200}"
api POST sales_invoices/synchronization.json "{\"ids\":[\"$INVOICE\",\"$NOMAIL_INVOICE\",\"1\"]}"
expect_status 200 "POST synchronization"
[ "$(count_of '"total_price_incl_tax"' "$BODY")" = 2 ] || fail "POST synchronization returns the two known invoices"
api POST sales_invoices/synchronization.json '{}'
expect_status 400 "POST synchronization without ids"
expect_body '"ids":"required"' "ids required symbolic"
IDS=$(printf '"%s",' $(seq 1 101))
api POST sales_invoices/synchronization.json "{\"ids\":[${IDS%,}]}"
expect_status 200 "more than 100 ids: only the first 100 are answered"

# --- inspection ---
call "$PORT_main" GET /_sim/state
expect_body '"by_endpoint":{' "state has request counts"
expect_body '"POST sales_invoices":' "state counts POST sales_invoices"
expect_body '"payments":\[' "state lists invoices with payments"

# --- the write-request log (GET /_sim/requests) ---
start_sim reqlog --rate-limit 5000/10
call "$PORT_reqlog" GET "/api/v2/$ADMIN/contacts.json"
call "$PORT_reqlog" POST "/api/v2/$ADMIN/contacts.json" '{"contact":{"company_name":"Log B.V."}}'
expect_status 201 "request log: a contact"
call "$PORT_reqlog" POST "/api/v2/$ADMIN/contacts.json" 'not json'
expect_status 400 "request log: a body that is not JSON"
call "$PORT_reqlog" POST /_sim/faults '{"apply_then_drop":{"match":"POST contacts"}}'
call "$PORT_reqlog" POST "/api/v2/$ADMIN/contacts.json" '{"contact":{"company_name":"Dropped B.V."}}'
call "$PORT_reqlog" GET /_sim/requests
expect_status 200 "GET /_sim/requests"
[ "$(count_of '"seq":' "$BODY")" = 3 ] || fail "request log: 3 writes, no read: ${BODY:0:400}"
expect_body '^\[{"seq":1,"method":"POST","route":"POST contacts","path":"/api/v2/'"$ADMIN"'/contacts.json","status":201,"body":{"contact":{"company_name":"Log B.V."}}}' \
	"request log: the first write with its parsed body"
expect_body '"status":400,"body":null,"body_text":"not json"}' "request log: a body that is not JSON is kept as text"
expect_body '"seq":3,.*"status":null,"body":{"contact":{"company_name":"Dropped B.V."}}}\]$' \
	"request log: a dropped answer has status null"
call "$PORT_reqlog" GET '/_sim/requests?after=2'
[ "$(count_of '"seq":' "$BODY")" = 1 ] || fail "request log: after=2 gives one entry: ${BODY:0:300}"
expect_body '"seq":3' "request log: after=2 gives seq 3"
call "$PORT_reqlog" GET '/_sim/requests?after=x'
expect_status 400 "request log: after must be a number"
call "$PORT_reqlog" POST /_sim/reset '{}'
call "$PORT_reqlog" GET /_sim/requests
[ "$BODY" = "[]" ] || fail "request log: reset empties it: ${BODY:0:200}"
# Bounded: of 2005 writes (one curl, URL globbing) the newest 2000 are kept.
curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{}' "http://127.0.0.1:$PORT_reqlog/api/v2/$ADMIN/contacts.json?n=[1-2005]" >/dev/null
call "$PORT_reqlog" GET /_sim/requests
[ "$(count_of '"seq":' "$BODY")" = 2000 ] || fail "request log: bounded at 2000 entries"
expect_body '^\[{"seq":6,' "request log: the oldest entries are dropped first"
expect_body '"seq":2005,[^]]*\]$' "request log: the newest entry is last"

# --- rate limit: 5 requests per 10 seconds ---
# A 10 s window: wide enough that a loaded CI machine still hits the limit.
start_sim limited --rate-limit 5/10
for i in 1 2 3 4 5; do
	call "$PORT_limited" GET "/api/v2/$ADMIN/tax_rates.json"
	[ "$STATUS" = 200 ] || fail "request $i within the limit got $STATUS"
done
call "$PORT_limited" GET "/api/v2/$ADMIN/tax_rates.json"
expect_status 429 "sixth request in 10 s"
NOW=$(date +%s)
RETRY=$(header Retry-After)
RESET=$(header RateLimit-Reset)
case "$RETRY" in
'' | *[!0-9]*) fail "Retry-After is not an epoch: '$RETRY'" ;;
*) ((RETRY >= NOW && RETRY <= NOW + 11)) || fail "Retry-After $RETRY is not an epoch near $NOW" ;;
esac
[ "$RETRY" = "$RESET" ] || fail "RateLimit-Reset ($RESET) differs from Retry-After ($RETRY)"
call "$PORT_limited" GET "/api/v2/$ADMIN/tax_rates.json"
expect_status 429 "still limited"
grep -qi '^Content-Type: text/html' "$HEADERS" || fail "second 429 should be nginx HTML"
while (($(date +%s) <= RETRY)); do sleep 0.2; done
call "$PORT_limited" GET "/api/v2/$ADMIN/tax_rates.json"
expect_status 200 "after Retry-After the window has room again"

# --- clean exit (also catches sanitizer reports at exit) ---
for pid in "${PIDS[@]}"; do
	kill -TERM "$pid"
	wait "$pid"
	RC=$?
	[ "$RC" = 0 ] || fail "mbsim (pid $pid) exited $RC on SIGTERM"
done
PIDS=()

if ((FAILS > 0)); then
	echo "$FAILS assertion(s) failed; mbsim log:" >&2
	tail -20 "$WORK/main.log" >&2
	exit 1
fi
echo "ok: mbsim strictness"
