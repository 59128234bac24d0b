#!/usr/bin/env bash
# Intake, a stalled database and more deliveries than handler threads: with
# PostgreSQL frozen (SIGSTOP), http.handler_threads = 2 and a 1.5 s commit
# bound, 16 deliveries posted at once are all answered 200 "spooled" within
# a few seconds: once the batch in flight has run past the bound, a new
# delivery is spooled at once instead of waiting out the bound again behind
# the others (8 rounds of 1.5 s = 12 s, past nginx's 15 s read timeout for a
# few more). After SIGCONT every order is stored exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stall_lib.sh"
stall_start 64 ord-h 'commit_timeout_ms = 1500;' 'handler_threads = 2;'
stall_freeze
stall_post ord-h 1 16
stall_assert_spooled 16
slowest="$stall_slowest"
awk -v s="$slowest" 'BEGIN { exit !(s < 5) }' &&
	bm_pass "the slowest of 16 deliveries through 2 handler threads took ${slowest}s (bound 1.5 s)" ||
	bm_fail "a delivery waited ${slowest}s behind the others (bound 1.5 s, 2 handler threads)"
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz answers during the freeze"
stall_thaw

stall_assert_stored ord-h 17
bm_serve_stop
bm_done
