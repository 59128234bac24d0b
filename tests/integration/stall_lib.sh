# shellcheck shell=bash
# A frozen PostgreSQL for the intake stall tests (test_intake_stall*.sh):
# SIGSTOP of the postmaster and every backend (connections stay open,
# nothing answers), signed deliveries posted at once while it is frozen, and
# the checks that follow. Source after lib.sh.

stall_pg_pids() {
	local main
	main="$(head -1 "$BM_PGDATA/postmaster.pid")"
	echo "$main" $(pgrep -P "$main")
}
stall_frozen=""
stall_freeze() {
	stall_frozen="$(stall_pg_pids)"
	kill -STOP $stall_frozen
}
stall_thaw() { [[ -z "$stall_frozen" ]] || kill -CONT $stall_frozen 2>/dev/null || true; stall_frozen=""; }

# stall_start MAX_CONNECTIONS PREFIX HTTP_KEY...: a server whose http group
# also holds each HTTP_KEY (e.g. "commit_timeout_ms = 2000;"), with order
# PREFIX0 accepted before the freeze (its file in $stall_first_order).
stall_start() {
	local max="$1" prefix="$2" key insert=""
	shift 2
	for key in "$@"; do insert+="\\n  $key"; done
	bm_setup
	bm_pg_start
	bm_write_config "max_connections=$max"
	sed -i "s/^\(  request_timeout_seconds = .*\)\$/\1$insert/" "$BM_CONFIG"
	for key in "$@"; do
		grep -qF "  $key" "$BM_CONFIG" || bm_fail "could not set $key"
	done
	bm_migrate
	bm_serve_start
	trap 'rc=$?; stall_thaw; (exit $rc); bm_cleanup' EXIT
	mkdir -p "$BM_TMP/stall"
	stall_first_order="$(bm_order_json "${prefix}0")"
	bm_post_expect /webhooks/bookto/shop "$stall_first_order" 200 '"status":"accepted"' \
		"a delivery before the freeze"
}

# stall_post PREFIX FIRST LAST: posts orders PREFIX<FIRST>..PREFIX<LAST> at
# once and waits for all; each writes "<http code> <seconds>" to
# $BM_TMP/stall/<n>.code and its body to <n>.body.
stall_post() {
	local i pids=() file ts sig
	for ((i = $2; i <= $3; i++)); do
		file="$(bm_order_json "$1$i")"
		ts="$(date +%s)"
		sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$file")"
		curl -s -o "$BM_TMP/stall/$i.body" -w '%{http_code} %{time_total}\n' --max-time 30 \
			-X POST -H 'Content-Type: application/json' -H "X-Bookto-Timestamp: $ts" \
			-H "X-Bookto-Signature: $sig" --data-binary "@$file" \
			"$BM_URL/webhooks/bookto/shop" >"$BM_TMP/stall/$i.code" 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" || true # a timed-out curl is counted by stall_assert_spooled
}

# stall_assert_spooled N: all N deliveries posted were answered 200 spooled;
# sets stall_slowest to the slowest answer's seconds.
stall_assert_spooled() {
	local codes
	codes="$(cat "$BM_TMP"/stall/*.code | awk '{print $1}' | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -)"
	bm_assert_eq "$codes" "200x$1" "$1 deliveries during the freeze: all answered 200"
	bm_assert_eq "$(cat "$BM_TMP"/stall/*.body | grep -o '"status":"spooled"' | wc -l | tr -d ' ')" "$1" \
		"... all spooled"
	stall_slowest="$(cat "$BM_TMP"/stall/*.code | awk '{print $2}' | sort -n | tail -1)"
}

# stall_assert_stored PREFIX N: after the thaw, N orders PREFIX* are stored
# exactly once each and the spool is empty.
stall_assert_stored() {
	local i
	for ((i = 0; i < 150; i++)); do
		[[ "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l)" == 0 &&
			"$(bm_count_orders "order_id LIKE '$1%'" 2>/dev/null)" == "$2" ]] && break
		sleep 0.2
	done
	bm_assert_eq "$(bm_count_orders "order_id LIKE '$1%'")" "$2" "after SIGCONT all $2 orders are stored"
	bm_assert_eq "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l | tr -d ' ')" 0 "the spool is empty"
	bm_assert_eq "$(bm_psql "SELECT order_id FROM deliveries WHERE order_id LIKE '$1%'
		GROUP BY order_id HAVING count(*) <> 1")" "" "each order has exactly one delivery row"
}
