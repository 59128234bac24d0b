#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the Debian packages, builds
# with warnings as errors, runs every test (unit + integration) under
# AddressSanitizer + UndefinedBehaviorSanitizer, then again on the normal
# build. Each integration test starts its own PostgreSQL in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

build_and_test() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DBM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 600
}

echo "== sanitizer build (ASan + UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build_and_test build-sanitize -DBM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

echo "== release build =="
build_and_test build -DCMAKE_BUILD_TYPE=RelWithDebInfo
