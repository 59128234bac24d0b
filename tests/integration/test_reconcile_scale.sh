#!/usr/bin/env bash
# Reconciling 1,000 invoices costs no more than 15 Moneybird calls: one GET of
# every id and version, then one POST per 100 invoices. The invoices are made
# in the simulator through its API (created, sent, paid) with one curl
# process per step, and the matching orders are inserted straight into
# PostgreSQL, so seeding takes seconds instead of 3,000 synced orders.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
N=1000
bm_stack --mbsim --rate-limit 100000/1 -- --no-serve workers=0
started=$SECONDS

rc_api POST contacts '{"contact":{"company_name":"Scale B.V.","customer_id":"900000000000000001"}}'
bm_assert_eq "$RC_STATUS" 201 "a contact for the invoices"
contact="$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' <<<"$RC_BODY")"

# curl_batch FILE: runs the requests of a curl config file in one process
# (the trailing "next" would start an empty request: it is dropped).
curl_batch() {
	sed -i '$d' "$1"
	curl -s --max-time 300 -K "$1" >/dev/null || bm_fail "curl batch $1 failed"
}
api="$BM_MBSIM_URL/$BM_MBSIM_ADMIN"
auth="Authorization: Bearer $BM_MBSIM_TOKEN"
for ((i = 1; i <= N; i++)); do
	printf 'url = "%s/sales_invoices"\nrequest = "POST"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"sales_invoice\\":{\\"contact_id\\":\\"%s\\",\\"reference\\":\\"ORD-sc-%d\\",\\"details_attributes\\":[{\\"description\\":\\"book\\",\\"price\\":\\"100.00\\"}]}}"\noutput = "/dev/null"\nnext\n' \
		"$api" "$auth" "$contact" "$i"
done >"$BM_TMP/create.cfg"
curl_batch "$BM_TMP/create.cfg"
ids="$(rc_sim_q "(SELECT string_agg(i->>'id', ' ') FROM jsonb_array_elements(s->'sales_invoices') i)")"
for id in $ids; do
	printf 'url = "%s/sales_invoices/%s/send_invoice"\nrequest = "PATCH"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"sales_invoice_sending\\":{\\"delivery_method\\":\\"Manual\\"}}"\noutput = "/dev/null"\nnext\n' \
		"$api" "$id" "$auth"
done >"$BM_TMP/send.cfg"
curl_batch "$BM_TMP/send.cfg"
for id in $ids; do
	printf 'url = "%s/_sim/sales_invoices/%s/mark_paid"\nrequest = "POST"\noutput = "/dev/null"\nnext\n' \
		"$(rc_sim_url)" "$id"
done >"$BM_TMP/paid.cfg"
curl_batch "$BM_TMP/paid.cfg"
bm_assert_eq "$(rc_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i WHERE i->>'state' = 'paid')")" \
	"$N" "$N invoices created, sent and paid in the simulator"

# The matching orders, as the sync engine would have left them.
curl -s --max-time 30 "$(rc_sim_url)/_sim/state" >"$BM_TMP/sim-state.json"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" >/dev/null <<EOF || bm_fail "seeding the orders failed"
\\set state \`cat $BM_TMP/sim-state.json\`
INSERT INTO connections (name, moneybird_administration_id) VALUES ('shop', '$BM_MBSIM_ADMIN');
INSERT INTO deliveries (delivery_key, connection_id, source, received_at, body, body_sha256, outcome)
	SELECT 'seed', id, 'replay', now(), '\\x7b7d', 'x', 'accepted' FROM connections;
INSERT INTO contacts (administration_id, match_ref, customer_id, moneybird_contact_id, resolution)
	VALUES ('$BM_MBSIM_ADMIN', 'scale', '900000000000000001', '$contact', 'created');
INSERT INTO orders (connection_id, order_id, order_number, first_delivery_id, state, received_at,
	total_incl_cents, moneybird_contact_id, moneybird_invoice_id, invoice_reference, sent_at,
	moneybird_payment_id, synced_at)
SELECT c.id, substr(i->>'reference', 5), i->>'reference', d.id, 'synced', now(), 12100, '$contact',
	i->>'id', i->>'reference', now(), i->'payments'->0->>'id', now()
FROM jsonb_array_elements((:'state'::jsonb)->'sales_invoices') i, connections c, deliveries d;
EOF
bm_assert_eq "$(bm_count_orders "state = 'synced'")" "$N" "$N synced orders seeded"
echo "# seeding took $((SECONDS - started)) s"

before="$(rc_sim_calls)"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json >"$BM_TMP/reconcile.json" 2>"$BM_TMP/reconcile.err" || rc=$?
calls=$(($(rc_sim_calls) - before))
echo "# reconciling $N invoices cost $calls Moneybird calls"
bm_assert_eq "$rc" 0 "reconcile finds no difference ($(head -c 300 "$BM_TMP/reconcile.json"))"
((calls <= 15)) || bm_fail "reconciling $N invoices used $calls Moneybird calls (more than 15)"
bm_pass "reconciling $N invoices used $calls Moneybird calls (at most 15)"
bm_assert_contains "$(cat "$BM_TMP/reconcile.json")" "\"invoices_checked\":$N," "$N invoices checked"
bm_assert_contains "$(cat "$BM_TMP/reconcile.json")" "\"moneybird_calls\":$calls," "the report counts the same calls"
bm_assert_eq "$(rc_sim_q "coalesce((s->'requests'->'by_endpoint'->>'POST sales_invoices/synchronization')::int, 0)")" 10 \
	"ten POST synchronization calls of 100 ids"
bm_assert_eq "$(bm_count_orders "state = 'reconciled'")" "$N" "every order is confirmed paid (reconciled)"
bm_done
