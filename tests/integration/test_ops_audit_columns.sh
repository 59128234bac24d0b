#!/usr/bin/env bash
# Every column of an audit row counts, and a log rewritten by the database
# owner is caught by the head kept outside the database.
#
# 1. Upgrade: a log written before migration 0010 (digest version 1) is still
#    intact after it, and rows appended afterwards (version 2) chain onto it.
# 2. As the owner (triggers disabled), each column of a stored row is changed
#    in turn -- at, actor, action, connection_id, order_pk, from_state,
#    to_state (NULL <-> '' too), detail, prev_hash, row_hash, digest_version,
#    id -- and rows are deleted and reordered: `audit verify` exits 1 and
#    names the first broken row every time, also past its first page.
# 3. `audit head` prints ID:HASH; after the owner rewrites a row and
#    recomputes every hash after it (the chain alone then says intact), or
#    deletes the newest rows, `audit verify --expect ID:HASH` exits 1.
source "$(dirname "$0")/lib.sh"
# shellcheck source=audit_lib.sh
source "$(dirname "$0")/audit_lib.sh"
bm_setup
bm_pg_start
bm_write_config workers=0

# The log may hold several chains (migration 0018: psql writes to chain 0,
# serve's lanes to their own), and a row links to the previous row of its
# chain: a removed row is caught at the next row of its chain.
next_in_chain() { # ID: the next row of row ID's chain in the saved log (empty at its end)
	bm_psql "SELECT min(b.id) FROM audit_saved a JOIN audit_saved b ON b.chain = a.chain AND b.id > a.id
		WHERE a.id = $1"
}

# --- 1. a log from before migration 0010 --------------------------------------------
# The migrations before 0010 applied as `migrate` applies them (one
# transaction each, recorded with the file's SHA-256).
{
	echo "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
	for file in "$BM_SOURCE_DIR"/migrations/[0-9]*.sql; do
		name="$(basename "$file")"
		version=$((10#${name%%_*}))
		((version < 10)) || continue
		echo "BEGIN;"
		echo "\\i $file"
		echo "INSERT INTO schema_migrations (version, name, checksum)
			VALUES ($version, '$name', '$(bm_sha256_file "$file")');"
		echo "COMMIT;"
	done
} >"$BM_TMP/old-migrations.sql"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -f "$BM_TMP/old-migrations.sql" >/dev/null ||
	bm_fail "applying the migrations before 0010 by hand failed"
# Old rows through the old trigger, NULLs and text with separators included.
bm_psql "INSERT INTO audit_log (actor, action, connection_id, order_pk, from_state, to_state, detail)
	VALUES ('intake', 'order_received', NULL, 1, NULL, 'queued', '{\"a\": 1}'),
	       ('worker', 'step', 1, 1, 'queued', NULL, '{}'),
	       ('operator', 'retry', 1, 2, E'x\\x1fy', 'queued', '{\"why\": \"text\"}')" >/dev/null
bm_assert_eq "$(bm_psql "SELECT audit_first_broken_row() IS NULL")" t "the old log is intact before the upgrade"
# Orders from before the upgrade: the /metrics counters start from them.
bm_psql "INSERT INTO connections (name, moneybird_administration_id) VALUES ('shop', '$BM_MBSIM_ADMIN');
	INSERT INTO deliveries (delivery_key, connection_id, source, received_at, body, body_sha256, outcome)
	VALUES ('old-1', 1, 'replay', now(), '\x7b7d', 'x', 'accepted');
	INSERT INTO orders (connection_id, order_id, first_delivery_id, state, received_at, synced_at)
	VALUES (1, 'old-a', 1, 'synced', now() - interval '10 seconds', now()),
	       (1, 'old-b', 1, 'synced', now() - interval '2 hours', now()),
	       (1, 'old-c', 1, 'queued', now(), NULL)" >/dev/null
bm_migrate
bm_assert_eq "$(bm_psql "SELECT string_agg(state || '=' || n, ',' ORDER BY state) FROM order_state_counts")" \
	"queued=1,synced=2" "the order counters start from the orders stored before the upgrade"
bm_assert_eq "$(bm_psql "SELECT string_agg(le || '=' || n, ',' ORDER BY le) FROM sync_latency_counts")" \
	"15=1,21600=1" "so does the latency histogram"
bm_assert_eq "$(bm_psql "SELECT string_agg(digest_version::text, ',' ORDER BY id) FROM audit_log")" "1,1,1" \
	"rows written before the upgrade keep digest version 1"
verify
bm_assert_eq "$RC" 0 "an intact old log stays intact after the upgrade ($OUT)"
bm_assert_contains "$OUT" "intact (3 rows)" "audit verify checks the old rows"

bm_serve_start
for i in 1 2 3 4; do
	f="$(bm_order_json ac-$i)"
	bm_post_expect /webhooks/bookto/shop "$f" 200 accepted "order ac-$i"
done
bm_serve_stop
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE digest_version = 2 AND id > 3")" 4 \
	"new rows are written with digest version 2"
verify
bm_assert_eq "$RC" 0 "the chain runs from the old rows into the new ones ($OUT)"
bm_assert_contains "$OUT" "intact (7 rows)" "all 7 rows are checked"

# A changed old row is still caught, with the old digest.
snapshot
owner "UPDATE audit_log SET to_state = 'synced' WHERE id = 2"
verify
bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT")" "1/broken at row 2" "a changed version-1 row is caught"
restore

# --- 2. every column, deletions, reordering ------------------------------------------
# Row 5 is a version-2 row (an order_received with a NULL from_state).
tamper() { # SQL_SET EXPECTED_ROW MESSAGE: changes row 5 as the owner
	owner "UPDATE audit_log SET $1 WHERE id = 5"
	verify
	bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT" || true)" "1/broken at row $2" "$3"
	[[ "$(bm_psql "ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log;
		INSERT INTO audit_log SELECT * FROM audit_saved; ALTER TABLE audit_log ENABLE TRIGGER USER;
		SELECT audit_first_broken_row() IS NULL")" == t ]] ||
		bm_fail "restoring after \"$1\" left the chain broken"
}
tamper "at = at + interval '1 microsecond'" 5 "a changed at is caught"
tamper "actor = 'operator'" 5 "a changed actor is caught"
tamper "action = 'order_reveived'" 5 "a changed action is caught"
tamper "connection_id = connection_id + 1" 5 "a changed connection_id is caught"
tamper "connection_id = NULL" 5 "a connection_id set to NULL is caught"
tamper "order_pk = order_pk + 1" 5 "a changed order_pk is caught"
tamper "order_pk = NULL" 5 "an order_pk set to NULL is caught"
tamper "from_state = 'queued'" 5 "a changed from_state is caught"
tamper "from_state = ''" 5 "a NULL from_state set to '' is caught"
tamper "to_state = 'synced'" 5 "a changed to_state is caught"
tamper "to_state = NULL" 5 "a to_state set to NULL is caught"
tamper "from_state = to_state, to_state = NULL" 5 "states swapped between the columns are caught"
tamper "detail = detail || '{\"order_id\": \"other\"}'" 5 "a changed detail value is caught"
tamper "detail = detail - 'source'" 5 "a key removed from detail is caught"
tamper "detail = '{}'" 5 "an emptied detail is caught"
tamper "prev_hash = sha256('x')" 5 "a changed prev_hash is caught"
tamper "row_hash = sha256('x')" 5 "a changed row_hash is caught"
tamper "digest_version = 1" 5 "a row moved back to the weaker digest is caught"
tamper "digest_version = 3" 5 "an unknown digest version is caught"
after5="$(next_in_chain 5)"
tamper "id = 50" "${after5:-50}" "a row moved to another id is caught at the row after its old place in its chain"

# A deleted row (the first from row 5 on with a later row in its chain).
victim="$(bm_psql "SELECT min(a.id) FROM audit_saved a WHERE a.id >= 5
	AND EXISTS (SELECT 1 FROM audit_saved b WHERE b.chain = a.chain AND b.id > a.id)")"
[[ -n "$victim" ]] || bm_fail "no row from row 5 on has a later row in its chain"
owner "DELETE FROM audit_log WHERE id = $victim"
verify
bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT" || true)" "1/broken at row $(next_in_chain "$victim")" \
	"a deleted row is caught at the next one of its chain"
restore
owner "UPDATE audit_log SET id = -id WHERE id IN (5, 6); UPDATE audit_log SET id = 6 WHERE id = -5;
	UPDATE audit_log SET id = 5 WHERE id = -6"
verify
bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT" || true)" "1/broken at row 5" "two rows swapped are caught"
restore
owner "INSERT INTO audit_log SELECT id + 100, at, actor, action, connection_id, order_pk, from_state,
	to_state, detail, prev_hash, row_hash, digest_version FROM audit_log WHERE id = 4"
verify
bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT" || true)" "1/broken at row 104" "a copied row appended is caught"
restore

# Past the first page (audit verify reads 5000 rows per statement).
bm_psql "INSERT INTO audit_log (actor, action, detail)
	SELECT 'test', 'filler', jsonb_build_object('n', n) FROM generate_series(1, 5003) n" >/dev/null
verify
bm_assert_eq "$RC" 0 "a log of 5010 rows is intact ($OUT)"
bm_assert_contains "$OUT" "intact (5010 rows)" "every page is checked"
snapshot
for row in 5000 5001 5010; do
	owner "UPDATE audit_log SET detail = '{\"n\": 0}' WHERE id = $row"
	verify
	bm_assert_eq "$RC/$(grep -o 'broken at row [0-9]*' <<<"$OUT" || true)" "1/broken at row $row" "a change in row $row is caught"
	owner "UPDATE audit_log a SET detail = s.detail FROM audit_saved s WHERE s.id = a.id AND a.id = $row"
done

# --- 3. the head kept outside the database --------------------------------------------
RC=0
head="$("$BM_BINARY" -c "$BM_CONFIG" audit head 2>"$BM_TMP/head.err")" || RC=$?
bm_assert_eq "$RC" 0 "audit head exits 0"
bm_assert_eq "$head" "$(bm_psql "SELECT string_agg(id || ':' || encode(row_hash, 'hex'), ',' ORDER BY chain)
	FROM (SELECT DISTINCT ON (chain) chain, id, row_hash FROM audit_log ORDER BY chain, id DESC) h")" \
	"audit head prints the newest row's id and hash (of each chain)"
verify --expect "$head"
bm_assert_eq "$RC" 0 "verify --expect the current head passes ($OUT)"
# The head of row 5's chain, whose rows the owner rewrites below.
head5="$(bm_psql "SELECT encode(row_hash, 'hex') FROM audit_log
	WHERE chain = (SELECT chain FROM audit_log WHERE id = 5) ORDER BY id DESC LIMIT 1")"
verify --expect "$head5"
bm_assert_eq "$RC" 0 "verify --expect with the hash alone passes ($OUT)"

# The owner rewrites row 5 and recomputes every hash after it (in its chain).
rewrite_from 5
verify
bm_assert_eq "$RC" 0 "a rewritten log with recomputed hashes passes the chain alone (what the chain cannot prove)"
verify --expect "$head"
bm_assert_eq "$RC" 1 "verify --expect catches the rewritten log"
bm_assert_contains "$OUT" "no longer has the hash you kept" "it says the kept head changed"
verify --expect "$head5"
bm_assert_eq "$RC" 1 "verify --expect HASH catches it too"
bm_assert_contains "$OUT" "is not in the audit log" "it says the kept hash is gone"
restore

# Rows removed from the end: the chain is intact, the kept head is gone.
owner "DELETE FROM audit_log WHERE id > 5005"
verify
bm_assert_eq "$RC" 0 "a log cut short still chains"
verify --expect "$head"
bm_assert_eq "$RC" 1 "verify --expect catches rows removed from the end"
bm_assert_contains "$OUT" "ends at row 5005, before the head you kept" "it names where the log now ends"
restore

rc=0
"$BM_BINARY" -c "$BM_CONFIG" audit verify --expect nonsense >/dev/null 2>"$BM_TMP/usage.err" || rc=$?
bm_assert_eq "$rc" 2 "a malformed --expect is a usage error"
bm_assert_contains "$(cat "$BM_TMP/usage.err")" "ID:HASH" "the error says what --expect takes"
bm_done
