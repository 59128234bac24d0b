#!/usr/bin/env bash
# kill -9 of serve in the middle of each Moneybird write: the simulator
# holds every request for 1.5 s (latency fault), serve is SIGKILLed as soon
# as the write under test has reached the simulator (which then applies
# it), and a new serve takes the order over once the lease expires
# (testing.lease_seconds=3). Every order ends synced with exactly
# one contact per buyer, one invoice, sent once, with one payment, and the
# interrupted write is never repeated.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_testing lease_seconds=3
sync_stack 300/10 workers=1 rate_limit=300/10

# crash_case NAME ROUTE MATCH_REF [ORDER_NUMBER]: posts an order, kills
# serve once ROUTE has been requested, restarts serve, and checks the
# outcome. ORDER_NUMBER (default ORD-NAME) is the invoice reference.
crash_case() {
	local name="$1" route="$2" ref="$3" number="${4:-ORD-$1}" before i
	before="$(sim_calls_fast "$route")"
	sim_faults '{"latency_ms": 1500}'
	post_order "$name" match_ref="$ref" vat_number="$ref" email="crash@crash.example" \
		company="Crash B.V." order_number="$number"
	for ((i = 0; i < 200; i++)); do
		(($(sim_calls_fast "$route") > before)) && break
		sleep 0.1
	done
	(($(sim_calls_fast "$route") > before)) || bm_fail "$name: $route was never requested"
	serve_kill9
	sleep 1.6 # the simulator finishes (applies) the held request
	sim_faults '{}'
	bm_serve_start
	wait_orders "order_id = '$name' AND state IN ('synced', 'needs_attention')" 1 40
	bm_assert_eq "$(order_value "$name" state)" synced "$name: synced after the crash"
	bm_assert_eq "$(($(sim_calls_fast "$route") - before))" 1 "$name: $route was not repeated"
	bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key "$ref")")" 1 "$name: one contact"
	bm_assert_eq "$(sim_invoices_with_reference "$number")" 1 "$name: one invoice"
	bm_assert_eq "$(sim_invoice_field "$number" "(i->>'state') || '/' || jsonb_array_length(i->'payments')")" \
		paid/1 "$name: paid, with one payment"
}

crash_case crash-contact "POST contacts" NL110000001B01
crash_case crash-invoice "POST sales_invoices" NL110000001B01
crash_case crash-send "PATCH sales_invoices/:id/send_invoice" NL110000001B01
crash_case crash-pay "POST sales_invoices/:id/payments" NL110000001B01
# Hostile identifiers: the crash between the invoice intent and its id, for
# an order whose id and number hold `,` `:` `|` `/` `%`, a space and
# non-ASCII (the reference cannot go into Moneybird's filter syntax).
crash_case "crash,h:1|%20 ü" "POST sales_invoices" NL110000001B01 'A,B:1|x/y%20 z-ü'

bm_assert_eq "$(sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'state' = 'paid' AND jsonb_array_length(i->'payments') = 1)")" 5 \
	"five paid invoices with one payment each"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'sales_invoices')")" 5 "and no other invoice"
bm_assert_eq "$(sim_calls "PATCH sales_invoices/:id/send_invoice")" 5 "five sends in all"
bm_done
