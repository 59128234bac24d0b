#!/usr/bin/env bash
# A paid push that arrives before the connector has stored the invoice id:
# the invoice create is applied in Moneybird but its answer is lost
# (apply_then_drop), so the order waits for a retry with only the invoice
# reference committed. The push for that invoice is kept `waiting`, and is
# applied (order reconciled) once the retry has adopted the invoice and the
# order is synced. Pushes here are crafted by the test and signed with the
# secret `webhook register` stored; the simulator's own webhook is removed so
# that only the early push can reconcile the order.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_testing backoff_base_seconds=10
bm_stack --mbsim -- workers=1

rc_register_webhook
webhook_id="$(rc_sim_q "s->'webhooks'->0->>'id'")"
rc_api DELETE "webhooks/$webhook_id"
bm_assert_eq "$RC_STATUS" 204 "the simulator's webhook is removed (the stored secret stays)"
token="$(bm_psql "SELECT moneybird_webhook_token FROM connections WHERE name = 'shop'")"
secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"

rc_sim_post /_sim/faults '{"apply_then_drop": {"match": "POST sales_invoices", "count": 1}}' >/dev/null
rc_post_order early-1
rc_wait_sql "SELECT state || '/' || (invoice_reference IS NOT NULL) || '/' || (moneybird_invoice_id IS NULL)
	FROM orders WHERE order_id = 'early-1'" "retrying/true/true" 20
bm_pass "the invoice create's answer was lost: reference committed, no invoice id yet"
invoice="$(rc_sim_q "(SELECT i->>'id' FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' = 'ORD-early-1')")"
[[ -n "$invoice" ]] || bm_fail "the simulator has no invoice with reference ORD-early-1"

push="$BM_TMP/push.json"
rc_push_json "$push" sales_invoice_state_changed_to_paid "$invoice" ORD-early-1 paid "$token"
now="$(date +%s)"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" early-key
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"accepted"}' "the early paid push is accepted"
rc_wait_sql "SELECT status FROM moneybird_events WHERE idempotency_key = 'early-key'" waiting 10
bm_assert_contains "$(bm_psql "SELECT note FROM moneybird_events WHERE idempotency_key = 'early-key'")" \
	"invoice id is not stored yet" "it waits for the invoice id"
bm_assert_ne "$(rc_order early-1 state)" reconciled "the order is not reconciled before it is synced"

rc_wait_state early-1 reconciled 40
bm_pass "after the retry adopted the invoice and synced the order, the early push reconciled it"
bm_assert_eq "$(rc_order early-1 moneybird_invoice_id)" "$invoice" "the adopted invoice is the pushed one"
bm_assert_eq "$(bm_psql "SELECT status || '/' || (order_pk IS NOT NULL) FROM moneybird_events
	WHERE idempotency_key = 'early-key'")" "applied/true" "the push is applied to the order"
bm_assert_eq "$(rc_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' = 'ORD-early-1')")" 1 "one invoice in Moneybird"

# A push for an invoice with an unknown reference is ignored, not kept waiting.
rc_push_json "$push" sales_invoice_state_changed_to_paid 999000000000000009 ORD-elsewhere paid "$token"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" other-key
rc_wait_sql "SELECT status FROM moneybird_events WHERE idempotency_key = 'other-key'" ignored 10
bm_pass "a push about an invoice the connector did not create is recorded and ignored"
bm_serve_stop
bm_done
