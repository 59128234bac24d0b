#!/usr/bin/env bash
# Moneybird pushes cost the database nothing until they verify, and a
# replayed push is not applied twice.
#  - 100 pushes with a malformed Moneybird-Signature or one outside the
#    5-minute window run no SQL at all (PostgreSQL logs every statement
#    here: log_statement = all); 100 well-formed pushes with a wrong
#    digest re-read the webhook keys at most once per 2 s, not per push;
#    /readyz stays fast during a flood.
#  - A real paid push of the simulator, captured from the database, is
#    replayed byte for byte (same signature, within its 5 minutes) under a
#    new Idempotency-Key after the payment was removed in Moneybird: it is a
#    duplicate, and the order stays synced instead of being "reconciled"
#    again by the stale paid entity.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_setup
bm_pg_start
bm_psql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
bm_psql "SELECT pg_reload_conf()" >/dev/null
bm_mbsim_start --webhook-retry-seconds 1
bm_write_config workers=1
bm_migrate
bm_serve_start
rc_register_webhook
PGLOG="$BM_PG_DIR/server.log"

# key_reads: statements that read the webhook keys so far.
key_reads() {
	grep -c 'moneybird_webhook_previous_secret IS NOT NULL AND' "$PGLOG" || true
}
# event_inserts: pushes stored so far (statements).
event_inserts() {
	grep -c 'INSERT INTO moneybird_events' "$PGLOG" || true
}

# flood N KIND: N pushes of garbage KIND in parallel; prints the HTTP codes
# seen, sorted and counted.
flood() {
	local n="$1" kind="$2" hex now i
	hex="$(head -c $((32 * n)) /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
	printf '{"webhook_token":"x","action":"sales_invoice_state_changed_to_paid","entity_id":"1"}' \
		>"$BM_TMP/garbage.json"
	now="$(date +%s)"
	for ((i = 0; i < n; i++)); do
		case "$kind" in
		malformed) case $((i % 4)) in
			0) echo "garbage" ;;
			1) echo "t=abc,v1=zz" ;;
			2) echo "t=$now" ;;
			3) echo "v1=$(printf '%064d' 0)" ;;
			esac ;;
		stale) echo "t=$((now - 301 - i)),v1=${hex:$((64 * i)):64}" ;;
		wrong) echo "t=$now,v1=${hex:$((64 * i)):64}" ;;
		esac
	done >"$BM_TMP/headers.txt"
	tr '\n' '\0' <"$BM_TMP/headers.txt" | xargs -0 -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
		--max-time 10 -X POST -H "Moneybird-Signature: {}" -H "Idempotency-Key: k-$RANDOM" \
		--data-binary @"$BM_TMP/garbage.json" "$BM_URL/webhooks/moneybird/shop" | sort | uniq -c |
		awk '{print $2 "x" $1}' | tr '\n' ' '
}

# ---- garbage costs no query
sleep 0.5
reads0="$(key_reads)" inserts0="$(event_inserts)"
bm_assert_eq "$(flood 100 malformed)" "401x100 " "100 pushes with a malformed signature header: 401"
bm_assert_eq "$(flood 100 stale)" "401x100 " "100 pushes signed more than 5 minutes ago: 401"
bm_assert_eq "$(($(key_reads) - reads0)) $(($(event_inserts) - inserts0))" "0 0" \
	"200 pushes refused on their header's shape or time ran no SQL (keys not read, nothing stored)"

start="$(date +%s%N)"
reads1="$(key_reads)"
flood 100 wrong >"$BM_TMP/wrong.codes" &
flood_pid=$!
slowest=0
for _ in 1 2 3 4 5; do
	t="$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "$BM_URL/readyz")"
	ms="$(awk -v t="$t" 'BEGIN {printf "%d", t * 1000}')"
	((ms > slowest)) && slowest="$ms"
	sleep 0.1
done
wait "$flood_pid"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
bm_assert_eq "$(cat "$BM_TMP/wrong.codes")" "401x100 " "100 well-formed pushes with a wrong digest: 401"
reads=$(($(key_reads) - reads1))
allowed=$((elapsed_ms / 2000 + 1))
((reads <= allowed)) || bm_fail "100 wrong pushes in ${elapsed_ms} ms read the keys $reads times (at most $allowed)"
bm_pass "100 wrong pushes in ${elapsed_ms} ms read the keys $reads times (one per 2 s at most)"
((slowest < 1000)) || bm_fail "/readyz took ${slowest} ms during the flood"
bm_pass "/readyz answered within ${slowest} ms during the flood"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM moneybird_events")" 0 "nothing was stored"

# ---- a replayed push under a new Idempotency-Key
rc_post_order replay-1
rc_wait_state replay-1 reconciled 30
rc_wait_sql "SELECT count(*) FROM moneybird_events WHERE status IN ('pending', 'waiting')" 0 10
bm_psql "SELECT encode(body, 'base64') FROM moneybird_events
	WHERE action = 'sales_invoice_state_changed_to_paid' ORDER BY id LIMIT 1" |
	base64 -d >"$BM_TMP/paid.json"
ts="$(bm_psql "SELECT signature_timestamp FROM moneybird_events
	WHERE action = 'sales_invoice_state_changed_to_paid' ORDER BY id LIMIT 1")"
secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
header="t=$ts,v1=$(rc_mb_sign "$secret" "$ts" "$BM_TMP/paid.json")"
invoice="$(rc_order replay-1 moneybird_invoice_id)"
payment="$(rc_order replay-1 moneybird_payment_id)"
rc_api DELETE "sales_invoices/$invoice/payments/$payment"
bm_assert_eq "$RC_STATUS" 204 "the bookkeeper deletes the payment in Moneybird"
rc_wait_state replay-1 synced 20
rc_wait_sql "SELECT count(*) FROM moneybird_events WHERE status IN ('pending', 'waiting')" 0 10
paid_events="$(bm_psql "SELECT count(*) FROM moneybird_events WHERE action = 'sales_invoice_state_changed_to_paid'")"

rc_post_mb "$BM_TMP/paid.json" "$header" "replayed-$(openssl rand -hex 8)"
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"duplicate"}' \
	"the captured paid push under a new Idempotency-Key: 200 duplicate"
rc_post_mb "$BM_TMP/paid.json" "$header"
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"duplicate"}' "... and without one: duplicate"
sleep 2
bm_assert_eq "$(bm_psql "SELECT count(*) FROM moneybird_events WHERE action = 'sales_invoice_state_changed_to_paid'")" \
	"$paid_events" "the replay was not stored"
bm_assert_eq "$(rc_order replay-1 state)" synced "the replay did not reconcile the order again"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'replay-1' AND a.action = 'paid_confirmed'")" 1 "one paid confirmation in the audit log"

# A real new payment is still applied (a different body).
rc_sim_post "/_sim/sales_invoices/$invoice/mark_paid" '{}' >/dev/null
rc_wait_state replay-1 reconciled 20
bm_pass "a new payment in Moneybird reconciles the order again"

# ---- a frozen PostgreSQL costs a verified push a bounded wait, not a thread
sed 's/"version":[0-9]*/"version":1900000001/' "$BM_TMP/paid.json" >"$BM_TMP/fresh.json"
ts="$(date +%s)"
header="t=$ts,v1=$(rc_mb_sign "$secret" "$ts" "$BM_TMP/fresh.json")"
pg_main="$(head -1 "$BM_PGDATA/postmaster.pid")"
frozen="$pg_main $(pgrep -P "$pg_main" | paste -sd' ')"
trap 'rc=$?; kill -CONT $frozen 2>/dev/null; (exit $rc); bm_cleanup' EXIT
kill -STOP $frozen
started_ms=$(date +%s%3N)
rc_post_mb "$BM_TMP/fresh.json" "$header" "fresh-1"
waited_ms=$(($(date +%s%3N) - started_ms))
kill -CONT $frozen
bm_assert_eq "$BM_STATUS" 503 "a verified push while PostgreSQL is frozen: 503 (Moneybird retries it)"
((waited_ms < 6000)) || bm_fail "the push waited ${waited_ms} ms for a frozen PostgreSQL"
bm_pass "... answered after ${waited_ms} ms (bound 3 s per statement)"
for ((i = 0; i < 50; i++)); do
	rc_post_mb "$BM_TMP/fresh.json" "$header" "fresh-1"
	[[ "$BM_STATUS" == 200 ]] && break
	sleep 0.2
done
bm_assert_eq "$BM_STATUS" 200 "Moneybird's retry after the thaw is stored"
bm_serve_stop
bm_done
