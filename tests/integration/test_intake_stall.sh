#!/usr/bin/env bash
# Intake, a stalled database: with PostgreSQL frozen (SIGSTOP of the
# postmaster and every backend: connections stay open, nothing answers) a
# signed delivery waits at most http.commit_timeout_ms for its commit, is
# then spooled and answered 200 spooled; connection threads are released, so
# wave after wave of deliveries is answered through a small connection
# limit; /readyz and /metrics answer within their bounds too. After SIGCONT
# every order is in PostgreSQL exactly once, with one
# delivery row each (the batch that was in flight commits late; its spooled
# copies are then no-ops).
source "$(dirname "$0")/lib.sh"
bm_setup
bm_pg_start
bm_write_config max_connections=8
sed -i 's/^\(  request_timeout_seconds = .*\)$/\1\n  commit_timeout_ms = 2000;/' "$BM_CONFIG"
grep -q 'commit_timeout_ms = 2000' "$BM_CONFIG" || bm_fail "could not set commit_timeout_ms"
bm_migrate
bm_serve_start

f="$(bm_order_json ord-s0)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery before the freeze"

pg_pids() {
	local main
	main="$(head -1 "$BM_PGDATA/postmaster.pid")"
	echo "$main" $(pgrep -P "$main")
}
frozen=""
thaw() { [[ -z "$frozen" ]] || kill -CONT $frozen 2>/dev/null || true; frozen=""; }
trap 'rc=$?; thaw; (exit $rc); bm_cleanup' EXIT

# wave FIRST LAST: posts orders ord-sFIRST..ord-sLAST at once; each writes
# "<http code> <seconds> <body>" to $BM_TMP/stall/<n>.
mkdir -p "$BM_TMP/stall"
wave() {
	local i pids=() file ts sig
	for ((i = $1; i <= $2; i++)); do
		file="$(bm_order_json "ord-s$i")"
		ts="$(date +%s)"
		sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$file")"
		curl -s -o "$BM_TMP/stall/$i.body" -w '%{http_code} %{time_total}\n' --max-time 30 \
			-X POST -H 'Content-Type: application/json' -H "X-Bookto-Timestamp: $ts" \
			-H "X-Bookto-Signature: $sig" --data-binary "@$file" \
			"$BM_URL/webhooks/bookto/shop" >"$BM_TMP/stall/$i.code" 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" || true # a timed-out curl is counted below
}

frozen="$(pg_pids)"
kill -STOP $frozen
started=$(date +%s)
wave 1 8
wave 9 16
wave 17 20
elapsed=$(($(date +%s) - started))
codes="$(cat "$BM_TMP"/stall/*.code | awk '{print $1}' | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -)"
bm_assert_eq "$codes" "200x20" "20 deliveries during the freeze: all answered 200"
bm_assert_eq "$(cat "$BM_TMP"/stall/*.body | grep -o '"status":"spooled"' | wc -l | tr -d ' ')" 20 \
	"... all spooled"
slowest="$(cat "$BM_TMP"/stall/*.code | awk '{print $2}' | sort -n | tail -1)"
awk -v s="$slowest" 'BEGIN { exit !(s < 4.5) }' &&
	bm_pass "the slowest answer took ${slowest}s (commit bound 2 s)" ||
	bm_fail "a delivery waited ${slowest}s, more than the 2 s commit bound allows"
# /readyz and /metrics ask PostgreSQL too: bounded as well (a watchdog
# shuts a stalled connection down), so they cannot pile up threads either.
ready="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$BM_URL/readyz" || true)"
bm_assert_eq "${ready% *}" 503 "/readyz during the freeze: 503"
awk -v s="${ready#* }" 'BEGIN { exit !(s < 8) }' && bm_pass "/readyz answered in ${ready#* }s" ||
	bm_fail "/readyz took ${ready#* }s during the freeze"
metrics="$(curl -s -w '\n%{time_total}' --max-time 30 "$BM_URL/metrics" || true)"
bm_assert_contains "$metrics" "bookto_moneybird_database_up 0" "/metrics during the freeze: database_up 0"
awk -v s="$(tail -1 <<<"$metrics")" 'BEGIN { exit !(s < 10) }' &&
	bm_pass "/metrics answered in $(tail -1 <<<"$metrics")s" ||
	bm_fail "/metrics took $(tail -1 <<<"$metrics")s during the freeze"
elapsed=$(($(date +%s) - started))
# Keep PostgreSQL frozen for at least 12 s in all.
sleep $((elapsed < 12 ? 12 - elapsed : 0))
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz answers during the freeze"
thaw

for ((i = 0; i < 150; i++)); do
	[[ "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l)" == 0 &&
		"$(bm_count_orders "order_id LIKE 'ord-s%'" 2>/dev/null)" == 21 ]] && break
	sleep 0.2
done
bm_assert_eq "$(bm_count_orders "order_id LIKE 'ord-s%'")" 21 "after SIGCONT all 21 orders are stored"
bm_assert_eq "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l | tr -d ' ')" 0 "the spool is empty"
bm_assert_eq "$(bm_psql "SELECT order_id FROM deliveries WHERE order_id LIKE 'ord-s%'
		GROUP BY order_id HAVING count(*) <> 1")" "" "each order has exactly one delivery row"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs")" 21 "one job per order"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "the database answers again" \
	"" "$(($(date +%s) - 3))"
bm_serve_stop
bm_done
