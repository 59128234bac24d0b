#!/usr/bin/env bash
# Intake, a stalled database and more deliveries than handler threads: with
# PostgreSQL frozen (SIGSTOP), http.handler_threads = 2 and a 1.5 s commit
# bound, 16 deliveries posted at once are all answered 200 "spooled" within
# a few seconds: once the batch in flight has run past the bound, a new
# delivery is spooled at once instead of waiting out the bound again behind
# the others (8 rounds of 1.5 s = 12 s, past nginx's 15 s read timeout for a
# few more). After SIGCONT every order is stored exactly once.
source "$(dirname "$0")/lib.sh"
bm_setup
bm_pg_start
bm_write_config max_connections=64
sed -i 's/^\(  request_timeout_seconds = .*\)$/\1\n  commit_timeout_ms = 1500;\n  handler_threads = 2;/' "$BM_CONFIG"
grep -q 'handler_threads = 2' "$BM_CONFIG" || bm_fail "could not set the limits"
bm_migrate
bm_serve_start

f="$(bm_order_json ord-h0)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery before the freeze"

pg_pids() {
	local main
	main="$(head -1 "$BM_PGDATA/postmaster.pid")"
	echo "$main" $(pgrep -P "$main")
}
frozen=""
thaw() { [[ -z "$frozen" ]] || kill -CONT $frozen 2>/dev/null || true; frozen=""; }
trap 'rc=$?; thaw; (exit $rc); bm_cleanup' EXIT

mkdir -p "$BM_TMP/stall"
frozen="$(pg_pids)"
kill -STOP $frozen
pids=()
for i in $(seq 1 16); do
	file="$(bm_order_json "ord-h$i")"
	ts="$(date +%s)"
	sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$file")"
	curl -s -o "$BM_TMP/stall/$i.body" -w '%{http_code} %{time_total}\n' --max-time 30 \
		-X POST -H 'Content-Type: application/json' -H "X-Bookto-Timestamp: $ts" \
		-H "X-Bookto-Signature: $sig" --data-binary "@$file" \
		"$BM_URL/webhooks/bookto/shop" >"$BM_TMP/stall/$i.code" 2>/dev/null &
	pids+=($!)
done
wait "${pids[@]}" || true
codes="$(cat "$BM_TMP"/stall/*.code | awk '{print $1}' | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -)"
bm_assert_eq "$codes" "200x16" "16 deliveries during the freeze: all answered 200"
bm_assert_eq "$(cat "$BM_TMP"/stall/*.body | grep -o '"status":"spooled"' | wc -l | tr -d ' ')" 16 \
	"... all spooled"
slowest="$(cat "$BM_TMP"/stall/*.code | awk '{print $2}' | sort -n | tail -1)"
awk -v s="$slowest" 'BEGIN { exit !(s < 5) }' &&
	bm_pass "the slowest of 16 deliveries through 2 handler threads took ${slowest}s (bound 1.5 s)" ||
	bm_fail "a delivery waited ${slowest}s behind the others (bound 1.5 s, 2 handler threads)"
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz answers during the freeze"
thaw

for ((i = 0; i < 150; i++)); do
	[[ "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l)" == 0 &&
		"$(bm_count_orders "order_id LIKE 'ord-h%'" 2>/dev/null)" == 17 ]] && break
	sleep 0.2
done
bm_assert_eq "$(bm_count_orders "order_id LIKE 'ord-h%'")" 17 "after SIGCONT all 17 orders are stored"
bm_assert_eq "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l | tr -d ' ')" 0 "the spool is empty"
bm_assert_eq "$(bm_psql "SELECT order_id FROM deliveries WHERE order_id LIKE 'ord-h%'
		GROUP BY order_id HAVING count(*) <> 1")" "" "each order has exactly one delivery row"
bm_serve_stop
bm_done
