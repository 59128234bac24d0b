#!/usr/bin/env bash
# Sync benchmark: stored orders drained against the Moneybird simulator with
# its rate limit time-compressed (150 requests per 3 s instead of per 300 s)
# and the connector's rate_limit set to match.
#
#   tests/bench/sync_bench.sh [--short] [--orders N] [--returning N]
#                             [--workers N] [--rate REQUESTS/SECONDS] [--strict]
#                             [--fixed-amounts]
#
# Phase 1 stores N orders (default 2,000; 30 % from buyers never seen before,
# the rest repeat buyers) with the workers off, then starts serve with workers
# and times the drain. Phase 2 sends --returning more orders (default 200),
# all from buyers phase 1 created, and counts their calls alone. Prints
# Moneybird calls per order (returning buyers, and the mix), 429s received,
# and the drain time as a ratio to the theoretical minimum calls / rate.
# --rate changes the window of both (e.g. 100000/3 lifts it: a CPU ceiling).
# Orders are bm-ordergen's realistic ones (bm-loadgen --realistic: retail and
# business prices, all five vat treatments, private buyers and businesses,
# names in many scripts; only orders Moneybird can reproduce), and each
# invoice's total and tax are checked against bookto's; --fixed-amounts sends
# the old 121.00 order every time instead.
# Moneybird's webhooks are registered before the drain, so the simulator
# pushes payment_registered and sales_invoice_state_changed_to_paid for every
# order; a phase ends when every order is reconciled by its push and no
# event is left to apply, so the calls counted are all in: contact, invoice,
# send, payment and the handling of the webhooks.
# Reconciliation of 10,000 invoices is measured by reconcile_bench.sh.
# Exit status: 1 on a correctness failure (orders not drained, an
# order needing attention, invoice/payment counts not one per order);
# performance misses only fail with --strict. --short (CI, label "bench"):
# 100 + 20 orders, correctness only.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

orders=2000
returning=200
workers=4
short=0
strict=0
rate_requests=150
rate_seconds=3
realistic=(--realistic 8)
while (($# > 0)); do
	case "$1" in
	--short) short=1; orders=100; returning=20 ;;
	--orders) orders="$2"; shift ;;
	--returning) returning="$2"; shift ;;
	--workers) workers="$2"; shift ;;
	--rate)
		[[ "$2" =~ ^([0-9]+)/([0-9]+)$ ]] || { echo "sync_bench: --rate wants REQUESTS/SECONDS" >&2; exit 2; }
		rate_requests="${BASH_REMATCH[1]}" rate_seconds="${BASH_REMATCH[2]}"
		shift ;;
	--strict) strict=1 ;;
	--fixed-amounts) realistic=() ;;
	-h | --help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "sync_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
rate_per_s="$(awk -v r="$rate_requests" -v s="$rate_seconds" 'BEGIN { print r / s }')"

bm_setup
bm_pg_start
bm_mbsim_start --rate-limit "$rate_requests/$rate_seconds" --seed 8
# with_rate_limit: the connector's budget matches the simulator's window.
with_rate_limit() {
	sed -i "s|rate_limit = { requests = 150; per_seconds = 300; };|rate_limit = { requests = $rate_requests; per_seconds = $rate_seconds; };|" \
		"$BM_CONFIG"
	grep -q "per_seconds = $rate_seconds;" "$BM_CONFIG" || bm_fail "could not set rate_limit"
}
bm_write_config workers=0 log_level=info
with_rate_limit
bm_migrate
bm_serve_start

echo "# phase 1: storing $orders orders (30 % new buyers) with the workers off"
bb_loadgen "$BM_TMP/store.txt" --count "$orders" --concurrency 16 --new-buyers 300 --prefix sb \
	"${realistic[@]}"
stored="$(bb_kv "$BM_TMP/store.txt" status_200)"
bm_assert_eq "$stored" "$orders" "all $orders orders acknowledged"
bm_assert_eq "$(bm_count_orders)" "$orders" "all $orders orders stored"
new_buyers="$(bm_psql "SELECT count(DISTINCT match_ref) FROM orders")"
# Registered once (amortised: its calls are counted apart from the orders').
bb_sim_fetch
read -r calls_unregistered _ <<<"$(bb_sim_requests)"
"$BM_BINARY" -c "$BM_CONFIG" moneybird webhook register "$BM_URL/webhooks/moneybird/shop" \
	>"$BM_TMP/register.out" 2>&1 || { cat "$BM_TMP/register.out" >&2; bm_fail "webhook register failed"; }
bm_serve_stop

bb_sim_fetch
read -r calls_before _ <<<"$(bb_sim_requests)"
calls_register=$((calls_before - calls_unregistered))

# wait_webhooks_applied EXPECTED: until EXPECTED orders are reconciled (their
# paid push applied) and no Moneybird event is left to apply; prints the
# seconds waited.
wait_webhooks_applied() {
	local expected="$1" start left
	start="$(date +%s)"
	for ((;;)); do
		left="$(bm_psql "SELECT ($expected - (SELECT count(*) FROM orders WHERE state = 'reconciled'))
			+ (SELECT count(*) FROM moneybird_events WHERE status IN ('pending', 'waiting'))")"
		((left <= 0)) && break
		(($(date +%s) - start > 120)) && { echo "# webhooks: $left not applied after 120 s" >&2; break; }
		sleep 0.5
	done
	echo $(($(date +%s) - start))
}

echo "# draining with $workers workers at $rate_requests requests per ${rate_seconds}s"
sed -i "s/workers = { count = 0;/workers = { count = $workers;/" "$BM_CONFIG"
bm_serve_start
# What serve's database sessions wait for during the drain, sampled every
# 0.2 s: a lock (the audit chain's is advisory), WAL flushes, the client (a
# round trip inside a transaction), or nothing (CPU).
touch "$BM_TMP/sampling"
(
	while [[ -f "$BM_TMP/sampling" ]]; do
		bm_psql "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
			|| CASE WHEN state LIKE 'idle in transaction%' THEN ' (in transaction)' ELSE '' END
			FROM pg_stat_activity WHERE application_name = 'bookto-moneybird'
			AND state <> 'idle'" 2>/dev/null || true
		sleep 0.2
	done >"$BM_TMP/waits.txt"
) &
# Give up at 2.5 x the drain time of 4.4 calls per order.
drain_limit="$(awk -v n="$orders" -v r="$rate_per_s" 'BEGIN { printf "%d", n * 4.4 / r * 2.5 + 60 }')"
drained=1
drain_s="$(bb_wait_drained "$orders" "$drain_limit" soft)" || drained=0
rm -f "$BM_TMP/sampling"
[[ "$drained" == 0 ]] || webhooks_s="$(wait_webhooks_applied "$orders")"
bb_sim_fetch
read -r calls_mix limited_mix <<<"$(bb_sim_requests)"
calls_mix=$((calls_mix - calls_before))
synced_mix="$(bm_psql "SELECT count(*) FROM orders WHERE state IN ('synced', 'reconciled')")"
reconciled_mix="$(bm_psql "SELECT count(*) FROM orders WHERE state = 'reconciled'")"
events_applied="$(bm_psql "SELECT count(*) FROM moneybird_events WHERE status = 'applied'")"
# Jobs that could not wait in-process for the budget and were rescheduled.
deferred_mix="$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'deferred'")"
echo "# phase 1 requests by endpoint:"
bb_sim_by_endpoint
# Where the drain lost time against the budget: the calls made per budget
# window (the attempts rows, one per Moneybird call), the longest stretch
# without a call, and the jobs in flight on average (claim to synced; 4
# workers saturated read as about 4).
if [[ "$drained" == 1 ]]; then
	read -r use_mean use_min windows_low gap_max in_flight <<<"$(bm_psql "
	WITH span AS (SELECT min(at) AS t0, max(at) AS t1 FROM attempts),
	w AS (SELECT floor(extract(epoch FROM a.at - span.t0) / $rate_seconds) AS k, count(*) AS n
	      FROM attempts a, span GROUP BY 1),
	full_w AS (SELECT n FROM w, span
	           WHERE (k + 1) * $rate_seconds <= extract(epoch FROM span.t1 - span.t0)),
	gaps AS (SELECT at - lag(at) OVER (ORDER BY at) AS gap FROM attempts),
	flights AS (SELECT o.synced_at - min(l.at) AS took FROM orders o
	            JOIN audit_log l ON l.order_pk = o.id AND l.action = 'claimed'
	            WHERE o.synced_at IS NOT NULL GROUP BY o.id, o.synced_at)
	SELECT round(avg(n) / $rate_requests, 2), round(min(n)::numeric / $rate_requests, 2),
	       count(*) FILTER (WHERE n < 0.9 * $rate_requests) || '/' || count(*),
	       (SELECT round(extract(epoch FROM max(gap)) * 1000) FROM gaps),
	       (SELECT round((extract(epoch FROM sum(took)) / extract(epoch FROM t1 - t0))::numeric, 2)
	        FROM flights, span GROUP BY t0, t1)
	FROM full_w" | tr '|' ' ')"
fi

calls_returning=""
limited_all="$limited_mix"
if [[ "$drained" == 1 ]]; then
	echo "# phase 2: $returning orders from returning buyers"
	bb_loadgen "$BM_TMP/returning.txt" --count "$returning" --concurrency 8 --start "$orders" \
		--buyer-pool "$new_buyers" --prefix sb "${realistic[@]}"
	bm_assert_eq "$(bb_kv "$BM_TMP/returning.txt" status_200)" "$returning" \
		"all $returning returning-buyer orders acknowledged"
	bb_wait_drained $((orders + returning)) $((returning * 2 + 60)) >/dev/null
	wait_webhooks_applied $((orders + returning)) >/dev/null
	bb_sim_fetch
	read -r calls_all limited_all <<<"$(bb_sim_requests)"
	calls_returning=$((calls_all - calls_before - calls_mix))
else
	echo "# phase 1 did not drain within ${drain_limit}s: figures below are for the $synced_mix orders synced"
	returning=0
fi

total=$((orders + returning))
invoices="$(bb_sim_q "jsonb_array_length(s->'sales_invoices')")"
paid="$(bb_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE jsonb_array_length(coalesce(i->'payments', '[]'::jsonb)) = 1)")"
contacts="$(bb_sim_q "jsonb_array_length(s->'contacts')")"
# Each invoice against its order: Moneybird's total and tax equal bookto's.
wrong_totals="$(bb_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	JOIN orders o ON o.order_number = i->>'reference'
	WHERE round((i->>'total_price_incl_tax')::numeric * 100) <> o.total_incl_cents
	   OR (SELECT coalesce(round(sum((t->>'tax_amount')::numeric) * 100), 0)
	       FROM jsonb_array_elements(i->'tax_totals') t) <> o.vat_cents)")"

per_order_mix="$(awk -v c="$calls_mix" -v n="$synced_mix" 'BEGIN { if (n > 0) printf "%.2f", c / n }')"
per_order_returning="n/a"
[[ -z "$calls_returning" ]] ||
	per_order_returning="$(awk -v c="$calls_returning" -v n="$returning" 'BEGIN { printf "%.2f", c / n }')"
min_s="$(awk -v c="$calls_mix" -v r="$rate_per_s" 'BEGIN { printf "%.1f", c / r }')"
drain_ratio="n/a"
[[ "$drained" == 0 ]] ||
	drain_ratio="$(awk -v d="$drain_s" -v m="$min_s" 'BEGIN { if (m > 0) printf "%.2f", d / m }')"


echo
echo "== sync benchmark ($(nproc) cores, $orders orders + $returning returning, $workers workers, rate $rate_requests/${rate_seconds}s) =="
bb_row "figure" "measured" "target" "verdict"
bb_row "new buyers (distinct match_ref)" "$new_buyers"
bb_row "orders synced in phase 1" "$synced_mix" "= $orders" "$([[ "$synced_mix" == "$orders" ]] && echo PASS || echo MISS)"
bb_row "webhook registration calls (once)" "$calls_register"
bb_row "orders reconciled by webhook, mix" "$reconciled_mix" "= $orders" "$([[ "$reconciled_mix" == "$orders" ]] && echo PASS || echo MISS)"
bb_row "webhook events applied, mix" "$events_applied"
bb_row "webhooks applied after drain (s)" "${webhooks_s:-n/a}"
bb_row "Moneybird calls, mix (all in)" "$calls_mix"
bb_row "calls per order, mix (all in)" "$per_order_mix" "<= 3.3" "$(bb_verdict "$per_order_mix" '<=' 3.3)"
bb_row "calls per order, returning (all in)" "$per_order_returning" "<= 3.0" "$(bb_verdict "$per_order_returning" '<=' 3.0)"
bb_row "429s received" "$limited_all" "0" "$(bb_verdict "$limited_all" '<=' 0)"
bb_row "jobs deferred for the rate limit, mix" "$deferred_mix"
bb_row "drain time (s)" "$drain_s"
bb_row "theoretical minimum calls/rate (s)" "$min_s"
bb_row "drain time / minimum" "$drain_ratio" "<= 1.05" "$(bb_verdict "$drain_ratio" '<=' 1.05)"
bb_row "budget use per ${rate_seconds} s window, mean / min" "${use_mean:-n/a} / ${use_min:-n/a}"
bb_row "windows below 90 % of the budget" "${windows_low:-n/a}"
bb_row "longest stretch without a call (ms)" "${gap_max:-n/a}"
bb_row "jobs in flight on average" "${in_flight:-n/a}" "(of $workers workers)"
echo "# serve's busy database sessions during the drain, by what they waited for (samples):"
sort "$BM_TMP/waits.txt" | uniq -c | sort -rn | head -n 6 | sed 's/^ */#   /'
echo "# load: $(uptime | sed 's/.*load average: //')"
bb_row "invoices in Moneybird" "$invoices" "= $total" "$([[ "$invoices" == "$total" ]] && echo PASS || echo MISS)"
bb_row "invoices with exactly one payment" "$paid" "= $total" "$([[ "$paid" == "$total" ]] && echo PASS || echo MISS)"
bb_row "contacts in Moneybird" "$contacts" "= $new_buyers" "$([[ "$contacts" == "$new_buyers" ]] && echo PASS || echo MISS)"
bb_row "invoices off bookto's total or VAT" "$wrong_totals" "0" "$(bb_verdict "$wrong_totals" '<=' 0)"
bb_row "reconcile 10,000 invoices" "(see reconcile_bench.sh)"
echo

bm_assert_eq "$drained" 1 "phase 1 drained within ${drain_limit}s"
bm_assert_eq "$invoices" "$total" "one invoice per order"
bm_assert_eq "$paid" "$total" "one payment per invoice"
bm_assert_eq "$contacts" "$new_buyers" "one contact per buyer"
bm_assert_eq "$wrong_totals" 0 "every invoice's total and tax equal bookto's"
if [[ "$strict" == 1 && "$short" == 0 ]]; then
	for v in "$(bb_verdict "$per_order_mix" '<=' 3.3)" "$(bb_verdict "$per_order_returning" '<=' 3.0)" \
		"$(bb_verdict "$limited_all" '<=' 0)" "$(bb_verdict "$drain_ratio" '<=' 1.05)"; do
		[[ "$v" == PASS ]] || bm_fail "a performance target was missed (--strict)"
	done
	bm_pass "performance targets met"
fi
bm_serve_stop
bm_done
