#!/usr/bin/env bash
# `audit verify`: exit 0 on an intact hash chain; exit 1 naming the first
# broken row when a superuser altered a row behind the append-only trigger's
# back (trigger disabled, row updated, trigger enabled again), or deleted one.
source "$(dirname "$0")/lib.sh"
bm_stack workers=0

verify() {
	RC=0
	"$BM_BINARY" -c "$BM_CONFIG" audit verify >"$BM_TMP/verify.out" 2>&1 || RC=$?
	OUT="$(cat "$BM_TMP/verify.out")"
}

for i in 1 2 3 4; do
	f="$(bm_order_json av-$i)"
	bm_post_expect /webhooks/bookto/shop "$f" 200 accepted "order av-$i"
done
bm_serve_stop
rows="$(bm_psql "SELECT count(*) FROM audit_log")"
[[ "$rows" -ge 4 ]] && bm_pass "the orders wrote $rows audit rows" || bm_fail "only $rows audit rows"

verify
bm_assert_eq "$RC" 0 "audit verify exits 0 on an intact chain"
bm_assert_contains "$OUT" "intact ($rows rows)" "audit verify reports the rows checked"

# The trigger refuses changes, even by the owner.
if bm_psql "UPDATE audit_log SET to_state = 'synced' WHERE id = 2" 2>"$BM_TMP/update.err"; then
	bm_fail "an UPDATE of audit_log was accepted"
fi
bm_assert_contains "$(cat "$BM_TMP/update.err")" "append-only" "an UPDATE is refused by the trigger"

# A superuser disables the trigger, alters row 2, and enables it again.
bm_psql "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
	UPDATE audit_log SET to_state = 'synced' WHERE id = 2;
	ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"
bm_assert_eq "$(bm_psql "SELECT to_state FROM audit_log WHERE id = 2")" synced "row 2 was altered"
verify
bm_assert_eq "$RC" 1 "audit verify exits 1 after the alteration"
bm_assert_contains "$OUT" "broken at row 2" "audit verify names the altered row"

# Put the row back: the chain is whole again.
bm_psql "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
	UPDATE audit_log SET to_state = 'queued' WHERE id = 2;
	ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"
verify
bm_assert_eq "$RC" 0 "audit verify exits 0 once the row is restored"

# A deleted row breaks the chain at the row after it in its chain (the log
# holds a chain per writer lane, migration 0018; psql writes to chain 0): the
# first row from row 3 on that has a later row in its chain.
bm_psql "INSERT INTO audit_log (actor, action, detail) VALUES ('test', 'filler', '{}');
	INSERT INTO audit_log (actor, action, detail) VALUES ('test', 'filler', '{}')"
read -r victim after < <(bm_psql "SELECT a.id, min(b.id) FROM audit_log a JOIN audit_log b
	ON b.chain = a.chain AND b.id > a.id WHERE a.id >= 3 GROUP BY a.id ORDER BY a.id LIMIT 1" | tr '|' ' ')
bm_psql "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
	DELETE FROM audit_log WHERE id = $victim;
	ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"
verify
bm_assert_eq "$RC" 1 "audit verify exits 1 after a deletion"
bm_assert_contains "$OUT" "broken at row $after" "audit verify names the row after the deleted one (row $victim)"

# Runtime failure (database unreachable) is exit 1, usage is exit 2.
"$BM_BINARY" -c "$BM_CONFIG" audit >/dev/null 2>&1 && rc=0 || rc=$?
bm_assert_eq "$rc" 2 "audit without verify exits 2"
bm_pg_stop
verify
bm_assert_eq "$RC" 1 "audit verify with PostgreSQL down exits 1"
bm_done
