#!/usr/bin/env bash
# Migrations and serve's lifecycle: serve refuses an unmigrated, tampered or
# newer schema with a sentence naming the fix; migrate is idempotent and safe
# to run twice at once; /healthz and /readyz; audit_log refuses UPDATE,
# DELETE and TRUNCATE; serve exits 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"
bm_setup
bm_pg_start
bm_write_config

# bm_serve_refuses MESSAGE REGEX: runs serve in the foreground and expects a
# non-zero exit within 20 s and REGEX (extended, case-insensitive) in stderr.
bm_serve_refuses() {
	local rc=0
	timeout 20 "$BM_BINARY" -c "$BM_CONFIG" serve >"$BM_TMP/refuse.out" 2>"$BM_TMP/refuse.err" || rc=$?
	cat "$BM_TMP/refuse.err" >>"$BM_TMP/refuse-all.err" # for bm_done's sanitizer check
	[[ "$rc" != 124 ]] || bm_fail "$1: serve did not exit within 20 s"
	bm_assert_ne "$rc" 0 "$1: serve exits non-zero ($rc)"
	if grep -Eqi -- "$2" "$BM_TMP/refuse.err"; then
		bm_pass "$1: stderr names the problem: $(head -c 300 "$BM_TMP/refuse.err" | tr '\n' ' ')"
	else
		bm_fail "$1: stderr does not match /$2/: [$(cat "$BM_TMP/refuse.err")]"
	fi
	bm_assert_eq "$(bm_http_code /healthz)" 000 "$1: nothing listens"
}

# --- before migrate ------------------------------------------------------------
bm_serve_refuses "serve before migrate" 'migrate'

# --- two migrate at once, then again ---------------------------------------------
"$BM_BINARY" -c "$BM_CONFIG" migrate >"$BM_TMP/m1.out" 2>&1 &
p1=$!
"$BM_BINARY" -c "$BM_CONFIG" migrate >"$BM_TMP/m2.out" 2>&1 &
p2=$!
rc1=0 rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
bm_assert_eq "$rc1/$rc2" "0/0" "two concurrent migrate both succeed ($(cat "$BM_TMP/m1.out" "$BM_TMP/m2.out" | tr '\n' ' '))"
nfiles="$(ls "$BM_SOURCE_DIR"/migrations/*.sql | wc -l | tr -d ' ')"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM schema_migrations")" "$nfiles" \
	"schema_migrations records each migration file once"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM schema_migrations WHERE checksum ~ '^[0-9a-f]{64}$'")" \
	"$nfiles" "each migration is recorded with a SHA-256 checksum"
applied="$(bm_psql "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")"
bm_migrate
bm_assert_eq "$(bm_psql "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")" \
	"$applied" "a second migrate changes nothing"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM information_schema.views WHERE table_name = 'sync_status'")" 1 \
	"the sync_status view exists"
bm_assert_eq "$(bm_psql "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = 'sync_status'")" \
	"connection,order_id,order_number,is_test_order,state,match_ref,moneybird_contact_id,moneybird_invoice_id,invoice_state,attempts,last_error,received_at,synced_at,paid_confirmed_at,updated_at" \
	"sync_status has the columns of INTERFACE.md"

# --- serve, health and readiness --------------------------------------------------
bm_serve_start
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz is 200"
bm_assert_eq "$(bm_http_code /readyz)" 200 "/readyz is 200 with the database up and migrated"
bm_assert_eq "$(bm_http_code /no/such/path)" 404 "an unknown path is 404"
bm_assert_eq "$(bm_psql "SELECT name FROM connections")" shop "serve registered its connection"
f="$(bm_order_json ord-5001)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery"

bm_pg_stop
bm_assert_eq "$(bm_http_code /readyz)" 503 "/readyz is 503 with the database down"
bm_assert_eq "$(bm_http_code /healthz)" 200 "/healthz is 200 with the database down"
bm_pg_start_again
ready="$(bm_wait_http_code /readyz 200 50)"
bm_assert_eq "$ready" 200 "/readyz is 200 again once the database is back"
bm_serve_stop

# --- audit_log is append-only ---------------------------------------------------
rows="$(bm_psql "SELECT count(*) || ':' || max(id) FROM audit_log")"
[[ "$rows" != 0:* ]] && bm_pass "the delivery wrote audit rows ($rows)" || bm_fail "no audit rows"
for sql in "UPDATE audit_log SET actor = 'mallory'" "DELETE FROM audit_log" "TRUNCATE audit_log"; do
	if out="$(bm_psql "$sql" 2>&1)"; then
		bm_fail "the database allowed: $sql"
	else
		bm_pass "the database refuses: $sql ($(echo "$out" | head -n 1))"
	fi
done
bm_assert_eq "$(bm_psql "SELECT count(*) || ':' || max(id) FROM audit_log")" "$rows" "audit rows are unchanged"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE actor = 'mallory'")" 0 "no audit row was edited"
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the audit hash chain holds"

# --- a tampered schema ------------------------------------------------------------
checksum="$(bm_psql "SELECT checksum FROM schema_migrations ORDER BY version LIMIT 1")"
bm_psql "UPDATE schema_migrations SET checksum = 'x' WHERE checksum = '$checksum'"
bm_serve_refuses "serve on a tampered schema" 'checksum|tamper|edit|modif|differ|changed'
bm_psql "UPDATE schema_migrations SET checksum = '$checksum' WHERE checksum = 'x'"

# --- a newer schema than this binary knows ----------------------------------------
bm_psql "INSERT INTO schema_migrations (version, name, checksum)
	VALUES (9999, '9999_from_the_future.sql', repeat('0', 64))"
bm_serve_refuses "serve on a newer schema" 'newer|upgrade|9999|unknown'
bm_migrate_rc=0
"$BM_BINARY" -c "$BM_CONFIG" migrate >"$BM_TMP/m3.out" 2>&1 || bm_migrate_rc=$?
# Whether migrate exits 0 or refuses here is not specified; it must not undo
# what the newer binary recorded.
bm_assert_eq "$(bm_psql "SELECT count(*) FROM schema_migrations WHERE version = 9999")" 1 \
	"migrate (exit $bm_migrate_rc) leaves a newer schema's record alone"
bm_psql "DELETE FROM schema_migrations WHERE version = 9999"

# --- an out-of-date schema (a migration missing) -----------------------------------
last="$(bm_psql "SELECT max(version) FROM schema_migrations")"
saved="$(bm_psql "SELECT name || '|' || checksum FROM schema_migrations WHERE version = $last")"
bm_psql "DELETE FROM schema_migrations WHERE version = $last"
bm_serve_refuses "serve on an out-of-date schema" 'migrate'
bm_psql "INSERT INTO schema_migrations (version, name, checksum)
	VALUES ($last, '${saved%%|*}', '${saved#*|}')"

# --- all repaired: serve starts again ----------------------------------------------
bm_serve_start
bm_assert_eq "$(bm_http_code /readyz)" 200 "/readyz is 200 after the repairs"
bm_serve_stop
bm_done
