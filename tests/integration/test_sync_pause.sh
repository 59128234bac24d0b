#!/usr/bin/env bash
# A 401 from Moneybird pauses the connection instead of burning attempts
# (the job goes back untouched, no further order calls while paused) and the
# pause probe (every second here, testing.pause_probe_seconds=1)
# resumes it once calls succeed again. Then: leases held by a serve that is
# SIGKILLed mid-call are reclaimed by the next serve after they expire
# (testing.lease_seconds=3), with nothing duplicated.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_testing pause_probe_seconds=1 lease_seconds=3
sync_stack 300/10 workers=2 rate_limit=300/10

paused_at() {
	bm_psql "SELECT coalesce(paused_at::text, '') FROM connections WHERE name = 'shop'"
}

# ---- 401: pause, keep the jobs, resume
sim_faults '{"force_status": {"match": "*", "status": 401, "count": -1}}'
post_order pause-1 match_ref=NL600000006B01 vat_number=NL600000006B01 email=p@pause.example \
	company="Pause B.V."
for _ in $(seq 1 100); do
	[[ -n "$(paused_at)" ]] && break
	sleep 0.1
done
bm_assert_ne "$(paused_at)" "" "a 401 pauses the connection"
bm_assert_contains "$(bm_psql "SELECT paused_reason FROM connections WHERE name = 'shop'")" \
	"refused the API token (401)" "the pause names the refused token"
post_order pause-2 match_ref=NL600000006B01 vat_number=NL600000006B01 email=p@pause.example \
	company="Pause B.V."
sleep 5
bm_assert_eq "$(bm_psql "SELECT string_agg(state, ',' ORDER BY order_id) FROM orders")" queued,queued \
	"both orders wait, queued, while the connection is paused"
bm_assert_eq "$(bm_psql "SELECT max(attempts) FROM jobs")" 0 "no attempt was burned"
bm_assert_eq "$(sim_calls "GET tax_rates") $(sim_calls "GET contacts/customer_id/:customer_id")" "1 0" \
	"no order call was made after the 401 (the first, planning's tax rates)"
PROBES="$(sim_calls "GET administrations")"
((PROBES >= 2)) || bm_fail "the paused connection was probed $PROBES times in 5 s"
bm_pass "the paused connection is probed ($PROBES probes so far)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'connection_paused'")" 1 \
	"the pause is audited once"

sim_faults '{}'
wait_orders "state = 'synced'" 2 20
bm_assert_eq "$(paused_at)" "" "the connection resumed once the token worked"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'connection_resumed'")" 1 \
	"the resume is audited"
bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key NL600000006B01)")" 1 "one contact"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'sales_invoices')")" 2 "two invoices"
grep -q "event=connection_resumed" "$BM_TMP/connector.log" || bm_fail "no connection_resumed log line"
bm_pass "the resume is logged"

# ---- SIGKILL while a worker holds a lease; the next serve reclaims it
sim_faults '{"latency_ms": 4000}'
post_order lease-1 match_ref=NL700000007B01 vat_number=NL700000007B01 email=l@lease.example \
	company="Lease B.V."
wait_state lease-1 in_progress 10
sleep 1
serve_kill9
bm_assert_ne "$(bm_psql "SELECT coalesce(lease_owner, '') FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id = 'lease-1'")" "" "the killed serve left its lease behind"
sim_faults '{}'
bm_serve_start
wait_state lease-1 synced 30
bm_assert_eq "$(bm_psql "SELECT count(DISTINCT split_part(detail->>'worker', ':', 2)) FROM audit_log a
	JOIN orders o ON o.id = a.order_pk WHERE a.action = 'claimed' AND o.order_id = 'lease-1'")" 2 \
	"the order was claimed again by the new process"
bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key NL700000007B01)")" 1 \
	"one contact after the reclaimed lease"
bm_assert_eq "$(sim_invoices_with_reference ORD-lease-1)" 1 "one invoice after the reclaimed lease"
bm_assert_eq "$(sim_invoice_field ORD-lease-1 "jsonb_array_length(i->'payments')")" 1 \
	"one payment after the reclaimed lease"
bm_done
