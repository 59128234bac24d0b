#!/usr/bin/env bash
# Scale benchmark (issue 15): one config with many connections.
#
#   tests/bench/scale_bench.sh [--short] [--connections N]
#
# Writes a config with N connections (default 1,000; --short 100), all on the
# simulator, and times `config check`, `serve` from start to a healthy
# /healthz with 4 workers, `status`, and one claim with nothing due (every
# worker's idle poll); prints serve's threads and memory. Figures only; it
# fails when a command fails.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

count=1000
while (($# > 0)); do
	case "$1" in
	--short) count=100 ;;
	--connections) count="$2"; shift ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "scale_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

bm_setup
trap bm_cleanup EXIT
bm_pg_start
bm_mbsim_start
bm_write_config workers=4
bm_write_connections "$BM_CONFIG" "$count"
bm_migrate
echo "# load before: $(uptime)"

# timed LABEL CMD...: runs CMD, prints its seconds (3 decimals) after LABEL.
timed() {
	local label="$1" start
	shift
	start="$(date +%s.%N)"
	"$@" >"$BM_TMP/timed.out" 2>&1 || { tail -n 5 "$BM_TMP/timed.out" >&2; bm_fail "$label failed"; }
	awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.3f\n", a - b }'
}
check_s="$(timed "config check" "$BM_BINARY" -c "$BM_CONFIG" config check)"
serve_start="$(date +%s.%N)"
bm_serve_start
serve_s="$(awk -v a="$(date +%s.%N)" -v b="$serve_start" 'BEGIN { printf "%.3f\n", a - b }')"
sleep 2
threads="$(awk '/^Threads/ { print $2 }' "/proc/$BM_SERVE_PID/status")"
rss="$(awk '/^VmRSS/ { print $2 }' "/proc/$BM_SERVE_PID/status")"
status_s="$(timed "status" "$BM_BINARY" -c "$BM_CONFIG" status)"
status_json_s="$(timed "status --json" "$BM_BINARY" -c "$BM_CONFIG" status --json)"
metrics_s="$(timed "GET /metrics" curl -sf --max-time 30 -o "$BM_TMP/metrics.txt" "$BM_URL/metrics")"
grep -q '^bookto_moneybird_database_up 1' "$BM_TMP/metrics.txt" || bm_fail "/metrics: database_up is not 1"
"$BM_BUILD_DIR/bm-claim-cost" "$BM_DATABASE_URL" 50 >"$BM_TMP/claim.txt" || bm_fail "bm-claim-cost failed"
bm_serve_stop

echo
echo "== scale benchmark: $count connections ($(nproc) cores shared; load: $(uptime | sed 's/.*load average: //')) =="
bb_row "figure" "measured"
bb_row "config check (s)" "$check_s"
bb_row "serve start to healthy (s)" "$serve_s"
bb_row "status (s)" "$status_s"
bb_row "status --json (s)" "$status_json_s"
bb_row "GET /metrics (s)" "$metrics_s"
bb_row "serve threads" "$threads"
bb_row "serve RSS (kB)" "$rss"
bb_row "claim, nothing due, mean (us)" "$(bb_kv "$BM_TMP/claim.txt" claim_mean_us)"
bb_row "next-due poll, mean (us)" "$(bb_kv "$BM_TMP/claim.txt" next_ready_mean_us)"
echo
bm_pass "$count connections: config check, serve and status ran"
bm_done
