#!/usr/bin/env bash
# Intake, exact replays: one signed bookto request sent again and again (same
# body, same timestamp, same signature) is stored once and answered
# duplicate, counted as outcome="replay" in /metrics; a redelivery bookto
# signs anew (another timestamp) is still a delivery of its own (duplicate).
# The same holds while PostgreSQL is down: the spool keeps both copies, the
# drain stores one.
source "$(dirname "$0")/lib.sh"
bm_stack

# post_raw FILE TS SIG: posts FILE with exactly these signature headers.
post_raw() {
	curl -s -w '\n%{http_code}' --max-time 30 -X POST -H 'Content-Type: application/json' \
		-H "X-Bookto-Timestamp: $2" -H "X-Bookto-Signature: $3" \
		--data-binary "@$1" "$BM_URL/webhooks/bookto/shop"
}

f="$(bm_order_json ord-r1)"
ts="$(date +%s)"
sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$f")"
first="$(post_raw "$f" "$ts" "$sig")"
bm_assert_eq "$(echo "$first" | tail -1)" 200 "the first request: 200"
bm_assert_contains "$first" '"status":"accepted"' "the first request is accepted"
answers=""
for i in $(seq 1 49); do
	answers+="$(post_raw "$f" "$ts" "$sig" | head -1)"$'\n'
done
bm_assert_eq "$(echo -n "$answers" | sort | uniq -c | awk '{print $1 "x" $2}')" \
	'49x{"status":"duplicate"}' "49 exact replays are answered duplicate"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-r1'")" 1 \
	"50 copies of one signed request: one delivery row"
upper="sha256=$(echo "${sig#sha256=}" | tr 'a-f' 'A-F')"
bm_assert_contains "$(post_raw "$f" "$ts" "$upper")" '"status":"duplicate"' \
	"the same signature in upper-case hex is the same request"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-r1'")" 1 \
	"... and is not stored again"
metrics="$(curl -s --max-time 5 "$BM_URL/metrics")"
bm_assert_contains "$metrics" 'bookto_moneybird_deliveries_total{connection="shop",outcome="replay"} 50' \
	"/metrics counts the 50 replays"

# A redelivery bookto signed anew: a delivery of its own, as before.
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "a redelivery with a new timestamp" \
	"" "$((ts - 7))"
bm_assert_eq "$(bm_psql "SELECT string_agg(outcome, ',' ORDER BY outcome) FROM deliveries
		WHERE order_id = 'ord-r1'")" "accepted,duplicate" "the re-signed redelivery is kept"

# A signed body that is not JSON, replayed: still 400, still one row.
j="$BM_TMP/not-json.txt"
printf 'not json at all' >"$j"
jsig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$j")"
bm_assert_contains "$(post_raw "$j" "$ts" "$jsig")" "400" "invalid JSON: 400"
bm_assert_contains "$(post_raw "$j" "$ts" "$jsig")" "400" "invalid JSON replayed: 400 again"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'invalid_json'")" 1 \
	"the replayed invalid delivery is kept once"

# While PostgreSQL is down both copies are spooled; the drain stores one.
g="$(bm_order_json ord-r2)"
gsig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$g")"
bm_pg_stop
bm_assert_contains "$(post_raw "$g" "$ts" "$gsig")" '"status":"spooled"' "spooled while down"
bm_assert_contains "$(post_raw "$g" "$ts" "$gsig")" '"status":"spooled"' "its exact replay spooled too"
bm_pg_start_again
for ((i = 0; i < 100; i++)); do
	[[ "$(find "$BM_SPOOL" -maxdepth 1 -type f -name '*.delivery' | wc -l)" == 0 ]] && break
	sleep 0.2
done
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-r2'")" 1 \
	"the drain stored the spooled request once"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-r2'")" 1 "one order"
bm_serve_stop
bm_done
