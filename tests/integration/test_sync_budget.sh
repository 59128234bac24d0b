#!/usr/bin/env bash
# A backlog behind the shared rate budget: the connector's budget allows 4
# calls per 2 s (Moneybird itself would allow far more), 3 workers and 16
# orders of one returning buyer arrive at once. Waiting for the budget is
# not a failure: no order may burn its attempts (max_attempts is 15, and a
# waiting order is claimed again at every window) or be parked, Moneybird never
# answers 429, and every order ends with one paid invoice.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=3 rate_limit=4/2

BUYER=(match_ref=NL130000001B01 vat_number=NL130000001B01 email=q@queue.example company="Queue B.V.")
sync_warmup budget-warmup "${BUYER[@]}"

PIDS=()
for i in $(seq 1 16); do
	post_order "budget-$i" "${BUYER[@]}" &
	PIDS+=($!)
done
for pid in "${PIDS[@]}"; do
	wait "$pid" || bm_fail "posting an order failed"
done
bm_assert_eq "$(bm_count_orders "order_id LIKE 'budget-%'")" 17 "all 16 orders were accepted"
START="$(date +%s)"
wait_orders "order_id LIKE 'budget-%' AND state IN ('synced', 'needs_attention')" 17 90
echo "# 16 orders behind a 4-per-2-s budget settled in $(($(date +%s) - START)) s"
bm_assert_eq "$(bm_count_orders "state = 'needs_attention'")" 0 "no order was parked while waiting"
bm_assert_eq "$(bm_count_orders "order_id LIKE 'budget-%' AND state = 'synced'")" 17 "all orders are synced"
MAX_ATTEMPTS="$(bm_psql "SELECT max(attempts) FROM jobs")"
((MAX_ATTEMPTS <= 3)) || bm_fail "waiting for the budget burned attempts: a job reached $MAX_ATTEMPTS"
bm_pass "waiting for the budget burns no attempt (max $MAX_ATTEMPTS per job)"
bm_assert_eq "$(sim_q "(s->'requests'->>'rate_limited')::int")" 0 "Moneybird answered no 429"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'state' = 'paid' AND jsonb_array_length(i->'payments') = 1)")" 17 \
	"17 paid invoices with one payment each"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'sales_invoices')")" 17 "and no duplicate"
COUNT_IN_WINDOW="$(bm_psql "SELECT max(n) FROM (SELECT count(*) OVER (ORDER BY at
	RANGE BETWEEN interval '2 seconds' PRECEDING AND CURRENT ROW) AS n FROM rate_budget_calls) w")"
((COUNT_IN_WINDOW <= 4)) || bm_fail "$COUNT_IN_WINDOW calls were granted within one 2 s window"
bm_pass "at most 4 calls were granted in any 2 s window ($COUNT_IN_WINDOW)"
bm_done
