#!/usr/bin/env bash
# Storms: the simulator allows only 8 requests per 2 s while the connector's
# budget is configured far larger (300/10), so Moneybird's 429s do the
# limiting: every order is retried at the reset epoch and none is lost or
# duplicated. Then a burst of random 5xx answers over several orders, and a
# poison order (a contact the simulator always refuses with 422) that parks
# at once without holding up the orders around it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 8/2 workers=3 rate_limit=300/10

# ---- 429 storm: 12 orders of 3 new buyers at once
for i in $(seq 1 12); do
	b=$((i % 3))
	post_order "storm-$i" match_ref="NL90000000${b}B01" vat_number="NL90000000${b}B01" \
		email="b$b@storm.example" company="Storm $b B.V."
done
wait_orders "order_id LIKE 'storm-%' AND state IN ('synced', 'needs_attention')" 12 80
bm_assert_eq "$(bm_count_orders "order_id LIKE 'storm-%' AND state = 'synced'")" 12 \
	"429 storm: all 12 orders are synced"
LIMITED="$(sim_q "(s->'requests'->>'rate_limited')::int")"
TOTAL="$(sim_q "(s->'requests'->>'total')::int")"
echo "# 429 storm: $LIMITED of $TOTAL requests were answered 429"
((LIMITED > 0)) || bm_fail "the simulator answered no 429: the storm did not happen"
bm_pass "the simulator rate-limited $LIMITED requests"
((LIMITED * 2 < TOTAL)) || bm_fail "$LIMITED of $TOTAL requests were 429s: the connector hammers instead of waiting"
bm_pass "the connector waited for the reset instead of hammering"
for b in 0 1 2; do
	bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key "NL90000000${b}B01")")" 1 \
		"429 storm: one contact for buyer $b"
done
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' LIKE 'ORD-storm-%')")" 12 "429 storm: exactly 12 invoices"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'state' = 'paid' AND jsonb_array_length(i->'payments') = 1)")" 12 \
	"429 storm: each paid with exactly one payment"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM attempts WHERE outcome = 'rate_limited'")" "$LIMITED" \
	"every 429 is recorded as a rate_limited attempt"
bm_assert_eq "$(bm_psql "SELECT max(j.attempts) FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id LIKE 'storm-%'")" 1 "a 429 defers the order without counting an attempt"
bm_assert_ne "$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'deferred'")" 0 \
	"the deferrals are audited"

# ---- a burst of 5xx answers while 8 orders arrive, then calm
sim_faults '{"error_rate": 0.5}'
for i in $(seq 1 8); do
	post_order "burst-$i" match_ref=NL900000000B01 vat_number=NL900000000B01 \
		email=b0@storm.example company="Storm 0 B.V."
done
sleep 4
sim_faults '{}'
wait_orders "order_id LIKE 'burst-%' AND state IN ('synced', 'needs_attention')" 8 60
bm_assert_eq "$(bm_count_orders "order_id LIKE 'burst-%' AND state = 'synced'")" 8 \
	"5xx burst: all 8 orders are synced"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' LIKE 'ORD-burst-%' AND i->>'state' = 'paid'
	AND jsonb_array_length(i->'payments') = 1)")" 8 "5xx burst: 8 paid invoices with one payment each"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' LIKE 'ORD-burst-%')")" 8 "5xx burst: no duplicate invoice"
FAILED="$(bm_psql "SELECT count(*) FROM attempts a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id LIKE 'burst-%' AND a.outcome IN ('transient', 'unknown_outcome')")"
((FAILED > 0)) || bm_fail "the 5xx burst caused no failed call: the fault did not bite"
bm_pass "the burst caused $FAILED failed calls, all recovered"

# ---- a poison order among good ones
START="$(date +%s)"
post_order poison-1 match_ref=NL999999999B01 vat_number=NL999999999B01 email=poison@localhost \
	company="Poison B.V."
for i in $(seq 1 4); do
	post_order "good-$i" match_ref=NL900000001B01 vat_number=NL900000001B01 \
		email=b1@storm.example company="Storm 1 B.V."
done
wait_orders "order_id LIKE 'good-%' AND state = 'synced'" 4 30
ELAPSED=$(($(date +%s) - START))
wait_state poison-1 needs_attention 20
bm_assert_contains "$(order_value poison-1 last_error)" "send_invoices_to_email" \
	"the poison order is parked with Moneybird's reason"
bm_assert_eq "$(bm_psql "SELECT j.attempts FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id = 'poison-1'")" 1 "a 422 parks at the first attempt"
bm_assert_eq "$(sim_contacts_with tax_number NL999999999B01)" 0 "no contact for the poison order"
((ELAPSED <= 20)) || bm_fail "the good orders took ${ELAPSED}s next to the poison order"
bm_pass "the 4 good orders synced in ${ELAPSED}s next to the poison order"
bm_done
