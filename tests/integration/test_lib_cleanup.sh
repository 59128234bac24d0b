#!/usr/bin/env bash
# The harness itself: a test that ends normally stops every process it listed
# in $BM_TMP/.pids (a second simulator, a receiver), not only serve and the
# simulator; before, those outlived the test and piled up over a CI run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bm_setup

# inner_test EXIT_CODE: a test that starts a helper, lists it, and exits.
inner_test() {
	bash -c '
		source "$1/lib.sh"
		bm_setup >/dev/null
		sleep 300 &
		echo "$!" >>"$BM_TMP/.pids"
		echo "$!" >"$2"
		exit "$3"
	' inner "$(dirname "${BASH_SOURCE[0]}")" "$BM_TMP/helper.pid" "$1"
}

for code in 0 1; do
	rm -f "$BM_TMP/helper.pid"
	inner_test "$code" >/dev/null 2>&1 || true
	helper="$(cat "$BM_TMP/helper.pid" 2>/dev/null || true)"
	bm_assert_ne "$helper" "" "the inner test (exit $code) started its helper"
	if bm_wait_pid_gone "$helper" 30; then gone=yes; else gone=no; kill -KILL "$helper"; fi
	bm_assert_eq "$gone" yes "a listed helper is stopped when the test exits with $code"
done
bm_done
