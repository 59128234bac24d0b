#!/usr/bin/env bash
# SIGTERM during load loses nothing: orders are posted in a loop while serve
# is stopped with SIGTERM mid-way (it must exit 0, leaving no lease and no
# order in_progress) and started again; every order answered 200 exists
# exactly once, and once the workers are done each is one invoice in the
# simulator (no duplicate from a job cut short).
source "$(dirname "$0")/lib.sh"
bm_setup
bm_pg_start
# A compressed rate window (as the architecture's tests do): this test is
# about shutdown, not the budget.
bm_mbsim_start --rate-limit 3000/10
bm_write_config workers=2
sed -i 's/requests = 150; per_seconds = 300;/requests = 3000; per_seconds = 10;/' "$BM_CONFIG"
bm_migrate
bm_serve_start

total=80
answers="$BM_TMP/answers.txt"
: >"$answers"
(
	for i in $(seq 1 "$total"); do
		f="$(bm_order_json "sig-$i" match_ref="buyer-$((i % 7))" vat_number= peppol_id=)"
		bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_CURRENT" "" --max-time 10
		echo "sig-$i $BM_STATUS" >>"$answers"
		# While serve is down, wait a little instead of spinning.
		[[ "$BM_STATUS" == 200 ]] || sleep 0.05
	done
) >"$BM_TMP/poster.out" 2>&1 &
poster=$!

for _ in $(seq 1 300); do
	[[ "$(grep -c ' 200$' "$answers" || true)" -ge 40 ]] && break
	sleep 0.05
done
pid="$BM_SERVE_PID"
kill -TERM "$pid"
bm_wait_pid_gone "$pid" 300 || bm_fail "serve did not exit within 30 s of SIGTERM"
rc=0
wait "$pid" || rc=$?
BM_SERVE_PID=""
bm_assert_eq "$rc" 0 "serve exits 0 on SIGTERM under load"
bm_assert_contains "$(cat "$BM_TMP/connector.log")" "event=stopped" "serve logged a clean stop"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs WHERE lease_owner IS NOT NULL")" 0 \
	"no lease is left behind"
bm_assert_eq "$(bm_count_orders "state = 'in_progress'")" 0 "no order is left in_progress"
answered_before="$(grep -c ' 200$' "$answers" || true)"
echo "# $answered_before orders answered 200 before the restart"

sleep 0.5 # some posts meet a closed port
bm_serve_start
wait "$poster" || true
bm_assert_eq "$(wc -l <"$answers" | tr -d ' ')" "$total" "the poster posted every order"
ok_ids="$(awk '$2 == 200 { print $1 }' "$answers" | sort)"
ok_count="$(wc -l <<<"$ok_ids" | tr -d ' ')"
failed="$(awk '$2 != 200' "$answers" | wc -l | tr -d ' ')"
echo "# $ok_count answered 200, $failed not answered while serve was down"
[[ "$failed" -gt 0 ]] && bm_pass "some posts met the stopped server" ||
	echo "# note: no post met the stopped server (timing); the check below still holds"

missing=0
dupes="$(bm_psql "SELECT order_id FROM orders GROUP BY order_id HAVING count(*) > 1")"
bm_assert_eq "$dupes" "" "no order exists twice"
stored="$(bm_psql "SELECT order_id FROM orders ORDER BY order_id")"
while read -r id; do
	grep -qx "$id" <<<"$stored" || { missing=$((missing + 1)); echo "# missing: $id"; }
done <<<"$ok_ids"
bm_assert_eq "$missing" 0 "every order answered 200 is stored"

# The workers finish everything; Moneybird has exactly one invoice per order.
for _ in $(seq 1 300); do
	left="$(bm_count_orders "state NOT IN ('synced', 'needs_attention', 'skipped')")"
	[[ "$left" == 0 ]] && break
	sleep 0.2
done
bm_assert_eq "$left" 0 "the workers finished every order"
bm_assert_eq "$(bm_count_orders "state = 'needs_attention'")" 0 "no order was parked"
curl -s --max-time 10 "http://127.0.0.1:$BM_MBSIM_PORT/_sim/state" >"$BM_TMP/sim.json" ||
	bm_fail "GET /_sim/state failed"
# sim_sql SQL: runs SQL with :sim replaced by the simulator state as jsonb
# (through a file: the state is too large for a command line).
sim_sql() {
	{
		printf 'SELECT '
		printf '%s' "${1//:sim/\$bmj\$$(cat "$BM_TMP/sim.json")\$bmj\$::jsonb}"
	} >"$BM_TMP/sim.sql"
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -f "$BM_TMP/sim.sql"
}
bm_assert_eq "$(sim_sql "count(*), count(DISTINCT i->>'reference') FROM jsonb_array_elements(:sim -> 'sales_invoices') i")" \
	"$(bm_count_orders)|$(bm_count_orders)" "one invoice per order in the simulator, none twice"
bm_assert_eq "$(sim_sql "count(*) FROM jsonb_array_elements(:sim -> 'contacts')")" \
	"$(bm_psql "SELECT count(DISTINCT moneybird_contact_id) FROM orders")" \
	"no stray contact in the simulator (each one is used by an order)"
bm_serve_stop
bm_done
