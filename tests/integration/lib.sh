# shellcheck shell=bash
#
# Shared helpers for the integration tests (tests/integration/test_*.sh).
# Each test sources this file, calls bm_setup, and gets its own throwaway
# PostgreSQL cluster, config, spool and log under BM_TMP, all stopped and
# removed on exit (set BM_KEEP_TMP=1 to keep BM_TMP for inspection).
#
# Needs only bash, coreutils, curl, openssl, psql (PostgreSQL server
# binaries: initdb, pg_ctl, postgres), grep, sed and awk.
#
# Environment (set by CTest; defaults for running a script by hand):
#   BM_SOURCE_DIR  repository root            (default: ../.. of this file)
#   BM_BUILD_DIR   CMake build directory      (default: $BM_SOURCE_DIR/build)
#   BM_BINARY      the bookto-moneybird binary (default: $BM_BUILD_DIR/bookto-moneybird)
#   BM_MBSIM       the Moneybird simulator     (default: $BM_BUILD_DIR/mbsim)
#   BM_KEEP_TMP=1  keep BM_TMP after the test
#   BM_WRAPPER     a command every run of the binary goes through (word-split),
#                  e.g. "valgrind --error-exitcode=99 --leak-check=full
#                  --log-file=%q{BM_TMP}/valgrind.%p.log": bm_setup points
#                  BM_BINARY at a script that execs the real binary under it,
#                  so serve and every CLI command a test runs are wrapped;
#                  bm_done fails on any error or definite leak in
#                  $BM_TMP/valgrind*.log
#   BM_TIME_SCALE  multiplies lib.sh's waits on the binary (serve start and
#                  stop) for a slow wrapper (a whole number, default 1)
#   BM_DB_ROLES=1  run the binary as the deployment's least-privilege roles:
#                  bm_pg_start runs deploy/postgres-setup.sql, bm_migrate
#                  migrates as bookto_moneybird_owner (and re-runs the setup),
#                  every other command and serve run as bookto_moneybird_app;
#                  bm_psql (the test's own checks and setups) stays superuser
#
# Conventions: every function either succeeds or calls bm_fail (which exits
# the test with status 1), so tests read as a straight list of steps.

BM_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${BM_SOURCE_DIR:=$(cd "$BM_LIB_DIR/../.." && pwd)}"
: "${BM_BUILD_DIR:=$BM_SOURCE_DIR/build}"
: "${BM_BINARY:=$BM_BUILD_DIR/bookto-moneybird}"
: "${BM_MBSIM:=$BM_BUILD_DIR/mbsim}"
: "${BM_TIME_SCALE:=1}"
export BM_SOURCE_DIR BM_BUILD_DIR BM_BINARY BM_MBSIM BM_TIME_SCALE

# Fixed test credentials: tests grep the log for these to prove that secrets
# never leak.
BM_SECRET_CURRENT="test-secret-current"
BM_SECRET_PREVIOUS="test-secret-previous"
BM_MBSIM_TOKEN="test-token"
BM_MBSIM_ADMIN="123456789012345678"

BM_PASSED=0
BM_TEST_NAME=""
BM_SERVE_PID=""
BM_MBSIM_PID=""
BM_PG_RUNNING=0
BM_PG_AS=""      # "" = run PostgreSQL as the current user, else a user name
BM_PSQL=psql     # the psql of the server's version once bm_pg_start found it

# ---------------------------------------------------------------- reporting

# bm_pass MESSAGE: records one passed check and prints an "ok" line.
bm_pass() {
	BM_PASSED=$((BM_PASSED + 1))
	printf 'ok %d - %s\n' "$BM_PASSED" "$1"
}

# bm_fail MESSAGE: prints a FAIL line (plus the connector log tail when there
# is one) and exits the test with status 1; the EXIT trap cleans up.
bm_fail() {
	printf 'FAIL - %s: %s\n' "${BM_TEST_NAME:-test}" "$1" >&2
	if [[ -n "${BM_TMP:-}" && -s "$BM_TMP/connector.log" ]]; then
		printf -- '--- last lines of %s/connector.log:\n' "$BM_TMP" >&2
		tail -n 15 "$BM_TMP/connector.log" >&2
	fi
	if [[ -n "${BM_TMP:-}" && -s "$BM_TMP/serve.out" ]]; then
		printf -- '--- last lines of serve stdout/stderr:\n' >&2
		tail -n 15 "$BM_TMP/serve.out" >&2
	fi
	bm_valgrind_report
	printf '%d passed, 1 failed\n' "$BM_PASSED"
	exit 1
}

# bm_assert_eq ACTUAL EXPECTED MESSAGE: fails unless the strings are equal.
bm_assert_eq() {
	if [[ "$1" == "$2" ]]; then
		bm_pass "$3"
	else
		bm_fail "$3: expected [$2], got [$1]"
	fi
}

# bm_assert_ne ACTUAL UNEXPECTED MESSAGE: fails when the strings are equal.
bm_assert_ne() {
	if [[ "$1" != "$2" ]]; then
		bm_pass "$3"
	else
		bm_fail "$3: got [$1], which it must not be"
	fi
}

# bm_assert_contains HAYSTACK NEEDLE MESSAGE: fails unless NEEDLE is a
# (fixed-string) substring of HAYSTACK.
bm_assert_contains() {
	if [[ "$1" == *"$2"* ]]; then
		bm_pass "$3"
	else
		bm_fail "$3: expected [$1] to contain [$2]"
	fi
}

# bm_assert_not_contains HAYSTACK NEEDLE MESSAGE: the opposite.
bm_assert_not_contains() {
	if [[ "$1" != *"$2"* ]]; then
		bm_pass "$3"
	else
		bm_fail "$3: [$1] must not contain [$2]"
	fi
}

# bm_done: fails if a sanitizer (ASan/UBSan/LSan build) reported anything in
# the outputs kept under BM_TMP, else prints the closing "N passed, 0 failed"
# line; call it last.
bm_done() {
	local report
	report="$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
		"$BM_TMP"/*.out "$BM_TMP"/*.err 2>/dev/null | head -n 1 || true)"
	if [[ -n "$report" ]]; then
		grep -m 5 -E 'ERROR: |runtime error:|SUMMARY:' "$report" >&2 || true
		bm_fail "a sanitizer reported a problem in $report"
	fi
	bm_valgrind_check
	printf '%d passed, 0 failed\n' "$BM_PASSED"
}

# bm_valgrind_bad LOG: true when a valgrind log shows an error or a definite
# leak, or no ERROR SUMMARY (the run did not finish).
bm_valgrind_bad() {
	! grep -q 'ERROR SUMMARY: 0 errors' "$1" || grep -q 'definitely lost: [1-9]' "$1"
}

# bm_valgrind_report: prints the start of each finished valgrind log that
# shows an error or a definite leak (bm_fail calls it).
bm_valgrind_report() {
	local log
	[[ -n "${BM_WRAPPER:-}" && -n "${BM_TMP:-}" ]] || return 0
	for log in "$BM_TMP"/valgrind*.log; do
		if [[ ! -e "$log" ]] || ! grep -q 'ERROR SUMMARY' "$log" || ! bm_valgrind_bad "$log"; then
			continue
		fi
		printf -- '--- %s (first 80 lines after the header):\n' "$(basename "$log")" >&2
		sed -n '/^==[0-9]*== *$/,$p' "$log" | grep -v -E '^==[0-9]+== *$' | head -n 80 >&2
	done
}

# bm_valgrind_check: with BM_WRAPPER logging to $BM_TMP/valgrind*.log, fails
# unless every log is of a run that finished (its ERROR SUMMARY is there),
# with no error and no definite leak. Call after serve has stopped.
bm_valgrind_check() {
	local log logs=0
	[[ -n "${BM_WRAPPER:-}" ]] || return 0
	for log in "$BM_TMP"/valgrind*.log; do
		[[ -e "$log" ]] || continue
		logs=$((logs + 1))
		bm_valgrind_bad "$log" &&
			bm_fail "valgrind reported errors or a definite leak (or the run did not finish) in $(basename "$log")"
	done
	if [[ "$BM_WRAPPER" == *--log-file=* ]]; then
		((logs > 0)) || bm_fail "BM_WRAPPER logs to a file but no $BM_TMP/valgrind*.log was written"
		bm_pass "valgrind: $logs runs of the binary, no error and no definite leak"
	fi
}

# ---------------------------------------------------------------- setup

# bm_setup: strict mode, umask 077, a fresh BM_TMP (mode 755 so an unprivileged
# PostgreSQL can reach its data dir), and an EXIT trap that stops serve,
# mbsim and PostgreSQL and removes BM_TMP (unless BM_KEEP_TMP=1).
bm_setup() {
	set -euo pipefail
	# Configs hold literal test secrets, which the binary refuses in a file
	# group or others can read: every file a test writes is private.
	umask 077
	# The outermost script is the test (bm_setup may be called via bm_stack).
	BM_TEST_NAME="$(basename "${BASH_SOURCE[-1]:-$0}" .sh)"
	BM_TMP="$(mktemp -d /tmp/bm-test.XXXXXX)"
	chmod 755 "$BM_TMP"
	export BM_TMP
	trap bm_cleanup EXIT
	trap "exit 143" TERM
	trap "exit 130" INT
	trap "exit 129" HUP
	bm_watchdog_start
	echo "# $BM_TEST_NAME (tmp: $BM_TMP)"
	[[ -x "$BM_BINARY" ]] || bm_fail "no binary at BM_BINARY=$BM_BINARY (build first)"
	bm_wrapper_install
}

# bm_wrapper_install: with BM_WRAPPER set, writes $BM_TMP/bin/bookto-moneybird,
# which execs the real binary under the wrapper (same pid, so signals reach
# it), and points BM_BINARY at it; BM_BINARY_REAL keeps the real one.
bm_wrapper_install() {
	[[ -n "${BM_WRAPPER:-}" ]] || return 0
	BM_BINARY_REAL="$BM_BINARY"
	mkdir -p "$BM_TMP/bin"
	printf '#!/bin/sh\nexec %s %q "$@"\n' "$BM_WRAPPER" "$BM_BINARY_REAL" \
		>"$BM_TMP/bin/bookto-moneybird"
	chmod 755 "$BM_TMP/bin/bookto-moneybird"
	BM_BINARY="$BM_TMP/bin/bookto-moneybird"
	export BM_BINARY BM_BINARY_REAL
	echo "# binary runs under: $BM_WRAPPER (waits x$BM_TIME_SCALE)"
}

# bm_watchdog_start: a detached reaper for when this test is killed with
# SIGKILL (e.g. by a CTest timeout), which no trap can catch: once the test's
# shell is gone it kills the processes listed in $BM_TMP/.pids, stops the
# cluster described by $BM_TMP/.pg and removes BM_TMP (unless BM_KEEP_TMP=1).
# After a normal exit bm_cleanup has done all that and it finds nothing.
# Started as a grandchild so that it is never a job of the test's shell.
bm_watchdog_start() {
	(
		setsid bash -c '
			parent=$1 tmp=$2 keep=$3
			while kill -0 "$parent" 2>/dev/null; do sleep 1; done
			[ -d "$tmp" ] || exit 0
			if [ -f "$tmp/.pids" ]; then
				while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$tmp/.pids"
			fi
			if [ -f "$tmp/.pg" ] && [ -f "$tmp/pg/data/postmaster.pid" ]; then
				read -r bin as <"$tmp/.pg"
				if [ -n "$as" ]; then
					runuser -u "$as" -- "$bin/pg_ctl" -D "$tmp/pg/data" -m immediate -w stop
				else
					"$bin/pg_ctl" -D "$tmp/pg/data" -m immediate -w stop
				fi
			fi
			[ "$keep" = 1 ] || rm -rf "$tmp"
		' bm-watchdog "$$" "$BM_TMP" "${BM_KEEP_TMP:-0}" </dev/null >/dev/null 2>&1 &
	)
}

# bm_stop_child PID TENTHS: TERM, then KILL once TENTHS*0.1 s have passed,
# and reaps it.
bm_stop_child() {
	kill -TERM "$1" 2>/dev/null
	bm_wait_pid_gone "$1" "$2" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# bm_stop_registered: stops the processes a test listed in $BM_TMP/.pids
# (a second simulator, a receiver, helpers) that are still this shell's
# children. Children only, so that a listed pid the system has since given
# to another process is never touched.
bm_stop_registered() {
	local pid stat state ppid
	[[ -f "${BM_TMP:-}/.pids" ]] || return 0
	while read -r pid; do
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
		read -r state ppid _ <<<"${stat##*) }"
		[[ "$ppid" == "$$" && "$state" != Z ]] && bm_stop_child "$pid" 30
	done <"$BM_TMP/.pids"
}

# bm_cleanup: the EXIT trap; stops everything started and keeps the exit code.
bm_cleanup() {
	local rc=$?
	set +e
	[[ -z "$BM_SERVE_PID" ]] || bm_stop_child "$BM_SERVE_PID" $((50 * BM_TIME_SCALE))
	[[ -z "$BM_MBSIM_PID" ]] || bm_stop_child "$BM_MBSIM_PID" 30
	bm_stop_registered
	if [[ "$BM_PG_RUNNING" == 1 || -f "${BM_PGDATA:-/nonexistent}/postmaster.pid" ]]; then
		bm_pg_run "$BM_PG_BIN/pg_ctl" -D "$BM_PGDATA" -m immediate -w stop >/dev/null 2>&1
	fi
	if [[ -n "${BM_TMP:-}" && -d "$BM_TMP" ]]; then
		rm -f "$BM_TMP/.pids" "$BM_TMP/.pg" # all stopped: nothing for the watchdog
		if [[ "${BM_KEEP_TMP:-0}" == 1 ]]; then
			echo "# kept $BM_TMP"
		else
			chmod -R u+rwX "$BM_TMP" 2>/dev/null
			rm -rf "$BM_TMP"
		fi
	fi
	exit "$rc"
}

# bm_wait_pid_gone PID TENTHS: waits up to TENTHS*0.1 s for PID to exit.
bm_wait_pid_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# bm_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
bm_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# bm_free_port: prints a random free TCP port in 20000..32767, below Linux's
# ephemeral range (32768..60999), so that the local port of some outgoing
# connection cannot take it between this check and the server's bind.
bm_free_port() {
	local port i
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		if bm_port_free "$port"; then
			echo "$port"
			return 0
		fi
	done
	bm_fail "no free TCP port found"
}

# bm_wait_file FILE TENTHS: waits until FILE exists and is non-empty.
bm_wait_file() {
	local i
	for ((i = 0; i < $2; i++)); do
		[[ -s "$1" ]] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- PostgreSQL

# bm_pg_find_bin: sets BM_PG_BIN to the folder holding initdb and pg_ctl
# (PATH first, else the highest /usr/lib/postgresql/*/bin).
bm_pg_find_bin() {
	local initdb dir
	if initdb="$(command -v initdb 2>/dev/null)" && command -v pg_ctl >/dev/null 2>&1; then
		BM_PG_BIN="$(dirname "$(readlink -f "$initdb")")"
		[[ -x "$BM_PG_BIN/pg_ctl" ]] && return 0
	fi
	BM_PG_BIN=""
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n); do
		[[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && BM_PG_BIN="$dir"
	done
	[[ -n "$BM_PG_BIN" ]] || bm_fail "PostgreSQL server binaries (initdb, pg_ctl) not found"
	[[ ! -x "$BM_PG_BIN/psql" ]] || BM_PSQL="$BM_PG_BIN/psql"
}

# bm_pg_run CMD...: runs CMD as the PostgreSQL owner (bmtest when root).
bm_pg_run() {
	if [[ -n "$BM_PG_AS" ]]; then
		runuser -u "$BM_PG_AS" -- "$@"
	else
		"$@"
	fi
}

# bm_pg_user: when root, makes sure the unprivileged user bmtest exists (two
# tests may race to create it) and sets BM_PG_AS to it.
bm_pg_user() {
	BM_PG_AS=""
	[[ "$(id -u)" == 0 ]] || return 0
	BM_PG_AS=bmtest
	if ! id -u bmtest >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin bmtest 2>/dev/null ||
			sleep 1
		id -u bmtest >/dev/null 2>&1 || bm_fail "could not create the user bmtest"
	fi
}

# bm_pg_start: initdb + start a throwaway cluster on 127.0.0.1:<free port>,
# create database bookto_moneybird; exports BM_PG_PORT, BM_PGDATA,
# BM_PG_SOCKDIR and BM_DATABASE_URL (superuser postgres, trust auth).
bm_pg_start() {
	local attempt
	bm_pg_find_bin
	bm_pg_user
	BM_PG_DIR="$BM_TMP/pg"
	BM_PGDATA="$BM_PG_DIR/data"
	BM_PG_SOCKDIR="$BM_PG_DIR"
	mkdir -p "$BM_PG_DIR"
	[[ -z "$BM_PG_AS" ]] || chown "$BM_PG_AS" "$BM_PG_DIR"
	bm_pg_run "$BM_PG_BIN/initdb" -D "$BM_PGDATA" -U postgres --auth=trust -E UTF8 \
		--locale=C >"$BM_TMP/initdb.log" 2>&1 ||
		{ tail -n 20 "$BM_TMP/initdb.log" >&2; bm_fail "initdb failed"; }
	echo "$BM_PG_BIN $BM_PG_AS" >"$BM_TMP/.pg" # for bm_watchdog_start
	for attempt in 1 2 3 4 5; do
		BM_PG_PORT="$(bm_free_port)"
		bm_pg_write_conf
		if bm_pg_start_again_quiet; then
			break
		fi
		[[ "$attempt" == 5 ]] && { tail -n 20 "$BM_PG_DIR/server.log" >&2; bm_fail "PostgreSQL did not start"; }
	done
	export BM_PG_PORT BM_PGDATA BM_PG_SOCKDIR
	export BM_DATABASE_URL="postgresql://postgres@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
	if [[ "${BM_DB_ROLES:-0}" == 1 ]]; then
		export BM_CONNECTOR_DATABASE_URL="postgresql://bookto_moneybird_app@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
		bm_pg_roles_setup
		return 0
	fi
	"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$BM_PG_PORT/postgres" \
		-c "CREATE DATABASE bookto_moneybird" >/dev/null || bm_fail "CREATE DATABASE failed"
}

# bm_pg_roles_setup: runs deploy/postgres-setup.sql (roles without passwords:
# the test cluster trusts loopback); creates the database owned by the owner.
bm_pg_roles_setup() {
	"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 -v owner_password=NULL -v app_password=NULL \
		"postgresql://postgres@127.0.0.1:$BM_PG_PORT/postgres" \
		-f "$BM_SOURCE_DIR/deploy/postgres-setup.sql" >"$BM_TMP/roles-setup.out" 2>&1 ||
		{ cat "$BM_TMP/roles-setup.out" >&2; bm_fail "deploy/postgres-setup.sql failed"; }
}

# bm_pg_write_conf: (re)writes the test settings for BM_PG_PORT.
bm_pg_write_conf() {
	bm_pg_run sh -c "cat > '$BM_PGDATA/postgresql.auto.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $BM_PG_PORT
unix_socket_directories = '$BM_PG_SOCKDIR'
fsync = on
synchronous_commit = on
shared_buffers = 32MB
max_connections = 100
logging_collector = off
log_min_messages = warning
EOF
}

# bm_pg_start_again_quiet: starts the cluster; returns non-zero on failure.
bm_pg_start_again_quiet() {
	local i
	bm_pg_run "$BM_PG_BIN/pg_ctl" -D "$BM_PGDATA" -l "$BM_PG_DIR/server.log" -w -t 30 \
		start >/dev/null 2>&1 || return 1
	BM_PG_RUNNING=1
	for ((i = 0; i < 100; i++)); do
		"$BM_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$BM_PG_PORT" && return 0
		sleep 0.1
	done
	return 1
}

# bm_pg_stop: fast shutdown of the cluster (clients are disconnected).
bm_pg_stop() {
	bm_pg_run "$BM_PG_BIN/pg_ctl" -D "$BM_PGDATA" -m fast -w -t 30 stop >/dev/null ||
		bm_fail "pg_ctl stop failed"
	BM_PG_RUNNING=0
}

# bm_pg_start_again: restarts the same cluster on the same port.
bm_pg_start_again() {
	bm_pg_start_again_quiet || { tail -n 20 "$BM_PG_DIR/server.log" >&2; bm_fail "PostgreSQL did not restart"; }
}

# bm_psql SQL: runs SQL against the test database; prints unaligned,
# tuples-only output ('|' between columns). Stops at the first error.
bm_psql() {
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -c "$1"
}

# ---------------------------------------------------------------- Moneybird simulator

# bm_mbsim_start [ARGS...]: starts the simulator on a free port; exports
# BM_MBSIM_PORT, BM_MBSIM_URL, BM_MBSIM_TOKEN, BM_MBSIM_ADMIN.
bm_mbsim_start() {
	[[ -x "$BM_MBSIM" ]] || bm_fail "no simulator at BM_MBSIM=$BM_MBSIM"
	rm -f "$BM_TMP/mbsim.port"
	"$BM_MBSIM" --port 0 --port-file "$BM_TMP/mbsim.port" --token "$BM_MBSIM_TOKEN" \
		--administration-id "$BM_MBSIM_ADMIN" "$@" >"$BM_TMP/mbsim.log" 2>&1 &
	BM_MBSIM_PID=$!
	echo "$BM_MBSIM_PID" >>"$BM_TMP/.pids"
	bm_wait_file "$BM_TMP/mbsim.port" 100 ||
		{ tail -n 20 "$BM_TMP/mbsim.log" >&2; bm_fail "mbsim did not write its port file"; }
	BM_MBSIM_PORT="$(tr -d '[:space:]' <"$BM_TMP/mbsim.port")"
	export BM_MBSIM_PORT BM_MBSIM_TOKEN BM_MBSIM_ADMIN
	export BM_MBSIM_URL="http://127.0.0.1:$BM_MBSIM_PORT/api/v2"
}

# ---------------------------------------------------------------- connector config

# bm_write_config [KEY=VALUE...]: writes $BM_TMP/connector.cfg and exports
# BM_CONFIG, BM_HTTP_PORT, BM_URL and BM_SPOOL. Keys (all optional):
#   workers=0             workers.count
#   max_body_bytes=262144 http.max_body_bytes
#   tolerance=300         timestamp_tolerance_seconds of every connection
#   secrets='"a", "b"'    signing_secrets list body (default: the two test secrets)
#   second=1              add a second connection named "other"
#   spool_dir=PATH        spool.dir (default $BM_TMP/spool)
#   log_level=info        log.level
#   log_format=logfmt     log.format (logfmt | json)
#   max_connections=256   http.max_connections
#   request_timeout=10    http.request_timeout_seconds
#   port=N                http port (default: a free one)
#   mapping=PATH          mapping file (default $BM_SOURCE_DIR/mappings/default.cfg)
#   moneybird_url=URL     base_url (default BM_MBSIM_URL, else an unused port)
#   extra_connection_keys=TEXT  extra lines inside the first connection
#   rate_limit=150/300    moneybird.rate_limit REQUESTS/SECONDS of every connection
#                         (match the simulator's --rate-limit for a compressed window)
#   console=""            console.listen (default "": the web console off)
# Unknown keys fail the test (catches typos).
bm_write_config() {
	local workers=0 max_body_bytes=262144 tolerance=300 second=0 log_level=info log_format=logfmt
	local max_connections=256 request_timeout=10
	local secrets="\"$BM_SECRET_CURRENT\", \"$BM_SECRET_PREVIOUS\""
	local spool_dir="$BM_TMP/spool" port="" mapping="$BM_SOURCE_DIR/mappings/default.cfg"
	local moneybird_url="${BM_MBSIM_URL:-http://127.0.0.1:9/api/v2}" extra_connection_keys=""
	local rate_limit=150/300 console=""
	local kv key value other=""
	for kv in "$@"; do
		key="${kv%%=*}"
		value="${kv#*=}"
		case "$key" in
		workers | max_body_bytes | tolerance | second | log_level | secrets | spool_dir | \
			port | mapping | moneybird_url | extra_connection_keys | log_format | \
			max_connections | request_timeout | rate_limit | console)
			printf -v "$key" '%s' "$value" ;;
		*) bm_fail "bm_write_config: unknown key $key" ;;
		esac
	done
	[[ -n "$port" ]] || port="$(bm_free_port)"
	mkdir -p "$spool_dir" 2>/dev/null || true
	if [[ "$second" == 1 ]]; then
		other="$(bm_config_connection other "$secrets" "$tolerance" "$mapping" "$moneybird_url" "" "$rate_limit")"
		other=",
$other"
	fi
	BM_CONFIG="$BM_TMP/connector.cfg"
	cat >"$BM_CONFIG" <<EOF
# Written by tests/integration/lib.sh for $BM_TEST_NAME
http = {
  listen = "127.0.0.1:$port";
  max_body_bytes = $max_body_bytes;
  max_connections = $max_connections;
  request_timeout_seconds = $request_timeout;
};
database = {
  conninfo = "${BM_CONNECTOR_DATABASE_URL:-${BM_DATABASE_URL:-postgresql:///bookto_moneybird}}";
  pool_size = 8;
};
workers = { count = $workers; max_attempts = 15; };
reconcile = { interval_seconds = 900; };
log = { level = "$log_level"; format = "$log_format"; file = "$BM_TMP/connector.log"; };
spool = { dir = "$spool_dir"; };
console = { listen = "$console"; };
connections = (
$(bm_config_connection shop "$secrets" "$tolerance" "$mapping" "$moneybird_url" "$extra_connection_keys" "$rate_limit")$other
);
EOF
	bm_testing_write "$BM_CONFIG"
	chmod 600 "$BM_CONFIG" # it holds literal secrets
	BM_HTTP_PORT="$port"
	BM_SPOOL="$spool_dir"
	export BM_CONFIG BM_HTTP_PORT BM_SPOOL
	export BM_URL="http://127.0.0.1:$port"
}

# bm_testing KEY=VALUE...: sets keys of the config's test-only `testing`
# group (config.example.cfg: lease_seconds, backoff_base_seconds, ...) in
# $BM_CONFIG when it exists and in every config bm_write_config writes from
# now on; KEY= (empty) removes the key. A config copied from $BM_CONFIG
# afterwards carries them too.
declare -A BM_TESTING=()
bm_testing() {
	local kv key value
	for kv in "$@"; do
		key="${kv%%=*}"
		value="${kv#*=}"
		if [[ -z "$value" ]]; then
			unset "BM_TESTING[$key]"
		else
			BM_TESTING[$key]="$value"
		fi
	done
	if [[ -n "${BM_CONFIG:-}" && -f "$BM_CONFIG" ]]; then
		bm_testing_write "$BM_CONFIG"
	fi
}

# bm_testing_write FILE: replaces FILE's `testing` group (one line) with BM_TESTING.
bm_testing_write() {
	local key line=""
	sed -i '/^testing = {/d' "$1"
	for key in "${!BM_TESTING[@]}"; do
		line+=" $key = ${BM_TESTING[$key]};"
	done
	[[ -z "$line" ]] || printf 'testing = {%s };\n' "$line" >>"$1"
}

# bm_config_connection NAME SECRETS TOLERANCE MAPPING URL EXTRA [RATE]: one
# connection block (helper of bm_write_config); RATE is REQUESTS/SECONDS.
bm_config_connection() {
	set -- "$@" 150/300 # RATE defaults to Moneybird's own limit
	cat <<EOF
  {
    name = "$1";
    mapping = "$4";
    time_zone = "Europe/Amsterdam";
    bookto = {
      signing_secrets = [ $2 ];
      timestamp_tolerance_seconds = $3;
    };
    moneybird = {
      base_url = "$5";
      administration_id = "$BM_MBSIM_ADMIN";
      api_token = "$BM_MBSIM_TOKEN";
      rate_limit = { requests = ${7%%/*}; per_seconds = ${7##*/}; };
    };$6
  }
EOF
}

# ---------------------------------------------------------------- the simulator's /_sim/

# sim_url: the simulator's root (for /_sim/ endpoints).
sim_url() {
	printf 'http://127.0.0.1:%s' "$BM_MBSIM_PORT"
}

# sim_post PATH [JSON]: POSTs JSON to the simulator's control endpoint PATH;
# fails the test unless it answers 2xx; prints the body.
sim_post() {
	local out code
	out="$(mktemp "$BM_TMP/sim.XXXXXX")"
	code="$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X POST \
		-H 'Content-Type: application/json' --data-binary "${2:-}" "$(sim_url)$1" || true)"
	[[ "$code" == 2* ]] || bm_fail "simulator POST $1 answered $code: $(cat "$out")"
	cat "$out"
	rm -f "$out"
}

# sim_state_fetch [SECONDS]: saves GET /_sim/state to $BM_TMP/sim-state.json
# (timeout SECONDS, default 10).
sim_state_fetch() {
	curl -s --max-time "${1:-10}" "$(sim_url)/_sim/state" >"$BM_TMP/sim-state.json" ||
		bm_fail "GET /_sim/state failed"
}

# sim_state_q EXPR: the value of the SQL expression EXPR over the last
# fetched state, the jsonb `s` (psql is needed anyway, jq is not).
sim_state_q() {
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" <<EOF || bm_fail "sim_q failed: $1"
\\set state \`cat $BM_TMP/sim-state.json\`
SELECT $1 FROM (SELECT :'state'::jsonb AS s) AS sim;
EOF
}

# sim_q EXPR: fetches GET /_sim/state and prints the value of EXPR over it.
# Example: sim_q "jsonb_array_length(s->'contacts')"
sim_q() {
	sim_state_fetch
	sim_state_q "$1"
}

# ---------------------------------------------------------------- the binary

# bm_migrate [ARGS...]: runs `bookto-moneybird -c $BM_CONFIG migrate`; fails
# the test when it exits non-zero.
bm_migrate() {
	local rc=0 database="${BOOKTO_MONEYBIRD_DATABASE:-}"
	[[ "${BM_DB_ROLES:-0}" != 1 ]] ||
		database="postgresql://bookto_moneybird_owner@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
	BOOKTO_MONEYBIRD_DATABASE="$database" "$BM_BINARY" -c "$BM_CONFIG" migrate "$@" \
		>"$BM_TMP/migrate.out" 2>&1 || rc=$?
	cat "$BM_TMP/migrate.out" >>"$BM_TMP/migrate-all.out" # for bm_done
	[[ "$rc" == 0 ]] || { cat "$BM_TMP/migrate.out" >&2; bm_fail "migrate exited $rc"; }
	[[ "${BM_DB_ROLES:-0}" != 1 ]] || bm_pg_roles_setup # grants on the new tables
}

# bm_stack [--mbsim [MBSIM_ARG...] --] [--no-serve] [CONFIG_ARG...]: the
# usual start of a test: bm_setup, PostgreSQL, the simulator (with --mbsim,
# its arguments up to --), bm_write_config CONFIG_ARG..., the schema, and
# serve (unless --no-serve).
bm_stack() {
	local sim=0 serve=1 sim_args=()
	while (($#)); do
		case "$1" in
		--mbsim)
			sim=1
			shift
			while (($#)) && [[ "$1" != -- ]]; do
				sim_args+=("$1")
				shift
			done
			(($# == 0)) || shift
			;;
		--no-serve) serve=0 && shift ;;
		*) break ;;
		esac
	done
	bm_setup
	bm_pg_start
	((sim == 0)) || bm_mbsim_start "${sim_args[@]}"
	bm_write_config "$@"
	bm_migrate
	((serve == 0)) || bm_serve_start
}

# bm_ops ARGS...: runs the binary with the test's config; sets OUT, ERR and
# RC (never fails the test); both streams are also kept in ops-all.out/.err.
bm_ops() {
	RC=0
	"$BM_BINARY" -c "$BM_CONFIG" "$@" >"$BM_TMP/ops.out" 2>"$BM_TMP/ops.err" || RC=$?
	OUT="$(cat "$BM_TMP/ops.out")"
	ERR="$(cat "$BM_TMP/ops.err")"
	cat "$BM_TMP/ops.out" >>"$BM_TMP/ops-all.out"
	cat "$BM_TMP/ops.err" >>"$BM_TMP/ops-all.err"
}

# bm_healthz_code: prints the HTTP status of GET /healthz (000 = no answer).
bm_http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BM_URL$1" || true
}

# bm_serve_start: starts `serve` in the background (stdout/stderr to
# $BM_TMP/serve.out), waits up to 15 s (times BM_TIME_SCALE) for GET /healthz
# = 200; exports BM_SERVE_PID.
bm_serve_start() {
	local i code attempt new offset
	touch "$BM_TMP/serve.out"
	for attempt in 1 2 3; do
		offset="$(wc -c <"$BM_TMP/serve.out" | tr -d ' ')"
		"$BM_BINARY" -c "$BM_CONFIG" serve >>"$BM_TMP/serve.out" 2>&1 &
		BM_SERVE_PID=$!
		echo "$BM_SERVE_PID" >>"$BM_TMP/.pids"
		for ((i = 0; i < 150 * BM_TIME_SCALE; i++)); do
			if ! kill -0 "$BM_SERVE_PID" 2>/dev/null; then
				wait "$BM_SERVE_PID" || true
				BM_SERVE_PID=""
				# Another test took the port between bm_free_port and bind: move.
				if [[ "$attempt" != 3 ]] &&
					tail -c +"$((offset + 1))" "$BM_TMP/serve.out" | grep -q "in use"; then
					new="$(bm_free_port)"
					sed -i "s/listen = \"127.0.0.1:$BM_HTTP_PORT\";/listen = \"127.0.0.1:$new\";/" "$BM_CONFIG"
					export BM_HTTP_PORT="$new" BM_URL="http://127.0.0.1:$new"
					continue 2
				fi
				bm_fail "serve exited during startup"
			fi
			code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BM_URL/healthz" || true)"
			# Still alive a moment later: the 200 came from our serve.
			if [[ "$code" == 200 ]] && sleep 0.1 && kill -0 "$BM_SERVE_PID" 2>/dev/null; then
				return 0
			fi
			sleep 0.1
		done
		break
	done
	bm_fail "serve did not answer GET /healthz with 200 within $((15 * BM_TIME_SCALE)) s"
}

# bm_wait_http_code PATH CODE TRIES: polls GET PATH every 0.2 s, at most
# TRIES times, until it answers CODE; prints the last status seen.
bm_wait_http_code() {
	local i code=""
	for ((i = 0; i < $3; i++)); do
		code="$(bm_http_code "$1")"
		[[ "$code" == "$2" ]] && break
		sleep 0.2
	done
	printf '%s' "$code"
}

# bm_serve_stop: SIGTERM, waits up to 20 s (times BM_TIME_SCALE), and fails
# unless serve exits 0.
bm_serve_stop() {
	local rc=0 pid="$BM_SERVE_PID"
	[[ -n "$pid" ]] || bm_fail "bm_serve_stop: serve is not running"
	kill -TERM "$pid"
	if ! bm_wait_pid_gone "$pid" $((200 * BM_TIME_SCALE)); then
		kill -KILL "$pid" 2>/dev/null || true
		bm_fail "serve did not exit within $((20 * BM_TIME_SCALE)) s of SIGTERM"
	fi
	wait "$pid" || rc=$?
	BM_SERVE_PID=""
	bm_assert_eq "$rc" 0 "serve exits 0 on SIGTERM"
}

# ---------------------------------------------------------------- bookto deliveries

# bm_sign SECRET TIMESTAMP BODYFILE: prints "sha256=<hex>" of
# HMAC-SHA256(SECRET, "<TIMESTAMP>.<raw body>"), byte-exact.
bm_sign() {
	local hex
	hex="$({ printf '%s.' "$2"; cat "$3"; } | openssl dgst -sha256 -hmac "$1" -r | awk '{print $1}')"
	[[ ${#hex} == 64 ]] || bm_fail "bm_sign: openssl failed"
	printf 'sha256=%s\n' "$hex"
}

# bm_sha256_file FILE: prints the lowercase hex SHA-256 of FILE.
bm_sha256_file() {
	sha256sum "$1" | awk '{print $1}'
}

# bm_post_bookto PATH BODYFILE [SECRET] [TIMESTAMP] [CURL ARGS...]: POSTs
# BODYFILE to $BM_URL$PATH, signed with SECRET (default the current test
# secret) at TIMESTAMP (default now). SECRET "-" omits X-Bookto-Signature,
# TIMESTAMP "-" omits X-Bookto-Timestamp (the signature then uses now).
# BM_EVENT (default order.paid) sets X-Bookto-Event. Sets BM_STATUS (HTTP
# code, 000 = no answer) and BM_BODY (response body).
bm_post_bookto() {
	local path="$1" file="$2" secret="${3:-$BM_SECRET_CURRENT}" ts="${4:-}"
	local sign_ts sig out
	shift 2
	(($# > 0)) && shift
	(($# > 0)) && shift
	[[ -n "$ts" ]] || ts="$(date +%s)"
	sign_ts="$ts"
	[[ "$ts" != "-" ]] || sign_ts="$(date +%s)"
	local -a headers=(-H "Content-Type: application/json" -H "X-Bookto-Event: ${BM_EVENT:-order.paid}")
	[[ "$ts" == "-" ]] || headers+=(-H "X-Bookto-Timestamp: $ts")
	if [[ "$secret" != "-" ]]; then
		sig="$(bm_sign "$secret" "$sign_ts" "$file")"
		headers+=(-H "X-Bookto-Signature: $sig")
	fi
	out="$(mktemp "$BM_TMP/response.XXXXXX")"
	BM_STATUS="$(curl -s -o "$out" -w '%{http_code}' --max-time 30 -X POST \
		"${headers[@]}" --data-binary "@$file" "$@" "$BM_URL$path" || true)"
	BM_BODY="$(cat "$out")"
	rm -f "$out"
}

# bm_post_expect PATH BODYFILE STATUS BODY_NEEDLE MESSAGE [SECRET] [TS] [CURL...]:
# bm_post_bookto, then asserts the status and that the body contains NEEDLE.
bm_post_expect() {
	local path="$1" file="$2" status="$3" needle="$4" msg="$5"
	shift 5
	bm_post_bookto "$path" "$file" "$@"
	bm_assert_eq "$BM_STATUS" "$status" "$msg: HTTP status (body: $BM_BODY)"
	bm_assert_contains "$BM_BODY" "$needle" "$msg: response body"
}

# bm_order_json ORDER_ID [KEY=VALUE...]: writes a realistic order.paid
# payload to a new file under $BM_TMP/orders and prints its path. Keys:
#   event total excl vat rate currency treatment vat_number peppol_id email
#   match_ref test (true|false) order_number company country
#   paid_at (default 2024-05-02T10:15:27Z)
# Values are inserted as-is into the JSON (amounts are JSON numbers; other
# values are JSON strings, so avoid '"' and '\' in them).
bm_order_json() {
	local order_id="$1"
	shift
	local event=order.paid total=121.00 excl=100.00 vat=21.00 rate=21 currency=EUR
	local treatment=standard vat_number="NL123456789B01" peppol_id="0106:12345678"
	local email="Jan.Jansen@Example.NL" match_ref="NL123456789B01" test=false
	local order_number="ORD-$order_id" company="Jansen Boeken B.V." country=NL
	local paid_at=2024-05-02T10:15:27Z
	local kv key value file
	for kv in "$@"; do
		key="${kv%%=*}"
		value="${kv#*=}"
		case "$key" in
		event | total | excl | vat | rate | currency | treatment | vat_number | peppol_id | \
			email | match_ref | test | order_number | company | country | paid_at)
			printf -v "$key" '%s' "$value" ;;
		*) bm_fail "bm_order_json: unknown key $key" ;;
		esac
	done
	mkdir -p "$BM_TMP/orders"
	file="$(mktemp "$BM_TMP/orders/$order_id.XXXXXX.json")"
	cat >"$file" <<EOF
{
  "event": "$event",
  "payment_provider": "mollie",
  "order_id": "$order_id",
  "order_number": "$order_number",
  "status": "paid",
  "created_at": "2024-05-02T10:14:03Z",
  "paid_at": "$paid_at",
  "amount": {
    "total_incl": $total,
    "excl_vat": $excl,
    "vat": $vat,
    "vat_rate": $rate,
    "currency": "$currency"
  },
  "vat_treatment": "$treatment",
  "product": { "name": "Het Grote Boek", "description": "Hardcover, 320 pagina's \u2014 eerste druk" },
  "buyer": {
    "first_name": "Jan",
    "last_name": "Jansen",
    "email": "$email",
    "company": "$company",
    "vat_number": "$vat_number",
    "peppol_id": "$peppol_id",
    "address": "Keizersgracht 1",
    "address2": "",
    "postal_code": "1015 CJ",
    "city": "Amsterdam",
    "country": "$country",
    "match_ref": "$match_ref"
  },
  "custom_fields": [ { "label": "PO number", "value": "PO-2024-17" } ],
  "seller": { "id": "seller_42", "entity": null },
  "is_test_order": $test
}
EOF
	echo "$file"
}

# bm_assert_log_clean: the connector log and serve's output hold none of the
# test secrets (bookto signing secrets, the Moneybird token).
bm_assert_log_clean() {
	local log secret
	log="$(cat "$BM_TMP/connector.log" "$BM_TMP/serve.out" 2>/dev/null)"
	for secret in "$BM_SECRET_CURRENT" "$BM_SECRET_PREVIOUS" "$BM_MBSIM_TOKEN"; do
		bm_assert_not_contains "$log" "$secret" "the log does not contain secret '$secret'"
	done
}

# bm_assert_synced N MESSAGE: waits up to 20 s until N orders are synced,
# then asserts it.
bm_assert_synced() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ "$(bm_count_orders "state = 'synced'")" == "$1" ]] && break
		sleep 0.2
	done
	bm_assert_eq "$(bm_count_orders "state = 'synced'")" "$1" "$2"
}

# post_order ORDER_ID [KEY=VALUE...]: posts a signed order.paid (bm_order_json
# keys) to the "shop" connection and fails unless it is accepted.
post_order() {
	local file
	file="$(bm_order_json "$@")"
	bm_post_bookto /webhooks/bookto/shop "$file"
	[[ "$BM_STATUS" == 2* ]] || bm_fail "order $1 was not accepted: $BM_STATUS $BM_BODY"
}

# order_value ORDER_ID COLUMN: a column of the order (as text).
order_value() {
	bm_psql "SELECT $2 FROM orders WHERE order_id = '$1'"
}

# bm_pad_json FILE SIZE: prints the path of a copy of the JSON object in FILE
# padded (with a "padding" member after the opening brace) to exactly SIZE
# bytes. FILE must start with "{" on its own first line.
bm_pad_json() {
	local src="$1" size="$2" base n out
	base="$(wc -c <"$src" | tr -d ' ')"
	n=$((size - base - 13)) # '"padding":"",' is 13 bytes
	((n >= 0)) || bm_fail "bm_pad_json: $src is already larger than $size bytes"
	out="$(mktemp "$BM_TMP/orders/padded.XXXXXX.json")"
	{
		printf '{"padding":"'
		head -c "$n" /dev/zero | tr '\0' x
		printf '",'
		tail -c +2 "$src"
	} >"$out"
	[[ "$(wc -c <"$out" | tr -d ' ')" == "$size" ]] || bm_fail "bm_pad_json: wrong size"
	echo "$out"
}

# bm_count_orders [WHERE]: prints the number of orders rows (optional filter).
bm_count_orders() {
	bm_psql "SELECT count(*) FROM orders ${1:+WHERE $1}"
}

# bm_write_connections FILE N: FILE becomes $BM_CONFIG with its one connection
# replaced by N connections c0001..cN, all on the simulator with the current
# secret (the scale test and the scale benchmark). The list ends with the
# file's last line, ");"; a testing group, if any, is kept.
bm_write_connections() {
	local file="$1" n="$2" i
	head -n -1 "$BM_CONFIG" | sed '/^connections = ($/,$d' >"$file.new"
	{
		echo "connections = ("
		for ((i = 1; i <= n; i++)); do
			((i == 1)) || echo ","
			bm_config_connection "$(printf 'c%04d' "$i")" "\"$BM_SECRET_CURRENT\"" 300 \
				"$BM_SOURCE_DIR/mappings/default.cfg" "$BM_MBSIM_URL" ""
		done
		echo ");"
	} >>"$file.new"
	grep '^testing = {' "$BM_CONFIG" >>"$file.new" || true
	mv "$file.new" "$file"
	chmod 600 "$file"
}

# bm_post_order VAR ORDER_ID OUTCOME MSG [KEY=VALUE...]: writes the order
# (bm_order_json ORDER_ID KEY=VALUE...), stores its file's path in VAR, posts
# it to the connection `shop` and asserts 200 with OUTCOME in the answer.
bm_post_order() {
	local var="$1" order_id="$2" outcome="$3" msg="$4" file
	shift 4
	file="$(bm_order_json "$order_id" "$@")"
	printf -v "$var" '%s' "$file"
	bm_post_expect /webhooks/bookto/shop "$file" 200 "$outcome" "$msg"
}
