# shellcheck shell=bash
#
# What the simulator's own tests (test_mbsim_*.sh) share; they need only bash,
# curl, grep and sed, not lib.sh. Sourced as `source mbsim_lib.sh NAME`: sets
# MBSIM, WORK (a fresh mbsim-NAME.XXXXXX folder), TOKEN, ADMIN and FAILS, and
# defines fail (counts a failed assertion; the script reports FAILS at its end).

MBSIM=${BM_MBSIM:?BM_MBSIM must point to the mbsim binary}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mbsim-$1.XXXXXX")
TOKEN=test-token-123
ADMIN=123456789
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
