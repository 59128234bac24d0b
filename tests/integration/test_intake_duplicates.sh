#!/usr/bin/env bash
# Intake, duplicates: a redelivered order_id answers 200 duplicate and changes
# nothing; a redelivery with a different body is kept (duplicate_differs),
# reported in the audit log and never applied; 50 concurrent copies of one
# signed request make exactly one order, one job and one delivery row (an
# exact replay is not stored again), answered 1 accepted + 49 duplicate.
source "$(dirname "$0")/lib.sh"
bm_stack

# --- sequential redelivery ---------------------------------------------------
f="$(bm_order_json ord-3001)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "first delivery"
before="$(bm_psql "SELECT state, total_incl_cents, updated_at, received_at FROM orders
		WHERE order_id = 'ord-3001'")"
sleep 1 # a new signature timestamp, as a real redelivery would have
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "identical redelivery"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-3001'")" 1 "identical redelivery: still one order"
bm_assert_eq "$(bm_psql "SELECT state, total_incl_cents, updated_at, received_at FROM orders
		WHERE order_id = 'ord-3001'")" "$before" "identical redelivery: the order is unchanged"
bm_assert_eq "$(bm_psql "SELECT string_agg(outcome, ',' ORDER BY id) FROM deliveries
		WHERE order_id = 'ord-3001'")" "accepted,duplicate" "identical redelivery: kept as a duplicate delivery"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs j JOIN orders o ON o.id = j.order_pk
		WHERE o.order_id = 'ord-3001'")" 1 "identical redelivery: still one job"

# The previous secret, too, only ever yields a duplicate.
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "redelivery signed by the previous secret" \
	"$BM_SECRET_PREVIOUS"

# --- redelivery with a different body ----------------------------------------
audit_before="$(bm_psql "SELECT count(*) FROM audit_log")"
g="$(bm_order_json ord-3001 total=242.00 excl=200.00 vat=42.00 'email=someone.else@example.org')"
bm_post_expect /webhooks/bookto/shop "$g" 200 '"status":"duplicate"' "redelivery with a different body"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-3001'")" 1 "different body: still one order"
bm_assert_eq "$(bm_psql "SELECT state, total_incl_cents, updated_at, received_at FROM orders
		WHERE order_id = 'ord-3001'")" "$before" "different body: the order is not changed"
bm_assert_eq "$(bm_psql "SELECT buyer_email FROM orders WHERE order_id = 'ord-3001'")" \
	"Jan.Jansen@Example.NL" "different body: the buyer is not changed"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-3001'
		AND outcome = 'duplicate_differs' AND body_sha256 = '$(bm_sha256_file "$g")'
		AND encode(sha256(body), 'hex') = body_sha256")" 1 \
	"different body: kept byte-exact with outcome duplicate_differs"
audit_after="$(bm_psql "SELECT count(*) FROM audit_log")"
[[ "$audit_after" -gt "$audit_before" ]] &&
	bm_pass "different body: reported in the audit log ($audit_before -> $audit_after rows)" ||
	bm_fail "different body: no new audit_log row ($audit_before -> $audit_after)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
		WHERE o.order_id = 'ord-3001' AND a.detail::text ILIKE '%someone.else%'")" 0 \
	"the audit row does not copy the differing personal data"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs j JOIN orders o ON o.id = j.order_pk
		WHERE o.order_id = 'ord-3001'")" 1 "different body: still one job"

# --- 50 concurrent deliveries of one order -------------------------------------
c="$(bm_order_json ord-3002)"
ts="$(date +%s)"
sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$c")"
mkdir -p "$BM_TMP/concurrent"
pids=()
for i in $(seq 1 50); do
	curl -s -o "$BM_TMP/concurrent/$i.body" -w '%{http_code}\n' --max-time 30 -X POST \
		-H 'Content-Type: application/json' -H 'X-Bookto-Event: order.paid' \
		-H "X-Bookto-Timestamp: $ts" -H "X-Bookto-Signature: $sig" \
		--data-binary "@$c" "$BM_URL/webhooks/bookto/shop" >"$BM_TMP/concurrent/$i.code" 2>/dev/null &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: serve is a child too
codes="$(cat "$BM_TMP"/concurrent/*.code | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -)"
bm_assert_eq "$codes" "200x50" "50 concurrent deliveries: all answered 200"
accepted="$(cat "$BM_TMP"/concurrent/*.body | grep -o '"status":"accepted"' | wc -l | tr -d ' ')"
duplicate="$(cat "$BM_TMP"/concurrent/*.body | grep -o '"status":"duplicate"' | wc -l | tr -d ' ')"
bm_assert_eq "$accepted/$duplicate" "1/49" "50 concurrent deliveries: 1 accepted, 49 duplicate"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-3002'")" 1 "50 concurrent deliveries: one order row"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs j JOIN orders o ON o.id = j.order_pk
		WHERE o.order_id = 'ord-3002'")" 1 "50 concurrent deliveries: one job"
bm_assert_eq "$(bm_psql "SELECT outcome || 'x' || count(*) FROM deliveries WHERE order_id = 'ord-3002'
		GROUP BY outcome ORDER BY outcome")" "acceptedx1" \
	"50 concurrent copies of one signed request: one delivery row (exact replays are not kept again)"
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the audit hash chain holds"
bm_assert_eq "$(find "$BM_SPOOL" -type f 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"nothing was spooled while PostgreSQL was up"

bm_serve_stop
bm_done
