#!/usr/bin/env bash
# The periodic reconciliation inside `serve`, run every 3 s through
# testing.reconcile_interval_seconds. Orders are synced by the real
# worker, then differences are made the way they happen (Moneybird refuses
# an invoice, a bookkeeper deletes a payment, an invoice is made by hand).
# A periodic run reports them (log line, /metrics, reconcile_runs and
# reconcile_differences), moves a paid order to reconciled, and repairs
# nothing (no job queued, nothing written to Moneybird); it keeps running on
# its interval; SIGTERM between runs and during one (the simulator slowed
# down) exits 0 promptly; with reconcile.interval_seconds = 0 it never runs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_testing backoff_base_seconds=1
bm_testing reconcile_interval_seconds=3
bm_stack --mbsim -- --no-serve workers=1

# log_has TEXT SECONDS: true once the connector log contains TEXT (serve
# logs how it set the periodic run up just after it starts answering).
log_has() {
	local i
	for ((i = 0; i < $2 * 5 * BM_TIME_SCALE; i++)); do
		grep -q -F -- "$1" "$BM_TMP/connector.log" && return 0
		sleep 0.2
	done
	return 1
}

# Hold the periodic run off while the orders are synced and the differences
# made, so the first run sees them all.
sed -i 's/interval_seconds = 900;/interval_seconds = 0;/' "$BM_CONFIG"
bm_serve_start
log_has "event=reconcile_periodic_off" 5 ||
	bm_fail "serve did not log event=reconcile_periodic_off with interval_seconds = 0"
bm_pass "interval_seconds = 0 turns the periodic run off (the environment does not turn it on)"

rc_sync_one rp-ok synced
rc_sync_one rp-unpaid synced
rc_sync_one rp-missing needs_attention '{"force_status": {"match": "POST sales_invoices", "status": 422}}'
# Parked orders are known, not differences: recorded synced without an
# invoice, rp-missing is one.
bm_psql "UPDATE orders SET state = 'synced' WHERE order_id = 'rp-missing'" >/dev/null
bm_pass "three orders taken as far as Moneybird let them"

# A bookkeeper removes rp-unpaid's payment and makes an invoice by hand for
# one of the connector's contacts.
inv="$(rc_order rp-unpaid moneybird_invoice_id)"
rc_api DELETE "sales_invoices/$inv/payments/$(rc_order rp-unpaid moneybird_payment_id)"
bm_assert_eq "$RC_STATUS" 204 "payment of rp-unpaid deleted in Moneybird"
contact="$(rc_order rp-ok moneybird_contact_id)"
rc_api POST sales_invoices '{"sales_invoice":{"contact_id":"'"$contact"'","reference":"ORD-ghost","details_attributes":[{"description":"by hand","price":"50.00"}]}}'
bm_assert_eq "$RC_STATUS" 201 "an invoice for the connector's contact created by hand"
orphan="$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' <<<"$RC_BODY")"
sleep 3.5 # longer than the interval: had the run been on, it would have run by now
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_runs")" 0 "no run while it is off"
bm_assert_contains "$(curl -s --max-time 5 "$BM_URL/metrics")" \
	'bookto_moneybird_reconcile_differences{connection="shop"} -1' "/metrics: no run yet"
bm_serve_stop

# writes: Moneybird requests that change something (the synchronization
# POST only reads).
writes() {
	rc_sim_q "coalesce((SELECT sum(value::int) FROM jsonb_each_text(s->'requests'->'by_endpoint')
		WHERE key ~ '^(POST|PATCH|PUT|DELETE) ' AND key !~ 'synchronization'), 0)"
}
jobs_snapshot() {
	bm_psql "SELECT string_agg(o.order_id || ':' || j.state || ':' || j.attempts, ' ' ORDER BY o.order_id)
		FROM jobs j JOIN orders o ON o.id = j.order_pk"
}
# wait_run AFTER_ID SECONDS: waits for a finished periodic run with id >
# AFTER_ID; prints its id.
wait_run() {
	local i id=""
	for ((i = 0; i < $2 * 5; i++)); do
		id="$(bm_psql "SELECT min(id) FROM reconcile_runs WHERE id > $1 AND trigger = 'periodic'
			AND status <> 'running'")"
		[[ -n "$id" ]] && { echo "$id"; return 0; }
		sleep 0.2
	done
	bm_fail "no periodic run finished within $2 s (runs: $(bm_psql "SELECT string_agg(id || '=' ||
		trigger || '/' || status, ' ') FROM reconcile_runs"))"
}

# --- on, every 3 s
sed -i 's/interval_seconds = 0;/interval_seconds = 900;/' "$BM_CONFIG"
writes_before="$(writes)"
jobs_before="$(jobs_snapshot)"
started=$(date +%s)
bm_serve_start
log_has "event=reconcile_periodic_on interval_seconds=3" 5 ||
	bm_fail "serve did not log event=reconcile_periodic_on interval_seconds=3"
bm_pass "the environment replaces the configured 900 s"
run1="$(wait_run 0 20)"
elapsed=$(($(date +%s) - started))
((elapsed >= 2)) || bm_fail "the first run came $elapsed s after start, not one interval later"
bm_pass "the first periodic run came one interval after start (${elapsed} s)"
bm_assert_eq "$(bm_psql "SELECT trigger || '/' || status || '/' || repair || '/' || differences || '/' ||
	repairs_queued || '/' || orders_checked || '/' || invoices_checked FROM reconcile_runs WHERE id = $run1")" \
	"periodic/done/false/3/0/3/3" "reconcile_runs: a periodic run, done, no repair, 3 differences, none queued"
bm_assert_eq "$(bm_psql "SELECT string_agg(kind || ':' || coalesce(o.order_id, d.moneybird_invoice_id) || ':' ||
	repair, ' ' ORDER BY kind) FROM reconcile_differences d LEFT JOIN orders o ON o.id = d.order_pk
	WHERE run_id = $run1")" \
	"missing_invoice:rp-missing:none not_paid:rp-unpaid:none orphan_invoice:$orphan:none" \
	"reconcile_differences: each difference of the run, none repaired"
line="$(grep "event=reconcile_differences" "$BM_TMP/connector.log" | grep "run_id=$run1 " || true)"
bm_assert_contains "$line" "level=warn" "the run is logged as a warning"
bm_assert_contains "$line" "connection=shop run_id=$run1 differences=3 invoices=3 orders=3" \
	"the log line names the connection, the run and the counts"
metrics="$(curl -s --max-time 5 "$BM_URL/metrics")"
bm_assert_contains "$metrics" 'bookto_moneybird_reconcile_differences{connection="shop"} 3' \
	"/metrics: the last run's differences"
total1="$(sed -n 's/^bookto_moneybird_reconcile_differences_total{connection="shop"} //p' <<<"$metrics")"
((total1 >= 3)) || bm_fail "reconcile_differences_total is [$total1], not at least 3"
bm_pass "/metrics: reconcile_differences_total counts them ($total1)"
# What a run records, and what it leaves alone.
bm_assert_eq "$(rc_order rp-ok "state || '/' || invoice_state")" "reconciled/paid" \
	"the paid invoice moved rp-ok to reconciled"
bm_assert_eq "$(rc_order rp-unpaid "state || '/' || invoice_state || '/' || invoice_total_unpaid_cents")" \
	"synced/open/12100" "rp-unpaid stays synced; its open invoice is recorded"
bm_assert_eq "$(rc_order rp-missing "state || '/' || coalesce(moneybird_invoice_id, '-')")" \
	"synced/-" "rp-missing stays as it was"

# --- it keeps running on its interval
run2="$(wait_run "$run1" 20)"
gap="$(bm_psql "SELECT extract(epoch FROM b.started_at - a.started_at)::numeric(8,1)
	FROM reconcile_runs a, reconcile_runs b WHERE a.id = $run1 AND b.id = $run2")"
awk -v g="$gap" 'BEGIN { exit !(g >= 2.5 && g <= 12) }' ||
	bm_fail "the second run started $gap s after the first, not about one interval (3 s)"
bm_pass "a second periodic run, $gap s after the first"
bm_assert_eq "$(bm_psql "SELECT status || '/' || differences || '/' || repairs_queued FROM reconcile_runs WHERE id = $run2")" \
	"done/3/0" "the second run reports the same three differences"
bm_assert_contains "$(grep "event=reconcile_differences" "$BM_TMP/connector.log" | grep "run_id=$run2 " || true)" \
	"differences=3" "the second run is logged too"
# The total grows by 3 with each later run (polled: a run may already have
# ended between the first reading and the wait for run 2).
for _ in $(seq 1 $((40 * ${BM_TIME_SCALE:-1}))); do
	total2="$(curl -s --max-time 5 "$BM_URL/metrics" |
		sed -n 's/^bookto_moneybird_reconcile_differences_total{connection="shop"} //p')"
	((total2 >= total1 + 3)) && break
	sleep 0.5
done
((total2 >= total1 + 3)) || bm_fail "reconcile_differences_total went from $total1 to $total2"
bm_pass "/metrics: the total grows with each run ($total1 -> $total2)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_runs WHERE trigger <> 'periodic' OR repair")" 0 \
	"every run was periodic and without repair"
# Nothing repaired: no write to Moneybird, no job queued again.
bm_assert_eq "$(writes)" "$writes_before" "the runs wrote nothing to Moneybird"
bm_assert_eq "$(jobs_snapshot)" "$jobs_before" "the runs queued no job"
bm_assert_eq "$(rc_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'reference' = 'ORD-rp-missing')")" 0 "no invoice was made for rp-missing"

# sigterm_serve TENTHS WHEN: SIGTERMs serve and waits up to TENTHS/10 s
# (times BM_TIME_SCALE) for it to exit; sets rc (its exit status) and ms (how
# long it took).
sigterm_serve() {
	local pid="$BM_SERVE_PID" t0
	t0=$(date +%s%N)
	kill -TERM "$pid"
	bm_wait_pid_gone "$pid" $(($1 * BM_TIME_SCALE)) ||
		bm_fail "serve did not exit within $(($1 / 10)) s of SIGTERM $2"
	rc=0
	wait "$pid" || rc=$?
	BM_SERVE_PID=""
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# --- SIGTERM between runs
wait_run "$run2" 20 >/dev/null # a run has just finished
sigterm_serve 100 "between runs"
bm_assert_eq "$rc" 0 "SIGTERM between runs: serve exits 0 (after $ms ms)"
((ms < 5000 * BM_TIME_SCALE)) || bm_fail "SIGTERM between runs took $ms ms"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_runs WHERE status = 'running'")" 0 \
	"no run is left running"

# --- SIGTERM during a run: every Moneybird call takes 4 s, so a run takes
# at least 8 s (list, then fetch); serve stops it before its next call.
rc_sim_post /_sim/faults '{"latency_ms": 4000}' >/dev/null
last="$(bm_psql "SELECT max(id) FROM reconcile_runs")"
bm_serve_start
for ((i = 0; i < 100; i++)); do
	running="$(bm_psql "SELECT id FROM reconcile_runs WHERE id > $last AND status = 'running'")"
	[[ -n "$running" ]] && break
	sleep 0.2
done
[[ -n "$running" ]] || bm_fail "no periodic run started within 20 s"
sleep 0.5 # the listing call is under way
sigterm_serve 150 "during a run"
bm_assert_eq "$rc" 0 "SIGTERM during a run: serve exits 0 (after $ms ms)"
((ms < 6000 * BM_TIME_SCALE)) ||
	bm_fail "SIGTERM during a run took $ms ms: the run was not stopped before its next call"
bm_pass "SIGTERM during a run: exit within one Moneybird call ($ms ms)"
bm_assert_eq "$(bm_psql "SELECT status || '/' || (error LIKE '%shutting down%') FROM reconcile_runs WHERE id = $running")" \
	"failed/true" "the interrupted run is recorded failed, saying why"
bm_assert_contains "$(cat "$BM_TMP/connector.log")" "event=reconcile_interrupted connection=shop" \
	"the interruption is logged"
rc_sim_post /_sim/faults '{}' >/dev/null

# --- off: interval_seconds = 0 wins over the environment, however long
sed -i 's/interval_seconds = 900;/interval_seconds = 0;/' "$BM_CONFIG"
last="$(bm_psql "SELECT max(id) FROM reconcile_runs")"
bm_serve_start
sleep 7 # more than two intervals
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_runs WHERE id > $last")" 0 \
	"disabled: no run in 7 s"
bm_assert_contains "$(curl -s --max-time 5 "$BM_URL/metrics")" \
	'bookto_moneybird_reconcile_differences{connection="shop"} -1' "disabled: /metrics shows no run"
bm_serve_stop

# --- a knob that is not a number is a config error; without it the configured interval holds
sed -i 's/interval_seconds = 0;/interval_seconds = 900;/' "$BM_CONFIG"
bm_testing reconcile_interval_seconds='"abc"'
out="$("$BM_BINARY" -c "$BM_CONFIG" config check 2>&1)" && bm_fail "config check accepted testing.reconcile_interval_seconds = \"abc\""
bm_assert_contains "$out" 'testing.reconcile_interval_seconds' "config check names the bad knob"
bm_testing reconcile_interval_seconds=
bm_serve_start
log_has "event=reconcile_periodic_on interval_seconds=900" 5 ||
	bm_fail "without the knob, serve did not log interval_seconds=900"
bm_pass "a knob that is not a number is refused; without it reconcile.interval_seconds holds"
bm_serve_stop
bm_done
