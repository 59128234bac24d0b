#!/usr/bin/env bash
# The shared Moneybird rate budget, on a compressed window: the simulator
# allows 20 calls per 4 s and the budget is set to the same. Two processes
# calling as fast as they can together never draw a 429; background work
# stops at its share and leaves the rest to live work; a forced 429 pauses
# the budget until the reset epoch, after which calls succeed again. The
# database keeps only the token's SHA-256.
source "$(dirname "$0")/lib.sh"
bm_setup
BM_DRIVER="${BM_DRIVER:-$BM_BUILD_DIR/mb_client_driver}"
[[ -x "$BM_DRIVER" ]] || bm_fail "no driver at $BM_DRIVER (build target mb_client_driver)"

bm_pg_start
bm_mbsim_start --rate-limit 20/4
bm_write_config
bm_migrate
BUDGET=(--budget "$BM_DATABASE_URL" --requests 20 --per 4)

# drv OPTIONS... -- OP ARGS...: the driver with budget options.
drv() {
	local -a options=()
	while [[ "$1" != "--" ]]; do
		options+=("$1")
		shift
	done
	shift
	"$BM_DRIVER" "${BUDGET[@]}" "${options[@]}" "$BM_MBSIM_URL" "$BM_MBSIM_ADMIN" \
		"$BM_MBSIM_TOKEN" "$@" 2>>"$BM_TMP/driver.err"
}
value() { sed -n "s/^$2=//p" "$1" | head -n 1; }
sim_429s() {
	curl -s "http://127.0.0.1:$BM_MBSIM_PORT/_sim/state" |
		sed -n 's/.*"rate_limited":[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1
}

# ---- two processes at the limit: 2 x 30 calls need at least three windows
START="$(date +%s)"
drv --wait-ms 20000 -- loop 30 tax-rates >"$BM_TMP/a.out" &
PID_A=$!
drv --wait-ms 20000 -- loop 30 ledger-accounts >"$BM_TMP/b.out" &
PID_B=$!
wait "$PID_A" || bm_fail "first driver failed: $(cat "$BM_TMP/driver.err")"
wait "$PID_B" || bm_fail "second driver failed: $(cat "$BM_TMP/driver.err")"
ELAPSED=$(($(date +%s) - START))
bm_assert_eq "$(value "$BM_TMP/a.out" ok)" 30 "process A: every call succeeded"
bm_assert_eq "$(value "$BM_TMP/b.out" ok)" 30 "process B: every call succeeded"
bm_assert_eq "$(value "$BM_TMP/a.out" http_429)$(value "$BM_TMP/b.out" http_429)" 00 \
	"no 429 in either process"
bm_assert_eq "$(sim_429s)" 0 "the simulator answered no 429 at all"
((ELAPSED >= 8)) || bm_fail "60 calls at 20 per 4 s finished in ${ELAPSED}s: the budget did not hold"
bm_pass "60 calls were spread over ${ELAPSED}s (>= 3 windows)"
COUNT_IN_WINDOW="$(bm_psql "SELECT max(n) FROM (SELECT count(*) OVER (ORDER BY at RANGE BETWEEN interval '4 seconds' PRECEDING AND CURRENT ROW) AS n FROM rate_budget_calls) w")"
((COUNT_IN_WINDOW <= 20)) || bm_fail "$COUNT_IN_WINDOW calls were granted within one 4 s window"
bm_pass "at most 20 calls granted in any 4 s window of the log ($COUNT_IN_WINDOW)"

# ---- the database holds the token's hash, never the token
KEY="$(printf '%s' "$BM_MBSIM_TOKEN" | sha256sum | awk '{print $1}')"
bm_assert_eq "$(bm_psql "SELECT token_key FROM rate_budgets")" "$KEY" "the budget is keyed by SHA-256 of the token"
DUMP="$(bm_psql "SELECT * FROM rate_budgets")"
bm_assert_not_contains "$DUMP" "$BM_MBSIM_TOKEN" "the token itself is not stored"

# ---- priorities: background work stops at 80 %, live work may use the rest
sleep 5.5
drv --background --wait-ms 0 -- loop 20 tax-rates >"$BM_TMP/bg.out"
bm_assert_eq "$(value "$BM_TMP/bg.out" ok)" 16 "background work got its 16 of 20 calls"
bm_assert_eq "$(value "$BM_TMP/bg.out" budget_refused)" 4 "background work was refused the reserve"
drv --wait-ms 0 -- loop 5 tax-rates >"$BM_TMP/live.out"
bm_assert_eq "$(value "$BM_TMP/live.out" ok)" 4 "live work used the reserve"
bm_assert_eq "$(value "$BM_TMP/live.out" budget_refused)" 1 "... and nothing beyond the limit"
bm_assert_eq "$(sim_429s)" 0 "still no 429 from the simulator"

# ---- a forced 429 pauses the budget until the reset epoch
sleep 5.5
curl -s -o /dev/null -X POST --data-binary \
	'{"force_status":{"match":"GET workflows","status":429,"count":1}}' \
	"http://127.0.0.1:$BM_MBSIM_PORT/_sim/faults"
drv --wait-ms 0 -- workflows >"$BM_TMP/429.out" || true
bm_assert_eq "$(value "$BM_TMP/429.out" outcome)" rate_limited "a forced 429 is rate_limited"
RESET="$(value "$BM_TMP/429.out" retry_at)"
PAUSED="$(bm_psql "SELECT extract(epoch FROM paused_until)::bigint FROM rate_budgets")"
((PAUSED >= RESET - 1 && PAUSED <= RESET + 1)) ||
	bm_fail "the budget is paused until $PAUSED, not the reset epoch $RESET"
bm_pass "the budget is paused until the reset epoch ($RESET)"
drv --wait-ms 0 -- workflows >"$BM_TMP/paused.out" || true
bm_assert_eq "$(value "$BM_TMP/paused.out" outcome)" rate_limited "a call during the pause is refused"
bm_assert_eq "$(value "$BM_TMP/paused.out" sent)" 0 "... without reaching Moneybird"
drv --wait-ms 15000 -- workflows >"$BM_TMP/after.out" || true
bm_assert_eq "$(value "$BM_TMP/after.out" outcome)" ok "after the reset epoch calls succeed again"
(($(date +%s) >= RESET)) || bm_fail "the call went out before the reset epoch"
bm_pass "no call went out before the reset epoch"
bm_assert_eq "$(sim_429s)" 1 "the only 429 was the forced one"

bm_done
