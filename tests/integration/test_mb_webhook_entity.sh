#!/usr/bin/env bash
# A verified push is applied from the invoice it carries, with no GET of the
# invoice, when its version is not older than the one stored; an older push
# or one without a usable entity (no version) costs one GET. The simulator
# pushes payment_registered and sales_invoice_state_changed_to_paid with the
# invoice as it is after the payment (Moneybird's payment-webhook guide);
# the older and incomplete pushes are crafted and signed with the stored
# secret.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_stack --mbsim --webhook-retry-seconds 1 -- workers=1

rc_register_webhook
token="$(bm_psql "SELECT moneybird_webhook_token FROM connections WHERE name = 'shop'")"
secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
invoice_gets() { rc_sim_q "coalesce((s->'requests'->'by_endpoint'->>'GET sales_invoices/:id')::int, 0)"; }

# --- the simulator's own pushes: applied from their entity
rc_post_order ent-1
rc_wait_state ent-1 reconciled 30
rc_wait_sql "SELECT count(*) FROM moneybird_events WHERE status IN ('pending', 'waiting')" 0 10
bm_assert_eq "$(bm_psql "SELECT string_agg(action || ':' || status, ',' ORDER BY id) FROM moneybird_events")" \
	"contact_created:applied,payment_registered:applied,sales_invoice_state_changed_to_paid:applied" \
	"both pushes applied (and the new buyer's contact_created, kept in the contact index)"
bm_assert_eq "$(invoice_gets)" 0 "no GET of the invoice: the pushes' entity was applied"
invoice="$(rc_order ent-1 moneybird_invoice_id)"
version="$(rc_order ent-1 invoice_version)"
bm_assert_eq "$version" "$(rc_sim_q "(SELECT i->>'version' FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'id' = '$invoice')")" "the stored version is the pushed invoice's"

# push FILE KEY: signs and posts FILE, waits until it is applied.
push() {
	local now
	now="$(date +%s)"
	rc_post_mb "$1" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$1")" "$2"
	bm_assert_eq "$BM_STATUS" 200 "push $2 accepted"
	rc_wait_sql "SELECT status FROM moneybird_events WHERE idempotency_key = '$2'" applied 10
}

# --- a newer push: still no GET
file="$BM_TMP/push.json"
rc_push_json "$file" sales_invoice_state_changed_to_paid "$invoice" ORD-ent-1 paid "$token"
sed -i "s/\"version\":1700000000/\"version\":$((version + 5))/" "$file"
push "$file" newer-key
bm_assert_eq "$(invoice_gets)" 0 "a newer complete push is applied with no GET"
bm_assert_eq "$(rc_order ent-1 invoice_version)" $((version + 5)) "its version is stored"

# --- an older push (version below the stored one): fetched, not believed
rc_push_json "$file" payment_destroyed "$invoice" ORD-ent-1 open "$token"
sed -i "s/\"version\":1700000000/\"version\":$((version - 100))/" "$file"
push "$file" older-key
bm_assert_eq "$(invoice_gets)" 1 "an older push costs one GET"
bm_assert_eq "$(rc_order ent-1 state)" reconciled "the stale 'open' is not applied: the order stays reconciled"

# --- an incomplete push (no version): fetched
rc_push_json "$file" payment_registered "$invoice" ORD-ent-1 paid "$token"
sed -i 's/,"version":1700000000//' "$file"
push "$file" incomplete-key
bm_assert_eq "$(invoice_gets)" 2 "a push without a version costs one GET"
bm_assert_eq "$(rc_order ent-1 state)" reconciled "the order stays reconciled"
bm_done
