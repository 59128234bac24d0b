#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time:
#   run_one.sh TARGET_BINARY SEED_DIR WORK_DIR SECONDS
# New corpus entries go to WORK_DIR/corpus (the seeds are only read), a crash
# to WORK_DIR/crash-<sha1> (minimise it with TARGET -minimize_crash=1, then
# add it to SEED_DIR or a unit test). First replays every seed once, so a
# seed that crashes fails even with a zero budget. Exit 0 when no crash.
set -euo pipefail
target="$1" seeds="$2" work="$3" seconds="$4"
name="$(basename "$target")"
mkdir -p "$work/corpus"
[[ -d "$seeds" ]] || { echo "no seed corpus at $seeds" >&2; exit 1; }
dict=()
[[ -f "$seeds/../../dict/$name.dict" ]] && dict=(-dict="$seeds/../../dict/$name.dict")
# Keep ASan/UBSan reports fatal; leaks are reported by libFuzzer itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "# $name: replaying seeds in $seeds"
"$target" -runs=0 "${dict[@]}" "$seeds" >"$work/replay.log" 2>&1 ||
	{ tail -n 40 "$work/replay.log" >&2; echo "FAIL - $name: a seed crashes" >&2; exit 1; }
echo "# $name: fuzzing for ${seconds}s"
rc=0
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 -artifact_prefix="$work/" "${dict[@]}" \
	"$work/corpus" "$seeds" >"$work/fuzz.log" 2>&1 || rc=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$work/fuzz.log" || true
if [[ "$rc" != 0 ]]; then
	tail -n 60 "$work/fuzz.log" >&2
	echo "FAIL - $name: crash or sanitizer report (artifact in $work/)" >&2
	exit 1
fi
echo "ok - $name: no crash in ${seconds}s ($(find "$work/corpus" -type f | wc -l) new corpus entries)"
