#!/usr/bin/env bash
# Contact resolution against the simulator (compressed rate window 300/10):
# a new buyer of each kind (B2B with VAT, Peppol-only, private email-only)
# gets exactly one contact with the right fields and the derived 18-digit
# customer_id; a returning buyer costs no contact call and exactly 3
# Moneybird calls; a hand-made contact is adopted by VAT search; two
# hand-made contacts with the VAT number park the order as ambiguous; an
# archived contact holding the customer_id is found after the 422 conflict.
# One worker, so the per-worker tax rate cache makes the call count exact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=1 rate_limit=300/10

# ---- three new buyers
post_order c-b2b-1 match_ref=NL111111111B01 vat_number=NL111111111B01 \
	peppol_id=0106:11111111 email=inkoop@alfa.example company="Alfa B.V."
post_order c-peppol-1 match_ref=0106:22222222 vat_number= peppol_id=0106:22222222 \
	email=boekhouding@beta.example company="Beta B.V."
post_order c-private-1 match_ref=carla@private.example vat_number= peppol_id= \
	email=carla@private.example company=
wait_settled 3 30
bm_assert_eq "$(bm_count_orders "state = 'synced'")" 3 "the three new buyers' orders are synced"
bm_assert_eq "$(sim_q "jsonb_array_length(s->'contacts')")" 3 "the simulator holds exactly 3 contacts"
bm_assert_eq "$(sim_calls "POST contacts")" 3 "exactly 3 contact creates"

KEY_B2B="$(customer_key NL111111111B01)"
KEY_PEPPOL="$(customer_key 0106:22222222)"
KEY_PRIVATE="$(customer_key carla@private.example)"
[[ "$KEY_B2B" =~ ^9[0-9]{17}$ ]] || bm_fail "derived key $KEY_B2B is not 18 digits"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY_B2B")" 1 "B2B buyer: one contact with the derived customer_id"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" company_name)" "Alfa B.V." "B2B buyer: company_name"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" tax_number)" NL111111111B01 "B2B buyer: tax_number"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" si_identifier)" 11111111 "B2B buyer: si_identifier"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" si_identifier_type)" 0106 "B2B buyer: si_identifier_type"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" send_invoices_to_email)" inkoop@alfa.example \
	"B2B buyer: send_invoices_to_email"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" country)" NL "B2B buyer: country"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" city)" Amsterdam "B2B buyer: city"
bm_assert_eq "$(sim_contact_field "$KEY_B2B" zipcode)" "1015 CJ" "B2B buyer: postal code"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY_PEPPOL")" 1 "Peppol buyer: one contact"
bm_assert_eq "$(sim_contact_field "$KEY_PEPPOL" si_identifier)" 22222222 "Peppol buyer: si_identifier"
bm_assert_eq "$(sim_contact_field "$KEY_PEPPOL" tax_number)" "" "Peppol buyer: no tax_number"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY_PRIVATE")" 1 "private buyer: one contact"
bm_assert_eq "$(sim_contact_field "$KEY_PRIVATE" company_name)" "" "private buyer: no company_name"
bm_assert_eq "$(sim_contact_field "$KEY_PRIVATE" firstname)|$(sim_contact_field "$KEY_PRIVATE" lastname)" \
	"Jan|Jansen" "private buyer: first and last name"
bm_assert_eq "$(sim_contact_field "$KEY_PRIVATE" send_invoices_to_email)" carla@private.example \
	"private buyer: send_invoices_to_email"
bm_assert_eq "$(bm_psql "SELECT string_agg(resolution, ',') FROM contacts")" created,created,created \
	"the contact map records three creates"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders o JOIN contacts c
	ON c.moneybird_contact_id = o.moneybird_contact_id AND c.match_ref = o.match_ref")" 3 \
	"each order carries its buyer's mapped contact"

# ---- a returning buyer: no contact call, exactly create + send + pay
TOTAL_BEFORE="$(sim_q "(s->'requests'->>'total')::int")"
CONTACT_BEFORE="$(sim_contact_calls)"
post_order c-b2b-2 match_ref=NL111111111B01 vat_number=NL111111111B01 \
	peppol_id=0106:11111111 email=inkoop@alfa.example company="Alfa B.V."
wait_settled 4 30
bm_assert_eq "$(order_value c-b2b-2 state)" synced "the returning buyer's order is synced"
CALLS=$(($(sim_q "(s->'requests'->>'total')::int") - TOTAL_BEFORE))
echo "calls per order (returning buyer): $CALLS"
bm_assert_eq "$(($(sim_contact_calls) - CONTACT_BEFORE))" 0 "a returning buyer costs no contact call"
bm_assert_eq "$CALLS" 3 "a returning buyer costs exactly 3 Moneybird calls"
bm_assert_eq "$(order_value c-b2b-2 moneybird_contact_id)" "$(order_value c-b2b-1 moneybird_contact_id)" \
	"the returning buyer's order uses the same contact"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM attempts a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'c-b2b-2'")" 3 "the attempts table lists the 3 calls"

# ---- a hand-made contact with the buyer's VAT number is adopted
HAND="$(sim_post /_sim/contacts '{"company_name":"Delta (by hand)","tax_number":"NL444444444B01"}')"
HAND_ID="$(printf '%s' "$HAND" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)"
[[ -n "$HAND_ID" ]] || bm_fail "no id in $HAND"
CREATES_BEFORE="$(sim_calls "POST contacts")"
# Made by hand just before the buyer's first order, with no wait: the index
# is refreshed because the order arrived after its last refresh.
post_order c-hand-1 match_ref=NL444444444B01 vat_number=NL444444444B01 email=delta@delta.example \
	company="Delta B.V."
wait_state c-hand-1 synced 30
bm_assert_eq "$(order_value c-hand-1 moneybird_contact_id)" "$HAND_ID" "the hand-made contact is adopted"
bm_assert_eq "$(sim_calls "POST contacts")" "$CREATES_BEFORE" "no contact is created for it"
bm_assert_eq "$(sim_contacts_with tax_number NL444444444B01)" 1 "still one contact with that VAT number"
bm_assert_eq "$(bm_psql "SELECT resolution FROM contacts WHERE match_ref = 'NL444444444B01'")" \
	adopted_by_search "the map records the adoption"

# ---- two hand-made contacts with one VAT number: never guess
sim_post /_sim/contacts '{"company_name":"Epsilon one","tax_number":"NL555555555B01"}' >/dev/null
sim_post /_sim/contacts '{"company_name":"Epsilon two","tax_number":"NL555555555B01"}' >/dev/null
post_order c-ambiguous-1 match_ref=NL555555555B01 vat_number=NL555555555B01 email=e@eps.example \
	company="Epsilon B.V."
wait_state c-ambiguous-1 needs_attention 30
REASON="$(order_value c-ambiguous-1 last_error)"
bm_assert_contains "$REASON" "2 Moneybird contacts have this buyer's VAT number" \
	"the ambiguous buyer is parked with the reason"
bm_assert_eq "$(sim_contacts_with tax_number NL555555555B01)" 2 "no third contact was created"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM contacts WHERE match_ref = 'NL555555555B01'")" 0 \
	"nothing is mapped for the ambiguous buyer"
bm_assert_eq "$(sim_invoices_with_reference ORD-c-ambiguous-1)" 0 "no invoice for the parked order"

# ---- an archived contact already holds the customer_id
KEY_ARCHIVED="$(customer_key zeta@archived.example)"
sim_post /_sim/contacts "{\"company_name\":\"Zeta (archived)\",\"customer_id\":\"$KEY_ARCHIVED\",\"archived\":true}" >/dev/null
CREATES_BEFORE="$(sim_calls "POST contacts")"
post_order c-archived-1 match_ref=zeta@archived.example vat_number= peppol_id= \
	email=zeta@archived.example company="Zeta B.V."
wait_settled 7 30
bm_assert_eq "$(order_value c-archived-1 state)" synced "the archived contact's buyer is synced"
bm_assert_eq "$(sim_contacts_with customer_id "$KEY_ARCHIVED")" 1 "no second contact with that customer_id"
bm_assert_eq "$(sim_calls "POST contacts")" $((CREATES_BEFORE + 1)) "one create was tried and refused"
bm_assert_eq "$(bm_psql "SELECT resolution FROM contacts WHERE match_ref = 'zeta@archived.example'")" \
	found_after_conflict "the map records the lookup after the conflict"
bm_assert_eq "$(order_value c-archived-1 moneybird_contact_id)" \
	"$(sim_q "(SELECT c->>'id' FROM jsonb_array_elements(s->'contacts') c WHERE c->>'customer_id' = '$KEY_ARCHIVED')")" \
	"the order uses the archived contact"

# ---- the audit log names every resolution, without personal data
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'contact_resolved'")" 6 \
	"one contact_resolved audit row per synced order (6)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE detail::text ~* 'alfa|carla|NL111111111B01'")" 0 \
	"no buyer data in the audit log"
bm_done
