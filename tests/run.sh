#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. installs the Debian packages (deploy/install-deps.sh);
#   1b. checks the written style rules before any build
#      (tests/structure/check.sh: clang-format, banned functions, file and
#      function sizes, include cycles and layers);
#   2. fuzzes each libFuzzer target for a bounded time (label "fuzz", clang);
#   3. builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
#      unit and integration tests (any sanitizer report fails the test);
#   4. builds normally with warnings as errors and runs every label: unit,
#      integration, bench (short runs of the benchmarks), chaos and package
#      (the Debian package built, inspected, linted and installed into a
#      scratch root);
#   5. on that build, runs the main path (order -> invoice -> paid push ->
#      reconciled) and the periodic reconciliation with the binary under
#      valgrind memcheck (label "valgrind"): any error or definite leak fails.
# Each integration test starts its own PostgreSQL in /tmp. Set
# BM_FUZZ_SECONDS to change the per-target fuzzing time (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2
started=$(date +%s)

phase() {
  echo
  echo "== $1 ($(($(date +%s) - started)) s since start) =="
}

configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DBM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

phase "structure: format, banned functions, sizes, include layers (tests/structure/check.sh)"
tests/structure/check.sh

phase "fuzzing: each target for ${BM_FUZZ_SECONDS:-60} s"
tests/fuzz/run.sh --seconds "${BM_FUZZ_SECONDS:-60}"

phase "sanitizer build (ASan + UBSan): unit and integration tests"
configure_and_build build-sanitize -DBM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize -j"$jobs" -L 'unit|integration' --output-on-failure

phase "release build: unit, integration, bench, chaos and package"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build -j"$jobs" -LE valgrind --output-on-failure

phase "valgrind memcheck: the main path on the release build"
ctest --test-dir build -j"$jobs" -L valgrind --no-tests=error --output-on-failure
phase "done"
