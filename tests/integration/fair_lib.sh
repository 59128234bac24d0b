# shellcheck shell=bash
#
# Helpers for the fairness test and bench (test_sync_fair.sh,
# tests/bench/fair_bench.sh), sourced after lib.sh and sync_lib.sh: two
# administrations with their own tokens and so their own rate budgets. "shop"
# (A) talks to the usual simulator, "idle" (B) to a second one with another
# token and administration id. Orders are posted with bm-loadgen.

: "${BM_LOADGEN:=$BM_BUILD_DIR/bm-loadgen}"
FAIR_B_TOKEN="test-token-idle"
FAIR_B_ADMIN="223456789012345678"
FAIR_SIM2_PID=""
FAIR_SIM2_PORT=""

# fair_sim2_start ARGS...: the second simulator (B's administration).
fair_sim2_start() {
	rm -f "$BM_TMP/mbsim2.port"
	"$BM_MBSIM" --port 0 --port-file "$BM_TMP/mbsim2.port" --token "$FAIR_B_TOKEN" \
		--administration-id "$FAIR_B_ADMIN" "$@" >"$BM_TMP/mbsim2.log" 2>&1 &
	FAIR_SIM2_PID=$!
	echo "$FAIR_SIM2_PID" >>"$BM_TMP/.pids" # for lib.sh's watchdog and cleanup
	bm_wait_file "$BM_TMP/mbsim2.port" 100 || bm_fail "the second simulator wrote no port file"
	FAIR_SIM2_PORT="$(tr -d '[:space:]' <"$BM_TMP/mbsim2.port")"
}

# fair_config A_RATE B_RATE CONFIG_ARG...: bm_write_config CONFIG_ARG...
# rate_limit=A_RATE, then connection "idle" (B) on the second simulator with
# its own token and B_RATE (REQUESTS/SECONDS) appended to the list.
fair_config() {
	local a_rate="$1" b_rate="$2" block
	shift 2
	bm_write_config rate_limit="$a_rate" "$@"
	block="$(BM_MBSIM_TOKEN="$FAIR_B_TOKEN" BM_MBSIM_ADMIN="$FAIR_B_ADMIN" \
		bm_config_connection idle "\"$BM_SECRET_CURRENT\"" 300 \
		"$BM_SOURCE_DIR/mappings/default.cfg" "http://127.0.0.1:$FAIR_SIM2_PORT/api/v2" "" "$b_rate")"
	# The list ends with the last line that is ");" (groups such as
	# `testing` may follow it).
	local end
	end="$(grep -n '^);$' "$BM_CONFIG" | tail -n 1 | cut -d: -f1)"
	[[ -n "$end" ]] || bm_fail "no end of the connections list in $BM_CONFIG"
	{
		head -n "$((end - 1))" "$BM_CONFIG"
		printf ',\n%s\n);\n' "$block"
		tail -n "+$((end + 1))" "$BM_CONFIG"
	} >"$BM_CONFIG.new"
	mv "$BM_CONFIG.new" "$BM_CONFIG"
	chmod 600 "$BM_CONFIG"
}

# fair_post NAME PREFIX COUNT [LOADGEN_ARGS...]: posts COUNT orders
# PREFIX-0.. to connection NAME with bm-loadgen (4 connections).
fair_post() {
	local name="$1" prefix="$2" count="$3"
	shift 3
	[[ -x "$BM_LOADGEN" ]] || bm_fail "no load generator at BM_LOADGEN=$BM_LOADGEN"
	"$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/$name" --secret "$BM_SECRET_CURRENT" --quiet \
		--concurrency 4 --count "$count" --prefix "$prefix" "$@" \
		>"$BM_TMP/loadgen-$prefix.out" 2>&1 || {
		cat "$BM_TMP/loadgen-$prefix.out" >&2
		bm_fail "bm-loadgen failed"
	}
}

# fair_exhaust TOKEN REQUESTS: fills the budget of TOKEN with REQUESTS calls
# made now, as if a burst had just spent it (its window reopens one window
# later).
fair_exhaust() {
	bm_psql "WITH k AS (SELECT encode(sha256(convert_to('$1', 'UTF8')), 'hex') AS key),
		b AS (INSERT INTO rate_budgets (token_key) SELECT key FROM k
		      ON CONFLICT (token_key) DO NOTHING)
		INSERT INTO rate_budget_calls (token_key, at, priority)
		SELECT k.key, clock_timestamp(), 0 FROM k, generate_series(1, $2)" >/dev/null
}

# fair_budget_used TOKEN SECONDS: calls logged in TOKEN's budget in the last SECONDS.
fair_budget_used() {
	bm_psql "SELECT count(*) FROM rate_budget_calls
		WHERE token_key = encode(sha256(convert_to('$1', 'UTF8')), 'hex')
		AND at > clock_timestamp() - interval '$2 seconds'"
}

# fair_latency_ms ORDER_ID: ms from the order's arrival to its booking
# (empty until it is synced).
fair_latency_ms() {
	bm_psql "SELECT round(extract(epoch FROM synced_at - received_at) * 1000)::bigint
		FROM orders WHERE order_id = '$1' AND state = 'synced'"
}

# fair_one NAME ORDER_ID TIMEOUT_S: posts one order to NAME, waits until it
# is synced (fails after TIMEOUT_S) and prints its latency in ms.
fair_one() {
	local i ms=""
	"$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/$1" --secret "$BM_SECRET_CURRENT" --quiet \
		--concurrency 1 --count 1 --prefix "$2" >"$BM_TMP/loadgen-one.out" 2>&1 ||
		bm_fail "posting $2 failed: $(cat "$BM_TMP/loadgen-one.out")"
	for ((i = 0; i < $3 * 20; i++)); do
		ms="$(fair_latency_ms "$2-0")"
		[[ -z "$ms" ]] || break
		sleep 0.05
	done
	[[ -n "$ms" ]] || bm_fail "order $2-0 was not booked within $3 s"
	echo "$ms"
}

# fair_claims CONNECTION_NAME: claims (audit rows 'claimed') of its orders so far.
fair_claims() {
	bm_psql "SELECT count(*) FROM audit_log a JOIN connections c ON c.id = a.connection_id
		WHERE c.name = '$1' AND a.action = 'claimed'"
}

# fair_audit_rows CONNECTION_NAME: every audit row of the connection so far.
fair_audit_rows() {
	bm_psql "SELECT count(*) FROM audit_log a JOIN connections c ON c.id = a.connection_id
		WHERE c.name = '$1'"
}
