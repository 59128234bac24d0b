#!/usr/bin/env bash
# `preview --json`'s `requests` are exactly what sync then sends: for buyers
# of each kind (company with a VAT number, company with only a Peppol id,
# private buyer with an email, a returning buyer whose contact is mapped, a
# buyer whose hand-made contact is found by customer_id or by search) and
# each VAT treatment of the default mapping (standard 21 and 9,
# reverse_charge, export, exempt, oss), the contact, sales invoice,
# send_invoice and payment bodies the simulator records (GET /_sim/requests)
# equal preview's, JSON-equal, with the contact id placeholder of a contact
# still to be created replaced by the id sync got. Preview itself makes no
# write call and stores no row. Comparisons run in PostgreSQL's jsonb.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack --no-serve 300/10 workers=2 rate_limit=300/10

PLACEHOLDER='<contact id>'
echo '{}' >"$BM_TMP/empty.json"
echo '[]' >"$BM_TMP/requests.json" # until sync has run

# sim_requests FILE [AFTER]: saves GET /_sim/requests (the simulator's write
# log), only the entries after seq AFTER when given.
sim_requests() {
	curl -s --max-time 10 "$(sim_url)/_sim/requests${2:+?after=$2}" >"$1" ||
		bm_fail "GET /_sim/requests failed"
}

# jq_sql PREVIEW_FILE EXPR: EXPR over `p` (the preview as jsonb) and `l`
# (the last saved request log, $BM_TMP/requests.json).
jq_sql() {
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" <<EOF || bm_fail "jq_sql failed: $2"
\\set preview \`cat $1\`
\\set log \`cat $BM_TMP/requests.json\`
SELECT $2 FROM (SELECT :'preview'::jsonb AS p, :'log'::jsonb AS l) AS x;
EOF
}

rows() {
	bm_psql "SELECT (SELECT count(*) FROM deliveries) || ',' || (SELECT count(*) FROM orders)
		|| ',' || (SELECT count(*) FROM jobs) || ',' || (SELECT count(*) FROM audit_log)
		|| ',' || (SELECT count(*) FROM contacts)"
}

# ---- a returning buyer: its first order maps the contact
bm_serve_start
post_order pm-ret-0 match_ref=NL700000001B01 vat_number=NL700000001B01 peppol_id= \
	email=inkoop@retour.example company="Retour B.V."
wait_state pm-ret-0 synced 30
bm_serve_stop

# ---- hand-made contacts: one holding the derived customer_id, one found by VAT search
KEY_BYKEY="$(customer_key NL700000002B01)"
sim_post /_sim/contacts "{\"company_name\":\"Sleutel (by hand)\",\"customer_id\":\"$KEY_BYKEY\"}" >/dev/null
sim_post /_sim/contacts '{"company_name":"Zoek (by hand)","tax_number":"NL700000003B01"}' >/dev/null
# no wait: an order arriving after the index's last refresh refreshes it

# ---- the fixture orders: ORDER_ID|CONTACT RESOLUTION|TAX RATE ID|bm_order_json keys
# (the tax rate ids are the simulator's seeded rates, tests/mbsim/README.md)
FIXTURES=(
	"pm-vat-21|would_create|496081347565061258|match_ref=NL700000010B01 vat_number=NL700000010B01 peppol_id= email=a@vat21.example company=Alfa~B.V."
	"pm-peppol-9|would_create|496081347576595595|match_ref= vat_number= peppol_id=0106:70000020 email=b@peppol9.example company=Beta~B.V. total=109.00 excl=100.00 vat=9.00 rate=9"
	"pm-private-21|would_create|496081347565061258|match_ref=carla@private21.example vat_number= peppol_id= email=carla@private21.example company="
	"pm-ret-1|mapped|496081347576595595|match_ref=NL700000001B01 vat_number=NL700000001B01 peppol_id= email=inkoop@retour.example company=Retour~B.V. total=54.50 excl=50.00 vat=4.50 rate=9"
	"pm-bykey|found_by_customer_id|496081347565061258|match_ref=NL700000002B01 vat_number=NL700000002B01 peppol_id= email=s@sleutel.example company=Sleutel~B.V."
	"pm-search|found_by_search|496081347565061258|match_ref=NL700000003B01 vat_number=NL700000003B01 peppol_id= email=z@zoek.example company=Zoek~B.V."
	"pm-reverse|would_create|496081347578692748|match_ref=DE700000040 vat_number=DE700000040 peppol_id= email=c@reverse.example company=Gamma~GmbH country=DE treatment=reverse_charge total=100.00 excl=100.00 vat=0 rate=0"
	"pm-export|would_create|496081347578692761|match_ref=d@export.example vat_number= peppol_id= email=d@export.example company=Delta~Inc. country=US treatment=export total=80.00 excl=80.00 vat=0 rate=0"
	"pm-exempt|would_create|496081347578692774|match_ref=NL700000060B01 vat_number=NL700000060B01 peppol_id=0106:70000060 email=e@exempt.example company=Epsilon~B.V. treatment=exempt total=250.00 excl=250.00 vat=0 rate=0"
	"pm-oss-de|would_create|496081347591275649|match_ref=f@oss.example vat_number= peppol_id= email=f@oss.example company= country=DE treatment=oss total=119.00 excl=100.00 vat=19.00 rate=19"
)

# In the table `~` stands for a space inside a value.
declare -A FILE RESOLUTION TAX_RATE
IDS=()
for fixture in "${FIXTURES[@]}"; do
	IFS='|' read -r id resolution tax_rate keys <<<"$fixture"
	read -r -a args <<<"$keys"
	FILE[$id]="$(bm_order_json "$id" "${args[@]//\~/ }")"
	RESOLUTION[$id]="$resolution"
	TAX_RATE[$id]="$tax_rate"
	IDS+=("$id")
done

# ---- preview every order: no write call, no row
sim_requests "$BM_TMP/log-before.json"
ROWS_BEFORE="$(rows)"
RATES_BEFORE="$(sim_calls "GET tax_rates")"
for id in "${IDS[@]}"; do
	RC=0
	"$BM_BINARY" -c "$BM_CONFIG" preview --json "${FILE[$id]}" >"$BM_TMP/preview-$id.json" \
		2>"$BM_TMP/preview-$id.err" || RC=$?
	bm_assert_eq "$RC" 0 "$id: preview --json exits 0 ($(cat "$BM_TMP/preview-$id.err"))"
done
RC=0
"$BM_BINARY" -c "$BM_CONFIG" preview "${FILE[pm-ret-1]}" >"$BM_TMP/preview-human.out" 2>&1 || RC=$?
bm_assert_eq "$RC" 0 "human preview exits 0"
sim_requests "$BM_TMP/log-after.json"
bm_assert_eq "$(cat "$BM_TMP/log-after.json")" "$(cat "$BM_TMP/log-before.json")" \
	"preview made no write call (the simulator's request log is unchanged)"
bm_assert_ne "$(sim_calls "GET tax_rates")" "$RATES_BEFORE" "preview did ask the simulator (read-only)"
bm_assert_eq "$(rows)" "$ROWS_BEFORE" "preview stored no delivery, order, job, audit or contact row"

HUMAN="$(cat "$BM_TMP/preview-human.out")"
bm_assert_contains "$HUMAN" "mapped already: contact $(order_value pm-ret-0 moneybird_contact_id)" \
	"human: the returning buyer's contact is mapped already"
bm_assert_contains "$HUMAN" "request body (POST sales_invoices):" "human: the invoice body is shown"
bm_assert_contains "$HUMAN" "\"delivery_method\": \"Manual\"" "human: the send body is shown"
bm_assert_contains "$HUMAN" "request body (POST sales_invoices/{id}/payments):" "human: the payment body is shown"
bm_assert_not_contains "$HUMAN" "request body (POST contacts)" "human: no contact body for a mapped buyer"

for id in "${IDS[@]}"; do
	p="$BM_TMP/preview-$id.json"
	bm_assert_eq "$(jq_sql "$p" "concat_ws(' ', p->>'verdict', p->'contact'->>'resolution',
		p->'requests'->'sales_invoice'->'sales_invoice'->'details_attributes'->0->>'tax_rate_id')")" \
		"sync ${RESOLUTION[$id]} ${TAX_RATE[$id]}" "$id: preview's verdict, contact resolution and tax rate"
done

# ---- sync them all; only what this sync writes is compared
cp "$BM_TMP/log-after.json" "$BM_TMP/requests.json"
SEQ_BEFORE_SYNC="$(jq_sql "$BM_TMP/empty.json" "(SELECT max((e->>'seq')::int) FROM jsonb_array_elements(l) e)")"
bm_assert_eq "$SEQ_BEFORE_SYNC" 4 "the log so far holds pm-ret-0's contact, invoice, send and payment"
bm_serve_start
for id in "${IDS[@]}"; do
	bm_post_bookto /webhooks/bookto/shop "${FILE[$id]}"
	[[ "$BM_STATUS" == 200 ]] || bm_fail "order $id was not accepted: $BM_STATUS $BM_BODY"
done
wait_settled $((${#IDS[@]} + 1)) 60
bm_serve_stop
bm_assert_eq "$(bm_count_orders "state = 'synced'")" $((${#IDS[@]} + 1)) "every order is synced"
sim_requests "$BM_TMP/requests.json" "$SEQ_BEFORE_SYNC"

# check_body ID WHAT PREVIEW_FILE SENT EXPECTED: SENT is an SQL array of the
# bodies the simulator recorded, EXPECTED preview's body (SQL over p); asserts
# exactly one was sent and that it is JSON-equal to preview's.
check_body() {
	local count equal sent expected
	IFS='|' read -r count equal sent expected <<<"$(jq_sql "$3" "coalesce(cardinality($4), 0)
		|| '|' || coalesce(($4)[1] = $5, false) || '|' || coalesce(($4)[1]::text, 'none')
		|| '|' || coalesce(($5)::text, 'null')")"
	local message="$1: the $2 body equals preview's"
	[[ "$equal" == true ]] || message+=" (sent $sent, preview $expected)"
	bm_assert_eq "$count" 1 "$1: one $2"
	bm_assert_eq "$equal" true "$message"
}

# ---- compare, order by order
for id in "${IDS[@]}"; do
	p="$BM_TMP/preview-$id.json"
	contact_id="$(order_value "$id" moneybird_contact_id)"
	invoice_id="$(order_value "$id" moneybird_invoice_id)"
	[[ -n "$contact_id" && -n "$invoice_id" ]] || bm_fail "$id: no contact or invoice id"
	IFS='|' read -r customer_id reference preview_contact_id invoice_contact_id <<<"$(jq_sql "$p" \
		"concat(p->'contact'->>'customer_id', '|', p->>'reference', '|', p->'contact'->>'contact_id',
		'|', p->'requests'->'sales_invoice'->'sales_invoice'->>'contact_id')")"
	sent="(SELECT array_agg(e->'body' ORDER BY (e->>'seq')::int) FROM jsonb_array_elements(l) e WHERE"

	# The contact: created with preview's body, or (reused) never posted.
	contact_posts="$sent e->>'route' = 'POST contacts'
		AND e->'body'->'contact'->>'customer_id' = '$customer_id')"
	if [[ "${RESOLUTION[$id]}" == would_create ]]; then
		check_body "$id" "POST contacts" "$p" "$contact_posts" "p->'requests'->'contact'"
		bm_assert_eq "$invoice_contact_id" "$PLACEHOLDER" \
			"$id: the invoice of a contact still to be created carries the placeholder"
	else
		bm_assert_eq "$(jq_sql "$p" "coalesce(cardinality($contact_posts), 0) || '|'
			|| jsonb_typeof(p->'requests'->'contact')")" "0|null" \
			"$id: no POST contacts for a reused contact, and no contact body in preview"
		bm_assert_eq "$preview_contact_id|$invoice_contact_id" "$contact_id|$contact_id" \
			"$id: preview knew the contact id sync used, and put it on the invoice"
	fi

	# The invoice, with the placeholder replaced by the id of the contact sync created.
	check_body "$id" "POST sales_invoices" "$p" "$sent e->>'route' = 'POST sales_invoices'
		AND e->'body'->'sales_invoice'->>'reference' = '$reference')" \
		"(CASE WHEN p->'requests'->'sales_invoice'->'sales_invoice'->>'contact_id' = '$PLACEHOLDER'
		THEN jsonb_set(p->'requests'->'sales_invoice', '{sales_invoice,contact_id}', to_jsonb('$contact_id'::text))
		ELSE p->'requests'->'sales_invoice' END)"

	# Send and payment, on the invoice sync created.
	check_body "$id" "PATCH sales_invoices/:id/send_invoice" "$p" \
		"$sent e->>'route' = 'PATCH sales_invoices/:id/send_invoice'
		AND strpos(e->>'path', '/sales_invoices/$invoice_id/send_invoice') > 0)" \
		"p->'requests'->'send_invoice'"
	check_body "$id" "POST sales_invoices/:id/payments" "$p" \
		"$sent e->>'route' = 'POST sales_invoices/:id/payments'
		AND strpos(e->>'path', '/sales_invoices/$invoice_id/payments') > 0)" \
		"p->'requests'->'payment'"
done

# Every write sync made is accounted for by a preview body above.
bm_assert_eq "$(jq_sql "$BM_TMP/empty.json" "(SELECT count(*) FROM jsonb_array_elements(l) e
	WHERE e->>'route' IN ('POST contacts', 'POST sales_invoices',
	'PATCH sales_invoices/:id/send_invoice', 'POST sales_invoices/:id/payments'))")" \
	$((3 * ${#IDS[@]} + 7)) \
	"sync wrote 3 requests per order and 7 contacts, nothing else"
bm_assert_eq "$(jq_sql "$BM_TMP/empty.json" "(SELECT count(*) FROM jsonb_array_elements(l) e
	WHERE (e->>'status')::int NOT BETWEEN 200 AND 299)")" 0 "every write was answered 2xx (none retried)"
bm_done
