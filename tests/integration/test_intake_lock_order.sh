#!/usr/bin/env bash
# A redelivery of an order while another transaction is changing that order
# (a worker recording a step: UPDATE orders, then its audit row) must not
# deadlock: every change of an order takes the audit chain's lock before the
# row (migration 0007), the same order intake takes them in. Without it,
# intake holds the audit lock waiting for the row, the worker holds the row
# waiting for the audit lock, and PostgreSQL aborts one of them.
source "$(dirname "$0")/lib.sh"
bm_stack workers=0

first="$(bm_order_json lo-1)"
bm_post_bookto /webhooks/bookto/shop "$first"
bm_assert_eq "$BM_STATUS" 200 "the first delivery is stored"

# A worker-like transaction: changes the order, then (after the redelivery
# has arrived and is waiting) appends its audit row and commits.
"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" >"$BM_TMP/worker.out" 2>&1 <<'SQL' &
BEGIN;
UPDATE orders SET last_error = 'a step in progress' WHERE order_id = 'lo-1';
SELECT pg_sleep(3);
INSERT INTO audit_log (actor, action, order_pk, detail)
    SELECT 'worker', 'lock_order_test', id, '{}' FROM orders WHERE order_id = 'lo-1';
COMMIT;
SQL
worker=$!
sleep 1
# The same order again with a different body (a redelivery that differs).
second="$(bm_order_json lo-1 order_number=ORD-lo-1-again)"
started=$(date +%s%N)
bm_post_bookto /webhooks/bookto/shop "$second"
waited_ms=$((($(date +%s%N) - started) / 1000000))
rc=0
wait "$worker" || rc=$?
bm_assert_eq "$rc" 0 "the worker's transaction commits ($(tr '\n' ' ' <"$BM_TMP/worker.out"))"
bm_assert_eq "$BM_STATUS" 200 "the redelivery is acknowledged (after ${waited_ms} ms)"
bm_assert_contains "$BM_BODY" duplicate "the redelivery is recognised as a duplicate"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'lo-1'")" 2 \
	"both deliveries are stored"
bm_assert_eq "$(bm_psql "SELECT string_agg(a.action, ',' ORDER BY a.id) FROM audit_log a
	JOIN orders o ON o.id = a.order_pk WHERE o.order_id = 'lo-1'")" \
	"order_received,lock_order_test,redelivery_differs" \
	"the audit log holds both transactions' rows, in commit order"
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the audit chain verifies"
bm_assert_eq "$(grep -c "deadlock" "$BM_TMP/connector.log" "$BM_TMP/worker.out" | awk -F: '{s += $2} END {print s}')" 0 \
	"no deadlock anywhere"
bm_serve_stop
bm_done
