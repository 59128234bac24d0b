#!/usr/bin/env bash
# Intake benchmark: durable acknowledgements per second of the bookto webhook
# against a throwaway PostgreSQL, compared in the same run, on the same
# database and at the same concurrency with pgbench doing single-row INSERT
# transactions (the fsync-bound ceiling one commit per request would hit).
# pgbench runs half the duration before the intake run and half after it, and
# its tps is the mean of both halves, so that load from other work on a shared
# machine drifting during the run weighs on both sides of the ratio alike.
#
#   tests/bench/intake_bench.sh [--short] [--duration S] [--concurrency N]
#                               [--idle N] [--slow N] [--strict]
#
# Prints durable acks/s, p50/p99/p99.9 latency, non-2xx, the connector's peak
# RSS (VmHWM), pgbench tps, the ratio intake/pgbench, CPU per request side by
# side with pgbench's (server and client) with the machine's idle share in
# each run, and the rate each would reach never idle; and checks that the
# orders table holds exactly one row per 200. Each figure is printed next to
# its target with PASS or MISS. Exit status: 1 when a correctness check fails
# (any non-2xx, unanswered request, row count != 200s); performance misses
# only fail with --strict. --short (CI, label "bench") runs a few seconds and
# asserts correctness only. A slow-client phase follows: --idle idle and
# --slow slowloris connections (defaults 1500 and 200; 100 and 20 with
# --short) are held open from 20 loopback addresses by
# tests/integration/slow_clients.py while the same load runs again; its
# latencies must stay under 1 s. Last, the storing ceiling: pgbench calls
# intake_store_batch() itself (no HTTP, no serve) with batches of the
# deliveries just stored, on one, two and three audit chains, so the bench
# shows the most the database side of the intake can store per second beside
# pgbench's single-row rate, and the rate the whole intake could reach at
# that storing cost were the machine never idle.
#
# Environment: as tests/integration/lib.sh (BM_BUILD_DIR, BM_BINARY, ...),
# plus BM_LOADGEN (default $BM_BUILD_DIR/bm-loadgen).
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

duration=20
concurrency=32
idle=1500
slow=200
bb_short() { duration=3; idle=100; slow=20; }
bb_args intake_bench 2,22 "idle slow duration concurrency strict" "$@"

bm_setup
[[ -x "$BM_LOADGEN" ]] || bm_fail "no load generator at BM_LOADGEN=$BM_LOADGEN (build bm-loadgen)"
bm_pg_start
# Room for the slow-client phase: the held connections, and their file
# descriptors on both ends of loopback.
ulimit -n $((2 * (idle + slow) + 1024)) 2>/dev/null || true
bm_write_config workers=0 log_level=warn max_connections=$((idle + slow + concurrency + 200))
bm_migrate
bm_serve_start

# The pgbench from the server's version when it is there, else PATH's.
pgbench_bin="$BM_PG_BIN/pgbench"
[[ -x "$pgbench_bin" ]] || pgbench_bin="$(command -v pgbench || true)"

# cpu_ticks PID...: utime + stime (clock ticks) of the processes.
cpu_ticks() {
	local pid total=0 stat
	for pid in "$@"; do
		stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
		stat="${stat##*) }" # fields after the command name
		total=$((total + $(awk '{ print $12 + $13 }' <<<"$stat")))
	done
	echo "$total"
}
# postgres_pids: the postmaster and its children (backends, WAL writer, ...).
postgres_pids() {
	local master
	master="$(head -n 1 "$BM_PGDATA/postmaster.pid")"
	echo "$master"
	awk -v m="$master" '$4 == m { print $1 }' /proc/[0-9]*/stat 2>/dev/null || true
}
# postgres_ticks: the CPU of PostgreSQL's processes so far, with that of the
# backends that have exited (pgbench's), which the postmaster has reaped.
postgres_ticks() {
	local stat
	stat="$(cat "/proc/$(head -n 1 "$BM_PGDATA/postmaster.pid")/stat")"
	stat="${stat##*) }"
	echo $(($(cpu_ticks $(postgres_pids)) + $(awk '{ print $14 + $15 }' <<<"$stat")))
}

# machine_ticks: busy and idle clock ticks of the whole machine so far.
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}
# cpu_window NAME COMMAND...: runs the command and leaves in $BM_TMP/NAME.cpu
# what the run cost: PostgreSQL's CPU seconds, the command's own (user +
# system, its children included) and the share of the machine left idle.
cpu_window() {
	local name="$1" pg0 busy0 idle0 pg1 busy1 idle1 own rc=0
	shift
	pg0="$(postgres_ticks)"
	read -r busy0 idle0 <<<"$(machine_ticks)"
	# `time` reports on the group's stderr (captured); the command keeps
	# the caller's stdout and stderr (fds 4 and 5).
	exec 4>&1 5>&2
	own="$({ TIMEFORMAT='%U %S'; time "$@" >&4 2>&5; } 2>&1)" || rc=$?
	exec 4>&- 5>&-
	read -r busy1 idle1 <<<"$(machine_ticks)"
	# The backends of a client that just disconnected exit and are reaped
	# a moment later; read while one is between the postmaster's
	# children list and its reaped sum, its CPU would be missed.
	sleep 0.3
	pg1="$(postgres_ticks)"
	awk -v p=$((pg1 - pg0)) -v hz="$(getconf CLK_TCK)" -v own="$own" \
		-v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) 'BEGIN {
		split(own, t, " "); printf "%.2f %.2f %.1f\n", p / hz, t[1] + t[2], 100 * i / (b + i) }' \
		>"$BM_TMP/$name.cpu"
	return "$rc"
}

# run_pgbench NAME SECONDS: single-row INSERT transactions at the intake's
# concurrency on the same database; prints the tps (nothing without pgbench).
run_pgbench() {
	[[ -n "$pgbench_bin" ]] || return 0
	echo "# pgbench ($1): $concurrency clients, single-row INSERT, ${2}s, same database" >&2
	cpu_window "pgbench-$1" "$pgbench_bin" -n -h 127.0.0.1 -p "$BM_PG_PORT" -U postgres \
		-c "$concurrency" -j 2 -T "$2" -f "$BM_TMP/insert.sql" bookto_moneybird \
		>"$BM_TMP/pgbench-$1.txt" 2>&1 ||
		{ tail -n 20 "$BM_TMP/pgbench-$1.txt" >&2; bm_fail "pgbench failed"; }
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$BM_TMP/pgbench-$1.txt" | tail -n 1 |
		awk '{ printf "%.1f", $1 }'
}
pgbench_seconds=$(((duration + 1) / 2))
bm_psql "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
printf "INSERT INTO bench_insert (payload) VALUES ('pgbench row');\n" >"$BM_TMP/insert.sql"
pg_tps_before="$(run_pgbench before "$pgbench_seconds")"

echo "# intake: $concurrency keep-alive connections for ${duration}s against $BM_URL"
db_stats() {
	bm_psql "SELECT xact_commit || ' ' || tup_inserted || ' ' || tup_updated || ' ' || tup_deleted
		FROM pg_stat_database WHERE datname = current_database()"
}
read -r commits0 inserted0 updated0 deleted0 <<<"$(db_stats)"
serve_cpu0="$(cpu_ticks "$BM_SERVE_PID")"
cpu_window intake "$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/shop" --secret "$BM_SECRET_CURRENT" \
	--concurrency "$concurrency" --duration "$duration" --prefix "ib$$" --quiet \
	>"$BM_TMP/loadgen.txt" 2>"$BM_TMP/loadgen.err" ||
	{ cat "$BM_TMP/loadgen.err" >&2; bm_fail "bm-loadgen failed"; }

lg() { sed -n "s/^$1=//p" "$BM_TMP/loadgen.txt"; }
hz="$(getconf CLK_TCK)"
sleep 1.2 # PostgreSQL 15 flushes backend statistics about once a second
read -r commits1 inserted1 updated1 deleted1 <<<"$(db_stats)"
serve_cpu="$(awk -v a="$(cpu_ticks "$BM_SERVE_PID")" -v b="$serve_cpu0" -v hz="$hz" 'BEGIN { printf "%.1f", (a - b) / hz }')"
pg_cpu="$(awk '{ printf "%.1f", $1 }' "$BM_TMP/intake.cpu")" # measured by cpu_window
peak_rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$BM_SERVE_PID/status")"
# What the resident set is made of right after the run: heap and stacks
# (anon) against the mapped binary and libraries (file), and the threads.
rss_parts="$(awk '/^(RssAnon|RssFile|Threads):/ {v[$1] = $2}
	END { printf "%.1f / %.1f MB, %d threads", v["RssAnon:"] / 1024, v["RssFile:"] / 1024, v["Threads:"] }' \
	"/proc/$BM_SERVE_PID/status")"
ok200="$(lg status_200)"
non2xx="$(lg non_2xx)"
no_answer="$(lg no_answer)"
acks="$(lg acks_per_s)"
rows="$(bm_count_orders)"
deliveries="$(bm_psql "SELECT count(*) FROM deliveries" 2>/dev/null || echo '?')"

pg_tps_after="$(run_pgbench after "$pgbench_seconds")"

# The slow-client phase: idle and slowloris connections held open while the
# same load runs again (half the duration); whatever the server closes (its
# request deadline) is opened again at once.
slow_seconds=$(((duration + 1) / 2))
echo "# slow clients: $idle idle + $slow slowloris connections held, load for ${slow_seconds}s" >&2
rm -f "$BM_TMP/slow.ready"
python3 "$BENCH_DIR/../integration/slow_clients.py" --port "$BM_HTTP_PORT" --idle "$idle" \
	--slow "$slow" --addresses 20 --duration $((slow_seconds + 2)) --interval 1 \
	--ready "$BM_TMP/slow.ready" --report "$BM_TMP/slow.report" 2>"$BM_TMP/slow.err" &
slow_pid=$!
for _ in $(seq 1 600); do
	[[ -f "$BM_TMP/slow.ready" ]] && break
	kill -0 "$slow_pid" 2>/dev/null || { cat "$BM_TMP/slow.err" >&2; bm_fail "the slow-client helper died"; }
	sleep 0.05
done
sleep 1
"$BM_LOADGEN" --url "$BM_URL/webhooks/bookto/shop" --secret "$BM_SECRET_CURRENT" \
	--concurrency "$concurrency" --duration "$slow_seconds" --prefix "is$$" --quiet \
	>"$BM_TMP/loadgen-slow.txt" 2>"$BM_TMP/loadgen-slow.err" ||
	{ cat "$BM_TMP/loadgen-slow.err" >&2; bm_fail "bm-loadgen failed (slow-client phase)"; }
slow_threads="$(awk '/^Threads:/ {print $2}' "/proc/$BM_SERVE_PID/status")"
wait "$slow_pid" || { cat "$BM_TMP/slow.err" >&2; bm_fail "the slow-client helper failed"; }
lgs() { sed -n "s/^$1=//p" "$BM_TMP/loadgen-slow.txt"; }
sr() { sed -n "s/^$1=//p" "$BM_TMP/slow.report"; }
slow_peak_rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$BM_SERVE_PID/status")"
pg_tps=""
[[ -z "$pg_tps_before" || -z "$pg_tps_after" ]] ||
	pg_tps="$(awk -v a="$pg_tps_before" -v b="$pg_tps_after" 'BEGIN { printf "%.1f", (a + b) / 2 }')"

# The anchor of the throughput ratio in CPU: what one acknowledged delivery
# costs against one pgbench transaction, server and client side, how much
# of the machine stayed idle, and the rate each would reach were both cores
# always busy (cores / all CPU per request).
print_cpu_side_by_side() {
	local pg_txns=0 name done_txns intake_row pgbench_row
	[[ -f "$BM_TMP/pgbench-before.cpu" && -f "$BM_TMP/pgbench-after.cpu" ]] || return 0
	for name in before after; do
		done_txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
			"$BM_TMP/pgbench-$name.txt")"
		pg_txns=$((pg_txns + ${done_txns:-0}))
	done
	intake_row="$(awk -v s="$serve_cpu" -v p="$pg_cpu" -v n="$ok200" '{ print s + p, $2, $3, n }' \
		"$BM_TMP/intake.cpu")"
	pgbench_row="$(cat "$BM_TMP/pgbench-before.cpu" "$BM_TMP/pgbench-after.cpu" |
		awk -v n="$pg_txns" '{ p += $1; c += $2; i += $3 } END { print p, c, i / NR, n }')"
	echo "-- CPU per request, side by side: intake delivery / pgbench transaction --"
	awk -v a="$intake_row" -v b="$pgbench_row" -v cores="$(nproc)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		if (x[4] == 0 || y[4] == 0) exit
		fmt = "%-34s %12s / %s\n"
		printf fmt, "server CPU ms (serve + PG / PG)", \
			sprintf("%.3f", x[1] * 1000 / x[4]), sprintf("%.3f", y[1] * 1000 / y[4])
		printf fmt, "client CPU ms (bm-loadgen/pgbench)", \
			sprintf("%.3f", x[2] * 1000 / x[4]), sprintf("%.3f", y[2] * 1000 / y[4])
		printf fmt, "machine idle during the run (%)", sprintf("%.0f", x[3]), sprintf("%.0f", y[3])
		cx = cores * x[4] / (x[1] + x[2]); cy = cores * y[4] / (y[1] + y[2])
		printf fmt, "rate if never idle (/s)", sprintf("%.0f", cx), sprintf("%.0f", cy)
		printf "%-34s %12.2f\n", "ratio if never idle", cx / cy }'
}

# The storing ceiling: what the database side alone stores per second.
# pgbench runs intake_store_batch() with a batch made of the first deliveries
# this run stored (their bodies and orders, new delivery keys and order ids
# each call), so neither HTTP nor serve is in the figure: with today's
# storing statement the intake can never acknowledge faster than this,
# whatever its front end does. One client is one lane (the committer today,
# batches of about 16); more clients write on as many audit chains side by
# side, with bigger batches.
orders_after_load="$(bm_count_orders)"
ceiling_seconds=$(((duration + 3) / 4))
storing_ceiling() {
	local size="$1" clients="$2" name="ceiling-$1-$2" calls
	bm_psql "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_batch;
		CREATE TABLE bench_batch AS
		-- The order's columns are the record's fields of the same names (the
		-- rest are ignored); what differs is set on top of them.
		SELECT json_agg(to_jsonb(o) || jsonb_build_object(
		    'idx', d.n - 1, 'delivery_key', 'KEY' || d.n, 'order_id', 'KEY' || d.n,
		    'source', d.source, 'event', d.event, 'signature_timestamp', d.signature_timestamp,
		    'body_sha256', d.body_sha256, 'outcome', 'accepted', 'has_order', true,
		    'received_at_ms', (extract(epoch FROM d.received_at) * 1000)::bigint,
		    'paid_at_epoch', extract(epoch FROM o.paid_at)::bigint, 'park_reason', NULL)
		    ORDER BY d.n) AS batch,
		    array_agg(d.body ORDER BY d.n) AS bodies
		FROM (SELECT row_number() OVER (ORDER BY id) AS n, * FROM deliveries
		      ORDER BY id LIMIT $size) d
		JOIN orders o ON o.first_delivery_id = d.id;
		CREATE SEQUENCE IF NOT EXISTS bench_batch_call" >/dev/null
	# Client k writes on chain k + 1: the first on the intake's chain.
	cat >"$BM_TMP/$name.sql" <<-'SQL'
		SELECT set_config('bookto_moneybird.audit_chain', (:client_id + 1)::text, false);
		SELECT count(*) FROM intake_store_batch(
		    (SELECT replace(b.batch::text, '"KEY', '"c' || nextval('bench_batch_call') || '-')::json
		     FROM bench_batch b),
		    (SELECT b.bodies FROM bench_batch b));
	SQL
	cpu_window "$name" "$pgbench_bin" -n -h 127.0.0.1 -p "$BM_PG_PORT" -U postgres \
		-c "$clients" -j "$clients" -T "$ceiling_seconds" -f "$BM_TMP/$name.sql" bookto_moneybird \
		>"$BM_TMP/$name.txt" 2>&1 ||
		{ tail -n 20 "$BM_TMP/$name.txt" >&2; bm_fail "pgbench (storing ceiling) failed"; }
	calls="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
		"$BM_TMP/$name.txt")"
	awk -v size="$size" -v clients="$clients" -v calls="${calls:-0}" -v s="$ceiling_seconds" \
		-v cpu="$(cat "$BM_TMP/$name.cpu")" -v pg="${pg_tps:-0}" 'BEGIN {
		split(cpu, c, " "); n = calls * size
		if (n == 0) exit
		# (a bare ">" among the arguments of printf would redirect its output)
		label = sprintf("batch %d, %d chain%s: deliveries/s", size, clients, (clients > 1 ? "s" : ""))
		times = (pg > 0) ? n / s / pg : 0
		printf "%-34s %12.0f   PG CPU %5.1f us/delivery, idle %2.0f %%, %.2f x pgbench\n", \
			label, n / s, c[1] * 1e6 / n, c[3], times
		printf "%.1f\n", c[1] * 1e6 / n >> (ENVIRON["BM_TMP"] "/ceiling-costs") }'
}

# The most the intake could acknowledge on this machine were nothing ever
# idle: the cores over the cheapest storing cost measured above plus what
# serve and the load generator spent per delivery in the intake run.
print_ceiling_limit() {
	[[ -s "$BM_TMP/ceiling-costs" && "$ok200" -gt 0 ]] || return 0
	sort -n "$BM_TMP/ceiling-costs" | head -n 1 |
		awk -v serve="$serve_cpu" -v client="$(awk '{ print $2 }' "$BM_TMP/intake.cpu")" \
			-v n="$ok200" -v pg="${pg_tps:-0}" -v cores="$(nproc)" '{
			per = $1 + (serve + client) * 1e6 / n
			limit = cores * 1e6 / per
			printf "%-34s %12.0f   (%.0f us: storing %.0f + serve and client %.0f)%s\n", \
				"limit never idle, cheapest storing", limit, per, $1, per - $1, \
				(pg > 0 ? sprintf(", %.2f x pgbench", limit / pg) : "") }'
}

# verdict VALUE OP TARGET: PASS or MISS (bc-free float comparison via awk)
verdict() {
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		if (v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
		print ok ? "PASS" : "MISS" }'
}
ratio=""
[[ -z "$pg_tps" ]] || ratio="$(awk -v a="$acks" -v b="$pg_tps" 'BEGIN { if (b > 0) printf "%.2f", a / b }')"
rss_mb="$(awk -v k="$peak_rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"

echo
echo "== intake benchmark ($(nproc) cores, ${duration}s, $concurrency connections) =="
printf '%-34s %12s   %-10s %s\n' "figure" "measured" "target" "verdict"
printf '%-34s %12s   %-10s %s\n' "durable acks/s (HTTP 200)" "$acks" "" ""
printf '%-34s %12s   %-10s %s\n' "pgbench single-row INSERT tps" "${pg_tps:-n/a}" "" ""
printf '%-34s %12s\n' "  (before / after the intake run)" "${pg_tps_before:-n/a} / ${pg_tps_after:-n/a}"
printf '%-34s %12s   %-10s %s\n' "ratio intake/pgbench" "${ratio:-n/a}" ">= 1.0" "$(verdict "$ratio" '>=' 1.0)"
printf '%-34s %12s   %-10s %s\n' "latency p50 (ms)" "$(lg p50_ms)" "" ""
printf '%-34s %12s   %-10s %s\n' "latency p99 (ms)" "$(lg p99_ms)" "<= 20" "$(verdict "$(lg p99_ms)" '<=' 20)"
printf '%-34s %12s   %-10s %s\n' "latency p99.9 (ms)" "$(lg p999_ms)" "" ""
printf '%-34s %12s   %-10s %s\n' "latency max (ms)" "$(lg max_ms)" "" ""
printf '%-34s %12s   %-10s %s\n' "peak RSS of serve (MB, VmHWM)" "$rss_mb" "<= 16" "$(verdict "$rss_mb" '<=' 16)"
printf '%-34s %s\n' "  RSS after the run: anon / file" "$rss_parts"
printf '%-34s %12s   %-10s %s\n' "non-2xx answers" "$non2xx" "0" "$(verdict "$non2xx" '<=' 0)"
printf '%-34s %12s   %-10s %s\n' "unanswered requests" "$no_answer" "0" "$(verdict "$no_answer" '<=' 0)"
printf '%-34s %12s   %-10s %s\n' "HTTP 200s" "$ok200" "" ""
printf '%-34s %12s   %-10s %s\n' "orders rows" "$rows" "= 200s" "$([[ "$rows" == "$ok200" ]] && echo PASS || echo MISS)"
printf '%-34s %12s\n' "deliveries rows" "$deliveries"
printf '%-34s %12s\n' "CPU s used by serve (intake run)" "$serve_cpu"
printf '%-34s %12s\n' "CPU s used by PostgreSQL (intake)" "$pg_cpu"
per_ack() { awk -v d="$1" -v n="$ok200" 'BEGIN { if (n > 0) printf "%.2f", d / n }'; }
printf '%-34s %12s\n' "commits per delivery (database)" "$(per_ack $((commits1 - commits0)))"
printf '%-34s %12s\n' "rows inserted per delivery" "$(per_ack $((inserted1 - inserted0)))"
printf '%-34s %12s\n' "rows updated per delivery" "$(per_ack $((updated1 - updated0)))"
printf '%-34s %12s\n' "CPU ms per acknowledged delivery" \
	"$(awk -v a="$serve_cpu" -v b="$pg_cpu" -v n="$ok200" 'BEGIN { if (n > 0) printf "%.2f", (a + b) * 1000 / n }')"
print_cpu_side_by_side
echo "-- slow-client phase: $idle idle + $slow slowloris held, ${slow_seconds}s --"
printf '%-34s %12s   %-10s %s\n' "durable acks/s (HTTP 200)" "$(lgs acks_per_s)" "" ""
printf '%-34s %12s   %-10s %s\n' "latency p50 (ms)" "$(lgs p50_ms)" "" ""
printf '%-34s %12s   %-10s %s\n' "latency p99 (ms)" "$(lgs p99_ms)" "" ""
slow_max_verdict="$(verdict "$(lgs max_ms)" '<=' 999.9)"
[[ "$(lgs status_200)" -gt 0 && "$(lgs no_answer)" == 0 ]] || slow_max_verdict=MISS
printf '%-34s %12s   %-10s %s\n' "latency max (ms)" "$(lgs max_ms)" "< 1000" "$slow_max_verdict"
printf '%-34s %12s   %-10s %s\n' "non-2xx / unanswered" "$(lgs non_2xx) / $(lgs no_answer)" "0 / 0" ""
printf '%-34s %12s\n' "held open at the end (idle/slow)" "$(sr idle_open) / $(sr slow_open)"
printf '%-34s %12s\n' "slowloris closed by the server" "$(sr slow_closed)"
printf '%-34s %12s\n' "threads of serve while held" "$slow_threads"
printf '%-34s %12s\n' "peak RSS of serve (MB, whole run)" "$(awk -v k="$slow_peak_rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
if [[ -n "$pgbench_bin" ]]; then
	echo "-- storing ceiling: pgbench calling intake_store_batch(), no HTTP, ${ceiling_seconds}s each --"
	storing_ceiling 16 1
	storing_ceiling 64 2
	storing_ceiling 128 3
	print_ceiling_limit
fi
echo

bm_assert_ne "$ok200" 0 "some deliveries were acknowledged"
bm_assert_eq "$non2xx" 0 "no non-2xx answers"
bm_assert_eq "$no_answer" 0 "every request was answered"
bm_assert_eq "$rows" "$ok200" "orders row count equals the number of 200s"
bm_assert_eq "$(lgs non_2xx)" 0 "no non-2xx answers with slow clients held"
bm_assert_eq "$(lgs no_answer)" 0 "every request was answered with slow clients held"
bm_assert_eq "$orders_after_load" "$((ok200 + $(lgs status_200)))" \
	"orders row count equals the number of 200s (both phases)"
verify_rc=0
"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/verify.out" 2>&1 || verify_rc=$?
bm_assert_eq "$verify_rc" 0 "audit verify passes after the run ($(tail -n 2 "$BM_TMP/verify.out" | tr '\n' ' '))"
if [[ "$strict" == 1 && "$short" == 0 ]]; then
	for v in "$(verdict "$ratio" '>=' 1.0)" "$(verdict "$(lg p99_ms)" '<=' 20)" \
		"$(verdict "$rss_mb" '<=' 16)" "$slow_max_verdict"; do
		[[ "$v" == PASS ]] || bm_fail "a performance target was missed (--strict)"
	done
	bm_pass "performance targets met"
fi
bm_serve_stop
bm_done
