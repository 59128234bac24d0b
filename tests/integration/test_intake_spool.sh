#!/usr/bin/env bash
# Intake while PostgreSQL is down: verified deliveries are fsynced to the
# spool and answered 200 spooled; /readyz is 503; once PostgreSQL is back the
# spool drains into orders (deduplicated: none twice) and empties; a spooled
# delivery survives a restart of serve; 503 only when the spool cannot be
# written either.
source "$(dirname "$0")/lib.sh"
bm_stack

# spool_files: number of spooled entries waiting (regular files, any depth,
# leaving out dir/rejected/).
spool_files() {
	find "$BM_SPOOL" -path "$BM_SPOOL/rejected" -prune -o -type f -print 2>/dev/null | wc -l | tr -d ' '
}
# wait_for_orders N SECONDS: waits until there are N orders and an empty spool.
wait_for_orders() {
	local i n=""
	for ((i = 0; i < $2 * 5; i++)); do
		n="$(bm_count_orders 2>/dev/null || true)"
		[[ "$n" == "$1" && "$(spool_files)" == 0 ]] && return 0
		sleep 0.2
	done
	bm_fail "spool not drained within $2 s: $n orders (expected $1), $(spool_files) spool files"
}

f="$(bm_order_json ord-4000)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "delivery while PostgreSQL is up"
bm_assert_eq "$(bm_http_code /readyz)" 200 "/readyz is 200 while PostgreSQL is up"

# --- PostgreSQL goes away -----------------------------------------------------
bm_pg_stop
for i in 1 2 3 4 5; do
	files[$i]="$(bm_order_json "ord-400$i")"
	bm_post_expect /webhooks/bookto/shop "${files[$i]}" 200 '"status":"spooled"' \
		"delivery $i while PostgreSQL is down"
done
bm_post_expect /webhooks/bookto/shop "${files[1]}" 200 '"status":"spooled"' \
	"a repeated delivery while PostgreSQL is down" "" "$(($(date +%s) - 30))"
# Signed a minute apart from the first: within the same second it would be
# the same delivery (its key comes from timestamp and signature), stored once.
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"spooled"' \
	"a redelivery of a stored order while PostgreSQL is down" "" "$(($(date +%s) - 60))"
n="$(spool_files)"
[[ "$n" -ge 7 ]] && bm_pass "seven spool files written ($n)" || bm_fail "expected 7 spool files, found $n"

# Still refused while down: verification happens before spooling.
bm_post_bookto /webhooks/bookto/shop "${files[2]}" wrong-secret
bm_assert_eq "$BM_STATUS" 401 "a bad signature is 401 while PostgreSQL is down, not spooled"
bm_assert_eq "$(spool_files)" "$n" "the bad delivery was not spooled"
bm_assert_eq "$(bm_http_code /readyz)" 503 "/readyz is 503 while PostgreSQL is down"
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz is 200 while PostgreSQL is down"
sleep 2
down_until="$(date +%s)" # after every spooled delivery, before the drain

# --- PostgreSQL is back: the spool drains, none twice --------------------------
bm_pg_start_again
wait_for_orders 6 25
bm_pass "all six orders are stored and the spool is empty"
bm_assert_eq "$(bm_psql "SELECT order_id || ':' || count(*) FROM orders GROUP BY order_id
		HAVING count(*) <> 1")" "" "no order is stored twice"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM sync_status WHERE state = 'queued'")" 6 \
	"all six orders are queued"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs")" 6 "one job per order"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE source = 'spool'")" 7 \
	"all seven spooled deliveries are kept with source spool"
bm_assert_eq "$(bm_psql "SELECT string_agg(outcome, ',' ORDER BY outcome) FROM deliveries
		WHERE order_id = 'ord-4001'")" "accepted,duplicate" \
	"the repeated spooled delivery became a duplicate"
bm_assert_eq "$(bm_psql "SELECT string_agg(outcome, ',' ORDER BY outcome) FROM deliveries
		WHERE order_id = 'ord-4000'")" "accepted,duplicate" \
	"the spooled redelivery of a stored order became a duplicate"
sha="$(bm_sha256_file "${files[3]}")"
bm_assert_eq "$(bm_psql "SELECT body_sha256, encode(sha256(body), 'hex') FROM deliveries
		WHERE order_id = 'ord-4003'")" "$sha|$sha" "a spooled delivery is stored byte-exact"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders WHERE order_id LIKE 'ord-400_'
		AND order_id <> 'ord-4000' AND extract(epoch FROM received_at) > $down_until")" 0 \
	"spooled orders keep the time they were received, not the time they were drained"
bm_assert_eq "$(bm_http_code /readyz)" 200 "/readyz is 200 again"
bm_post_expect /webhooks/bookto/shop "${files[4]}" 200 '"status":"duplicate"' \
	"a spooled order delivered again after the drain"

# --- a spooled delivery survives a restart of serve ----------------------------
bm_pg_stop
g="$(bm_order_json ord-4010)"
bm_post_expect /webhooks/bookto/shop "$g" 200 '"status":"spooled"' "delivery spooled before a restart"
bm_serve_stop
bm_pg_start_again
bm_serve_start
wait_for_orders 7 25
bm_pass "the delivery spooled before the restart is stored after it"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-4010'")" 1 "ord-4010 stored once"

# --- ... and a crash (SIGKILL) right after the 200 ------------------------------
bm_pg_stop
g="$(bm_order_json ord-4011)"
bm_post_expect /webhooks/bookto/shop "$g" 200 '"status":"spooled"' "delivery spooled before a crash"
kill -KILL "$BM_SERVE_PID"
wait "$BM_SERVE_PID" 2>/dev/null || true
BM_SERVE_PID=""
bm_pg_start_again
bm_serve_start
wait_for_orders 8 25
bm_pass "the delivery spooled before the crash is stored after the restart"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-4011'")" 1 "ord-4011 stored once"

# --- neither PostgreSQL nor the spool: 503 -------------------------------------
bm_pg_stop
rm -rf "$BM_SPOOL"
touch "$BM_SPOOL" # the spool path is now a file: nothing can be written below it
h="$(bm_order_json ord-4020)"
bm_post_bookto /webhooks/bookto/shop "$h"
bm_assert_eq "$BM_STATUS" 503 "PostgreSQL down and spool unwritable: 503 (body: $BM_BODY)"
bm_assert_contains "$BM_BODY" '"error":"' "the 503 has a JSON error body"
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz is still 200"
rm -f "$BM_SPOOL"
mkdir -p "$BM_SPOOL"
bm_pg_start_again
bm_assert_eq "$(bm_count_orders "order_id = 'ord-4020'")" 0 "the 503 delivery did not become an order"
bm_serve_stop
bm_done
