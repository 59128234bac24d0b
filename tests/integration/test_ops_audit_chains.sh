#!/usr/bin/env bash
# The audit log in several hash chains (migration 0018): `audit verify` links
# each row to the previous row of ITS chain, `audit head` prints every
# chain's newest row, `audit verify --expect` checks each of them.
#
# The log: rows written by serve (its lanes set their own chain; here serve's
# conninfo also names chain 5, so they are never on chain 0) and rows written
# through psql with `SET bookto_moneybird.audit_chain = N`, interleaved at
# random over chains 0, 3 and 7 (the seed is printed). Then, as the owner
# (triggers disabled), each tampering is checked against where it must be
# caught -- the next row of the same chain, not the next id -- and the heads
# kept outside the database against a chain cut short or rewritten with
# recomputed hashes.
source "$(dirname "$0")/lib.sh"
# shellcheck source=audit_lib.sh
source "$(dirname "$0")/audit_lib.sh"
bm_setup
bm_pg_start
export BM_CONNECTOR_DATABASE_URL="$BM_DATABASE_URL?options=-c%20bookto_moneybird.audit_chain%3D5"
bm_write_config workers=0
bm_migrate

head_now() { # prints `audit head`; fails the test when it fails
	"$BM_BINARY" -c "$BM_CONFIG" audit head 2>"$BM_TMP/head.err" || bm_fail "audit head failed: $(cat "$BM_TMP/head.err")"
}
broken_at() { grep -o 'broken at row [0-9]*' <<<"$OUT" | grep -o '[0-9]*$' || true; }
restore_intact() {
	restore
	verify
	bm_assert_eq "$RC" 0 "the restored log is intact again"
}
sql() { bm_psql "$1"; }
# The heads as the table says, independently of audit_chain_heads().
heads_sql="SELECT string_agg(id || ':' || encode(row_hash, 'hex'), ',' ORDER BY chain)
	FROM (SELECT DISTINCT ON (chain) chain, id, row_hash FROM audit_log ORDER BY chain, id DESC) h"

# --- the empty log ---------------------------------------------------------------------
bm_assert_eq "$(head_now)" "0:00" "audit head of the empty log prints 0:00, as before"
verify --expect 0:00
bm_assert_eq "$RC" 0 "verify --expect 0:00 passes on the empty log ($OUT)"
bm_assert_contains "$OUT" "intact (0 rows): 0 chains in use" "an empty log uses no chain"

# --- a log on several chains ------------------------------------------------------------
bm_serve_start
for i in 1 2 3; do
	bm_post_expect /webhooks/bookto/shop "$(bm_order_json ach-$i)" 200 accepted "order ach-$i"
done
bm_serve_stop
bm_assert_eq "$(sql "SELECT count(*) FROM audit_log WHERE chain = 0")/$(sql "SELECT count(*) > 0 FROM audit_log")" \
	"0/t" "serve wrote its audit rows on a chain of its own, not chain 0"

seed="${BM_SEED:-$(($(date +%s) % 32768))}"
echo "# interleaving seed $seed (BM_SEED=$seed to repeat)"
RANDOM="$seed"
chains=()
for _ in $(seq 1 30); do
	pick=(0 3 7)
	chains+=("${pick[RANDOM % 3]}")
done
chains+=(3 3 0 7 3 7 0) # chain 3 has a middle row, and chains 3 and 7 end before the log does
{
	n=0
	for c in "${chains[@]}"; do
		n=$((n + 1))
		echo "SET bookto_moneybird.audit_chain = $c;"
		echo "INSERT INTO audit_log (actor, action, order_pk, to_state, detail)
			VALUES ('test', 'chained', $n, 'queued', jsonb_build_object('n', $n, 'chain', $c));"
	done
} >"$BM_TMP/rows.sql"
"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -f "$BM_TMP/rows.sql" >/dev/null ||
	bm_fail "writing the interleaved rows failed"
bm_assert_eq "$(sql "SELECT string_agg(chain::text, ' ' ORDER BY id) FROM audit_log WHERE actor = 'test'")" \
	"${chains[*]}" "each psql row is on the chain its session named"

rows="$(sql "SELECT count(*) FROM audit_log")"
in_use="$(sql "SELECT count(DISTINCT chain) FROM audit_log")"
((in_use >= 4)) || bm_fail "only $in_use chains in use"
verify
bm_assert_eq "$RC" 0 "a log on $in_use chains is intact ($OUT)"
bm_assert_contains "$OUT" "intact ($rows rows): $in_use chains in use" "verify counts the rows and the chains in use"
bm_assert_eq "$(sql "SELECT audit_first_broken_row() IS NULL")" t "the migration's own check agrees"

head="$(head_now)"
bm_assert_eq "$head" "$(sql "$heads_sql")" "audit head prints each chain's newest row, in chain order"
bm_assert_eq "$(tr ',' '\n' <<<"$head" | grep -c .)" "$in_use" "one head per chain in use"
verify --expect "$head"
bm_assert_eq "$RC" 0 "verify --expect the full list passes ($OUT)"
bm_assert_contains "$OUT" "its heads are now $head." "it prints the heads now, as audit head does"
head3="$(sql "SELECT id || ':' || encode(row_hash, 'hex') FROM audit_log WHERE chain = 3 ORDER BY id DESC LIMIT 1")"
verify --expect "$head3"
bm_assert_eq "$RC" 0 "the old single ID:HASH form still passes ($OUT)"
verify --expect "${head3#*:}"
bm_assert_eq "$RC" 0 "so does a bare HASH ($OUT)"
snapshot

# --- tampering, caught in the right chain -------------------------------------------------
# A middle row of chain 3 (not its first: its prev_hash is not \x00) whose
# next row in chain 3 is not the next id.
m="$(sql "SELECT id FROM (SELECT id, lag(id) OVER (ORDER BY id) AS previous,
	lead(id) OVER (ORDER BY id) AS next FROM audit_log WHERE chain = 3) c
	WHERE previous IS NOT NULL AND next > id + 1 ORDER BY id LIMIT 1")"
next3="$(sql "SELECT min(id) FROM audit_log WHERE chain = 3 AND id > $m")"
[[ -n "$m" && "$next3" -gt $((m + 1)) ]] || bm_fail "no middle row of chain 3 to delete"
owner "DELETE FROM audit_log WHERE id = $m"
verify
bm_assert_eq "$RC/$(broken_at)" "1/$next3" "a deleted middle row of chain 3 is caught at chain 3's next row $next3, not at row $((m + 1))"
restore_intact

owner "UPDATE audit_log SET chain = 7 WHERE id = $m"
verify
bm_assert_eq "$RC/$(broken_at)" "1/$m" "a row moved from chain 3 to chain 7 is caught at that row"
restore_intact

# Chain 3 from row m on moved to chain 9, unused: its first row there does
# not start with \x00.
owner "UPDATE audit_log SET chain = 9 WHERE chain = 3 AND id >= $m"
verify
bm_assert_eq "$RC/$(broken_at)" "1/$m" "chain 3's rows from row $m moved to the unused chain 9 are caught at row $m"
restore_intact

tail3="$(sql "SELECT max(id) FROM audit_log WHERE chain = 3")"
owner "UPDATE audit_log SET chain = 9 WHERE id = $tail3"
verify
bm_assert_eq "$RC/$(broken_at)" "1/$tail3" "chain 3's last row moved alone to the unused chain 9 is caught"
restore_intact

# Chain 3 merged into chain 7: both start with \x00, so the later start breaks.
later_start="$(sql "SELECT greatest((SELECT min(id) FROM audit_log WHERE chain = 3),
	(SELECT min(id) FROM audit_log WHERE chain = 7))")"
owner "UPDATE audit_log SET chain = 7 WHERE chain = 3"
verify
bm_assert_eq "$RC/$(broken_at)" "1/$later_start" "chain 3 merged into chain 7 is caught where the later chain started"
restore_intact

# What the chains cannot show: the chain number is not in the digest, so a
# whole chain renumbered to an unused number (its first row still starts
# with \x00) is the same rows in the same order, and passes.
owner "UPDATE audit_log SET chain = 9 WHERE chain = 3"
verify --expect "$head"
bm_assert_eq "$RC" 0 "a whole chain renumbered passes, kept heads included: no row, hash or order changed ($OUT)"
restore_intact

# --- the heads kept outside the database ------------------------------------------------
# Chain 3 cut short: its last row removed (other chains have later rows).
((tail3 < $(sql "SELECT max(id) FROM audit_log"))) || bm_fail "chain 3 ends the log"
owner "DELETE FROM audit_log WHERE id = $tail3"
verify
bm_assert_eq "$RC" 0 "a chain cut short still chains"
verify --expect "$head"
bm_assert_eq "$RC" 1 "verify --expect catches the last row of chain 3 removed"
bm_assert_contains "$OUT" "Row $tail3, a head you kept, is no longer in the audit log: rows were removed from the end of its chain" \
	"it names the missing head of chain 3"
restore_intact

# Chain 7 rewritten from a middle row on, every hash of chain 7 recomputed.
m7="$(sql "SELECT min(id) FROM audit_log WHERE chain = 7 AND id > (SELECT min(id) FROM audit_log WHERE chain = 7)")"
tail7="$(sql "SELECT max(id) FROM audit_log WHERE chain = 7")"
rewrite_from "$m7"
verify
bm_assert_eq "$RC" 0 "chain 7 rewritten with recomputed hashes passes the chains alone (what they cannot prove)"
verify --expect "$head"
bm_assert_eq "$RC" 1 "verify --expect catches chain 7 rewritten"
bm_assert_contains "$OUT" "Row $tail7 of the audit log (chain 7) no longer has the hash you kept" \
	"it names chain 7's kept head"
bm_assert_not_contains "$OUT" "Row $tail3" "and no other chain's head"
restore_intact

# Rows removed from the end of the whole log: the newest row's chain cut.
last="$(sql "SELECT max(id) FROM audit_log")"
owner "DELETE FROM audit_log WHERE id = $last"
now_last="$(sql "SELECT max(id) FROM audit_log")"
verify --expect "$head"
bm_assert_eq "$RC" 1 "verify --expect catches the log's last row removed"
bm_assert_contains "$OUT" "ends at row $now_last, before the head you kept (row $last)" "it names where the log now ends"
restore_intact

# --- what --expect takes -------------------------------------------------------------------
usage() { # LIST: runs verify --expect LIST, which must be a usage error; sets ERR
	local rc=0
	"$BM_BINARY" -c "$BM_CONFIG" audit verify --expect "$1" >/dev/null 2>"$BM_TMP/usage.err" || rc=$?
	ERR="$(cat "$BM_TMP/usage.err")"
	bm_assert_eq "$rc" 2 "--expect \"${1:0:40}...\" is a usage error"
}
list17="$(for i in $(seq 1 17); do printf '%s' "${i:+,}$head3"; done)"
usage "${list17#,}"
bm_assert_contains "$ERR" "at most 16 heads" "the error says how many heads --expect takes"
list16="$(for i in $(seq 1 16); do printf ',%s' "$head3"; done)"
verify --expect "${list16#,}"
bm_assert_eq "$RC" 0 "16 heads are accepted ($OUT)"
usage "$head,"
bm_assert_contains "$ERR" "ID:HASH" "an empty entry is refused, saying what --expect takes"
usage "$head,nonsense"
usage "$head,0:00"
bm_done
