#!/usr/bin/env bash
# A large backlog on one connection (issue 15): a 100,000-order backlog
# drains at its rate budget's pace, and what each claim costs and serve's
# memory stay flat while it drains.
#
#   tests/bench/backlog_bench.sh [--short] [--orders N] [--rate R/S] [--sample SECONDS]
#
# One order is posted and synced (the buyer's contact then exists, so each
# order costs 3 calls: invoice, send, payment), then N orders (default
# 100,000) of that buyer are stored in SQL as the intake stores them (order
# copied from the first one, its delivery, its job), and serve drains them
# with 4 workers at R requests per S seconds (default 60/3, the simulator the
# same: slow enough that the drain is not CPU-bound on a shared 2-core
# machine). At N, N/2 and N/10 orders remaining it prints, over a sample of
# --sample seconds (default 30): orders booked, Moneybird calls per order,
# the calls the simulator saw (budget use: calls ÷ (rate × seconds); 1.00 =
# the budget's pace), serve's RSS; then, with serve stopped for a
# moment (SIGSTOP, outside any transaction) and the budget's window passed, the claim's cost: mean
# round trip of 100 claims (bm-claim-cost) and the buffers of one claim's
# plan; and `status --json`'s time. A full drain at the budget's pace would
# take hours, so between the samples the backlog is brought down in SQL
# (the newest waiting jobs marked done, their orders skipped, then VACUUM
# ANALYZE as autovacuum would) — the claim and serve see the backlog sizes
# a drain passes through.
# --short (CI, label "bench"): 2,000 orders, 5 s samples at 2,000 and 200
# remaining; checks correctness only (orders booked at each sample, no
# parked order, no 429, the claim reads jobs through indexes).
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=../integration/sync_lib.sh
source "$BENCH_DIR/../integration/sync_lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

orders=100000
rate=60/3
sample=30
bb_short() { orders=2000 sample=5; }
bb_args backlog_bench 2,31 "orders rate sample" "$@"
requests="${rate%%/*}" per_seconds="${rate##*/}"
CLAIM_COST="$BM_BUILD_DIR/bm-claim-cost"
if ((short)); then
	checkpoints=("$orders" $((orders / 10)))
else
	checkpoints=("$orders" $((orders / 2)) $((orders / 10)))
fi

bm_setup
sync_stack --no-serve "$rate" workers=4 rate_limit="$rate" log_level=warn
bm_serve_start
echo "# load before: $(uptime)"
sync_warmup tpl-1
CONN_ID="$(bm_psql "SELECT connection_id FROM orders WHERE order_id = 'tpl-1'")"

echo "# storing $orders orders of the same buyer"
gen_start="$(date +%s.%N)"
bm_psql "
WITH t AS (SELECT * FROM orders WHERE order_id = 'tpl-1'),
d AS (INSERT INTO deliveries (delivery_key, connection_id, source, received_at, event, body,
                              body_sha256, outcome, order_id)
      SELECT 'bl-' || g, t.connection_id, 'replay', now(), 'order.paid', '\\x7b7d'::bytea, 'bench',
             'accepted', 'bl-' || g
      FROM t, generate_series(1, $orders) g RETURNING id, order_id),
o AS (INSERT INTO orders (connection_id, order_id, order_number, is_test_order, payment_provider,
                          paid_at, currency, total_incl_cents, excl_vat_cents, vat_cents, vat_rate,
                          vat_treatment, product_name, product_description, buyer_first_name,
                          buyer_last_name, buyer_email, buyer_company, buyer_vat_number,
                          buyer_peppol_id, buyer_address, buyer_address2, buyer_postal_code,
                          buyer_city, buyer_country, custom_fields, match_ref, match_ref_derived,
                          first_delivery_id, state, received_at)
      SELECT t.connection_id, d.order_id, 'ORD-' || d.order_id, t.is_test_order,
             t.payment_provider, t.paid_at, t.currency, t.total_incl_cents, t.excl_vat_cents,
             t.vat_cents, t.vat_rate, t.vat_treatment, t.product_name, t.product_description,
             t.buyer_first_name, t.buyer_last_name, t.buyer_email, t.buyer_company,
             t.buyer_vat_number, t.buyer_peppol_id, t.buyer_address, t.buyer_address2,
             t.buyer_postal_code, t.buyer_city, t.buyer_country, t.custom_fields, t.match_ref,
             t.match_ref_derived, d.id, 'queued', now()
      FROM t, d RETURNING id)
INSERT INTO jobs (order_pk) SELECT id FROM o;
ANALYZE orders; ANALYZE jobs; ANALYZE deliveries;" >/dev/null
echo "# stored in $(awk -v a="$(date +%s.%N)" -v b="$gen_start" 'BEGIN { printf "%.1f", a - b }') s"

booked() { bm_count_orders "order_id LIKE 'bl-%' AND state IN ('synced', 'reconciled')"; }
waiting() {
	bm_psql "SELECT count(*) FROM jobs WHERE connection_id = $CONN_ID AND state = 'pending'"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$BM_SERVE_PID/status"; }
# down_to N: the backlog becomes N waiting jobs: the newest waiting jobs
# beyond N (never one a worker holds) are done and their orders skipped.
down_to() {
	bm_psql "WITH j AS (
		  SELECT id, order_pk FROM jobs WHERE connection_id = $CONN_ID AND state = 'pending'
		  AND lease_owner IS NULL ORDER BY id DESC
		  LIMIT greatest((SELECT count(*) FROM jobs WHERE connection_id = $CONN_ID
		                  AND state = 'pending') - $1, 0)
		  FOR UPDATE SKIP LOCKED),
		done AS (UPDATE jobs SET state = 'done', updated_at = now() FROM j WHERE jobs.id = j.id)
		UPDATE orders SET state = 'skipped', updated_at = now() FROM j WHERE orders.id = j.order_pk" >/dev/null
	bm_psql "VACUUM (ANALYZE) jobs" >/dev/null
	bm_psql "VACUUM (ANALYZE) orders" >/dev/null
}
# hold_serve: stops serve (SIGSTOP) at a moment when none of its database
# sessions is inside a statement or transaction, so it holds no lock the
# claim would wait for; release_serve lets it go on.
hold_serve() {
	local i busy
	for ((i = 0; i < 200; i++)); do
		kill -STOP "$BM_SERVE_PID"
		sleep 0.05
		busy="$(bm_psql "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'bookto-moneybird' AND state <> 'idle'")"
		[[ "$busy" == 0 ]] && return 0
		kill -CONT "$BM_SERVE_PID"
		sleep 0.$((RANDOM % 9 + 1))
	done
	bm_fail "serve could not be held outside a transaction"
}
release_serve() { kill -CONT "$BM_SERVE_PID"; }
claim_plan_buffers() {
	timeout 60 "$CLAIM_COST" "$BM_DATABASE_URL" 1 explain 2>"$BM_TMP/plan.all" >/dev/null ||
		bm_fail "bm-claim-cost explain failed: $(tail -n 3 "$BM_TMP/plan.all")"
	awk '/Query Text: WITH RECURSIVE active/ { on = 1; next } on && /NOTICE/ { exit } on' \
		"$BM_TMP/plan.all" >"$BM_TMP/plan.txt"
	grep -c "Seq Scan on jobs" "$BM_TMP/plan.txt" >"$BM_TMP/plan.seq" || true
	grep -m 1 "Buffers:" "$BM_TMP/plan.txt" | sed 's/^ *Buffers: //; s/ /_/g'
}

ROWS=()
seq_scans=0
for remaining in "${checkpoints[@]}"; do
	down_to "$remaining"
	# Past the burst of a budget left unused meanwhile (the short run checks
	# correctness only).
	((short)) || sleep "$((per_seconds + 1))"
	left="$(waiting)"
	booked0="$(booked)"
	bb_sim_fetch
	read -r calls0 _ <<<"$(bb_sim_requests)"
	start="$(date +%s.%N)"
	sleep "$sample"
	n=$(($(booked) - booked0))
	bb_sim_fetch
	read -r calls1 limited <<<"$(bb_sim_requests)"
	elapsed="$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')"
	rss="$(rss_kb)"
	calls=$((calls1 - calls0))
	use="$(awk -v c="$calls" -v r="$requests" -v p="$per_seconds" -v s="$elapsed" \
		'BEGIN { printf "%.2f", c / (r / p * s) }')"
	per_order="$(awk -v c="$calls" -v n="$n" 'BEGIN { printf "%.2f", (n > 0) ? c / n : 0 }')"
	status_s="$(
		s="$(date +%s.%N)"
		"$BM_BINARY" -c "$BM_CONFIG" status --json >/dev/null || bm_fail "status --json failed"
		awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN { printf "%.3f", a - b }'
	)"
	# The claim's own cost: serve held still, the budget's window passed.
	hold_serve
	sleep "$((per_seconds + 1))"
	timeout 120 "$CLAIM_COST" "$BM_DATABASE_URL" 100 >"$BM_TMP/claim.txt" 2>&1 ||
		{ release_serve; bm_fail "bm-claim-cost failed: $(tail -n 3 "$BM_TMP/claim.txt")"; }
	buffers="$(claim_plan_buffers)"
	release_serve
	seq_scans=$((seq_scans + $(cat "$BM_TMP/plan.seq")))
	claim_ms="$(awk -v u="$(bb_kv "$BM_TMP/claim.txt" claim_mean_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
	ROWS+=("$left|$n|$per_order|$calls|$use|$rss|$claim_ms|$(bb_kv "$BM_TMP/claim.txt" claimed)|$buffers|$status_s")
	echo "# $left waiting: $n booked in ${elapsed}s, budget use $use, RSS $rss kB, claim $claim_ms ms ($(uptime | sed 's/.*load average: //'))"
	((n > 0)) || bm_fail "no order was booked in ${elapsed}s with $left waiting"
	[[ "$limited" == 0 ]] || bm_fail "the simulator answered $limited requests with 429"
done
parked="$(bm_count_orders "state = 'needs_attention'")"
bm_serve_stop

echo
echo "== backlog benchmark: one connection, $orders orders, $rate, 4 workers ($(nproc) cores shared; load: $(uptime | sed 's/.*load average: //')) =="
row_fmt='%12s %12s %12s %11s %10s %12s %8s %10s\n'
# shellcheck disable=SC2059
printf "$row_fmt" "waiting jobs" "booked/${sample}s" "calls/order" "budget use" "RSS kB" \
	"claim ms" "claimed" "status s"
for row in "${ROWS[@]}"; do
	IFS='|' read -r left n per_order _ use rss claim_ms claimed buffers status_s <<<"$row"
	# shellcheck disable=SC2059
	printf "$row_fmt" "$left" "$n" "$per_order" "$use" "$rss" "$claim_ms" "$claimed" "$status_s"
done
for row in "${ROWS[@]}"; do
	IFS='|' read -r left _ _ _ _ _ _ _ buffers _ <<<"$row"
	echo "#   claim plan buffers at $left waiting: ${buffers//_/ }"
done
echo

bm_assert_eq "$parked" 0 "no order was parked"
bm_assert_eq "$seq_scans" 0 "the claim reads jobs through indexes at every backlog size"
bm_pass "orders were booked at every backlog size"
bm_done
