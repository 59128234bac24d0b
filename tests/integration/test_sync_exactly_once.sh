#!/usr/bin/env bash
# Exactly once under lost answers (compressed rate window 300/10): for the
# invoice create, the send and the payment, the simulator applies the
# request and then drops the connection, or applies it and answers 502.
# After the retries each order has exactly one invoice, sent once, with one
# payment, and the write that lost its answer was never repeated (the next
# attempt looked it up and adopted it), also when find_by_reference sees
# drafts. (5xx bursts and 429 storms: test_sync_storms.sh.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=2 rate_limit=300/10

BUYER=(match_ref=NL800000008B01 vat_number=NL800000008B01 email=x@once.example company="Once B.V.")
sync_warmup once-warmup "${BUYER[@]}"

CREATE="POST sales_invoices"
SEND="PATCH sales_invoices/:id/send_invoice"
PAY="POST sales_invoices/:id/payments"

# sim_snapshot REF: one read of the simulator state as
# "faults_armed|invoices|payments|state|id|creates|sends|pays" for the
# invoice with reference REF.
sim_snapshot() {
	sim_q "(SELECT count(*) FROM jsonb_each(s->'faults') f
		WHERE jsonb_typeof(f.value) = 'object' AND (f.value->>'count')::int <> 0) || '|' ||
		(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
		 WHERE i->>'reference' = '$1') || '|' ||
		coalesce((SELECT jsonb_array_length(i->'payments') || '|' || (i->>'state') || '|' ||
		 (i->>'id') FROM jsonb_array_elements(s->'sales_invoices') i
		 WHERE i->>'reference' = '$1' LIMIT 1), '||') || '|' ||
		coalesce((s->'requests'->'by_endpoint'->>'$CREATE')::int, 0) || '|' ||
		coalesce((s->'requests'->'by_endpoint'->>'$SEND')::int, 0) || '|' ||
		coalesce((s->'requests'->'by_endpoint'->>'$PAY')::int, 0)"
}

# fault_case NAME FAULT_JSON [ORDER_NUMBER]: one order under the fault;
# asserts exactly one invoice, one send request, one payment request, and
# one payment. ORDER_NUMBER (default ORD-NAME) is the invoice reference.
fault_case() {
	local name="$1" ref="${3:-ORD-$1}" armed invoices payments state id creates0 sends0 pays0 creates sends pays
	IFS='|' read -r _ _ _ _ _ creates0 sends0 pays0 <<<"$(sim_snapshot none)"
	sim_faults "$2"
	post_order "$name" "${BUYER[@]}" order_number="$ref"
	wait_orders "order_id = '$name' AND state IN ('synced', 'needs_attention')" 1 30
	bm_assert_eq "$(order_value "$name" state)" synced "$name: synced"
	IFS='|' read -r armed invoices payments state id creates sends pays <<<"$(sim_snapshot "$ref")"
	bm_assert_eq "$armed" 0 "$name: the fault fired"
	bm_assert_eq "$invoices" 1 "$name: exactly one invoice"
	bm_assert_eq "$((creates - creates0))" 1 "$name: the invoice was created once"
	bm_assert_eq "$((sends - sends0))" 1 "$name: the invoice was sent once"
	bm_assert_eq "$((pays - pays0))" 1 "$name: the payment was registered once"
	bm_assert_eq "$payments" 1 "$name: one payment"
	bm_assert_eq "$state" paid "$name: the invoice is paid"
	bm_assert_eq "$(bm_psql "SELECT moneybird_invoice_id || '|' || (SELECT count(*) FROM attempts a
		WHERE a.order_pk = o.id AND a.outcome = 'unknown_outcome') FROM orders o
		WHERE o.order_id = '$name'")" "$id|1" \
		"$name: the order records that invoice, and one unknown outcome"
}

fault_case once-create-drop "{\"apply_then_drop\": {\"match\": \"$CREATE\", \"count\": 1}}"
bm_assert_eq "$(bm_psql "SELECT detail->>'how' FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'once-create-drop' AND action = 'invoice_recorded'")" adopted \
	"the dropped invoice create was adopted, not repeated"
fault_case once-create-502 "{\"apply_then_status\": {\"match\": \"$CREATE\", \"status\": 502, \"count\": 1}}"
fault_case once-send-drop "{\"apply_then_drop\": {\"match\": \"$SEND\", \"count\": 1}}"
fault_case once-send-502 "{\"apply_then_status\": {\"match\": \"$SEND\", \"status\": 502, \"count\": 1}}"
fault_case once-pay-drop "{\"apply_then_drop\": {\"match\": \"$PAY\", \"count\": 1}}"
bm_assert_eq "$(bm_psql "SELECT detail->>'how' FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'once-pay-drop' AND action = 'payment_recorded'")" adopted \
	"the dropped payment was adopted, not repeated"
fault_case once-pay-502 "{\"apply_then_status\": {\"match\": \"$PAY\", \"status\": 502, \"count\": 1}}"

# ---- the same with find_by_reference seeing drafts (Moneybird may)
fault_case once-create-drop-fbr "{\"find_by_reference_drafts\": true, \"apply_then_drop\": {\"match\": \"$CREATE\", \"count\": 1}}"

# ---- hostile identifiers: an order id and number with `,` `:` `|` `/` `%`,
# a space and non-ASCII, which Moneybird's filter syntax cannot carry and
# which must be percent-encoded in a URL path. The reference is the order
# number; the draft lookup after the lost answer compares it exactly.
HOSTILE='A,B:1|x/y%20 z-ü'
fault_case "h,1:x|%20 ü" "{\"apply_then_drop\": {\"match\": \"$CREATE\", \"count\": 1}}" "$HOSTILE"
fault_case "h,2:x|%20 ü" "{\"find_by_reference_drafts\": true, \"apply_then_status\": {\"match\": \"$CREATE\", \"status\": 502, \"count\": 1}}" "$HOSTILE-2"
fault_case "h,3:x|%20 ü" "{\"apply_then_drop\": {\"match\": \"$PAY\", \"count\": 1}}" "$HOSTILE-3"
bm_assert_eq "$(sim_q "(SELECT i->'payments'->0->>'transaction_identifier' FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' = '$HOSTILE-3')")" "h,3:x|%20 ü" "the payment carries the hostile order id verbatim"
sim_faults '{}'

# ---- everything at once: one contact for the buyer, one invoice per order
bm_assert_eq "$(sim_contacts_with customer_id "$(customer_key NL800000008B01)")" 1 "one contact in all"
bm_assert_eq "$(sim_q "(SELECT count(*) - count(DISTINCT i->>'reference') FROM jsonb_array_elements(s->'sales_invoices') i)")" 0 \
	"no reference has two invoices"
bm_done
