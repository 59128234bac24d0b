# shellcheck shell=bash
#
# Helpers for the tests that drive the Moneybird client directly through
# mb_client_driver (test_mb_client_operations.sh, test_mb_client_outcomes.sh),
# sourced after lib.sh and bm_setup.

BM_DRIVER="${BM_DRIVER:-$BM_BUILD_DIR/mb_client_driver}"
[[ -x "$BM_DRIVER" ]] || bm_fail "no driver at $BM_DRIVER (build target mb_client_driver)"
DRV_OPTS=()

# mbc OP ARGS...: runs one operation; output in OUT (never fails the script).
mbc() {
	OUT="$("$BM_DRIVER" "${DRV_OPTS[@]}" "$BM_MBSIM_URL" "$BM_MBSIM_ADMIN" "$BM_MBSIM_TOKEN" \
		"$@" 2>&1)" || true
}

# field KEY: the first KEY=value of OUT.
field() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p" | head -n 1; }

# expect OUTCOME MESSAGE: asserts the operation's outcome= line.
expect() {
	local error
	error="$(field error)"
	bm_assert_eq "$(field outcome)" "$1" "$2${error:+ [$error]}"
}
