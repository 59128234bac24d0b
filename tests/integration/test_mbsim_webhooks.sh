#!/usr/bin/env bash
# The Moneybird simulator's webhooks: registration check, signed deliveries of
# payment events, retries until the receiver answers 200, duplicates on demand.
# The receiver is mbsim's own /_sim/sink. Needs bash, curl, grep, sed; the
# signature is verified end to end when the openssl CLI is present.
set -u

source "$(dirname "$0")/mbsim_lib.sh" webhooks
PID=

cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

"$MBSIM" --port 0 --port-file "$WORK/port" --token "$TOKEN" --administration-id "$ADMIN" \
	--seed 7 --webhook-retry-seconds 1 2>"$WORK/mbsim.log" &
PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/port" ] && break
	sleep 0.05
done
PORT=$(tr -d '\n' <"$WORK/port")
[ -n "$PORT" ] || { echo "mbsim did not start"; cat "$WORK/mbsim.log"; exit 1; }
SIM="http://127.0.0.1:$PORT"

call() { # METHOD URL [BODY] [auth]
	local args=(-s -X "$1" -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}'
		-H 'Content-Type: application/json')
	[ "${4-yes}" = yes ] && args+=(-H "Authorization: Bearer $TOKEN")
	[ -n "${3-}" ] && args+=(--data-binary "$3")
	STATUS=$(curl "${args[@]}" "$2")
	BODY=$(cat "$WORK/body")
}
api() { call "$1" "$SIM/api/v2/$ADMIN/$2" "${3-}"; }
json_id() { printf '%s' "$BODY" | sed -n 's/^{"id":"\([0-9]*\)".*/\1/p'; }
count_of() { printf '%s' "$2" | grep -o -- "$1" | wc -l | tr -d ' '; }

# wait_for PATTERN N: until /_sim/state shows PATTERN at least N times (10 s).
wait_for() {
	local i
	for i in $(seq 1 100); do
		call GET "$SIM/_sim/state" "" no
		(($(count_of "$1" "$BODY") >= $2)) && return 0
		sleep 0.1
	done
	fail "timed out waiting for $2 x '$1'"
	return 1
}

# Registration check: a URL that does not answer 200 is refused.
call POST "$SIM/_sim/faults" '{"sink_statuses":[500]}' no
api POST webhooks.json "{\"url\":\"$SIM/_sim/sink\",\"enabled_events\":[\"payment_registered\"]}"
[ "$STATUS" = 422 ] || fail "webhook with a failing URL: expected 422, got $STATUS"
api POST webhooks.json "{\"url\":\"$SIM/_sim/sink\",\"events\":[\"payment_registered\"]}"
[ "$STATUS" = 400 ] || fail "'events' is removed: expected 400, got $STATUS"
api POST webhooks.json '{"enabled_events":["payment_registered"]}'
[ "$STATUS" = 400 ] || fail "webhook without url: expected 400, got $STATUS"

# First delivery is refused once, then accepted: one retry.
call POST "$SIM/_sim/faults" '{"sink_statuses":[200,503]}' no
api POST webhooks.json "{\"url\":\"$SIM/_sim/sink/moneybird\",\"enabled_events\":[\"sales_invoice_state_changed_to_paid\",\"payment\"]}"
[ "$STATUS" = 201 ] || fail "create webhook: expected 201, got $STATUS: $BODY"
HOOK_ID=$(json_id)
SECRET=$(printf '%s' "$BODY" | sed -n 's/.*"secret":"\([0-9a-f]*\)".*/\1/p')
HOOK_TOKEN=$(printf '%s' "$BODY" | sed -n 's/.*"token":"\([A-Za-z0-9]*\)".*/\1/p')
[ ${#SECRET} = 64 ] || fail "secret missing from the create response"
api GET webhooks.json
printf '%s' "$BODY" | grep -q '"secret"' && fail "webhook list must not show the secret"
printf '%s' "$BODY" | grep -q "\"id\":\"$HOOK_ID\"" || fail "webhook not listed"

call GET "$SIM/_sim/sink" "" no
printf '%s' "$BODY" | grep -q '"path":"sink/moneybird","moneybird_signature":"","idempotency_key":"",.*"body":""' ||
	fail "registration check was not a POST without payload or signature: ${BODY:0:300}"

api POST contacts.json '{"contact":{"company_name":"Hook B.V.","customer_id":"55"}}'
CONTACT=$(json_id)
api POST sales_invoices.json "{\"sales_invoice\":{\"contact_id\":\"$CONTACT\",\"reference\":\"WH-1\",\"details_attributes\":[{\"description\":\"x\",\"price\":\"10.00\"}]}}"
INVOICE=$(json_id)
api PATCH "sales_invoices/$INVOICE/send_invoice.json" '{"sales_invoice_sending":{"delivery_method":"Manual"}}'
[ "$STATUS" = 200 ] || fail "send: $STATUS"
call POST "$SIM/_sim/sales_invoices/$INVOICE/mark_paid" '{"transaction_identifier":"bank-1"}' no
[ "$STATUS" = 201 ] || fail "mark_paid: expected 201, got $STATUS: $BODY"
api GET "sales_invoices/$INVOICE.json"
printf '%s' "$BODY" | grep -q '"state":"paid"' || fail "mark_paid did not make the invoice paid"

wait_for '"status":"delivered"' 2
call GET "$SIM/_sim/state" "" no
printf '%s' "$BODY" | grep -q '"event":"payment_registered","status":"delivered","attempts":2' ||
	fail "payment_registered was not retried once after 503: ${BODY:0:400}"
printf '%s' "$BODY" | grep -q '"event":"sales_invoice_state_changed_to_paid","status":"delivered","attempts":1' ||
	fail "state_changed_to_paid not delivered"
printf '%s' "$BODY" | grep -q '"event":"sales_invoice_state_changed_to_open"' &&
	fail "delivered an event the webhook did not subscribe to"

# Find the refused delivery in the sink and the retry that carries its key.
call GET "$SIM/_sim/sink" "" no
mapfile -t KEYS < <(printf '%s' "$BODY" | grep -o '"idempotency_key":"[0-9a-f]*"' |
	sed 's/.*:"\(.*\)"/\1-/')
mapfile -t ANSWERS < <(printf '%s' "$BODY" | grep -o '"answered":[0-9]*' | sed 's/.*://')
REFUSED=-1
RETRY=-1
for i in "${!KEYS[@]}"; do
	if [ "${ANSWERS[$i]}" = 503 ] && [ "$REFUSED" = -1 ]; then
		REFUSED=$i
	elif [ "$REFUSED" != -1 ] && [ "${KEYS[$i]}" = "${KEYS[$REFUSED]}" ]; then
		RETRY=$i
	fi
done
[ "$REFUSED" != -1 ] && [ "$RETRY" != -1 ] || fail "no refused delivery with a retry in the sink: ${BODY:0:300}"
call GET "$SIM/_sim/sink/$REFUSED/raw" "" no
FIRST_KEY=$(grep -i '^Idempotency-Key:' "$WORK/headers" | sed 's/^[^:]*: *//' | tr -d '\r')
call GET "$SIM/_sim/sink/$RETRY/raw" "" no
SIG=$(grep -i '^Moneybird-Signature:' "$WORK/headers" | sed 's/^[^:]*: *//' | tr -d '\r')
KEY=$(grep -i '^Idempotency-Key:' "$WORK/headers" | sed 's/^[^:]*: *//' | tr -d '\r')
cp "$WORK/body" "$WORK/delivery.json"
[ -n "$KEY" ] && [ "$KEY" = "$FIRST_KEY" ] || fail "a retry must keep its Idempotency-Key ('$FIRST_KEY' vs '$KEY')"
printf '%s' "$SIG" | grep -q '^t=[0-9]*,v1=[0-9a-f]\{64\}$' || fail "signature header shape: '$SIG'"
for field in "\"webhook_id\":\"$HOOK_ID\"" "\"webhook_token\":\"$HOOK_TOKEN\"" \
	'"entity_type":"SalesInvoice"' "\"entity_id\":\"$INVOICE\"" '"action":"payment_registered"' \
	"\"administration_id\":\"$ADMIN\"" '"entity":{' '"transaction_identifier":"bank-1"'; do
	grep -q -- "$field" "$WORK/delivery.json" || fail "delivery lacks $field"
done
if command -v openssl >/dev/null; then
	T=${SIG#t=}
	T=${T%%,*}
	WANT=${SIG##*v1=}
	GOT=$({ printf '%s.' "$T"; cat "$WORK/delivery.json"; } |
		openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= *//')
	[ "$GOT" = "$WANT" ] || fail "signature does not verify (openssl says $GOT)"
fi

# Deleting the payment sends payment_destroyed; duplicates share the key.
call POST "$SIM/_sim/faults" '{"duplicate_webhooks":true}' no
api GET "sales_invoices/$INVOICE.json"
PAYMENT=$(printf '%s' "$BODY" | sed -n 's/.*"payments":\[{"id":"\([0-9]*\)".*/\1/p')
api DELETE "sales_invoices/$INVOICE/payments/$PAYMENT.json"
[ "$STATUS" = 204 ] || fail "delete payment: $STATUS"
wait_for '"event":"payment_destroyed","status":"delivered"' 2
call GET "$SIM/_sim/state" "" no
KEYS=$(printf '%s' "$BODY" | grep -o '"event":"payment_destroyed"[^}]*' |
	sed -n 's/.*"idempotency_key":"\([0-9a-f]*\)".*/\1/p' | sort -u | wc -l | tr -d ' ')
[ "$KEYS" = 1 ] || fail "duplicate deliveries should share one Idempotency-Key (got $KEYS keys)"

api DELETE "webhooks/$HOOK_ID.json"
[ "$STATUS" = 204 ] || fail "delete webhook: $STATUS"
api DELETE "webhooks/$HOOK_ID.json"
[ "$STATUS" = 404 ] || fail "delete webhook twice: $STATUS"

kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
[ "$RC" = 0 ] || fail "mbsim exited $RC on SIGTERM"

if ((FAILS > 0)); then
	echo "$FAILS assertion(s) failed; mbsim log:" >&2
	tail -30 "$WORK/mbsim.log" >&2
	exit 1
fi
echo "ok: mbsim webhooks"
