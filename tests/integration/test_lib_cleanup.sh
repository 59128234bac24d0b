#!/usr/bin/env bash
# The harness itself: a test that ends normally stops every process it listed
# in $BM_TMP/.pids (a second simulator, a receiver), not only serve and the
# simulator; before, those outlived the test and piled up over a CI run. It
# stops only its own children: a listed pid that is someone else's process
# (the system reuses pids) and a garbled line are left alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bm_setup

# Not the inner test's child: must survive it.
sleep 300 &
bystander=$!
echo "$bystander" >>"$BM_TMP/.pids"

# inner_test EXIT_CODE: a test that starts a helper, lists it after a garbled
# line and the bystander, and exits.
inner_test() {
	bash -c '
		source "$1/lib.sh"
		bm_setup >/dev/null
		sleep 300 &
		printf "%s\n" "12ab; rm -rf /" "$4" "$!" >>"$BM_TMP/.pids"
		echo "$!" >"$2"
		exit "$3"
	' inner "$(dirname "${BASH_SOURCE[0]}")" "$BM_TMP/helper.pid" "$1" "$bystander"
}

for code in 0 1; do
	rm -f "$BM_TMP/helper.pid"
	inner_test "$code" >/dev/null 2>&1 || true
	helper="$(cat "$BM_TMP/helper.pid" 2>/dev/null || true)"
	bm_assert_ne "$helper" "" "the inner test (exit $code) started its helper"
	if bm_wait_pid_gone "$helper" 30; then gone=yes; else gone=no; kill -KILL "$helper"; fi
	bm_assert_eq "$gone" yes "a listed helper is stopped when the test exits with $code"
	kill -0 "$bystander" 2>/dev/null && alive=yes || alive=no
	bm_assert_eq "$alive" yes "a listed process that is not the test's child is left alone"
done
bm_done
