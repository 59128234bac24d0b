#!/usr/bin/env bash
# One contact per buyer under concurrency (compressed rate window 300/10):
# 20 orders of one new buyer posted at once to a serve with 4 workers; the
# same with two serve processes (4 workers each) on one database; and a
# contact create that the simulator applies and then drops the answer of.
# Each ends with exactly one contact for the buyer in the simulator.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=4 rate_limit=300/10

# post_many PREFIX N MATCH_REF [URL]: N orders of one buyer, posted at once.
post_many() {
	local i pids=() url="${4:-$BM_URL}"
	for ((i = 1; i <= $2; i++)); do
		(
			BM_URL="$url"
			post_order "$1-$i" match_ref="$3" vat_number="$3" email="buyer@$1.example" \
				company="Buyer $1"
		) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || bm_fail "posting an order of $1 failed"
	done
}

# ---- 20 concurrent orders of one new buyer, one process
post_many p1 20 NL100000001B01
wait_settled 20 60
bm_assert_eq "$(bm_count_orders "order_id LIKE 'p1-%' AND state = 'synced'")" 20 "all 20 orders are synced"
KEY="$(customer_key NL100000001B01)"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY")" 1 "one contact for the buyer of 20 concurrent orders"
bm_assert_eq "$(sim_calls "POST contacts")" 1 "exactly one contact create"
bm_assert_eq "$(bm_psql "SELECT count(DISTINCT moneybird_contact_id) FROM orders WHERE order_id LIKE 'p1-%'")" 1 \
	"all 20 orders use the same contact"
bm_assert_eq "$(sim_q "(SELECT count(DISTINCT i->>'reference') FROM jsonb_array_elements(s->'sales_invoices') i)")" 20 \
	"20 invoices with 20 distinct references"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i WHERE i->>'state' = 'paid')")" 20 \
	"all 20 invoices are paid"
bm_assert_eq "$(bm_psql "SELECT count(DISTINCT d.detail->>'worker') > 1 FROM audit_log d WHERE d.action = 'claimed'")" t \
	"more than one worker took part"

# ---- a contact create applied, then its answer dropped
sim_faults '{"apply_then_drop": {"match": "POST contacts", "count": 1}}'
post_order drop-1 match_ref=NL200000002B01 vat_number=NL200000002B01 email=drop@drop.example \
	company="Drop B.V."
wait_state drop-1 synced 30
KEY="$(customer_key NL200000002B01)"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY")" 1 "one contact after the dropped answer"
bm_assert_eq "$(sim_calls "POST contacts")" 2 "the dropped create was not repeated"
bm_assert_eq "$(bm_psql "SELECT resolution FROM contacts WHERE match_ref = 'NL200000002B01'")" \
	found_by_customer_id "the retry found the contact by its customer_id"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM attempts a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'drop-1' AND a.outcome = 'unknown_outcome'")" 1 \
	"the dropped answer is recorded as an unknown outcome"
sim_faults '{}'

# ---- two serve processes on one database, 20 orders of one new buyer
serve2_start
post_many p3 10 NL300000003B01 &
FIRST=$!
post_many p3b 10 NL300000003B01 "$BM_SERVE2_URL"
wait "$FIRST" || bm_fail "posting to the first serve failed"
wait_orders "order_id LIKE 'p3%' AND state IN ('synced', 'needs_attention')" 20 60
bm_assert_eq "$(bm_count_orders "order_id LIKE 'p3%' AND state = 'synced'")" 20 \
	"two processes: all 20 orders are synced"
KEY="$(customer_key NL300000003B01)"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY")" 1 "two processes: one contact for the buyer"
bm_assert_eq "$(sim_calls "POST contacts")" 3 "two processes: one more contact create"
PIDS="$(bm_psql "SELECT count(DISTINCT split_part(d.detail->>'worker', ':', 2)) FROM audit_log d
	JOIN orders o ON o.id = d.order_pk WHERE d.action = 'claimed' AND o.order_id LIKE 'p3%'")"
bm_assert_eq "$PIDS" 2 "both processes claimed orders"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'sales_invoices')")" 41 "41 invoices in all (20 + 1 + 20)"
bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE jsonb_array_length(i->'payments') <> 1)")" 0 "every invoice has exactly one payment"
serve2_stop
bm_done
