#!/usr/bin/env bash
# Stored evidence cannot be rewritten by the runtime role. With the roles of
# deploy/postgres-setup.sql (serve and every command run as
# bookto_moneybird_app, migrate as bookto_moneybird_owner), the main path
# still works -- intake, a redelivery that differs (its outcome is marked),
# contact, invoice, send, payment, the paid push, reconcile --repair, retry --
# while the app role's own UPDATE or DELETE of a delivery's body or hash, or of
# an order's money, identity or buyer fields, is refused and changes nothing.
# The owner role can still disable the guard (it owns the tables): what that
# leaves is the head kept outside the database (test_ops_audit_columns).
# Also: /metrics reads counters that triggers keep equal to the orders.
export BM_DB_ROLES=1
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_stack --mbsim --webhook-retry-seconds 1 -- workers=1
app_psql() { "$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_CONNECTOR_DATABASE_URL" -c "$1"; }
bm_assert_eq "$(app_psql "SELECT current_user")" bookto_moneybird_app "the connector's conninfo is the app role"
bm_assert_contains "$(grep conninfo "$BM_CONFIG")" bookto_moneybird_app "serve runs as the app role"

# --- the main path as the app role ---------------------------------------------------
rc_register_webhook
rc_post_order ev-1
rc_wait_state ev-1 reconciled 30
bm_pass "ev-1 went queued -> synced -> reconciled as the app role"
f="$(bm_order_json ev-1 order_number=ORD-ev-1-changed)"
bm_post_expect /webhooks/bookto/shop "$f" 200 duplicate "a redelivery that differs"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'duplicate_differs'")" 1 \
	"its outcome is marked by the app role"
rc_post_order ev-2 vat_number=
rc_wait_state ev-2 reconciled 30
rc_post_order ev-3 treatment=unknown_treatment
rc_wait_state ev-3 needs_attention 30
bm_assert_eq "$("$BM_BINARY" -c "$BM_CONFIG" retry ev-3 >/dev/null 2>&1 && echo 0 || echo $?)" 0 \
	"retry runs as the app role"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --repair >"$BM_TMP/reconcile.out" 2>&1 || rc=$?
[[ "$rc" == 0 || "$rc" == 3 ]] && bm_pass "reconcile --repair runs as the app role (exit $rc)" ||
	bm_fail "reconcile --repair failed as the app role: $(cat "$BM_TMP/reconcile.out")"
"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/verify.out" 2>&1 ||
	bm_fail "audit verify failed as the app role: $(cat "$BM_TMP/verify.out")"
bm_pass "audit verify runs as the app role"

# /metrics reads maintained counters (migration 0010), not the orders: they
# agree with the orders after the whole path, and a scrape shows the counter.
# The counters have a stripe per audit chain (migration 0018): added up.
bm_assert_eq "$(bm_psql "SELECT count(*) FROM (SELECT connection_id, state, count(*) AS n FROM orders
	GROUP BY 1, 2) real FULL JOIN (SELECT connection_id, state, sum(n) AS n FROM order_state_counts
	GROUP BY 1, 2 HAVING sum(n) <> 0) kept
	USING (connection_id, state) WHERE real.n IS DISTINCT FROM kept.n")" 0 \
	"the maintained order counts equal the orders per state"
bm_assert_eq "$(bm_psql "SELECT (SELECT count(*) FROM orders WHERE synced_at IS NOT NULL)
	= (SELECT sum(n) FROM sync_latency_counts) AND (SELECT round(sum(extract(epoch FROM
	synced_at - received_at))::numeric, 3) FROM orders) = (SELECT round(sum(sum_seconds)::numeric, 3)
	FROM sync_latency_counts)")" t "the maintained latency count and sum equal the orders'"
bm_psql "UPDATE order_state_counts SET n = n + 1000 WHERE state = 'reconciled' AND stripe =
	(SELECT min(stripe) FROM order_state_counts WHERE state = 'reconciled')" >/dev/null
bm_assert_contains "$(curl -s "$BM_URL/metrics")" 'bookto_moneybird_orders{connection="shop",state="reconciled"} 1002' \
	"a scrape reads the counter, not the orders"
bm_psql "UPDATE order_state_counts SET n = n - 1000 WHERE state = 'reconciled' AND stripe =
	(SELECT min(stripe) FROM order_state_counts WHERE state = 'reconciled')" >/dev/null
bm_serve_stop

# --- what the app role cannot do ------------------------------------------------------
before="$(bm_psql "SELECT md5(string_agg(d::text, ',' ORDER BY d.id)) FROM deliveries d")|$(bm_psql \
	"SELECT md5(string_agg(o::text, ',' ORDER BY o.id)) FROM orders o")"
refused_to() { # PSQL ERROR SQL MESSAGE: PSQL runs SQL, which must fail with ERROR
	if "$1" "$3" >/dev/null 2>"$BM_TMP/refused.err"; then
		bm_fail "$4: $1 was allowed: $3"
	fi
	grep -q "$2" "$BM_TMP/refused.err" && bm_pass "$4" ||
		bm_fail "$4: unexpected error $(cat "$BM_TMP/refused.err")"
}
refused() { refused_to app_psql "stored evidence" "$@"; } # SQL MESSAGE
d1="$(bm_psql "SELECT first_delivery_id FROM orders WHERE order_id = 'ev-1'")"
refused "UPDATE deliveries SET body = convert_to('{\"order_id\":\"ev-1\"}', 'UTF8') WHERE id = $d1" \
	"the app role cannot rewrite a delivery's body"
refused "UPDATE deliveries SET body_sha256 = repeat('0', 64) WHERE id = $d1" "nor its hash"
refused "UPDATE deliveries SET order_id = 'other' WHERE id = $d1" "nor its order id"
refused "UPDATE deliveries SET received_at = now() WHERE id = $d1" "nor when it was received"
refused "DELETE FROM deliveries WHERE outcome = 'duplicate_differs'" "nor delete a delivery"
for set in "total_incl_cents = 1" "excl_vat_cents = 1" "vat_cents = 0" "vat_rate = '0'" \
	"currency = 'USD'" "vat_treatment = 'reverse_charge'" "order_id = 'ev-9'" \
	"order_number = 'X'" "connection_id = connection_id" "buyer_vat_number = 'NL000'" \
	"match_ref = 'someone-else'" "is_test_order = true" "paid_at = now()" \
	"first_delivery_id = first_delivery_id + 1" "custom_fields = '[]'"; do
	column="${set%% =*}"
	if [[ "$column" == connection_id ]]; then
		# Setting a column to its own value changes nothing and is allowed.
		app_psql "UPDATE orders SET $set WHERE order_id = 'ev-1'" >/dev/null ||
			bm_fail "an UPDATE that changes nothing was refused"
		continue
	fi
	refused "UPDATE orders SET $set WHERE order_id = 'ev-1'" "the app role cannot change orders.$column"
done
refused "DELETE FROM orders WHERE order_id = 'ev-3'" "nor delete an order"
after="$(bm_psql "SELECT md5(string_agg(d::text, ',' ORDER BY d.id)) FROM deliveries d")|$(bm_psql \
	"SELECT md5(string_agg(o::text, ',' ORDER BY o.id)) FROM orders o")"
bm_assert_eq "$after" "$before" "no delivery or order changed"
app_psql "UPDATE orders SET last_error = 'noted' WHERE order_id = 'ev-1'" >/dev/null ||
	bm_fail "the app role cannot update a workflow column"
bm_pass "the app role still updates workflow columns"
bm_assert_eq "$(bm_psql "SELECT sha256(body) = decode(body_sha256, 'hex') FROM deliveries WHERE id = $d1")" t \
	"the stored body still matches its hash"

# Migration 0019 dropped the foreign keys from an order to its first delivery
# and from a job to its order (the row locks of their checks cost the intake a
# third of its database time): what they refused is still refused, even to a
# superuser, while anything unreferenced may still go.
su_refused() { refused_to bm_psql "still referenced" "$@"; } # SQL MESSAGE
su_refused "DELETE FROM deliveries WHERE id = $d1" "a superuser cannot delete an order's first delivery"
su_refused "DELETE FROM orders WHERE order_id = 'ev-3'" "nor an order that has a job"
su_refused "TRUNCATE deliveries" "nor truncate the deliveries while orders exist"
bm_assert_eq "$(bm_psql "BEGIN; DELETE FROM deliveries WHERE outcome = 'duplicate_differs' RETURNING 1;
	ROLLBACK")" 1 "a superuser may still delete a delivery no order points at"

# The owner owns the tables and can disable the guard: the limit of what
# PostgreSQL itself can enforce.
owner_url="postgresql://bookto_moneybird_owner@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$owner_url" -c "ALTER TABLE orders DISABLE TRIGGER orders_evidence;
	UPDATE orders SET total_incl_cents = 1 WHERE order_id = 'ev-1';
	ALTER TABLE orders ENABLE TRIGGER orders_evidence" >/dev/null 2>&1 &&
	bm_pass "the owner role can still rewrite an order (documented: only the kept head detects the owner)" ||
	bm_fail "the owner role could not disable its own trigger"
bm_done
