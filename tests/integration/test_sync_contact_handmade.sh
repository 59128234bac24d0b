#!/usr/bin/env bash
# A contact a person makes by hand in Moneybird 0-1 s before its buyer's
# first order is adopted, never duplicated: matched by VAT number, Peppol
# id and email address, without Moneybird's webhook (the order arrived
# after the contact index's last refresh, so the index is refreshed first)
# and with it (the simulator pushes contact_created / contact_changed /
# contact_destroyed, the pushes are applied to the index by version, and no
# refresh is needed: the order waits out the push grace instead).
# Two hand-made contacts with the buyer's key still park the order.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=2 rate_limit=300/10
SEQ=0

# hand_contact JSON: makes the contact by hand; prints its id.
hand_contact() {
	local out id
	out="$(sim_post /_sim/contacts "$1")"
	id="$(printf '%s' "$out" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -n 1)"
	[[ -n "$id" ]] || bm_fail "no id in $out"
	printf '%s\n' "$id"
}

# wait_booked ORDER_ID: synced, or reconciled already by the paid push.
wait_booked() {
	wait_orders "order_id = '$1' AND state IN ('synced', 'reconciled')" 1 30
}

# pause_0_to_1s: a generated pause of 0 to 1 s (0 included).
pause_0_to_1s() {
	local ms=$((RANDOM % 1001))
	echo "pause ${ms} ms before the order"
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

# adopted KIND CONTACT_JSON ORDER_ARGS...: a contact made by hand, the
# buyer's first order 0-1 s later; asserts the contact is adopted.
adopted() {
	local kind="$1" json="$2" id creates order
	shift 2
	SEQ=$((SEQ + 1))
	order="hm-$SEQ-$kind"
	creates="$(sim_calls "POST contacts")"
	id="$(hand_contact "$json")"
	pause_0_to_1s
	post_order "$order" "$@"
	wait_booked "$order"
	bm_assert_eq "$(order_value "$order" moneybird_contact_id)" "$id" \
		"$kind: the contact made by hand is adopted ($PHASE)"
	bm_assert_eq "$(sim_calls "POST contacts")" "$creates" "$kind: no contact created ($PHASE)"
}

# a generated key per run, so nothing can be left from an earlier phase
n() { printf '%08d' $(((RANDOM * 32768 + RANDOM) % 100000000)); }

run_cases() {
	local vat peppol mail
	vat="NL$(n)0B01" peppol="$(n)" mail="inkoop-$(n)@hand.example"
	adopted vat "{\"company_name\":\"Vat $PHASE (by hand)\",\"tax_number\":\"${vat:0:4} ${vat:4}\"}" \
		match_ref="$vat" vat_number="$vat" peppol_id= email="x-$(n)@b.example" company="Vat B.V."
	adopted peppol "{\"company_name\":\"Peppol $PHASE (by hand)\",\"si_identifier_type\":\"0106\",\"si_identifier\":\"$peppol\"}" \
		match_ref="0106:$peppol" vat_number= peppol_id="0106:$peppol" email="y-$(n)@b.example" company="Peppol B.V."
	adopted email "{\"company_name\":\"Mail $PHASE (by hand)\",\"send_invoices_to_email\":\"${mail^^}\"}" \
		match_ref="$mail" vat_number= peppol_id= email="$mail" company=
	# two hand-made contacts with one VAT number: never guess
	vat="NL$(n)9B01"
	hand_contact "{\"company_name\":\"One $PHASE\",\"tax_number\":\"$vat\"}" >/dev/null
	hand_contact "{\"company_name\":\"Two $PHASE\",\"tax_number\":\"$vat\"}" >/dev/null
	post_order "hm-amb-$PHASE" match_ref="$vat" vat_number="$vat" email="z-$(n)@b.example"
	wait_state "hm-amb-$PHASE" needs_attention 30
	bm_assert_contains "$(order_value "hm-amb-$PHASE" last_error)" \
		"2 Moneybird contacts have this buyer's VAT number" "ambiguous: parked ($PHASE)"
	bm_assert_eq "$(sim_contacts_with tax_number "$vat")" 2 "ambiguous: no third contact ($PHASE)"
}

# wait_event ACTION ENTITY_ID: until that push is applied.
wait_event() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ "$(bm_psql "SELECT count(*) FROM moneybird_events WHERE action = '$1'
			AND entity_id = '$2' AND status = 'applied'")" == 0 ]] || return 0
		sleep 0.2
	done
	bm_fail "push $1 of $2 not applied: $(bm_psql "SELECT string_agg(action || '=' || status
		|| coalesce(' (' || note || ')', ''), '; ') FROM moneybird_events WHERE entity_id = '$2'")"
}
index_keys() {
	bm_psql "SELECT tax_key || '|' || array_to_string(email_keys, ',') FROM mb_contact_index
		WHERE contact_id = '$1'"
}

# ---- without Moneybird's webhook
PHASE=no-webhook
sync_warmup hm-warm-1 match_ref=NL900000001B01 vat_number=NL900000001B01
run_cases

# ---- with it: contact events subscribed, pushes applied to the index
PHASE=webhook
"$BM_BINARY" -c "$BM_CONFIG" moneybird webhook register "$BM_URL/webhooks/moneybird/shop" \
	>"$BM_TMP/register.out" 2>&1 || { cat "$BM_TMP/register.out" >&2; bm_fail "webhook register failed"; }
bm_assert_contains "$(cat "$BM_TMP/register.out")" "contact_created,contact_changed,contact_destroyed" \
	"the webhook is subscribed to the contact events"
post_order hm-warm-2 match_ref=NL900000002B01 vat_number=NL900000002B01
wait_booked hm-warm-2
# its contact's push shows the webhook delivers contact events
wait_event contact_created "$(order_value hm-warm-2 moneybird_contact_id)"
LISTS="$(sim_calls "GET contacts/synchronization")"
run_cases
bm_assert_eq "$(sim_calls "GET contacts/synchronization")" "$LISTS" \
	"with the webhook, the pushes kept the index current: no refresh for any of it"
bm_assert_eq "$(bm_psql "SELECT count(*) >= 5 FROM moneybird_events
	WHERE action = 'contact_created' AND status = 'applied'")" t \
	"the contact_created pushes (ours and the hand-made ones) are applied (6 pushed, the last may still wait)"

# ---- a push alone keeps the index current: created, changed, destroyed
LISTS="$(sim_calls "GET contacts/synchronization")"
ID="$(hand_contact '{"company_name":"Pushed (by hand)","tax_number":"NL 7777.7777-B01"}')"
wait_event contact_created "$ID"
bm_assert_eq "$(index_keys "$ID")" "nl77777777b01|" "contact_created: indexed from the push"
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/json' \
	--data-binary '{"tax_number":"NL888888888B01","send_invoices_to_email":"Boek@Pushed.example"}' \
	"$(sim_url)/_sim/contacts/$ID"
wait_event contact_changed "$ID"
bm_assert_eq "$(index_keys "$ID")" "nl888888888b01|boek@pushed.example" "contact_changed: new keys"
curl -s -o /dev/null -X DELETE "$(sim_url)/_sim/contacts/$ID"
wait_event contact_destroyed "$ID"
bm_assert_eq "$(index_keys "$ID")" "|" "contact_destroyed: nothing to adopt it by"
bm_assert_eq "$(sim_calls "GET contacts/synchronization")" "$LISTS" "no refresh was needed for any of it"
# the same pushes again (a retry after a lost 200) change nothing
bm_psql "UPDATE moneybird_events SET status = 'pending', next_attempt_at = now()
	WHERE entity_id = '$ID' AND action = 'contact_changed'" >/dev/null
wait_event contact_changed "$ID"
bm_assert_eq "$(index_keys "$ID")" "|" "an older push never brings a deleted contact back"
post_order hm-gone match_ref=NL888888888B01 vat_number=NL888888888B01 email=g@gone.example
wait_booked hm-gone
bm_assert_eq "$(sim_contacts_with tax_number NL888888888B01)" 1 \
	"the deleted contact's buyer gets a contact of its own"
bm_done
