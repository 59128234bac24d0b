#!/usr/bin/env bash
# A realistic retail stream, end to end: bm-ordergen (seeded) makes 200
# orders from a pool of 60 buyers -- retail prices incl. VAT from 0.99 to
# 1,234.56 (including 49.00 and 10.00 at 21 %), a share of business orders
# priced excl. VAT, all five vat treatments, private buyers, businesses with
# a VAT number or a Peppol id, names in many scripts -- with bookto's figures
# derived as bookto does; about 15 % carry hostile text (quotes, markup,
# ",:|/%" and spaces in order numbers, long descriptions), which buyers and
# shops do type. They are posted signed to the real `serve` against
# the simulator, plus a few orders that cannot be booked on purpose (USD, an
# unknown vat_treatment; one from a new buyer, one from a buyer with booked
# orders).
#
# Expected outcome, computed here independently of the connector: an order
# can be booked when Moneybird's arithmetic (as the simulator implements it
# from the reference: tax per rate rounded half away from zero on an excl.
# sum; of an incl. sum, the excl. part rounded half away from zero and the
# tax what is left) reproduces bookto's total_incl, excl_vat and
# vat exactly with prices incl. or excl. VAT. Then:
#   - every bookable order is synced, every other one parked, nothing else;
#   - a parked order has no invoice in Moneybird, and a buyer with only
#     parked orders has no contact;
#   - each invoice's total_price_incl_tax, total_price_excl_tax and tax equal
#     bookto's total_incl, excl_vat and vat, and it is paid;
#   - contacts == distinct buyers of booked orders (no duplicates);
#   - `reconcile` exits 0 afterwards.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
: "${BM_ORDERGEN:=$BM_BUILD_DIR/bm-ordergen}"
: "${BM_LOADGEN:=$BM_BUILD_DIR/bm-loadgen}"
bm_setup
[[ -x "$BM_ORDERGEN" ]] || bm_fail "no generator at BM_ORDERGEN=$BM_ORDERGEN (build first)"
[[ -x "$BM_LOADGEN" ]] || bm_fail "no load generator at BM_LOADGEN=$BM_LOADGEN (build first)"
sync_start --rate-limit 6000/10 --seed 12
bm_write_config workers=3 rate_limit=6000/10
bm_migrate
bm_serve_start

SEED=20241205
"$BM_ORDERGEN" --seed "$SEED" --count 200 --buyers 60 --prefix rs --price 49.00 --price 10.00 \
	--hostile >"$BM_TMP/stream.jsonl" || bm_fail "bm-ordergen failed"
bm_assert_eq "$(wc -l <"$BM_TMP/stream.jsonl" | tr -d ' ')" 200 "the generator wrote 200 orders"
"$BM_ORDERGEN" --seed "$SEED" --count 200 --buyers 60 --prefix rs --price 49.00 --price 10.00 \
	--hostile >"$BM_TMP/stream2.jsonl"
cmp -s "$BM_TMP/stream.jsonl" "$BM_TMP/stream2.jsonl" || bm_fail "the generator is not deterministic"

# The expectations live in their own schema of the test database: the
# generated payloads (one jsonb each; CSV with quote and delimiter bytes that
# JSON never contains, so nothing is unescaped) and the deliberate extras.
bm_psql "CREATE SCHEMA rs; CREATE TABLE rs.gen (j jsonb NOT NULL)"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" \
	-c "\\copy rs.gen FROM '$BM_TMP/stream.jsonl' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')" ||
	bm_fail "could not load the generated orders"

# ---- deliberately unbookable orders
returning_email="$(bm_psql "SELECT j->'buyer'->>'email' FROM rs.gen
	WHERE j->'buyer'->>'vat_number' = '' AND j->'buyer'->>'peppol_id' = ''
	  AND j->'buyer'->>'email' <> '' AND j->>'vat_treatment' = 'standard'
	ORDER BY j->>'order_id' LIMIT 1")"
[[ -n "$returning_email" ]] || bm_fail "the stream has no private standard-rate buyer"
returning_ref="$(bm_psql "SELECT j->'buyer'->>'match_ref' FROM rs.gen
	WHERE j->'buyer'->>'email' = '$returning_email' LIMIT 1")"
extra=(
	"rs-x-usd currency=USD total=59.95 excl=49.55 vat=10.40 rate=21 vat_number= peppol_id= company= email=usd.buyer@example.us match_ref=usd.buyer@example.us country=US"
	"rs-x-margin treatment=margin total=30.00 excl=30.00 vat=0 rate=0 vat_number= peppol_id= company= email=margin.buyer@example.nl match_ref=margin.buyer@example.nl"
	"rs-x-usd-returning currency=USD total=12.10 excl=10.00 vat=2.10 rate=21 vat_number= peppol_id= company= email=$returning_email match_ref=$returning_ref"
)

# ---- post everything: two extras, the stream (signed by bm-loadgen, the
# bytes of each line as they are, 4 at a time), the third extra
# shellcheck disable=SC2086 # each entry is "ORDER_ID KEY=VALUE..."
post_order ${extra[0]}
# shellcheck disable=SC2086
post_order ${extra[1]}
"$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/shop" --secret "$BM_SECRET_CURRENT" \
	--bodies "$BM_TMP/stream.jsonl" --concurrency 4 --retries 5 --quiet \
	>"$BM_TMP/loadgen.out" 2>&1 || { cat "$BM_TMP/loadgen.out" >&2; bm_fail "bm-loadgen failed"; }
bm_assert_eq "$(sed -n 's/^status_200=//p' "$BM_TMP/loadgen.out")" 200 "all 200 generated orders accepted"
# shellcheck disable=SC2086
post_order ${extra[2]}
bm_assert_eq "$(bm_count_orders)" 203 "203 orders stored"

# ---- expectations, from bookto's figures and the reference arithmetic
bm_psql "CREATE TABLE rs.expect AS
	SELECT j->>'order_id' AS order_id, j->>'order_number' AS order_number,
	       j->'buyer'->>'match_ref' AS match_ref,
	       round((j->'amount'->>'total_incl')::numeric * 100) AS incl,
	       round((j->'amount'->>'excl_vat')::numeric * 100) AS excl,
	       round((j->'amount'->>'vat')::numeric * 100) AS vat,
	       (j->'amount'->>'vat_rate')::numeric AS rate
	FROM rs.gen;
	ALTER TABLE rs.expect ADD COLUMN bookable boolean;
	-- numeric round() rounds half away from zero
	UPDATE rs.expect SET bookable = incl = excl + vat AND
	    (round(excl * rate / 100) = vat OR round(incl * 100 / (100 + rate)) = excl)"
bookable="$(bm_psql "SELECT count(*) FROM rs.expect WHERE bookable")"
unbookable_gen="$(bm_psql "SELECT count(*) FROM rs.expect WHERE NOT bookable")"
echo "# $bookable generated orders are bookable, $unbookable_gen are not, plus 3 extras"
bm_assert_eq "$(bm_psql "SELECT string_agg(order_id || '=' || incl || '@' || rate || '/' || bookable, ' ' ORDER BY order_id)
	FROM rs.expect WHERE order_id IN ('rs-0', 'rs-1')")" "rs-0=4900@21/true rs-1=1000@21/true" \
	"49.00 and 10.00 at 21 % are in the stream and bookable"
bm_assert_eq "$unbookable_gen" 0 "every generated order is bookable"
bm_assert_eq "$(bm_psql "SELECT count(*) > 0 FROM rs.expect
	WHERE incl * 100 / (100 + rate) - trunc(incl * 100 / (100 + rate)) = 0.5")" t \
	"the stream has a tie (incl / (1 + rate) ends in exactly half a cent, e.g. 0.99 at 20 %)"
bm_assert_eq "$(bm_psql "SELECT count(*) > 0 FROM rs.expect e WHERE bookable
	AND round(excl * rate / 100) <> vat")" t \
	"the stream has bookable orders whose VAT differs from excl x rate (the incl. basis is needed)"
# (The converse, a bookable order only the excl. basis reproduces, cannot
# occur with one line: for an excl.-derived vat = round(excl x r), the incl.
# basis gives round(vat - (vat - excl x r) x 100 / (100 + r)) = vat.)

wait_settled 203 120
bm_assert_eq "$(bm_count_orders "state NOT IN ('synced', 'needs_attention')")" 0 \
	"every order is synced or parked (none skipped, none pending)"

# ---- parked exactly where expected
park_list() {
	bm_psql "SELECT coalesce(string_agg(order_id, ' ' ORDER BY order_id), '') FROM orders WHERE state = 'needs_attention'"
}
expected_parked="$(bm_psql "SELECT string_agg(order_id, ' ' ORDER BY order_id) FROM (
	SELECT order_id FROM rs.expect WHERE NOT bookable
	UNION ALL VALUES ('rs-x-margin'), ('rs-x-usd'), ('rs-x-usd-returning')) AS p")"
parked="$(park_list)"
if [[ "$parked" != "$expected_parked" ]]; then
	echo "# parked but bookable:" >&2
	bm_psql "SELECT o.order_id || ' ' || e.incl || '/' || e.excl || '/' || e.vat || ' @' || e.rate
		|| ': ' || coalesce(o.last_error, '') FROM orders o JOIN rs.expect e USING (order_id)
		WHERE o.state = 'needs_attention' AND e.bookable LIMIT 10" >&2
fi
bm_assert_eq "$parked" "$expected_parked" "exactly the unbookable orders are parked"
bm_assert_eq "$(bm_count_orders "state = 'synced'")" "$bookable" "every bookable order is synced"

# ---- what Moneybird holds
curl -s --max-time 30 "$(sim_url)/_sim/state" >"$BM_TMP/sim-state.json" || bm_fail "GET /_sim/state failed"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" <<EOF || bm_fail "could not load the simulator state"
\\set state \`cat $BM_TMP/sim-state.json\`
CREATE TABLE rs.inv AS SELECT i FROM jsonb_array_elements((:'state'::jsonb)->'sales_invoices') i;
CREATE TABLE rs.con AS SELECT c FROM jsonb_array_elements((:'state'::jsonb)->'contacts') c;
EOF
bm_assert_eq "$(bm_psql "SELECT count(*) FROM rs.inv")" "$bookable" "one invoice per booked order"
bm_assert_eq "$(bm_psql "SELECT count(*) - count(DISTINCT i->>'reference') FROM rs.inv")" 0 \
	"no order has two invoices"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM rs.inv i JOIN orders o ON o.order_number = i->>'reference'
	WHERE o.state = 'needs_attention'")" 0 "no parked order has an invoice"
mismatch="$(bm_psql "SELECT coalesce(string_agg(e.order_id || ': Moneybird ' || (i->>'total_price_excl_tax')
	|| ' + ' || t.tax || ' = ' || (i->>'total_price_incl_tax') || ', bookto '
	|| (e.excl / 100)::numeric(14, 2) || ' + ' || (e.vat / 100)::numeric(14, 2) || ' = '
	|| (e.incl / 100)::numeric(14, 2), '; '), '')
	FROM rs.inv JOIN rs.expect e ON e.order_number = i->>'reference'
	CROSS JOIN LATERAL (SELECT coalesce(sum((x->>'tax_amount')::numeric), 0) AS tax
	                    FROM jsonb_array_elements(i->'tax_totals') x) t
	WHERE (i->>'total_price_incl_tax')::numeric * 100 <> e.incl
	   OR (i->>'total_price_excl_tax')::numeric * 100 <> e.excl
	   OR t.tax * 100 <> e.vat")"
bm_assert_eq "$mismatch" "" "every invoice's totals and tax equal bookto's total_incl, excl_vat and vat"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM rs.inv WHERE i->>'state' = 'paid'")" "$bookable" \
	"every invoice is paid"
bm_assert_eq "$(bm_psql "SELECT count(*) >= 10 FROM rs.inv WHERE i->>'reference' ~ '[ ,:|/%\"<?#]'")" t \
	"invoices whose reference has spaces, quotes or ,:|/%<?# are among them"

# Contacts: one per distinct buyer of a booked order, none for a buyer whose
# orders are all parked; keyed as plan.h says (customer_key of sync_lib.sh,
# in SQL over all buyers at once).
bm_psql "CREATE TABLE rs.buyers AS
	SELECT match_ref, bool_or(state = 'synced') AS booked,
	       '9' || lpad((((CASE WHEN v < 0 THEN v::numeric + 18446744073709551616
		ELSE v::numeric END) % 100000000000000000)::text), 17, '0') AS customer_id
	FROM orders CROSS JOIN LATERAL (SELECT ('x' || substr(encode(sha256(convert_to(match_ref, 'UTF8')),
		'hex'), 1, 16))::bit(64)::bigint AS v) k
	GROUP BY match_ref, v"
buyers="$(bm_psql "SELECT count(*) FROM rs.buyers WHERE booked")"
bm_assert_ne "$(bm_psql "SELECT count(*) FROM rs.buyers WHERE NOT booked")" 0 \
	"the run has buyers with only parked orders"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM rs.con")" "$buyers" \
	"contacts in Moneybird == distinct buyers of booked orders ($buyers)"
bm_assert_eq "$(bm_psql "SELECT count(DISTINCT c->>'customer_id') FROM rs.con")" "$buyers" \
	"no buyer has two contacts"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM (SELECT customer_id FROM rs.buyers WHERE booked
	EXCEPT SELECT c->>'customer_id' FROM rs.con) AS missing")" 0 "every booked buyer has its contact"
bm_assert_eq "$(bm_psql "SELECT coalesce(string_agg(b.match_ref, ' '), '') FROM rs.buyers b
	JOIN rs.con ON c->>'customer_id' = b.customer_id WHERE NOT b.booked")" "" \
	"buyers with only parked orders have no contact"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM rs.con WHERE c->>'send_invoices_to_email' = '$returning_email'")" 1 \
	"the buyer with booked orders and a parked USD order has one contact"

# ---- reconcile agrees
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile >"$BM_TMP/reconcile.out" 2>&1 || rc=$?
[[ "$rc" == 0 ]] || sed -n '1,30p' "$BM_TMP/reconcile.out" >&2
bm_assert_eq "$rc" 0 "reconcile exits 0 after the stream"

bm_serve_stop
bm_done
