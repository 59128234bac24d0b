#!/usr/bin/env bash
# Chaos suite: many orders with repeat buyers through two `serve` processes
# on one PostgreSQL, against the Moneybird simulator with its rate window
# compressed (150 requests per 3 s), while at random moments one serve is
# SIGKILLed and restarted, PostgreSQL is restarted (pg_ctl restart -m fast),
# and the simulator's faults are switched on (5xx, latency, creates applied
# then dropped, 429 bursts, duplicate webhooks); PostgreSQL is frozen
# (SIGSTOP of the postmaster and its backends for 10-15 s) while probe
# orders arrive, each of which must be answered within the commit bound; and
# PostgreSQL is stopped while poison deliveries (not UTF-8, a NUL) arrive
# among good ones. bookto's side re-sends unanswered deliveries and sends
# duplicates. At the end it asserts:
#   - every acknowledged delivery is stored as an order;
#   - every poison delivery is kept raw as unusable; both spools are empty
#     and nothing had to be set aside;
#   - every order is reconciled (Moneybird confirmed it paid by webhook);
#   - exactly one invoice and one payment per order in Moneybird;
#   - exactly one contact per match_ref;
#   - `audit verify` passes; no sanitizer reports.
# It prints the faults injected and the invariants checked.
#
#   tests/chaos/chaos.sh [--orders N] [--seed N] [--chaos-seconds S]
#                        [--rate-limit REQUESTS/SECONDS]
#
# Defaults: 1,000 orders, seed from $RANDOM (printed, so a run can be
# repeated), chaos for as long as the deliveries run plus 15 s, Moneybird's
# 150 requests per 300 s compressed to 150 per 2 s (simulator and connector
# alike). The whole run is bounded by BM_CHAOS_LIMIT seconds (default 300).
CHAOS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$CHAOS_DIR/../integration/lib.sh"
# shellcheck source=../bench/bench_lib.sh
source "$CHAOS_DIR/../bench/bench_lib.sh"

orders=1000
seed="$RANDOM"
chaos_extra=15
rate_limit=150/2
: "${BM_CHAOS_LIMIT:=300}"
while (($# > 0)); do
	case "$1" in
	--orders) orders="$2"; shift ;;
	--seed) seed="$2"; shift ;;
	--chaos-seconds) chaos_extra="$2"; shift ;;
	--rate-limit) rate_limit="$2"; shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "chaos: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
RANDOM="$seed"
started=$SECONDS
# Compressed time: short leases and backoff, so killed workers' jobs and
# retries come back within seconds instead of minutes.
bm_testing lease_seconds=8
bm_testing backoff_base_seconds=1
bm_testing pause_probe_seconds=2

PID_A="" PID_B="" LG_PIDS=()
chaos_cleanup() {
	local rc=$? pid
	set +e
	for pid in "${LG_PIDS[@]}" "$PID_A" "$PID_B"; do
		[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${LG_PIDS[@]}" "$PID_A" "$PID_B"; do
		[[ -n "$pid" ]] && wait "$pid" 2>/dev/null
	done
	BM_SERVE_PID=""
	(exit "$rc")
	bm_cleanup
}

bm_setup
trap chaos_cleanup EXIT
[[ -x "$BM_LOADGEN" ]] || bm_fail "no load generator at BM_LOADGEN=$BM_LOADGEN"
echo "# seed $seed, $orders orders, rate limit $rate_limit, limit ${BM_CHAOS_LIMIT}s"
bm_pg_start
[[ "$rate_limit" =~ ^([0-9]+)/([0-9]+)$ ]] || bm_fail "--rate-limit wants REQUESTS/SECONDS"
rate_requests="${BASH_REMATCH[1]}" rate_seconds="${BASH_REMATCH[2]}"
bm_mbsim_start --rate-limit "$rate_limit" --webhook-retry-seconds 1 --seed "$seed"
bm_write_config workers=2 log_level=info
sed -i "s|rate_limit = { requests = 150; per_seconds = 300; };|rate_limit = { requests = $rate_requests; per_seconds = $rate_seconds; };|" \
	"$BM_CONFIG"
bm_migrate
CFG_A="$BM_CONFIG" URL_A="$BM_URL" PORT_A="$BM_HTTP_PORT"
PORT_B="$(bm_free_port)"
CFG_B="$BM_TMP/connector-b.cfg" URL_B="http://127.0.0.1:$PORT_B"
mkdir -p "$BM_TMP/spool-b"
sed -e "s|127.0.0.1:$PORT_A|127.0.0.1:$PORT_B|" -e "s|$BM_TMP/connector.log|$BM_TMP/connector-b.log|" \
	-e "s|dir = \"$BM_SPOOL\"|dir = \"$BM_TMP/spool-b\"|" "$CFG_A" >"$CFG_B"

# serve_start A|B: starts that serve and waits for /healthz.
serve_start() {
	if [[ "$1" == A ]]; then
		BM_CONFIG="$CFG_A" BM_URL="$URL_A" BM_HTTP_PORT="$PORT_A"
		bm_serve_start
		PID_A="$BM_SERVE_PID"
	else
		BM_CONFIG="$CFG_B" BM_URL="$URL_B" BM_HTTP_PORT="$PORT_B"
		bm_serve_start
		PID_B="$BM_SERVE_PID"
	fi
	BM_SERVE_PID=""
}
# serve_kill A|B: SIGKILL, no goodbye.
serve_kill() {
	local pid
	[[ "$1" == A ]] && pid="$PID_A" || pid="$PID_B"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[[ "$1" == A ]] && PID_A="" || PID_B=""
}

serve_start A
serve_start B
"$BM_BINARY" -c "$CFG_A" moneybird webhook register "$URL_A/webhooks/moneybird/shop" \
	>"$BM_TMP/register.out" 2>&1 || { cat "$BM_TMP/register.out" >&2; bm_fail "webhook register failed"; }

# Deliveries: half to each serve, 30 % new buyers (the rest repeat buyers,
# shared across both halves), re-sent like bookto does when there is no 2xx;
# then the first fifth again to the other serve as duplicates.
half=$((orders / 2))
rate=$(((orders + 59) / 60)) # spread over about a minute
loadgen() {
	local name="$1"
	shift
	"$BM_LOADGEN" --secret "$BM_SECRET_CURRENT" --prefix ch --new-buyers 300 --retries 200 \
		--timeout-ms 10000 --concurrency 4 --quiet --ack-file "$BM_TMP/acks-$name.txt" "$@" \
		>"$BM_TMP/loadgen-$name.txt" 2>"$BM_TMP/loadgen-$name.err" &
	LG_PIDS+=($!)
}
loadgen a --url "$URL_A/webhooks/bookto/shop" --start 0 --count "$half" --rate "$((rate / 2 + 1))"
loadgen b --url "$URL_B/webhooks/bookto/shop" --start "$half" --count "$((orders - half))" \
	--rate "$((rate / 2 + 1))"

declare -A injected=()
note() {
	injected[$1]=$((${injected[$1]:-0} + 1))
	printf '# t=%3ds chaos: %s\n' $((SECONDS - started)) "$1"
}
fault() {
	bb_sim_faults "$2"
	note "$1"
	sleep "$((2 + RANDOM % 3))"
	bb_sim_faults '{}'
}
loadgens_running() {
	local pid
	for pid in "${LG_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}
pg_restarts=0
dups_sent=0
poison_sent=0 freezes=0 outages=0
# drill_post URL FILE ID: one signed delivery by hand; prints
# "<http code> <seconds> <body>".
drill_post() {
	local ts sig
	ts="$(date +%s)"
	sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$2")"
	curl -s -w ' %{http_code} %{time_total}' --max-time 20 -X POST \
		-H 'Content-Type: application/json' -H "X-Bookto-Timestamp: $ts" \
		-H "X-Bookto-Signature: $sig" --data-binary "@$2" "$1/webhooks/bookto/shop" || true
}
# drill_order ID: a good order of a repeat buyer; acknowledged ones are
# added to the acks the invariants check.
drill_order() {
	local file answer
	file="$(bm_order_json "$1")"
	answer="$(drill_post "$( ((RANDOM % 2)) && echo "$URL_A" || echo "$URL_B")" "$file")"
	if [[ "$answer" == *'"status":"'* && "$answer" == *' 200 '* ]]; then
		echo "$1" >>"$BM_TMP/acks-drills.txt"
	fi
	echo "$answer"
}
# pg_freeze: every backend stopped, connections left open; probe orders must
# each be answered within the commit bound (3 s, plus the spool's fsync).
pg_freeze() {
	local main pids i answer seconds slowest=0
	main="$(head -1 "$BM_PGDATA/postmaster.pid")"
	pids="$main $(pgrep -P "$main" | tr '\n' ' ')"
	kill -STOP $pids
	note "PostgreSQL frozen (SIGSTOP) for 10-15 s while orders arrive"
	for i in 1 2 3 4; do
		answer="$(drill_order "frz-$freezes-$i")"
		seconds="${answer##* }"
		[[ "$answer" == *'"status":"spooled"'* ]] ||
			{ kill -CONT $pids; bm_fail "an order during the freeze was answered: $answer"; }
		awk -v s="$seconds" -v m="$slowest" 'BEGIN { exit !(s > m) }' && slowest="$seconds"
	done
	sleep "$((8 + RANDOM % 5))"
	kill -CONT $pids
	awk -v s="$slowest" 'BEGIN { exit !(s < 6) }' ||
		bm_fail "a delivery waited ${slowest}s during the freeze (commit bound 3 s)"
	echo "# t=$((SECONDS - started))s freeze over; slowest answer during it ${slowest}s"
	freezes=$((freezes + 1))
}
# pg_outage_poison: PostgreSQL stopped; poison and good orders arrive.
pg_outage_poison() {
	local file answer
	bm_pg_stop
	note "PostgreSQL stopped while poison (not UTF-8, NUL) and good orders arrive"
	file="$(bm_order_json "psn-$outages-a")"
	sed -i "s/\"first_name\": \"Jan\"/\"first_name\": \"J$(printf '\xff\xfe')an\"/" "$file"
	answer="$(drill_post "$URL_A" "$file")"
	[[ "$answer" == *' 400 '* ]] || bm_fail "poison (not UTF-8) during the outage: $answer"
	file="$(bm_order_json "psn-$outages-b")"
	sed -i 's/"first_name": "Jan"/"first_name": "J\\u0000an"/' "$file"
	answer="$(drill_post "$URL_B" "$file")"
	[[ "$answer" == *' 400 '* ]] || bm_fail "poison (NUL) during the outage: $answer"
	poison_sent=$((poison_sent + 2))
	answer="$(drill_order "out-$outages-1")"
	[[ "$answer" == *'"status":"spooled"'* ]] || bm_fail "a good order during the outage: $answer"
	drill_order "out-$outages-2" >/dev/null
	sleep 2
	bm_pg_start_again
	outages=$((outages + 1))
}
# Every kind of chaos once, in a random order, then random picks.
kinds=(kill_a kill_b pg_restart error_5xx latency drop_invoice drop_payment drop_send burst_429 dup_webhooks
	pg_freeze pg_outage_poison)
for ((i = ${#kinds[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1)))
	tmp="${kinds[i]}" kinds[i]="${kinds[j]}" kinds[j]="$tmp"
done
round=0
chaos_end=0
while :; do
	if loadgens_running; then
		chaos_end=$((SECONDS + chaos_extra))
	fi
	((SECONDS < chaos_end || round < ${#kinds[@]})) || break
	((SECONDS - started < BM_CHAOS_LIMIT - 90)) || break
	if ((round < ${#kinds[@]})); then
		kind="${kinds[round]}"
	else
		kind="${kinds[RANDOM % ${#kinds[@]}]}"
	fi
	round=$((round + 1))
	if ((dups_sent == 0 && SECONDS - started > 20)); then
		loadgen dup --url "$URL_B/webhooks/bookto/shop" --start 0 --count "$((orders / 5))" \
			--rate 20
		dups_sent=1
		note "duplicate deliveries ($((orders / 5)) orders sent again)"
	fi
	case "$kind" in
	kill_a | kill_b)
		which="${kind#kill_}"
		which="${which^^}"
		serve_kill "$which"
		note "SIGKILL serve $which"
		sleep "0.$((RANDOM % 9 + 1))"
		serve_start "$which"
		;;
	pg_restart)
		((pg_restarts < 3)) || continue
		bm_pg_run "$BM_PG_BIN/pg_ctl" -D "$BM_PGDATA" -l "$BM_PG_DIR/server.log" -m fast -w \
			-t 60 restart >/dev/null || bm_fail "pg_ctl restart failed"
		pg_restarts=$((pg_restarts + 1))
		note "pg_ctl restart -m fast"
		;;
	pg_freeze)
		((freezes < 2)) || continue
		pg_freeze
		;;
	pg_outage_poison)
		((outages < 2)) || continue
		pg_outage_poison
		;;
	error_5xx) fault "5xx on 30 % of API requests" '{"error_rate": 0.3}' ;;
	latency) fault "400 ms latency on every API request" '{"latency_ms": 400}' ;;
	drop_invoice)
		fault "POST sales_invoices applied then dropped (x2)" \
			'{"apply_then_drop": {"match": "POST sales_invoices", "count": 2}}'
		;;
	drop_payment)
		fault "POST payments applied then dropped (x2)" \
			'{"apply_then_drop": {"match": "POST sales_invoices/:id/payments", "count": 2}}'
		;;
	drop_send)
		fault "send_invoice applied then answered 502 (x2)" \
			'{"apply_then_status": {"match": "PATCH sales_invoices/:id/send_invoice", "status": 502, "count": 2}}'
		;;
	burst_429) fault "429 burst (next 20 API requests)" '{"force_status": {"match": "*", "status": 429, "count": 20}}' ;;
	dup_webhooks) fault "every Moneybird webhook delivered twice" '{"duplicate_webhooks": true}' ;;
	esac
	sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
done
bb_sim_faults '{}'
[[ -n "$PID_A" ]] || serve_start A
[[ -n "$PID_B" ]] || serve_start B

echo "# chaos over after $((SECONDS - started))s; waiting for the deliveries to finish"
for pid in "${LG_PIDS[@]}"; do
	wait "$pid" || bm_fail "a load generator failed: $(cat "$BM_TMP"/loadgen-*.err)"
done
LG_PIDS=()
for name in a b dup; do
	[[ -f "$BM_TMP/loadgen-$name.txt" ]] || continue
	echo "# loadgen $name: $(tr '\n' ' ' <"$BM_TMP/loadgen-$name.txt" |
		grep -oE '(status_2xx|non_2xx|no_answer|retried|given_up|accepted|duplicate|spooled)=[0-9]+' | tr '\n' ' ')"
done
given_up="$(cat "$BM_TMP"/loadgen-*.txt | sed -n 's/^given_up=//p' | awk '{ s += $1 } END { print s + 0 }')"
bm_assert_eq "$given_up" 0 "every delivery was acknowledged in the end (bookto's retries)"

stored="$(bm_count_orders)"
# The drills' good orders (run in command substitutions, so counted here).
drill_orders="$(find "$BM_TMP/orders" -name 'frz-*' -o -name 'out-*' 2>/dev/null | wc -l | tr -d ' ')"
remaining=$((BM_CHAOS_LIMIT - (SECONDS - started) - 10))
((remaining > 20)) || remaining=20
echo "# waiting up to ${remaining}s for $stored orders to be reconciled"
deadline=$((SECONDS + remaining))
while :; do
	left="$(bm_psql "SELECT count(*) FROM orders WHERE state <> 'reconciled'")"
	[[ "$left" == 0 ]] && break
	# Only parked orders left: nothing will move any more.
	parked_only="$(bm_psql "SELECT count(*) > 0 AND count(*) = count(*) FILTER (WHERE state = 'needs_attention')
		FROM orders WHERE state <> 'reconciled'")"
	if ((SECONDS > deadline)) || [[ "$parked_only" == t ]]; then
		bm_psql "SELECT state, count(*) FROM orders GROUP BY state ORDER BY 1" >&2
		bm_psql "SELECT order_id, state, last_error FROM orders WHERE state <> 'reconciled' LIMIT 5" >&2
		break
	fi
	sleep 1
done

echo
echo "== faults injected (seed $seed) =="
for key in "${!injected[@]}"; do
	printf '%4d x %s\n' "${injected[$key]}" "$key"
done | sort -k3
echo
echo "== invariants =="
sort -u "$BM_TMP"/acks-*.txt | awk '{ print $1 }' | sort -u >"$BM_TMP/acked.txt"
bm_psql "SELECT order_id FROM orders" | sort -u >"$BM_TMP/stored.txt"
acked="$(wc -l <"$BM_TMP/acked.txt" | tr -d ' ')"
missing="$(comm -23 "$BM_TMP/acked.txt" "$BM_TMP/stored.txt" | wc -l | tr -d ' ')"
bm_assert_eq "$missing" 0 "every acknowledged delivery ($acked order ids) is stored as an order"
bm_assert_eq "$stored" "$((orders + drill_orders))" \
	"all $orders orders and $drill_orders drill orders are stored, each once"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'unusable'")" "$poison_sent" \
	"every poison delivery ($poison_sent) is kept raw as unusable"
bm_assert_eq "$(find "$BM_SPOOL" "$BM_TMP/spool-b" -name '*.delivery' | wc -l | tr -d ' ')" 0 \
	"both spools are empty and nothing was set aside"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders WHERE state <> 'reconciled'")" 0 \
	"every order is reconciled"
bb_sim_fetch
bm_assert_eq "$(bb_sim_q "jsonb_array_length(s->'sales_invoices')")" "$((orders + drill_orders))" \
	"Moneybird holds exactly one invoice per order"
bm_assert_eq "$(bb_sim_q "(SELECT count(*) FROM orders o WHERE (SELECT count(*)
	FROM jsonb_array_elements(s->'sales_invoices') i WHERE i->>'reference' = o.order_number) <> 1)")" 0 \
	"exactly one invoice per order (by reference)"
bm_assert_eq "$(bb_sim_q "(SELECT count(*) FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE jsonb_array_length(coalesce(i->'payments', '[]'::jsonb)) <> 1)")" 0 \
	"exactly one payment per invoice"
bm_assert_eq "$(bb_sim_q "(SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1
	FROM jsonb_array_elements(s->'sales_invoices') i
	WHERE i->>'id' = o.moneybird_invoice_id AND i->>'state' = 'paid'))")" 0 \
	"each order's invoice id names a paid invoice"
bm_assert_eq "$(bb_sim_q "jsonb_array_length(s->'contacts')")" \
	"$(bm_psql "SELECT count(DISTINCT match_ref) FROM orders")" "one contact per match_ref"
bm_assert_eq "$(bb_sim_q "(SELECT count(*) FROM (SELECT c->>'customer_id' FROM jsonb_array_elements(s->'contacts') c
	GROUP BY 1 HAVING count(*) > 1) d)")" 0 "no two contacts share a customer_id"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM orders p
	WHERE p.match_ref = o.match_ref AND p.moneybird_contact_id <> o.moneybird_contact_id)")" 0 \
	"all orders of one buyer use the same contact"
read -r calls limited <<<"$(bb_sim_requests)"
echo "# Moneybird requests: $calls, of which answered 429: $(grep -c -- '-> 429 ' "$BM_TMP/mbsim.log" || true)" \
	"(the simulator counts $limited as rate-limited); the connector pauses on the first 429"
"$BM_BINARY" -c "$CFG_A" audit verify >"$BM_TMP/audit.out" 2>&1 ||
	{ cat "$BM_TMP/audit.out" >&2; bm_fail "audit verify failed"; }
bm_pass "audit verify: $(tail -n 1 "$BM_TMP/audit.out")"
echo "# run took $((SECONDS - started))s"
bm_done
