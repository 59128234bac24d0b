# shellcheck shell=bash
#
# Helpers for the audit log tests (test_ops_audit_*.sh), sourced after
# lib.sh: run `audit verify`, and tamper with the log as its owner can (the
# app role cannot: its triggers refuse every change).

verify() { # [ARGS...]: runs audit verify; sets RC and OUT
	RC=0
	"$BM_BINARY" -c "$BM_CONFIG" audit verify "$@" >"$BM_TMP/verify.out" 2>&1 || RC=$?
	OUT="$(cat "$BM_TMP/verify.out")"
}

owner() { # SQL: runs SQL with the audit log's triggers disabled, as the owner can
	bm_psql "ALTER TABLE audit_log DISABLE TRIGGER USER; $1; ALTER TABLE audit_log ENABLE TRIGGER USER" >/dev/null
}

snapshot() { # keeps the log as it is now, for restore
	bm_psql "SET client_min_messages = warning; DROP TABLE IF EXISTS audit_saved;
		CREATE TABLE audit_saved AS SELECT * FROM audit_log" >/dev/null
}

restore() { owner "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_saved"; }

# rewrite_from ID: the owner changes row ID and recomputes the hashes of its
# chain from there on, so that `audit verify` alone still passes; only a head
# kept outside the database shows it.
rewrite_from() {
	owner "DO \$\$
DECLARE r audit_log; previous bytea;
BEGIN
    UPDATE audit_log SET to_state = 'synced' WHERE id = $1;
    SELECT prev_hash INTO previous FROM audit_log WHERE id = $1;
    FOR r IN SELECT * FROM audit_log WHERE id >= $1
             AND chain = (SELECT chain FROM audit_log WHERE id = $1) ORDER BY id LOOP
        r.prev_hash := previous;
        previous := audit_row_hash(previous, r);
        UPDATE audit_log SET prev_hash = r.prev_hash, row_hash = previous WHERE id = r.id;
    END LOOP;
END \$\$"
}
