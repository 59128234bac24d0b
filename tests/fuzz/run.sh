#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into their own build directory and
# runs each for a bounded time.
#
#   tests/fuzz/run.sh [--seconds N] [--build-dir DIR] [TARGET...]
#
# Defaults: 60 s per target, build dir build-fuzz, every target. A crash
# stops with status 1 and leaves the input in DIR/tests/fuzz/work/TARGET/;
# reproduce with `DIR/tests/fuzz/TARGET FILE`, minimise with
# `DIR/tests/fuzz/TARGET -minimize_crash=1 -runs=10000 FILE`, then add it to
# tests/fuzz/corpus/TARGET/ (once fixed) or to a unit test.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=60
build_dir=build-fuzz
targets=()
while (($# > 0)); do
	case "$1" in
	--seconds) seconds="$2"; shift ;;
	--build-dir) build_dir="$2"; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
if ((${#targets[@]} == 0)); then
	for src in tests/fuzz/fuzz_*.c; do
		targets+=("$(basename "$src" .c)")
	done
fi
cc="${CC:-clang}"
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (apt-get install clang libclang-rt-dev)" >&2; exit 1; }
CC="$cc" cmake -S . -B "$build_dir" -DBM_FUZZ=ON -DBM_BUILD_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DBM_FUZZ_SECONDS=$seconds" >/dev/null
cmake --build "$build_dir" -j2 --target "${targets[@]}"
failed=()
for target in "${targets[@]}"; do
	bash tests/fuzz/run_one.sh "$build_dir/tests/fuzz/$target" "tests/fuzz/corpus/$target" \
		"$build_dir/tests/fuzz/work/$target" "$seconds" || failed+=("$target")
done
if ((${#failed[@]} > 0)); then
	echo "fuzz: crashes in ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
