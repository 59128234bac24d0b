#!/usr/bin/env bash
# GET /metrics on a running serve: Prometheus text (content type, well-formed
# lines, HELP/TYPE for each family), process counters (deliveries by outcome,
# Moneybird calls by endpoint and outcome) and gauges read from PostgreSQL
# (orders per state, queue, latency histogram, rate budget); with PostgreSQL
# down the scrape still answers, with database_up 0.
source "$(dirname "$0")/lib.sh"
bm_stack --mbsim -- workers=2

scrape() {
	curl -s -D "$BM_TMP/metrics.headers" --max-time 10 "$BM_URL/metrics" >"$BM_TMP/metrics.txt" ||
		bm_fail "GET /metrics failed"
	M="$(cat "$BM_TMP/metrics.txt")"
}
# sample NAME{LABELS}: the value of one exact sample line.
sample() {
	awk -v key="$1 " 'index($0, key) == 1 { print substr($0, length(key) + 1) }' "$BM_TMP/metrics.txt"
}

scrape
bm_assert_contains "$(cat "$BM_TMP/metrics.headers")" "text/plain; version=0.0.4" "the Prometheus content type"
bm_assert_eq "$(sample 'bookto_moneybird_database_up')" 1 "database_up 1"
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="accepted"}')" 0 \
	"the counters start at zero"
bm_assert_eq "$(bm_http_code /metrics)" 200 "GET /metrics answers 200"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BM_URL/metrics")"
bm_assert_eq "$code" 405 "POST /metrics is 405"

bm_post_order f1 m-1 accepted "m-1"
bm_post_order f2 m-2 accepted "m-2" match_ref=other-buyer vat_number= peppol_id=
bm_post_order f1b m-1 duplicate "m-1 with another body" total=242.00 excl=200.00 vat=42.00
bm_post_expect /webhooks/bookto/shop "$f1" 200 duplicate "m-1 again (bookto signs a redelivery anew)" "" \
	"$(($(date +%s) - 30))"
bm_post_bookto /webhooks/bookto/shop "$f1" wrong-secret
bm_assert_eq "$BM_STATUS" 401 "a bad signature is 401"
f3="$(bm_order_json m-3 treatment=margin_scheme)"
bm_post_expect /webhooks/bookto/shop "$f3" 200 accepted "m-3 (parked)"

bm_assert_synced 2 "the workers sync m-1 and m-2"

scrape
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="accepted"}')" 3 "3 accepted"
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="duplicate"}')" 1 "1 duplicate"
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="duplicate_differs"}')" 1 \
	"1 redelivery whose body differed"
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="rejected"}')" 1 "1 rejected"
bm_assert_eq "$(sample 'bookto_moneybird_moneybird_calls_total{endpoint="POST sales_invoices",outcome="ok"}')" 2 \
	"two invoices created"
bm_assert_eq "$(sample 'bookto_moneybird_moneybird_calls_total{endpoint="POST sales_invoices/{id}/payments",outcome="ok"}')" 2 \
	"two payments registered"
bm_assert_eq "$(sample 'bookto_moneybird_moneybird_rate_limited_total')" 0 "no 429s"
bm_assert_eq "$(sample 'bookto_moneybird_orders{connection="shop",state="synced"}')" 2 "orders: 2 synced"
bm_assert_eq "$(sample 'bookto_moneybird_orders{connection="shop",state="needs_attention"}')" 1 "orders: 1 needs_attention"
bm_assert_eq "$(sample 'bookto_moneybird_queue_depth')" 0 "queue depth 0"
bm_assert_eq "$(sample 'bookto_moneybird_queue_oldest_job_age_seconds')" 0.000 "no job waits"
bm_assert_eq "$(sample 'bookto_moneybird_sync_latency_seconds_count')" 2 "the histogram counts the 2 synced orders"
bm_assert_eq "$(sample 'bookto_moneybird_sync_latency_seconds_bucket{le="+Inf"}')" 2 "+Inf bucket = count"
bm_assert_eq "$(sample 'bookto_moneybird_sync_latency_seconds_bucket{le="60"}')" 2 "both synced within a minute"
remaining="$(sample 'bookto_moneybird_rate_budget_remaining{connection="shop"}')"
[[ -n "$remaining" && "$remaining" -lt 150 ]] && bm_pass "the rate budget remaining dropped ($remaining)" ||
	bm_fail "rate_budget_remaining should be below 150, got [$remaining]"
bm_assert_eq "$(sample 'bookto_moneybird_rate_budget_limit{connection="shop"}')" 150 "rate budget limit"
bm_assert_eq "$(sample 'bookto_moneybird_connection_paused{connection="shop"}')" 0 "not paused"
bm_assert_eq "$(sample 'bookto_moneybird_spooled_deliveries')" 0 "nothing spooled"

# Well-formed: every sample line is name{labels} value, every family typed once.
bad="$(grep -v '^#' "$BM_TMP/metrics.txt" |
	grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9]+(\.[0-9]+)?$' || true)"
bm_assert_eq "$bad" "" "every sample line is well-formed"
bm_assert_eq "$(grep -c '^# TYPE ' "$BM_TMP/metrics.txt")" "$(grep '^# TYPE ' "$BM_TMP/metrics.txt" | sort -u | wc -l | tr -d ' ')" \
	"each family has one TYPE line"
untyped="$(grep -v '^#' "$BM_TMP/metrics.txt" | sed -E 's/[{ ].*//; s/_(bucket|sum|count)$//' | sort -u |
	while read -r family; do grep -q "^# TYPE $family " "$BM_TMP/metrics.txt" ||
		grep -q "^# TYPE ${family}_" "$BM_TMP/metrics.txt" || echo "$family"; done)"
bm_assert_eq "$untyped" "" "every sample belongs to a typed family"

# The scrape is cheap: a few milliseconds on this small database.
t="$(curl -s -o /dev/null -w '%{time_total}' "$BM_URL/metrics")"
echo "# one scrape took ${t}s"

# PostgreSQL down: counters still answer, database_up 0, no gauges.
bm_pg_stop
scrape
bm_assert_eq "$(sample 'bookto_moneybird_database_up')" 0 "database_up 0 while PostgreSQL is down"
bm_assert_eq "$(sample 'bookto_moneybird_deliveries_total{connection="shop",outcome="accepted"}')" 3 \
	"the counters are still reported"
bm_assert_eq "$(sample 'bookto_moneybird_orders{connection="shop",state="synced"}')" "" "no stale gauges"
bm_pg_start_again
scrape
bm_assert_eq "$(sample 'bookto_moneybird_database_up')" 1 "database_up 1 again once PostgreSQL is back"
bm_serve_stop
bm_done
