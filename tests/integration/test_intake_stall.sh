#!/usr/bin/env bash
# Intake, a stalled database: with PostgreSQL frozen (SIGSTOP of the
# postmaster and every backend: connections stay open, nothing answers) a
# signed delivery waits at most http.commit_timeout_ms for its commit, is
# then spooled and answered 200 spooled; connection threads are released, so
# wave after wave of deliveries is answered through a small connection
# limit; /readyz and /metrics answer within their bounds too. After SIGCONT
# every order is in PostgreSQL exactly once, with one
# delivery row each (the batch that was in flight commits late; its spooled
# copies are then no-ops).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stall_lib.sh"
stall_start 8 ord-s 'commit_timeout_ms = 2000;'
f="$stall_first_order"
stall_freeze
started=$(date +%s)
stall_post ord-s 1 8
stall_post ord-s 9 16
stall_post ord-s 17 20
elapsed=$(($(date +%s) - started))
stall_assert_spooled 20
slowest="$stall_slowest"
awk -v s="$slowest" 'BEGIN { exit !(s < 4.5) }' &&
	bm_pass "the slowest answer took ${slowest}s (commit bound 2 s)" ||
	bm_fail "a delivery waited ${slowest}s, more than the 2 s commit bound allows"
# /readyz and /metrics ask PostgreSQL too: bounded as well (a watchdog
# shuts a stalled connection down), so they cannot pile up threads either.
ready="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$BM_URL/readyz" || true)"
bm_assert_eq "${ready% *}" 503 "/readyz during the freeze: 503"
awk -v s="${ready#* }" 'BEGIN { exit !(s < 8) }' && bm_pass "/readyz answered in ${ready#* }s" ||
	bm_fail "/readyz took ${ready#* }s during the freeze"
metrics="$(curl -s -w '\n%{time_total}' --max-time 30 "$BM_URL/metrics" || true)"
bm_assert_contains "$metrics" "bookto_moneybird_database_up 0" "/metrics during the freeze: database_up 0"
awk -v s="$(tail -1 <<<"$metrics")" 'BEGIN { exit !(s < 10) }' &&
	bm_pass "/metrics answered in $(tail -1 <<<"$metrics")s" ||
	bm_fail "/metrics took $(tail -1 <<<"$metrics")s during the freeze"
elapsed=$(($(date +%s) - started))
# Keep PostgreSQL frozen for at least 12 s in all.
sleep $((elapsed < 12 ? 12 - elapsed : 0))
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz answers during the freeze"
stall_thaw

stall_assert_stored ord-s 21
bm_assert_eq "$(bm_psql "SELECT count(*) FROM jobs")" 21 "one job per order"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"duplicate"' "the database answers again" \
	"" "$(($(date +%s) - 3))"
bm_serve_stop
bm_done
