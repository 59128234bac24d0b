#!/usr/bin/env bash
# Delivery rules: the mapping's delivery_rules choose send_invoice's
# delivery_method per order (Peppol for a buyer with a Peppol id, Email for a
# private buyer with an email, send_method = "Manual" otherwise), the contact
# carries the matching si_identifier(_type) or send_invoices_to_email,
# preview says the same method and rule beforehand, the
# audit log records the method, and a Peppol refusal (the administration is
# not registered) parks the order with that reason instead of falling back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_setup
sync_start --rate-limit 300/10

mapping="$BM_TMP/delivery.cfg"
cat "$BM_SOURCE_DIR/mappings/default.cfg" - >"$mapping" <<'CFG'

delivery_rules = (
  { when = "peppol_id"; method = "Peppol"; },
  { when = ["private", "email"]; method = "Email"; }
);
CFG
bm_write_config workers=2 rate_limit=300/10 mapping="$mapping"
bm_migrate
bm_serve_start

# post_previewed ORDER_ID METHOD RULE KEY=VALUE...: previews the order (the
# method and the rule preview says must be METHOD and RULE), then posts it.
post_previewed() {
	local id="$1" method="$2" rule="$3" file out
	shift 3
	file="$(bm_order_json "$id" "$@")"
	out="$("$BM_BINARY" -c "$BM_CONFIG" preview --json "$file" 2>"$BM_TMP/preview.err")" ||
		bm_fail "preview of $id failed: $(cat "$BM_TMP/preview.err")"
	bm_assert_eq "$(bm_psql "SELECT \$j\$$out\$j\$::jsonb ->> 'send_method'")" "$method" \
		"$id: preview says $method"
	bm_assert_eq "$(bm_psql "SELECT \$j\$$out\$j\$::jsonb ->> 'send_method_chosen_by'")" "$rule" \
		"$id: preview names the choice: $rule"
	bm_assert_eq "$(bm_psql "SELECT \$j\$$out\$j\$::jsonb #>> '{requests,send_invoice,sales_invoice_sending,delivery_method}'")" \
		"$method" "$id: preview's send_invoice body carries $method"
	bm_post_bookto /webhooks/bookto/shop "$file"
	[[ "$BM_STATUS" == 2* ]] || bm_fail "order $id was not accepted: $BM_STATUS $BM_BODY"
}

# send_events REF: the invoice's sending events, comma-separated.
send_events() {
	sim_invoice_field "$1" "(SELECT string_agg(e->>'action', ',')
		FROM jsonb_array_elements(i->'events') e WHERE e->>'action' LIKE 'sales_invoice_send_%')"
}
# audited_method ORDER_ID: delivery_method recorded with the order's invoice_sent.
audited_method() {
	bm_psql "SELECT a.detail->>'delivery_method' FROM audit_log a JOIN orders o ON o.id = a.order_pk
		WHERE o.order_id = '$1' AND a.action = 'invoice_sent'"
}

# ---- a business buyer with a Peppol id: Peppol
post_previewed dr-peppol Peppol "delivery rule 1 (peppol_id)" match_ref=BE0123456789 vat_number=BE0123456789 peppol_id=0208:0123456789 \
	company="Peppol Boeken BV" country=BE email=inkoop@peppol.example
# ---- a private buyer with an email: Email
post_previewed dr-private Email "delivery rule 2 (email, private)" match_ref=jan@private.example vat_number= peppol_id= company= \
	email=jan@private.example
# ---- a business buyer without a Peppol id: no rule holds, send_method
post_previewed dr-business Manual "send_method (no delivery rule holds)" match_ref=NL000099998B57 vat_number=NL000099998B57 peppol_id= \
	company="Zonder Peppol BV" email=boekhouding@zonder.example
# ---- a Peppol id Moneybird cannot carry does not choose Peppol
post_previewed dr-badpeppol Manual "send_method (no delivery rule holds)" match_ref=NL000099999B57 vat_number=NL000099999B57 peppol_id=XX:1234 \
	company="Vreemd Schema BV" email=info@vreemd.example
for id in dr-peppol dr-private dr-business dr-badpeppol; do
	wait_state "$id" synced 40
done

bm_assert_eq "$(send_events ORD-dr-peppol)" sales_invoice_send_si "Peppol buyer: sent by Peppol"
bm_assert_eq "$(audited_method dr-peppol)" Peppol "Peppol buyer: the audit log records Peppol"
key="$(customer_key BE0123456789)"
bm_assert_eq "$(sim_contact_field "$key" si_identifier_type)" 0208 \
	"Peppol buyer: the contact carries si_identifier_type"
bm_assert_eq "$(sim_contact_field "$key" si_identifier)" 0123456789 \
	"Peppol buyer: the contact carries si_identifier"

bm_assert_eq "$(send_events ORD-dr-private)" sales_invoice_send_email "private buyer: sent by Email"
bm_assert_eq "$(audited_method dr-private)" Email "private buyer: the audit log records Email"
key="$(customer_key jan@private.example)"
bm_assert_eq "$(sim_contact_field "$key" send_invoices_to_email)" jan@private.example \
	"private buyer: the contact carries send_invoices_to_email"
bm_assert_eq "$(sim_contact_field "$key" si_identifier)" "" \
	"private buyer: the contact has no Peppol id"

bm_assert_eq "$(send_events ORD-dr-business)" sales_invoice_send_manually \
	"business buyer without a Peppol id: send_method (Manual)"
bm_assert_eq "$(audited_method dr-business)" Manual "business buyer: the audit log records Manual"
bm_assert_eq "$(send_events ORD-dr-badpeppol)" sales_invoice_send_manually \
	"unusable Peppol id: not sent by Peppol"
"$BM_BINARY" -c "$BM_CONFIG" show dr-peppol >"$BM_TMP/show.out" 2>&1 || bm_fail "show failed"
bm_assert_eq "$(grep -c -x '  job                  done' "$BM_TMP/show.out")" 1 \
	"show: a finished job is just done (no next attempt)"
for ref in ORD-dr-peppol ORD-dr-private ORD-dr-business ORD-dr-badpeppol; do
	bm_assert_eq "$(sim_invoice_field "$ref" "i->>'state'")" paid "$ref is paid"
done

# ---- the administration is not registered for Peppol: parked, no fallback
sim_faults '{"peppol_registered": false}'
post_order dr-refused match_ref=BE0987654321 vat_number=BE0987654321 peppol_id=0208:0987654321 \
	company="Geweigerd BV" country=BE email=inkoop@geweigerd.example
wait_state dr-refused needs_attention 40
reason="$(order_value dr-refused last_error)"
echo "# parked: $reason"
bm_assert_contains "$reason" "not registered for Peppol" "refusal: the reason is Moneybird's"
bm_assert_contains "$reason" "sending the invoice by Peppol, chosen by delivery rule 1 (peppol_id)" \
	"refusal: the reason names the method and the rule"
bm_assert_eq "$(bm_psql "SELECT j.attempts FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id = 'dr-refused'")" 1 "refusal: parked at the first attempt"
bm_assert_eq "$(sim_invoice_field ORD-dr-refused "i->>'state'")" draft \
	"refusal: the invoice stays a draft"
bm_assert_eq "$(send_events ORD-dr-refused)" "" "refusal: not sent any other way"
bm_assert_eq "$(sim_invoice_field ORD-dr-refused "jsonb_array_length(i->'payments')")" 0 \
	"refusal: no payment"

# Once the administration is registered, a retry sends it by Peppol.
sim_faults '{}'
"$BM_BINARY" -c "$BM_CONFIG" retry dr-refused >"$BM_TMP/retry.out" 2>&1 ||
	bm_fail "retry failed: $(cat "$BM_TMP/retry.out")"
wait_state dr-refused synced 40
bm_assert_eq "$(send_events ORD-dr-refused)" sales_invoice_send_si "after the retry: sent by Peppol"
bm_assert_eq "$(sim_invoices_with_reference ORD-dr-refused)" 1 "after the retry: one invoice"
bm_done
