# shellcheck shell=bash
#
# Helpers shared by the bench scripts and the chaos suite, sourced after
# tests/integration/lib.sh: the simulator's /_sim/ endpoints read through
# PostgreSQL's jsonb (psql is needed anyway, jq is not), waiting for orders to
# drain, and PASS/MISS verdicts.

: "${BM_LOADGEN:=$BM_BUILD_DIR/bm-loadgen}"
export BM_LOADGEN

# bb_sim_url: the simulator's root URL.
bb_sim_url() {
	printf 'http://127.0.0.1:%s' "$BM_MBSIM_PORT"
}

# bb_sim_post PATH JSON: POSTs to a /_sim/ endpoint; fails unless 2xx.
bb_sim_post() {
	local code
	code="$(curl -s -o "$BM_TMP/sim-post.out" -w '%{http_code}' --max-time 10 -X POST \
		-H 'Content-Type: application/json' --data-binary "$2" "$(bb_sim_url)$1" || true)"
	[[ "$code" == 2* ]] || bm_fail "simulator POST $1 answered $code: $(cat "$BM_TMP/sim-post.out")"
}

# bb_sim_faults JSON: replaces the simulator's fault set ({} clears it).
bb_sim_faults() {
	bb_sim_post /_sim/faults "$1"
}

# bb_sim_fetch: saves GET /_sim/state to $BM_TMP/sim-state.json.
bb_sim_fetch() {
	curl -s --max-time 30 "$(bb_sim_url)/_sim/state" >"$BM_TMP/sim-state.json" ||
		bm_fail "GET /_sim/state failed"
}

# bb_sim_q EXPR: evaluates the SQL expression EXPR over the last fetched
# state, available as the jsonb `s`. Example: bb_sim_q "s->'requests'->>'total'"
bb_sim_q() {
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" <<EOF || bm_fail "bb_sim_q failed: $1"
\\set state \`cat $BM_TMP/sim-state.json\`
SELECT $1 FROM (SELECT :'state'::jsonb AS s) AS sim;
EOF
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
