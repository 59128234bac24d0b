#!/usr/bin/env bash
# serve's writers append to audit chains of their own (migration 0018), so a
# transaction that holds one chain -- here an operator's, on chain 0, open for
# seconds -- no longer stops the intake or the workers: with the one chain of
# before, every delivery waited for that lock until the commit timeout and was
# spooled, and no worker could record a step.
#
# It also checks what the chains changed around them:
# - the workers are woken by the job bell's NOTIFY, sent after the intake's
#   commit now that the batch sends none;
# - the notifier reads the log after a cursor, and across chains a lower id
#   can commit after a higher one: the row committed later must still be
#   announced (audit_settled_id);
# - the audit log verifies, and serve wrote on several chains.
source "$(dirname "$0")/lib.sh"
bm_stack --mbsim -- --no-serve workers=2
cat >"$BM_TMP/sendmail" <<EOF
#!/bin/sh
cat >/dev/null
EOF
chmod 755 "$BM_TMP/sendmail"
cat >>"$BM_CONFIG" <<EOF
notify = {
  sendmail = "$BM_TMP/sendmail";
  email_to = "ops@example.com";
  interval_seconds = 1;
};
EOF
bm_serve_start

# --- an operator holds chain 0 for 12 s -----------------------------------------------
"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" >"$BM_TMP/operator.out" 2>&1 <<'SQL' &
BEGIN;
INSERT INTO audit_log (actor, action, detail) VALUES ('operator', 'lanes_test_hold', '{}');
SELECT pg_sleep(12);
COMMIT;
SQL
operator=$!
held="SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE l.locktype = 'advisory' AND l.granted AND a.query LIKE '%pg_sleep(12)%'"
for _ in $(seq 1 50); do
	[[ "$(bm_psql "$held")" == 1 ]] && break
	sleep 0.1
done
bm_assert_eq "$(bm_psql "$held")" 1 "the operator holds its chain's lock"

# A listener sees the workers' bell ring for the new orders.
"$BM_PSQL" -X -At "$BM_DATABASE_URL" >"$BM_TMP/listen.out" 2>&1 <<'SQL' &
LISTEN bookto_moneybird_jobs;
SELECT pg_sleep(4);
SELECT 'listened';
SQL
listener=$!
sleep 0.5

for n in 1 2 3 4 5; do
	started=$(date +%s%N)
	post_order "ln-$n"
	waited_ms=$((($(date +%s%N) - started) / 1000000))
	bm_assert_contains "$BM_BODY" accepted "order ln-$n is stored, not spooled, while chain 0 is held (${waited_ms} ms)"
	((waited_ms < 2000)) && bm_pass "ln-$n is answered in ${waited_ms} ms (the commit timeout is 3000)" ||
		bm_fail "ln-$n waited ${waited_ms} ms for its answer"
done
bm_assert_synced 5 "the workers book all five orders while chain 0 is still held"
kill -0 "$operator" 2>/dev/null && bm_pass "the operator's transaction is still open" ||
	bm_fail "the operator's transaction ended before the orders were booked: the test proves nothing"
wait "$listener" || true
bm_assert_contains "$(cat "$BM_TMP/listen.out")" 'notification "bookto_moneybird_jobs"' \
	"the job bell announced the new orders"
wait "$operator" || bm_fail "the operator's transaction failed: $(cat "$BM_TMP/operator.out")"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'accepted'")" 5 \
	"all five deliveries are stored once, none spooled"
bm_assert_eq "$(bm_psql "SELECT count(*) > 0 AND bool_and(chain = 1) FROM audit_log WHERE actor = 'intake'")" t \
	"the intake wrote on its own chain (1)"
bm_assert_eq "$(bm_psql "SELECT count(*) > 0 AND bool_and(chain BETWEEN 4 AND 15) FROM audit_log
	WHERE actor = 'worker'")" t "the workers wrote on the workers' chains (4..15)"

# --- a lower id committed after a higher one is still announced ----------------------
# Row A (chain 5) takes its id first and commits 4 s later; row B (chain 6)
# commits at once. The notifier runs every second meanwhile.
before="$(bm_psql "SELECT coalesce(sum(events), 0) FROM notifications WHERE cause = 'parked:shop'")"
"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" >"$BM_TMP/slow_row.out" 2>&1 <<'SQL' &
SET bookto_moneybird.audit_chain = 5;
BEGIN;
INSERT INTO audit_log (actor, action, connection_id, from_state, to_state, detail)
    VALUES ('test', 'lanes_test_slow', 1, 'queued', 'needs_attention', '{}');
SELECT pg_sleep(4);
COMMIT;
SQL
slow=$!
sleep 1
bm_psql "SET bookto_moneybird.audit_chain = 6;
	INSERT INTO audit_log (actor, action, connection_id, from_state, to_state, detail)
	VALUES ('test', 'lanes_test_fast', 1, 'queued', 'needs_attention', '{}')" >/dev/null
wait "$slow" || bm_fail "the slow row's transaction failed: $(cat "$BM_TMP/slow_row.out")"
bm_assert_eq "$(bm_psql "SELECT (SELECT id FROM audit_log WHERE action = 'lanes_test_slow') <
	(SELECT id FROM audit_log WHERE action = 'lanes_test_fast')")" t \
	"the slow row has the lower id and committed last"
for _ in $(seq 1 100); do
	[[ "$(bm_psql "SELECT coalesce(sum(events), 0) FROM notifications WHERE cause = 'parked:shop'")" \
		== $((before + 2)) ]] && break
	sleep 0.1
done
bm_assert_eq "$(bm_psql "SELECT coalesce(sum(events), 0) FROM notifications WHERE cause = 'parked:shop'")" \
	$((before + 2)) "the notifier announced both parks, the one committed late included"

bm_ops audit verify
bm_assert_eq "$RC" 0 "the audit log verifies ($OUT)"
bm_serve_stop
bm_done
