#!/usr/bin/env bash
# Leases are fenced. Two serve processes run as PID 1 of their own PID
# namespaces with the same hostname, as two containers would, so
# "hostname:pid:thread" alone would give both the same lease owner.
#  1. A holds a job (stalled before its invoice intent); B, idle, is stopped:
#     B's shutdown releases only B's leases, A's lease stays.
#  2. A claims a job and stalls past its lease
#     (testing.stall_before_intent_ms plays a frozen worker);
#     B reclaims it and syncs the order; A resumes and must not create a
#     second invoice: its intent commit is fenced by the lease generation.
#     The simulator holds exactly one invoice.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_setup
command -v unshare >/dev/null || bm_fail "unshare (util-linux) is needed"
unshare -p -f true 2>/dev/null || bm_fail "unshare -p needs privileges this test does not have"
sync_start
bm_write_config workers=1
bm_migrate

NS_A_WRAPPER="" NS_B_WRAPPER=""

# ns_start NAME: starts serve as PID 1 of a new PID namespace on its own
# HTTP port (config $BM_TMP/NAME.cfg, output $BM_TMP/NAME.out) and waits for
# /healthz; sets NS_PID (the serve process as seen from here), NS_WRAPPER
# and NS_URL.
ns_start() {
	local name="$1" port cfg="$BM_TMP/$1.cfg" i
	port="$(bm_free_port)"
	sed "s/listen = \"127.0.0.1:$BM_HTTP_PORT\";/listen = \"127.0.0.1:$port\";/" \
		"$BM_CONFIG" >"$cfg"
	unshare -p -f --kill-child "$BM_BINARY" -c "$cfg" serve >>"$BM_TMP/$name.out" 2>&1 &
	NS_WRAPPER=$!
	echo "$NS_WRAPPER" >>"$BM_TMP/.pids"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$NS_WRAPPER" 2>/dev/null || bm_fail "serve $name exited: $(tail -n 5 "$BM_TMP/$name.out")"
		if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
			"http://127.0.0.1:$port/healthz" || true)" == 200 ]]; then
			NS_PID="$(cat "/proc/$NS_WRAPPER/task/$NS_WRAPPER/children" | tr -d ' ')"
			[[ -n "$NS_PID" ]] || bm_fail "no serve process under unshare $NS_WRAPPER"
			NS_URL="http://127.0.0.1:$port"
			bm_assert_eq "$(awk '/^NSpid:/ {print $NF}' "/proc/$NS_PID/status")" 1 \
				"serve $name runs as PID 1 of its namespace"
			return 0
		fi
		sleep 0.1
	done
	bm_fail "serve $name did not become healthy"
}

# ns_stop PID WRAPPER: SIGTERM to serve, waits for it (and its wrapper).
ns_stop() {
	kill -TERM "$1" 2>/dev/null || true
	bm_wait_pid_gone "$2" 200 || bm_fail "serve $1 did not stop on SIGTERM"
	wait "$2" 2>/dev/null || true
}

# claimed_by ORDER_ID N: waits until order ORDER_ID has N 'claimed' audit
# rows; prints the owner of the latest.
claimed_by() {
	local i
	for ((i = 0; i < 200; i++)); do
		if [[ "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
			WHERE o.order_id = '$1' AND a.action = 'claimed'")" -ge "$2" ]]; then
			bm_psql "SELECT a.detail->>'worker' FROM audit_log a JOIN orders o ON o.id = a.order_pk
				WHERE o.order_id = '$1' AND a.action = 'claimed' ORDER BY a.id DESC LIMIT 1"
			return 0
		fi
		sleep 0.05
	done
	bm_fail "order $1 was not claimed $2 times"
}

# a_takes_then_b_starts N: A starts (stalled before its intent, as exported),
# takes order fence-N of buyer N (its lease owner in owner_a), then B starts
# without the stall; sets A_PID, B_PID, NS_A_WRAPPER and NS_B_WRAPPER.
a_takes_then_b_starts() {
	ns_start a
	A_PID="$NS_PID" NS_A_WRAPPER="$NS_WRAPPER"
	bm_testing stall_before_intent_ms=
	BM_URL="$NS_URL" post_order "fence-$1" match_ref="NL80000000$1B01" vat_number="NL80000000$1B01" \
		email="f$1@fence.example"
	owner_a="$(claimed_by "fence-$1" 1)"
	ns_start b
	B_PID="$NS_PID" NS_B_WRAPPER="$NS_WRAPPER"
}

# ---- 1. a shutdown releases only its own leases
bm_testing lease_seconds=30 stall_before_intent_ms=8000
a_takes_then_b_starts 1
ns_stop "$B_PID" "$NS_B_WRAPPER"
bm_assert_eq "$(bm_psql "SELECT coalesce(j.lease_owner, 'released') || ' ' || o.state FROM jobs j
	JOIN orders o ON o.id = j.order_pk WHERE o.order_id = 'fence-1'")" "$owner_a in_progress" \
	"stopping B (also PID 1, same host) leaves A's lease alone"
[[ "$owner_a" =~ ^[^:]+:1:[0-9a-f]{16}:0$ ]] ||
	bm_fail "the lease owner is host:pid:<16 hex random>:thread, got [$owner_a]"
bm_pass "the lease owner carries a per-process random part ($owner_a)"
wait_state fence-1 synced 40
bm_assert_eq "$(sim_invoices_with_reference ORD-fence-1)" 1 "fence-1: one invoice"
ns_stop "$A_PID" "$NS_A_WRAPPER"

# ---- 2. a worker stalled past its lease cannot create after a reclaim
bm_testing lease_seconds=2 stall_before_intent_ms=8000
a_takes_then_b_starts 2
owner_b="$(claimed_by fence-2 2)"
bm_assert_ne "$owner_b" "$owner_a" "B reclaims the job under its own owner name"
bm_assert_eq "$(bm_psql "SELECT lease_generation FROM jobs j JOIN orders o ON o.id = j.order_pk
	WHERE o.order_id = 'fence-2'")" 2 "the reclaim is the job's second lease generation"
wait_state fence-2 synced 40
# A wakes 8 s after its claim and must give up at its intent commit.
for ((i = 0; i < 200; i++)); do
	grep -q 'order_id=fence-2.*verdict=lease_lost' "$BM_TMP/connector.log" && break
	sleep 0.1
done
bm_assert_contains "$(grep 'order_id=fence-2.*verdict=lease_lost' "$BM_TMP/connector.log" || true)" \
	"recording the invoice intent: the lease on job" "A's invoice intent is refused: lease lost"
sleep 1
bm_assert_eq "$(sim_invoices_with_reference ORD-fence-2)" 1 "fence-2: exactly one invoice in Moneybird"
bm_assert_eq "$(sim_calls 'POST sales_invoices')" 2 "two invoice creates in all (one per order)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = 'fence-2' AND a.action = 'invoice_intent'")" 1 "one invoice intent committed"
bm_assert_eq "$(order_value fence-2 state)" synced "fence-2 stays synced"
ns_stop "$B_PID" "$NS_B_WRAPPER"
ns_stop "$A_PID" "$NS_A_WRAPPER"
bm_done
