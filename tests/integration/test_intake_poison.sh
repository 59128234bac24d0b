#!/usr/bin/env bash
# Intake, poison deliveries: a signed delivery PostgreSQL cannot hold as an
# order is never spooled and never blocks the spool. Bytes that are not
# UTF-8 and a NUL character (\u0000) are answered 400 and kept raw
# (outcome unusable); an order_id or a name over its length limit parks the
# order under a key PostgreSQL can index; a delivery PostgreSQL refuses
# anyway (a data exception, SQLSTATE class 22) is kept raw and answered
# 400 while its neighbours are stored. During an outage the same poison is
# spooled next to good orders, and the drain stores every one of them.
source "$(dirname "$0")/lib.sh"
bm_stack

spool_files() {
	find "$BM_SPOOL" -path "$BM_SPOOL/rejected" -prune -o -type f -print 2>/dev/null | wc -l | tr -d ' '
}
# poison_utf8 ORDER_ID: an order whose first_name holds the bytes J 0xff 0xfe a n.
poison_utf8() {
	local f
	f="$(bm_order_json "$1")"
	sed -i "s/\"first_name\": \"Jan\"/\"first_name\": \"J$(printf '\xff\xfe')an\"/" "$f"
	echo "$f"
}
# poison_nul ORDER_ID: an order whose first_name holds \u0000.
poison_nul() {
	local f
	f="$(bm_order_json "$1")"
	sed -i 's/"first_name": "Jan"/"first_name": "J\\u0000an"/' "$f"
	echo "$f"
}

# --- while PostgreSQL is up ------------------------------------------------------
a="$(poison_utf8 ord-p1)"
grep -q "$(printf '\xff')" "$a" || bm_fail "the poison file lacks its 0xff byte"
bm_post_expect /webhooks/bookto/shop "$a" 400 'not valid UTF-8' "bytes that are not UTF-8"
bm_assert_contains "$BM_BODY" "the delivery was kept" "the 400 says the delivery was kept"
bm_assert_eq "$(bm_psql "SELECT outcome || ':' || (encode(sha256(body), 'hex') = '$(bm_sha256_file "$a")')
		FROM deliveries WHERE body_sha256 = '$(bm_sha256_file "$a")'")" "unusable:true" \
	"the invalid UTF-8 delivery is kept byte-exact as unusable"

n="$(poison_nul ord-p2)"
bm_post_expect /webhooks/bookto/shop "$n" 400 'NUL character' "a \\u0000 in a field"
bm_assert_eq "$(bm_psql "SELECT outcome FROM deliveries WHERE body_sha256 = '$(bm_sha256_file "$n")'")" \
	unusable "the NUL delivery is kept as unusable"
bm_assert_eq "$(bm_count_orders "order_id IN ('ord-p1', 'ord-p2')")" 0 "neither became an order"

long_id="$(head -c 6000 /dev/urandom | base64 -w0 | tr -dc 'a-zA-Z0-9' | head -c 6000)"
[[ ${#long_id} == 6000 ]] || long_id="$(printf 'x%.0s' $(seq 1 6000))"
l="$(bm_order_json ord-long)"
sed -i "s/\"order_id\": \"ord-long\"/\"order_id\": \"$long_id\"/" "$l"
bm_post_expect /webhooks/bookto/shop "$l" 200 '"status":"accepted"' "an order_id of 6000 characters"
bm_assert_eq "$(bm_psql "SELECT state || '|' || (order_id LIKE 'invalid-order-id:%') || '|' ||
		(last_error LIKE '%order_id is 6000 bytes, more than the 255 allowed%')
		FROM orders WHERE first_delivery_id = (SELECT id FROM deliveries
		WHERE body_sha256 = '$(bm_sha256_file "$l")')")" "needs_attention|true|true" \
	"the long order_id parks the order under a key derived from the body, saying why"
bm_post_expect /webhooks/bookto/shop "$l" 200 '"status":"duplicate"' \
	"the long order_id delivered again (a new signature) is a duplicate" "" "$(($(date +%s) - 1))"

name="$(printf 'N%.0s' $(seq 1 300))"
m="$(bm_order_json ord-p3)"
sed -i "s/\"first_name\": \"Jan\"/\"first_name\": \"$name\"/" "$m"
bm_post_expect /webhooks/bookto/shop "$m" 200 '"status":"accepted"' "a first_name of 300 bytes"
bm_assert_eq "$(bm_psql "SELECT state || '|' || length(buyer_first_name) FROM orders
		WHERE order_id = 'ord-p3'")" "needs_attention|300" \
	"a name over its limit parks the order, the name kept whole"

# A refusal only PostgreSQL knows about: a trigger raising a data exception
# (class 22) for one city stands in for whatever the parser did not foresee.
bm_psql "CREATE FUNCTION poison_city() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF NEW.buyer_city = 'Poisonville' THEN
		RAISE EXCEPTION 'poisoned city' USING ERRCODE = '22023'; END IF;
	RETURN NEW; END \$\$;
	CREATE TRIGGER poison_city BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION poison_city();" \
	>/dev/null
d="$(bm_order_json ord-p4)"
sed -i 's/"city": "Amsterdam"/"city": "Poisonville"/' "$d"
bm_post_expect /webhooks/bookto/shop "$d" 400 'PostgreSQL cannot store it as an order' \
	"a delivery PostgreSQL refuses (SQLSTATE 22023)"
bm_assert_eq "$(bm_psql "SELECT outcome || '|' || coalesce(order_id, 'null') FROM deliveries
		WHERE body_sha256 = '$(bm_sha256_file "$d")'")" "unusable|null" \
	"the refused delivery is kept raw as unusable"
bm_assert_eq "$(spool_files)" 0 "no poison was spooled while PostgreSQL was up"

# Refused deliveries among good ones in the same moment: the good are stored.
pids=()
for i in 1 2 3 4 5 6; do
	g="$(bm_order_json "ord-p1$i")"
	bm_post_bookto /webhooks/bookto/shop "$g" >/dev/null &
	pids+=($!)
	bm_post_bookto /webhooks/bookto/shop "$d" "" "$(($(date +%s) - i))" >/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
bm_assert_eq "$(bm_count_orders "order_id LIKE 'ord-p1_' AND state = 'queued'")" 6 \
	"six good orders sent among refused ones are all stored"

# --- during an outage: poison spooled with good orders, then drained ------------
# Another refusal, not of the data (SQLSTATE P0001): the file stays in the
# spool for the next drain, and the drain goes on past it.
bm_psql "CREATE FUNCTION stuck_city() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF NEW.buyer_city = 'Stuckville' THEN RAISE EXCEPTION 'stuck city'; END IF;
	RETURN NEW; END \$\$;
	CREATE TRIGGER stuck_city BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION stuck_city();" \
	>/dev/null
bm_pg_stop
s1="$(bm_order_json ord-p19)"
sed -i 's/"city": "Amsterdam"/"city": "Stuckville"/' "$s1"
bm_post_expect /webhooks/bookto/shop "$s1" 200 '"status":"spooled"' \
	"an order the database will fail on (not for its data), while it is down: spooled"
a2="$(poison_utf8 ord-p20)"
bm_post_expect /webhooks/bookto/shop "$a2" 400 'not valid UTF-8' \
	"not UTF-8 while PostgreSQL is down: 400 (kept in the spool)"
d2="$(bm_order_json ord-p21)"
sed -i 's/"city": "Amsterdam"/"city": "Poisonville"/' "$d2"
bm_post_expect /webhooks/bookto/shop "$d2" 200 '"status":"spooled"' \
	"a delivery PostgreSQL will refuse, while it is down: spooled"
for i in 1 2 3 4; do
	g="$(bm_order_json "ord-p3$i")"
	bm_post_expect /webhooks/bookto/shop "$g" 200 '"status":"spooled"' "good order $i while down"
done
bm_assert_eq "$(spool_files)" 7 "seven spool files (two poison, one stuck, four good)"
bm_pg_start_again
for ((i = 0; i < 100; i++)); do
	[[ "$(spool_files)" == 1 ]] && break
	sleep 0.2
done
bm_assert_eq "$(spool_files)" 1 "the drain went past the file it could not store"
bm_assert_eq "$(bm_count_orders "order_id LIKE 'ord-p3_'")" 4 "every good order is stored"
bm_assert_contains "$(grep 'event=spool_file_not_stored' "$BM_TMP/connector.log" | head -1)" \
	"level=warn" "a warn line names the file that could not be stored"
bm_psql "DROP TRIGGER stuck_city ON orders" >/dev/null
for ((i = 0; i < 100; i++)); do
	[[ "$(spool_files)" == 0 ]] && break
	sleep 0.2
done
bm_assert_eq "$(spool_files)" 0 "the spool drained completely, poison and all"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-p19'")" 1 \
	"the stuck order is stored once the database takes it"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders GROUP BY order_id HAVING count(*) > 1")" "" \
	"no order is stored twice"
bm_assert_eq "$(bm_psql "SELECT string_agg(outcome, ',' ORDER BY outcome) FROM deliveries
		WHERE source = 'spool' AND body_sha256 IN ('$(bm_sha256_file "$a2")', '$(bm_sha256_file "$d2")')")" \
	"unusable,unusable" "both spooled poison deliveries are kept raw as unusable"
bm_assert_eq "$(find "$BM_SPOOL/rejected" -type f 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"nothing had to be set aside"
metrics="$(curl -s --max-time 5 "$BM_URL/metrics")"
bm_assert_contains "$metrics" 'bookto_moneybird_deliveries_total{connection="shop",outcome="unusable"}' \
	"/metrics counts unusable deliveries"
bm_assert_not_contains "$metrics" 'outcome="unusable"} 0' "and the count is not zero"
bm_assert_not_contains "$(cat "$BM_TMP/serve.out")" "$BM_SECRET_CURRENT" "no secret in the log"
bm_serve_stop
bm_done
