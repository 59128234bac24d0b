#!/usr/bin/env bash
# Intake, clients that do nothing: with 400 idle connections and 100
# slowloris connections (a header line every second, never the end of the
# headers) held open from 20 addresses (whatever the server closes is
# opened again at once), signed deliveries and /healthz from another client
# are answered within 1 s each; serve's thread count stays bounded (idle
# connections cost no thread); a slowloris connection is closed once its
# request is http.request_deadline_seconds old, although it is never idle;
# and one address cannot open more than http.max_connections_per_address.
# Every delivery answered 200 is in PostgreSQL.
source "$(dirname "$0")/lib.sh"
bm_setup
command -v python3 >/dev/null || bm_fail "python3 is needed for the slow clients"
# 500 held connections, the probes and the server's own files: each end of
# a loopback connection is one file descriptor in this test's processes.
ulimit -n 4096 2>/dev/null || true
[[ "$(ulimit -n)" -ge 2048 ]] || bm_fail "the open-file limit ($(ulimit -n)) is below 2048"
bm_pg_start
bm_write_config max_connections=800 request_timeout=30
deadline=4
per_address=40
sed -i "s/^\(  request_timeout_seconds = .*\)$/\1\n  request_deadline_seconds = $deadline;\n  max_connections_per_address = $per_address;\n  handler_threads = 8;/" "$BM_CONFIG"
grep -q "request_deadline_seconds = $deadline" "$BM_CONFIG" || bm_fail "could not set the limits"
bm_migrate
bm_serve_start

idle=400
slow=100
hold=14
python3 "$(dirname "$0")/slow_clients.py" --port "$BM_HTTP_PORT" --idle "$idle" --slow "$slow" \
	--addresses 20 --duration "$hold" --interval 1 --probe 60 \
	--ready "$BM_TMP/slow.ready" --report "$BM_TMP/slow.report" 2>"$BM_TMP/slow.err" &
helper=$!
echo "$helper" >>"$BM_TMP/.pids"
for _ in $(seq 1 200); do
	[[ -f "$BM_TMP/slow.ready" ]] && break
	kill -0 "$helper" 2>/dev/null || { cat "$BM_TMP/slow.err" >&2; bm_fail "the slow-client helper died"; }
	sleep 0.05
done
[[ -f "$BM_TMP/slow.ready" ]] || bm_fail "the slow clients did not get their connections open"
sleep 2 # past the probe, and the slowloris connections have sent lines

# Real traffic from 127.0.0.1 while they are held: every answer within 1 s.
slowest=0
threads_max=0
for i in $(seq 1 20); do
	f="$(bm_order_json "slow-$i")"
	ts="$(date +%s)"
	# curl's own clock: from connecting to the last byte of the answer.
	read -r code took < <(curl -s -o "$BM_TMP/answer" -w '%{http_code} %{time_total}\n' \
		--max-time 5 -X POST -H "X-Bookto-Timestamp: $ts" \
		-H "X-Bookto-Signature: $(bm_sign "$BM_SECRET_CURRENT" "$ts" "$f")" \
		--data-binary "@$f" "$BM_URL/webhooks/bookto/shop" || echo "000 5")
	bm_assert_eq "$code" 200 "delivery $i during the siege (body: $(cat "$BM_TMP/answer"))"
	took=$(awk -v t="$took" 'BEGIN { printf "%d", t * 1000 }')
	((took > slowest)) && slowest=$took
	read -r code took < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
		--max-time 5 "$BM_URL/healthz" || echo "000 5")
	bm_assert_eq "$code" 200 "/healthz $i during the siege"
	took=$(awk -v t="$took" 'BEGIN { printf "%d", t * 1000 }')
	((took > slowest)) && slowest=$took
	threads="$(awk '/^Threads:/ {print $2}' "/proc/$BM_SERVE_PID/status")"
	((threads > threads_max)) && threads_max=$threads
	sleep 0.25
done
echo "# slowest answer during the siege: ${slowest} ms; serve's threads at most $threads_max"
((slowest < 1000)) || bm_fail "an answer took ${slowest} ms with slow clients held open (limit 1000 ms)"
# 2 event threads + 8 handler threads + the committer, workers, drain,
# reconciliation, notifier, deadline and Moneybird event threads: far
# below one thread per held connection.
((threads_max <= 40)) || bm_fail "serve ran $threads_max threads for $((idle + slow)) held connections"

wait "$helper" || { cat "$BM_TMP/slow.err" >&2; bm_fail "the slow-client helper failed"; }
cat "$BM_TMP/slow.report" | sed 's/^/# /'
kv() { sed -n "s/^$1=//p" "$BM_TMP/slow.report"; }
[[ "$(kv slow_closed)" -ge "$slow" ]] ||
	bm_fail "only $(kv slow_closed) slowloris connections were closed in ${hold}s (deadline ${deadline}s)"
awk -v a="$(kv slow_oldest_open_s)" -v d="$deadline" 'BEGIN { exit !(a <= d + 1.5) }' ||
	bm_fail "a slowloris connection stayed open $(kv slow_oldest_open_s)s (deadline ${deadline}s)"
probe_open="$(kv probe_open)"
[[ "$probe_open" -ge 1 && "$probe_open" -le "$per_address" ]] ||
	bm_fail "one address held $probe_open of 60 connections (limit $per_address)"
bm_pass "slow clients: answers within ${slowest} ms, $threads_max threads, deadline and per-address cap hold"

bm_assert_eq "$(bm_count_orders)" 20 "every delivery answered 200 is stored"
bm_serve_stop
bm_done
