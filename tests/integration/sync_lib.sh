# shellcheck shell=bash
#
# Helpers for the sync engine tests (tests/integration/test_sync_*.sh),
# sourced after lib.sh. They post orders, wait for the workers, and read the
# Moneybird simulator's GET /_sim/state through PostgreSQL's jsonb (psql is
# already needed, jq is not), so assertions are about what exists in
# "Moneybird" and how many calls each endpoint received.
#
# Retries are made fast for tests: the backoff starts at 1 s
# (testing.backoff_base_seconds) unless the test sets it itself.

[[ -v "BM_TESTING[backoff_base_seconds]" ]] || bm_testing backoff_base_seconds=1

BM_SERVE2_PID=""

# customer_key MATCH_REF: the customer_id the connector must derive (the rule
# of plan.h, computed independently here): "9" + the first 8 bytes of
# SHA-256(match_ref) as an unsigned big-endian number mod 10^17, 17 digits.
customer_key() {
	bm_psql "SELECT '9' || lpad((((CASE WHEN v < 0 THEN v::numeric + 18446744073709551616
		ELSE v::numeric END) % 100000000000000000)::text), 17, '0')
		FROM (SELECT ('x' || substr(encode(sha256(convert_to('$1', 'UTF8')), 'hex'), 1, 16))
		::bit(64)::bigint AS v) AS k"
}

# sim_faults JSON: replaces the simulator's fault set ({} clears it).
sim_faults() {
	sim_post /_sim/faults "$1" >/dev/null
}

# sim_reset: empties the simulator (contacts, invoices, counters, faults).
sim_reset() {
	sim_post /_sim/reset '{}' >/dev/null
}

# sim_calls ROUTE: requests the simulator counted for ROUTE (e.g.
# "POST contacts"); 0 when none.
sim_calls() {
	sim_q "coalesce((s->'requests'->'by_endpoint'->>'$1')::int, 0)"
}

# sim_calls_fast ROUTE: like sim_calls without psql (for tight polling loops).
sim_calls_fast() {
	local n
	n="$(curl -s --max-time 5 "$(sim_url)/_sim/state" | grep -o "\"$1\":[0-9]*" | head -n 1)"
	printf '%s\n' "${n##*:}" | sed 's/^$/0/'
}

# sim_contact_calls: every request on a contacts route.
sim_contact_calls() {
	sim_q "coalesce((SELECT sum(value::int) FROM jsonb_each_text(s->'requests'->'by_endpoint')
		WHERE key ~ '^[A-Z]+ contacts'), 0)"
}

# sim_contacts_with FIELD VALUE: contacts (archived ones too) whose FIELD is VALUE.
sim_contacts_with() {
	sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'contacts') c WHERE c->>'$1' = '$2')"
}

# sim_contact_field CUSTOMER_ID FIELD: FIELD of the contact with that customer_id.
sim_contact_field() {
	sim_q "(SELECT c->>'$2' FROM jsonb_array_elements(s->'contacts') c
		WHERE c->>'customer_id' = '$1' LIMIT 1)"
}

# sim_invoices_with_reference REF: sales invoices whose reference is REF.
sim_invoices_with_reference() {
	sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
		WHERE i->>'reference' = '$1')"
}

# sim_invoice_field REF EXPR: EXPR over the invoice `i` with reference REF.
sim_invoice_field() {
	sim_q "(SELECT $2 FROM jsonb_array_elements(s->'sales_invoices') i
		WHERE i->>'reference' = '$1' LIMIT 1)"
}

# wait_orders WHERE N SECONDS: waits until at least N orders match WHERE;
# fails after SECONDS with the states seen.
wait_orders() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		(($(bm_count_orders "$1") >= $2)) && return 0
		sleep 0.2
	done
	bm_fail "after $3 s fewer than $2 orders match [$1]: $(bm_psql \
		"SELECT string_agg(order_id || '=' || state || coalesce(' (' || last_error || ')', ''),
		 '; ' ORDER BY id) FROM orders")"
}

# wait_settled N SECONDS: waits until N orders are synced, skipped or parked.
wait_settled() {
	wait_orders "state IN ('synced', 'skipped', 'needs_attention')" "$1" "$2"
}

# wait_state ORDER_ID STATE SECONDS: waits until the order is in STATE.
wait_state() {
	wait_orders "order_id = '$1' AND state = '$2'" 1 "$3"
}

# sync_warmup ORDER_ID KEY=VALUE...: posts one order of the buyer KEY=VALUE...
# and waits until it is synced (so the buyer's contact exists).
sync_warmup() {
	post_order "$@"
	wait_state "$1" synced 30
}

# sync_remap SED LINE FILE CONFIG_ARG...: stops serve, writes $BM_TMP/FILE,
# the default mapping edited by the sed script SED (the regex LINE must then
# match in it), and starts serve again with bm_write_config CONFIG_ARG... mapping=that file.
sync_remap() {
	local mapping="$BM_TMP/$3"
	bm_serve_stop
	sed "$1" "$BM_SOURCE_DIR/mappings/default.cfg" >"$mapping"
	grep -q -- "$2" "$mapping" || bm_fail "could not write the mapping $3"
	shift 3
	bm_write_config "$@" mapping="$mapping"
	bm_serve_start
}

# serve2_start: a second `serve` on the same config and database, on its own
# HTTP port (its stdout/stderr go to $BM_TMP/serve2.out); sets BM_SERVE2_PID
# and BM_SERVE2_URL. Like bm_serve_start it moves to another port when it
# exits at startup (the chosen port may be taken, e.g. as a client's
# ephemeral port, which bm_free_port cannot see).
serve2_start() {
	local port config="$BM_TMP/connector2.cfg" i attempt
	for attempt in 1 2 3; do
		port="$(bm_free_port)"
		sed "s/listen = \"127.0.0.1:$BM_HTTP_PORT\";/listen = \"127.0.0.1:$port\";/" \
			"$BM_CONFIG" >"$config"
		"$BM_BINARY" -c "$config" serve >>"$BM_TMP/serve2.out" 2>&1 &
		BM_SERVE2_PID=$!
		echo "$BM_SERVE2_PID" >>"$BM_TMP/.pids" # for lib.sh's watchdog
		for ((i = 0; i < 150; i++)); do
			if ! kill -0 "$BM_SERVE2_PID" 2>/dev/null; then
				wait "$BM_SERVE2_PID" 2>/dev/null || true
				BM_SERVE2_PID=""
				# Both serves log to one file: retry on any early exit;
				# a real startup error fails all three attempts.
				[[ "$attempt" == 3 ]] || continue 2
				bm_fail "the second serve exited during startup: $(tail -n 5 "$BM_TMP/serve2.out")"
			fi
			if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
				"http://127.0.0.1:$port/healthz" || true)" == 200 ]] &&
				sleep 0.1 && kill -0 "$BM_SERVE2_PID" 2>/dev/null; then
				BM_SERVE2_URL="http://127.0.0.1:$port"
				return 0
			fi
			sleep 0.1
		done
		break
	done
	bm_fail "the second serve did not become healthy"
}

# serve2_stop: SIGTERM to the second serve; waits for it.
serve2_stop() {
	[[ -n "$BM_SERVE2_PID" ]] || return 0
	kill -TERM "$BM_SERVE2_PID" 2>/dev/null || true
	bm_wait_pid_gone "$BM_SERVE2_PID" 200 || kill -KILL "$BM_SERVE2_PID" 2>/dev/null || true
	wait "$BM_SERVE2_PID" 2>/dev/null || true
	BM_SERVE2_PID=""
}

# serve_kill9: SIGKILLs the main serve (no cleanup, leases stay held).
serve_kill9() {
	[[ -n "$BM_SERVE_PID" ]] || bm_fail "serve_kill9: serve is not running"
	kill -KILL "$BM_SERVE_PID"
	wait "$BM_SERVE_PID" 2>/dev/null || true
	BM_SERVE_PID=""
}

# sync_cleanup: stops the second serve too (chained before lib.sh's EXIT trap).
sync_cleanup() {
	local rc=$?
	set +e # under set -e the `(exit rc)` below would end the trap early
	serve2_stop
	(exit "$rc") # bm_cleanup reads the test's status from $?
	bm_cleanup
}

# sync_start MBSIM_ARGS...: after bm_setup: the EXIT trap that also stops a
# second serve, PostgreSQL, and the simulator with MBSIM_ARGS.
sync_start() {
	trap sync_cleanup EXIT
	bm_pg_start
	bm_mbsim_start "$@"
}

# sync_stack [--no-serve] MBSIM_RATE [CONFIG_ARG...]: the usual start of a
# sync test: bm_setup, sync_start --rate-limit MBSIM_RATE, bm_write_config
# CONFIG_ARG..., the schema, and serve (unless --no-serve).
sync_stack() {
	local serve=1
	[[ "$1" != --no-serve ]] || { serve=0 && shift; }
	bm_setup
	sync_start --rate-limit "$1"
	shift
	bm_write_config "$@"
	bm_migrate
	((serve == 0)) || bm_serve_start
}
