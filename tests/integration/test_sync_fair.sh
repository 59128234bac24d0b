#!/usr/bin/env bash
# A backlog waiting for its budget costs nothing, and does not delay another
# administration. Two administrations with their own tokens: A's budget
# (3000 calls per 30 s) has just been spent in full when a backlog of 300
# A orders arrives; then B's orders arrive one at a time. While A has no
# budget, none of A's jobs is claimed (no claim, no audit row, no attempt),
# and each B order is booked within 1 s of arriving. When A's window
# reopens, A's whole backlog is booked, each order exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
source "$(dirname "$0")/fair_lib.sh"

A_ORDERS=300
bm_setup
sync_start --rate-limit 3300/30
fair_sim2_start
fair_config 3000/30 150/300 workers=4
bm_migrate
bm_serve_start

fair_exhaust "$BM_MBSIM_TOKEN" 3000
EXHAUSTED_AT="$(date +%s)"
fair_post shop a "$A_ORDERS"
bm_assert_eq "$(bm_count_orders "order_id LIKE 'a-%'")" "$A_ORDERS" "A's backlog was accepted"
A_AUDIT_BEFORE="$(fair_audit_rows shop)"
A_CALLS_BEFORE="$(sim_q "(s->'requests'->>'total')::int")"

for i in 1 2 3 4 5; do
	MS="$(fair_one idle "b$i" 10)"
	echo "# B order $i booked $MS ms after it arrived (A: $A_ORDERS orders waiting, no budget)"
	((MS <= 1000)) || bm_fail "B's order $i took $MS ms while A's backlog waited"
done
bm_pass "every B order was booked within 1 s while A's backlog waited"

sleep 2 # the workers keep polling: give them time to touch A's backlog
USED="$(fair_budget_used "$BM_MBSIM_TOKEN" 30)"
if (($(date +%s) - EXHAUSTED_AT >= 28 || USED < 3000)); then
	bm_fail "A's budget reopened before the checks ($USED calls in the window): too slow here"
fi
bm_assert_eq "$(fair_claims shop)" 0 "no job of A was claimed while A had no budget"
bm_assert_eq "$(fair_audit_rows shop)" "$A_AUDIT_BEFORE" "and no audit row was written for A's backlog"
bm_assert_eq "$(bm_psql "SELECT coalesce(sum(j.attempts), 0) FROM jobs j
	JOIN orders o ON o.id = j.order_pk WHERE o.order_id LIKE 'a-%'")" 0 \
	"no attempt was counted on A's waiting jobs"
bm_assert_eq "$(bm_count_orders "order_id LIKE 'a-%' AND state <> 'queued'")" 0 \
	"A's orders are still queued"
bm_assert_eq "$(sim_q "(s->'requests'->>'total')::int")" "$A_CALLS_BEFORE" \
	"A's Moneybird saw no call while A had no budget"

START="$(date +%s)"
wait_orders "order_id LIKE 'a-%' AND state = 'synced'" "$A_ORDERS" 150
echo "# A's backlog of $A_ORDERS was booked $(($(date +%s) - START)) s after the checks" \
	"($(($(date +%s) - EXHAUSTED_AT)) s after its budget was spent)"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'sales_invoices')")" "$A_ORDERS" \
	"A's administration holds one invoice per order"
bm_assert_eq "$(sim_q "(SELECT count(DISTINCT i->>'reference')
	FROM jsonb_array_elements(s->'sales_invoices') i)")" "$A_ORDERS" "and no order was booked twice"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN connections c ON c.id = a.connection_id
	WHERE c.name = 'shop' AND a.action = 'synced'")" "$A_ORDERS" "one synced audit row per A order"
bm_assert_eq "$(sim_q "(s->'requests'->>'rate_limited')::int")" 0 "Moneybird answered no 429"
bm_done
