#!/usr/bin/env bash
# Reconciliation benchmark: how many Moneybird calls `reconcile` needs to
# compare N synced orders (default 10,000) with Moneybird's invoices.
#
#   tests/bench/reconcile_bench.sh [--short] [--orders N] [--strict]
#
# The orders are synced first through the connector against the simulator
# with its rate limit lifted (this run measures calls, not time), with 10 %
# new buyers to keep the setup short. Then the simulator's request counters
# are read before and after one `reconcile --json` run. Target for 10,000
# invoices: <= 110 calls (the invoice list is read 100 ids per call).
# The full run takes 12-20 minutes on 2 cores, nearly all of it the sync.
# Exit status: 1 when orders do not sync or reconcile reports differences
# on this clean data; the call target only fails with --strict.
# --short (CI, label "bench"): 200 orders, correctness only.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

orders=10000
bb_short() { orders=200; }
bb_args reconcile_bench 2,15 "orders strict" "$@"
# The 10,000-invoice target, scaled: one call per 100 invoices plus 10.
target=$(((orders + 99) / 100 + 10))

bm_setup
"$BM_BINARY" --help 2>&1 | grep -q '^ *reconcile' || bm_fail "this binary has no reconcile command"
bm_pg_start
bm_mbsim_start --rate-limit 100000/300
bm_write_config workers=4 log_level=warn
sed -i "s|rate_limit = { requests = 150; per_seconds = 300; };|rate_limit = { requests = 100000; per_seconds = 300; };|" \
	"$BM_CONFIG"
bm_migrate
bm_serve_start

echo "# syncing $orders orders (rate limit lifted)"
bb_loadgen "$BM_TMP/store.txt" --count "$orders" --concurrency 16 --new-buyers 100 --prefix rb
bm_assert_eq "$(bb_kv "$BM_TMP/store.txt" status_200)" "$orders" "all $orders orders acknowledged"
sync_s="$(bb_wait_drained "$orders" $((orders / 5 + 120)))"
echo "# synced in ${sync_s}s"
bm_serve_stop

bb_sim_fetch
read -r before _ <<<"$(bb_sim_requests)"
invoices="$(bb_sim_q "jsonb_array_length(s->'sales_invoices')")"
start="$(date +%s.%N)"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile --json >"$BM_TMP/reconcile.json" 2>"$BM_TMP/reconcile.err" || rc=$?
took="$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.2f", a - b }')"
bb_sim_fetch
read -r after _ <<<"$(bb_sim_requests)"
calls=$((after - before))
echo "# reconcile requests by endpoint (cumulative, setup included):"
bb_sim_by_endpoint

echo
echo "== reconcile benchmark ($(nproc) cores, $invoices invoices) =="
bb_row "figure" "measured" "target" "verdict"
bb_row "invoices in Moneybird" "$invoices" "= $orders" "$([[ "$invoices" == "$orders" ]] && echo PASS || echo MISS)"
bb_row "reconcile exit status" "$rc" "0" "$([[ "$rc" == 0 ]] && echo PASS || echo MISS)"
bb_row "Moneybird calls used by reconcile" "$calls" "<= $target" "$(bb_verdict "$calls" '<=' "$target")"
bb_row "reconcile wall time (s)" "$took"
echo

[[ "$rc" == 0 ]] || { head -c 2000 "$BM_TMP/reconcile.json" >&2; cat "$BM_TMP/reconcile.err" >&2; }
bm_assert_eq "$invoices" "$orders" "one invoice per order"
bm_assert_eq "$rc" 0 "reconcile finds no differences on clean data"
if [[ "$strict" == 1 && "$short" == 0 ]]; then
	[[ "$(bb_verdict "$calls" '<=' "$target")" == PASS ]] || bm_fail "call target missed (--strict)"
	bm_pass "call target met"
fi
bm_done
