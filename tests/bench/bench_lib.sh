# shellcheck shell=bash
#
# Helpers shared by the bench scripts and the chaos suite, sourced after
# tests/integration/lib.sh: the simulator's /_sim/ endpoints read through
# PostgreSQL's jsonb (psql is needed anyway, jq is not), waiting for orders to
# drain, and PASS/MISS verdicts.

: "${BM_LOADGEN:=$BM_BUILD_DIR/bm-loadgen}"
export BM_LOADGEN

# bb_args SCRIPT HELP_LINES "OPTION..." ARG...: a bench's command line.
# "--OPTION VALUE" sets the variable OPTION (dashes as underscores) for each
# OPTION listed; --short sets short=1 (else 0) and runs the script's bb_short
# (its short-run settings); --strict, when listed, sets strict=1 (else 0);
# -h/--help prints lines HELP_LINES ("2,22") of the script. Anything else
# exits 2.
bb_args() {
	local script="$1" help="$2" options=" $3 " name
	shift 3
	short=0 strict=0
	while (($# > 0)); do
		name="${1#--}"
		case "$1" in
		--short)
			# shellcheck disable=SC2034 # short and strict are the calling script's
			short=1
			bb_short ;;
		--strict)
			[[ "$options" == *" strict "* ]] || { echo "$script: unknown argument $1" >&2; exit 2; }
			# shellcheck disable=SC2034
			strict=1 ;;
		-h | --help) sed -n "${help}p" "$0"; exit 0 ;;
		*)
			[[ "$1" == --* && "$options" == *" $name "* && $# -ge 2 ]] ||
				{ echo "$script: unknown argument $1" >&2; exit 2; }
			printf -v "${name//-/_}" '%s' "$2"
			shift ;;
		esac
		shift
	done
}

# bb_sim_url, bb_sim_post, bb_sim_fetch, bb_sim_q: lib.sh's sim_url,
# sim_post (body not printed), sim_state_fetch (30 s) and sim_state_q.
bb_sim_url() { sim_url; }
bb_sim_post() { sim_post "$@" >/dev/null; }
bb_sim_fetch() { sim_state_fetch 30; }
bb_sim_q() { sim_state_q "$@"; }

# bb_sim_faults JSON: replaces the simulator's fault set ({} clears it).
bb_sim_faults() {
	bb_sim_post /_sim/faults "$1"
}

# bb_sim_requests: after bb_sim_fetch, prints "CALLS RATE_LIMITED": the sum
# of requests.by_endpoint (every API request the simulator saw, 429s
# included) and requests.rate_limited.
bb_sim_requests() {
	bb_sim_q "coalesce((SELECT sum(value::bigint) FROM jsonb_each_text(s->'requests'->'by_endpoint')), 0)
		|| ' ' || coalesce(s->'requests'->>'rate_limited', '0')"
}

# bb_sim_by_endpoint: after bb_sim_fetch, one "ROUTE: N" line per route.
bb_sim_by_endpoint() {
	bb_sim_q "(SELECT string_agg(key || ': ' || value, E'\n' ORDER BY key)
		FROM jsonb_each_text(s->'requests'->'by_endpoint'))" | sed 's/^/#   /'
}

# bb_wait_drained EXPECTED TIMEOUT_SECONDS [soft]: waits until EXPECTED
# orders are synced or reconciled; fails early when an order needs attention;
# prints the seconds waited (3 decimals) on stdout. With "soft", a timeout or
# a parked order prints the states to stderr and returns 1 instead of failing
# the test, so the caller can still report what it measured.
bb_wait_drained() {
	local expected="$1" limit="$2" soft="${3:-}" start now done_count stuck
	start="$(date +%s.%N)"
	while :; do
		done_count="$(bm_psql "SELECT count(*) FROM orders WHERE state IN ('synced', 'reconciled')")"
		[[ "$done_count" -ge "$expected" ]] && break
		stuck="$(bm_psql "SELECT count(*) FROM orders WHERE state = 'needs_attention'")"
		now="$(date +%s.%N)"
		if [[ "$stuck" != 0 ]] ||
			awk -v a="$now" -v b="$start" -v l="$limit" 'BEGIN { exit !(a - b > l) }'; then
			bm_psql "SELECT state, count(*) FROM orders GROUP BY state" >&2
			bm_psql "SELECT order_id, last_error FROM orders WHERE state = 'needs_attention' LIMIT 3" >&2
			awk -v a="$now" -v b="$start" 'BEGIN { printf "%.3f\n", a - b }'
			[[ "$soft" == soft ]] && return 1
			bm_fail "orders not drained within ${limit}s ($done_count of $expected, $stuck parked)"
		fi
		sleep 0.2
	done
	now="$(date +%s.%N)"
	awk -v a="$now" -v b="$start" 'BEGIN { printf "%.3f\n", a - b }'
}

# bb_verdict VALUE OP TARGET: PASS or MISS (OP is >= or <=); n/a when empty.
bb_verdict() {
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		if (v == "" || v == "n/a") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
		print ok ? "PASS" : "MISS" }'
}

# bb_row LABEL MEASURED [TARGET VERDICT]: one line of a results table.
bb_row() {
	printf '%-40s %12s   %-10s %s\n' "$1" "$2" "${3:-}" "${4:-}"
}

# bb_loadgen OUTFILE ARGS...: runs bm-loadgen against the shop connection,
# key=value report into OUTFILE; fails the test when it fails.
bb_loadgen() {
	local out="$1"
	shift
	[[ -x "$BM_LOADGEN" ]] || bm_fail "no load generator at BM_LOADGEN=$BM_LOADGEN"
	"$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/shop" --secret "$BM_SECRET_CURRENT" --quiet \
		"$@" >"$out" 2>"$out.err" || { cat "$out.err" >&2; bm_fail "bm-loadgen failed"; }
}

# bb_kv FILE KEY: the value of KEY=... in a bm-loadgen report.
bb_kv() {
	sed -n "s/^$2=//p" "$1"
}
