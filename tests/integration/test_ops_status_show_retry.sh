#!/usr/bin/env bash
# Operator commands: `status` (human and --json), `show ORDER` (human and
# --json: deliveries with body hashes, Moneybird calls, ids, audit history),
# `retry ORDER... | --failed` (parked orders back in the queue, with a job
# created when missing, an operator audit row and the workers woken), and
# their exit codes (0 ok, 1 runtime failure, 2 usage).
source "$(dirname "$0")/lib.sh"
bm_stack --mbsim -- workers=0

# ops CMD...: bm_ops (sets OUT, ERR and RC; never fails the test).
ops() { bm_ops "$@"; }
# jget JSON PATH: the text at PATH ({a,0,b} without braces) via PostgreSQL's jsonb.
jget() {
	bm_psql "SELECT \$bmj\$$1\$bmj\$::jsonb #>> '{$2}'"
}
# jtype JSON PATH: jsonb_typeof at PATH.
jtype() {
	bm_psql "SELECT jsonb_typeof(\$bmj\$$1\$bmj\$::jsonb #> '{$2}')"
}

# --- usage errors exit 2 -----------------------------------------------------
ops status --bogus
bm_assert_eq "$RC" 2 "status --bogus exits 2"
bm_assert_contains "$ERR" "unknown option --bogus" "status --bogus names the option"
ops status extra
bm_assert_eq "$RC" 2 "status with an argument exits 2"
ops show
bm_assert_eq "$RC" 2 "show without ORDER exits 2"
ops retry
bm_assert_eq "$RC" 2 "retry without ORDER or --failed exits 2"
ops retry --failed ord-x
bm_assert_eq "$RC" 2 "retry with both ORDER and --failed exits 2"
ops show --connection nope ord-1
bm_assert_eq "$RC" 2 "show --connection with an unknown connection exits 2"

# --- an empty database --------------------------------------------------------
ops status
bm_assert_eq "$RC" 0 "status on an empty database exits 0"
bm_assert_contains "$OUT" "Orders per state" "status prints the state table"
bm_assert_contains "$OUT" "oldest unsynced      none" "status: no unsynced order"
bm_assert_contains "$OUT" "150 of 150 calls left" "status: the whole rate budget is left"
bm_assert_contains "$OUT" "Spooled deliveries waiting: 0" "status: nothing spooled"
ops retry --failed
bm_assert_eq "$RC" 0 "retry --failed with nothing parked exits 0"
bm_assert_contains "$OUT" "No order needs attention." "retry --failed says there is nothing to do"

# --- some orders: queued, parked, a redelivery that differs ------------------
bm_post_order f1 ord-1 accepted "ord-1"
bm_post_order f2 ord-2 accepted "ord-2 (unmapped treatment: parked)" treatment=margin_scheme
bm_post_order f1b ord-1 duplicate "ord-1 again with another body" total=242.00 excl=200.00 vat=42.00
sha1="$(bm_sha256_file "$f1")"
sha1b="$(bm_sha256_file "$f1b")"

ops status
bm_assert_eq "$RC" 0 "status exits 0"
row="$(grep -E '^  shop ' <<<"$OUT" | tr -s ' ')"
bm_assert_eq "$row" " shop 1 0 0 1 0 0 0" "status: shop has 1 queued and 1 needs_attention"
bm_assert_contains "$OUT" "oldest unsynced      ord-1 (number ORD-ord-1), queued" \
	"status names the oldest unsynced order"
bm_assert_contains "$OUT" "last error           ord-2 (needs_attention" "status names the last error's order"
bm_assert_contains "$OUT" "margin_scheme" "status shows the last error's text"
bm_assert_contains "$OUT" "redeliveries differ  1" "status counts the redelivery that differed"
bm_assert_contains "$OUT" "paused               no" "status: not paused"

ops status --json
bm_assert_eq "$RC" 0 "status --json exits 0"
json="$OUT"
bm_assert_eq "$(jget "$json" connections,0,name)" shop "json: connections[0].name"
bm_assert_eq "$(jget "$json" connections,0,orders,queued)" 1 "json: orders.queued"
bm_assert_eq "$(jget "$json" connections,0,orders,needs_attention)" 1 "json: orders.needs_attention"
bm_assert_eq "$(jget "$json" connections,0,orders,reconciled)" 0 "json: orders.reconciled (every state present)"
bm_assert_eq "$(jget "$json" connections,0,orders_total)" 2 "json: orders_total"
bm_assert_eq "$(jget "$json" connections,0,oldest_unsynced,order_id)" ord-1 "json: oldest_unsynced.order_id"
bm_assert_eq "$(jtype "$json" connections,0,oldest_unsynced,age_seconds)" number "json: age_seconds is a number"
bm_assert_eq "$(jget "$json" connections,0,last_error,order_id)" ord-2 "json: last_error.order_id"
bm_assert_eq "$(jtype "$json" connections,0,paused)" null "json: paused is null"
bm_assert_eq "$(jget "$json" connections,0,rate_budget,requests)" 150 "json: rate_budget.requests"
bm_assert_eq "$(jget "$json" connections,0,rate_budget,remaining)" 150 "json: rate_budget.remaining"
bm_assert_eq "$(jget "$json" connections,0,redeliveries_differ)" 1 "json: redeliveries_differ"
bm_assert_eq "$(jget "$json" spooled_deliveries)" 0 "json: spooled_deliveries"
bm_assert_eq "$(bm_psql "SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(\$bmj\$$json\$bmj\$::jsonb) k")" \
	"connections,generated_at,spool_dir,spool_set_aside,spooled_deliveries" "json: the top-level keys"
bm_assert_eq "$(bm_psql "SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(
		(\$bmj\$$json\$bmj\$::jsonb)->'connections'->0) k")" \
	"administration_id,last_error,name,oldest_unsynced,orders,orders_total,paused,rate_budget,redeliveries_differ,registered" \
	"json: the keys of a connection"

# A paused connection and a rate-limited token show up.
bm_psql "UPDATE connections SET paused_at = now(), paused_reason = 'Moneybird answered 401' WHERE name = 'shop'"
ops status --json
bm_assert_eq "$(jget "$OUT" connections,0,paused,reason)" "Moneybird answered 401" "json: paused.reason"
ops status
bm_assert_contains "$OUT" "paused               yes, since" "status shows the pause"
bm_psql "UPDATE connections SET paused_at = NULL, paused_reason = NULL WHERE name = 'shop'"

# --- show ------------------------------------------------------------------------
ops show ord-1
bm_assert_eq "$RC" 0 "show ord-1 exits 0"
bm_assert_contains "$OUT" "Order ord-1 (number ORD-ord-1) on connection shop" "show: the heading"
bm_assert_contains "$OUT" "121.00 EUR incl. VAT (100.00 excl. + 21.00 VAT at 21 %, standard)" "show: the amounts"
bm_assert_contains "$OUT" "Deliveries (2)" "show: both deliveries"
bm_assert_contains "$OUT" "$sha1" "show: the first body's sha256"
bm_assert_contains "$OUT" "$sha1b" "show: the second body's sha256"
bm_assert_contains "$OUT" "duplicate_differs" "show: the redelivery that differed"
bm_assert_contains "$OUT" "Moneybird calls (0)" "show: no Moneybird call yet"
bm_assert_contains "$OUT" "job                  pending, next attempt " "show: the waiting job and its next attempt"
bm_assert_contains "$OUT" "order_received" "show: the audit history"
bm_assert_contains "$OUT" "redelivery_differs" "show: the redelivery's audit row"
bm_assert_not_contains "$OUT" "Keizersgracht" "show never prints the body"
ops show ORD-ord-2
bm_assert_eq "$RC" 0 "show by order_number exits 0"
bm_assert_contains "$OUT" "Order ord-2" "show finds an order by its number"
bm_assert_contains "$OUT" "needs_attention" "show: the parked state"
bm_assert_contains "$OUT" "job                  none" "show: a parked-at-intake order has no job"

ops show --json ord-1
bm_assert_eq "$RC" 0 "show --json exits 0"
json="$OUT"
bm_assert_eq "$(jget "$json" orders,0,order,order_id)" ord-1 "show json: order.order_id"
bm_assert_eq "$(jtype "$json" orders,0,order,total_incl_cents)" number "show json: cents are numbers"
bm_assert_eq "$(jget "$json" orders,0,order,total_incl_cents)" 12100 "show json: total_incl_cents"
bm_assert_eq "$(jtype "$json" orders,0,order,is_test_order)" boolean "show json: is_test_order is a boolean"
bm_assert_eq "$(jget "$json" orders,0,deliveries,1,outcome)" duplicate_differs "show json: deliveries[1].outcome"
bm_assert_eq "$(jget "$json" orders,0,deliveries,0,body_sha256)" "$sha1" "show json: deliveries[0].body_sha256"
bm_assert_eq "$(jtype "$json" orders,0,deliveries,0,body)" "" "show json: no body"
bm_assert_eq "$(jtype "$json" orders,0,attempts)" array "show json: attempts is an array"
bm_assert_eq "$(jget "$json" orders,0,audit,0,action)" order_received "show json: audit[0].action"
bm_assert_eq "$(jtype "$json" orders,0,audit,0,detail)" object "show json: audit detail is an object"

ops show ord-404
bm_assert_eq "$RC" 1 "show of an unknown order exits 1"
bm_assert_contains "$ERR" 'no order has order_id or order_number "ord-404"' "show: names the missing order"

# --- retry ---------------------------------------------------------------------------
ops retry ord-1
bm_assert_eq "$RC" 1 "retry of an order that is not parked exits 1"
bm_assert_contains "$OUT" "it is queued, not needs_attention" "retry says why it left ord-1 alone"
ops retry ord-404 ord-2
bm_assert_eq "$RC" 1 "retry with an unknown order exits 1"
bm_assert_eq "$(bm_psql "SELECT state FROM orders WHERE order_id = 'ord-2'")" needs_attention \
	"an unknown ORDER stops retry before anything changed"

ops retry ord-2
bm_assert_eq "$RC" 0 "retry ord-2 exits 0"
bm_assert_contains "$OUT" "queued   ord-2" "retry reports the order queued"
bm_assert_eq "$(bm_psql "SELECT o.state, j.state, j.next_attempt_at <= now(), j.lease_owner IS NULL,
		o.last_error IS NOT NULL FROM orders o JOIN jobs j ON j.order_pk = o.id
		WHERE o.order_id = 'ord-2'")" "queued|pending|t|t|t" \
	"retry created the missing job (pending, ready, no lease); last_error kept until the next attempt"
bm_assert_eq "$(bm_psql "SELECT actor, action, from_state, to_state, detail ? 'os_user' FROM audit_log
		WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'ord-2') ORDER BY id DESC LIMIT 1")" \
	"operator|retry|needs_attention|queued|t" "retry wrote one operator audit row"
ops retry ord-2
bm_assert_eq "$RC" 1 "a second retry of ord-2 exits 1 (it is queued now)"

# --- the workers take over; a parked job (existing row) is retried ------------
bm_serve_stop
bm_write_config workers=2
bm_serve_start
for _ in $(seq 1 100); do
	s="$(bm_psql "SELECT string_agg(state, ',' ORDER BY order_id) FROM orders")"
	[[ "$s" == "synced,needs_attention" ]] && break
	sleep 0.2
done
bm_assert_eq "$s" "synced,needs_attention" "the workers sync ord-1 and park ord-2 again"

ops show ord-1
bm_assert_contains "$OUT" "POST sales_invoices" "show lists the Moneybird calls"
bm_assert_contains "$OUT" "synced at            20" "show: synced_at"
bm_assert_not_contains "$(grep -A2 '^Moneybird$' <<<"$OUT")" "contact              -" "show: the Moneybird contact id"
ops status --json
bm_assert_eq "$(jget "$OUT" connections,0,orders,synced)" 1 "status json: one synced"
bm_assert_ne "$(jget "$OUT" connections,0,rate_budget,remaining)" 150 "status json: the budget was used"

bm_psql "UPDATE jobs SET attempts = 15 WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'ord-2')"
ops retry --failed
bm_assert_eq "$RC" 0 "retry --failed exits 0"
bm_assert_contains "$OUT" "1 order queued again" "retry --failed queued the one parked order"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'ord-2')")" 1 \
	"retry reused the existing job (one job per order)"
for _ in $(seq 1 50); do
	n="$(bm_psql "SELECT count(*) FROM audit_log WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'ord-2') AND actor = 'worker' AND action = 'parked'")"
	[[ "$n" == 2 ]] && break
	sleep 0.2
done
bm_assert_eq "$n" 2 "the NOTIFY woke a worker, which tried ord-2 again (parked again: still unmapped)"
bm_assert_eq "$(bm_psql "SELECT attempts FROM jobs WHERE order_pk = (SELECT id FROM orders WHERE order_id = 'ord-2')")" 1 \
	"retry reset the job's attempt count"

# --- status and /metrics read one status model: the same numbers ----------------
# Every state of order_state.h, taken from status --json and from the
# /metrics gauges of the same database at the same moment (serve is idle).
ops status --json
json="$OUT"
metrics="$(curl -s --max-time 5 "$BM_URL/metrics")"
states="$(bm_psql "SELECT string_agg(k, ' ' ORDER BY k) FROM jsonb_object_keys(
	(\$bmj\$$json\$bmj\$::jsonb)->'connections'->0->'orders') k")"
[[ "$(wc -w <<<"$states")" -ge 7 ]] || bm_fail "status --json lists every state, got [$states]"
for state in $states; do
	from_status="$(jget "$json" "connections,0,orders,$state")"
	from_metrics="$(grep -E "^bookto_moneybird_orders\{connection=\"shop\",state=\"$state\"\} " <<<"$metrics" |
		awk '{print $2}')"
	bm_assert_eq "$from_metrics" "$from_status" "/metrics orders{state=$state} equals status --json"
done

"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/verify.out" 2>&1 || bm_fail "audit verify failed"
bm_pass "the audit chain holds after the operator's actions"
bm_serve_stop
bm_done
