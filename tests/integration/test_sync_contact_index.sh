#!/usr/bin/env bash
# The contact index (contacts/synchronization) in place of a search per
# order: a new buyer costs one create, plus a refresh of the index when its
# order arrived after the index's last refresh (one GET when nothing changed
# in Moneybird, since the contacts the connector creates are indexed from
# the create's answer); a refresh fetches only new or changed contacts, in
# batches of at most 100; a hand-made contact with the buyer's Peppol id or
# email address is adopted; a contact holding the buyer's derived
# customer_id made after the last refresh is found by that refresh-before-
# create and adopted without a create (the 422 conflict path, for a
# contact the index cannot see, is test_sync_contacts.sh's archived case).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=1 rate_limit=300/10
total() { sim_q "(s->'requests'->>'total')::int"; }

# ---- the first new buyer reads the index once; the next ones only create
post_order ci-1 match_ref=NL810000001B01 vat_number=NL810000001B01 email=a@ci.example company="Een B.V."
wait_state ci-1 synced 30
bm_assert_eq "$(sim_calls "GET contacts/synchronization")" 1 "the index is read once"
bm_assert_eq "$(sim_calls "POST contacts/synchronization")" 0 "an empty administration needs no fetch"
before="$(total)"
lists="$(sim_calls "GET contacts/synchronization")"
for i in 2 3 4; do
	post_order "ci-$i" "match_ref=NL81000000${i}B01" "vat_number=NL81000000${i}B01" \
		"email=$i@ci.example" company="Buyer $i B.V."
done
wait_settled 4 30
refreshes=$(($(sim_calls "GET contacts/synchronization") - lists))
echo "refreshes for three new buyers posted together: $refreshes"
((refreshes >= 1 && refreshes <= 3)) || bm_fail "expected 1 to 3 refreshes (one covers every order that arrived before it), got $refreshes"
bm_assert_eq "$(($(total) - before))" $((12 + refreshes)) "three new buyers: 4 calls each (create, invoice, send, payment) and the refreshes' GETs"
bm_assert_eq "$(sim_calls "POST contacts/synchronization")" 0 "our own contacts are never fetched"
bm_assert_eq "$(sim_calls "GET contacts")" 0 "no contact search"
bm_assert_eq "$(sim_calls "GET contacts/customer_id/:customer_id")" 0 "no lookup by customer_id"

# ---- 150 hand-made contacts, one with a Peppol id, one with an email
for i in $(seq 1 148); do
	sim_post /_sim/contacts "{\"company_name\":\"Filler $i\",\"send_invoices_to_email\":\"filler$i@other.example\"}" >/dev/null
done
PEPPOL="$(sim_post /_sim/contacts '{"company_name":"Peppol (by hand)","si_identifier_type":"0106","si_identifier":"81000099"}')"
PEPPOL_ID="$(printf '%s' "$PEPPOL" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)"
EMAIL="$(sim_post /_sim/contacts '{"company_name":"Mail (by hand)","send_invoices_to_email":"Inkoop@Mail.example"}')"
EMAIL_ID="$(printf '%s' "$EMAIL" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)"
[[ -n "$PEPPOL_ID" && -n "$EMAIL_ID" ]] || bm_fail "no id in $PEPPOL / $EMAIL"
lists="$(sim_calls "GET contacts/synchronization")"
creates="$(sim_calls "POST contacts")"
post_order ci-peppol match_ref=0106:81000099 vat_number= peppol_id=0106:81000099 \
	email=p@peppol.example company="Peppol B.V."
wait_state ci-peppol synced 30
bm_assert_eq "$(order_value ci-peppol moneybird_contact_id)" "$PEPPOL_ID" "the hand-made Peppol contact is adopted"
bm_assert_eq "$(sim_calls "GET contacts/synchronization")" $((lists + 1)) "one refresh before the would-be create"
bm_assert_eq "$(sim_calls "POST contacts/synchronization")" 2 "150 new contacts fetched in 2 batches (100 + 50); ours were indexed when created"
post_order ci-mail match_ref=inkoop@mail.example vat_number= peppol_id= email=inkoop@mail.example company=
wait_state ci-mail synced 30
bm_assert_eq "$(order_value ci-mail moneybird_contact_id)" "$EMAIL_ID" "the hand-made contact with the email address (case aside) is adopted"
bm_assert_eq "$(sim_calls "POST contacts")" "$creates" "no contact created for either"
bm_assert_eq "$(bm_psql "SELECT string_agg(resolution, ',' ORDER BY match_ref) FROM contacts
	WHERE match_ref IN ('0106:81000099', 'inkoop@mail.example')")" "adopted_by_search,adopted_by_search" \
	"the map records both adoptions"

# ---- a contact holding the derived customer_id, made after the last refresh
KEY="$(customer_key NL810000077B01)"
sim_post /_sim/contacts "{\"company_name\":\"Key (by hand)\",\"customer_id\":\"$KEY\"}" >/dev/null
post_order ci-key match_ref=NL810000077B01 vat_number=NL810000077B01 email=k@key.example company="Key B.V."
wait_state ci-key synced 30
bm_assert_eq "$(sim_contacts_with customer_id "$KEY")" 1 "still one contact with the customer_id"
bm_assert_eq "$(bm_psql "SELECT resolution FROM contacts WHERE match_ref = 'NL810000077B01'")" \
	found_by_customer_id "the refresh before the create found it by the customer_id: adopted, no create tried"
bm_assert_eq "$(sim_calls "POST contacts")" "$creates" "no create was tried for it"
bm_assert_eq "$(order_value ci-key moneybird_contact_id)" \
	"$(sim_q "(SELECT c->>'id' FROM jsonb_array_elements(s->'contacts') c WHERE c->>'customer_id' = '$KEY')")" \
	"the order uses that contact"
bm_done
