#!/usr/bin/env bash
# Intake atomicity: delivery, order, job and audit row are one transaction.
# When the last insert of it fails (a trigger refusing job rows stands in for
# any failure mid-transaction), nothing is half-written: no delivery and no
# order without its job. The verified delivery is not lost either: it is
# answered only once durable (spooled), and stored whole once the database
# accepts it again.
source "$(dirname "$0")/lib.sh"
bm_stack

f="$(bm_order_json ord-8001)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery before the fault"

bm_psql "CREATE FUNCTION test_refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN RAISE EXCEPTION 'test fault: jobs refused'; END \$\$;
	CREATE TRIGGER test_refuse_jobs BEFORE INSERT ON jobs
	FOR EACH ROW EXECUTE FUNCTION test_refuse_jobs();"

g="$(bm_order_json ord-8002)"
bm_post_bookto /webhooks/bookto/shop "$g"
case "$BM_STATUS $BM_BODY" in
'200 {"status":"spooled"}'*) bm_pass "a failing transaction: the delivery is spooled" ;;
'503 '*) bm_pass "a failing transaction: 503 (not answered as stored)" ;;
*) bm_fail "a failing transaction: expected 200 spooled or 503, got $BM_STATUS $BM_BODY" ;;
esac
status="$BM_STATUS"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-8002'")" 0 "a failing transaction leaves no order row"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-8002'")" 0 \
	"a failing transaction leaves no delivery row"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders o WHERE NOT EXISTS
		(SELECT 1 FROM jobs j WHERE j.order_pk = o.id)")" 0 "no order without its job"

# Duplicates of a known order need no job: they are still stored.
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "a duplicate while jobs are refused" \
	"" "$(($(date +%s) - 30))"

bm_psql "DROP TRIGGER test_refuse_jobs ON jobs; DROP FUNCTION test_refuse_jobs();"
if [[ "$status" == 200 ]]; then
	n=""
	for ((i = 0; i < 125; i++)); do
		n="$(bm_count_orders "order_id = 'ord-8002'")"
		[[ "$n" == 1 ]] && break
		sleep 0.2
	done
	bm_assert_eq "$n" 1 "the spooled delivery is stored once the fault is gone"
	bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs j JOIN orders o ON o.id = j.order_pk
			WHERE o.order_id = 'ord-8002'")" 1 "... with its job"
	bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-8002'")" 1 \
		"... and exactly one delivery row"
fi
h="$(bm_order_json ord-8003)"
bm_post_expect /webhooks/bookto/shop "$h" 200 '"status":"accepted"' "a delivery after the fault"
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the audit hash chain holds"
bm_serve_stop
bm_done
