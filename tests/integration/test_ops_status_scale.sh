#!/usr/bin/env bash
# `status` at many connections (issue 15): with 200 connections and orders,
# errors, pauses, differing redeliveries and reconcile runs generated in SQL,
#   - `status --json` shows for every connection exactly what SQL computes
#     straight from the orders and deliveries (not from the trigger-kept
#     counters the status reads): orders per state and in total, the oldest
#     unsynced order, the last error, the pause, the redeliveries that
#     differed; connections in the config that serve never registered show
#     registered false and zeros;
#   - /metrics shows the same orders per state and a budget per connection;
#   - `status --json` and `status` issue a fixed number of statements (counted
#     in PostgreSQL's own statement log): the same at 20 and at 200
#     connections, at most 6 (it was 6-8 per connection).
source "$(dirname "$0")/lib.sh"

count=200
bm_setup
bm_pg_start
bm_mbsim_start
bm_write_config workers=0

bm_write_connections "$BM_CONFIG" "$count"
bm_migrate
bm_serve_start # registers the connections
bm_serve_stop

# Orders on the first 150 connections only (the rest have none), every
# state, random receive times; an error on some retrying / parked ones; up to
# 3 differing redeliveries per connection; a pause on every tenth; finished
# and failed reconcile runs.
bm_psql "
INSERT INTO deliveries (delivery_key, connection_id, source, received_at, event, body, body_sha256,
                        outcome, order_id)
SELECT 'base-' || c.id, c.id, 'replay', now(), 'order.paid', convert_to('{}', 'UTF8'),
       encode(sha256(convert_to('{}', 'UTF8')), 'hex'), 'accepted', 'x'
FROM connections c;
INSERT INTO deliveries (delivery_key, connection_id, source, received_at, event, body, body_sha256,
                        outcome, order_id)
SELECT 'differ-' || c.id || '-' || k, c.id, 'bookto', now(), 'order.paid', convert_to('{}', 'UTF8'),
       encode(sha256(convert_to('{}', 'UTF8')), 'hex'), 'duplicate_differs', 'x'
FROM connections c, generate_series(1, 3) k WHERE k <= c.id % 4;
INSERT INTO orders (connection_id, order_id, order_number, first_delivery_id, state, received_at,
                    last_error, updated_at)
SELECT c.id, 'o-' || n, 'N-' || n, d.id, s.state,
       now() - make_interval(secs => floor(random() * 1000000)),
       CASE WHEN s.state IN ('retrying', 'needs_attention', 'synced') AND random() < 0.7
            THEN 'error of o-' || n END,
       now() - make_interval(secs => floor(random() * 1000000))
FROM generate_series(1, 20000) n
JOIN connections c ON c.name = 'c' || lpad((1 + (n * 7919) % 150)::text, 4, '0')
JOIN deliveries d ON d.delivery_key = 'base-' || c.id
CROSS JOIN LATERAL (SELECT (ARRAY['queued', 'in_progress', 'retrying', 'needs_attention',
                                  'skipped', 'synced', 'reconciled'])[1 + floor(random() * 7)::int]
                           || substr(n::text, 1, 0) AS state) s;
UPDATE connections SET paused_at = now() - interval '1 hour', paused_reason = 'paused ' || name
WHERE id % 10 = 0;
INSERT INTO reconcile_runs (connection_id, trigger, started_at, finished_at, status)
SELECT c.id, 'periodic', now() - make_interval(mins => k + 1), now() - make_interval(mins => k),
       CASE WHEN k % 3 = 0 THEN 'failed' ELSE 'done' END
FROM connections c, generate_series(1, 3) k WHERE c.id % 3 <> 0;
ANALYZE;" >/dev/null
# Five connections serve never registered (c0201..c0205): in this config only.
bm_write_connections "$BM_TMP/all.cfg" $((count + 5))

# --- the figures: status --json against SQL --------------------------------------
"$BM_BINARY" -c "$BM_TMP/all.cfg" status --json >"$BM_TMP/status.json" 2>"$BM_TMP/status.err" ||
	{ cat "$BM_TMP/status.err" >&2; bm_fail "status --json failed"; }
iso() { printf "to_char((%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" "$1"; }
compare_sql="
WITH got AS (
  SELECT e, i FROM jsonb_array_elements((:'status')::jsonb -> 'connections') WITH ORDINALITY AS g(e, i)
), expected AS (
  SELECT c.name, jsonb_build_object(
    'registered', true,
    'orders', (SELECT jsonb_object_agg(s, (SELECT count(*) FROM orders o
                                          WHERE o.connection_id = c.id AND o.state = s))
               FROM unnest(ARRAY['queued', 'in_progress', 'retrying', 'needs_attention', 'skipped',
                                 'synced', 'reconciled']) s),
    'orders_total', (SELECT count(*) FROM orders o WHERE o.connection_id = c.id),
    'oldest_unsynced', (SELECT jsonb_build_object('order_id', order_id, 'order_number', order_number,
                                                  'state', state, 'received_at', $(iso received_at))
                        FROM orders o WHERE o.connection_id = c.id
                        AND state IN ('queued', 'in_progress', 'retrying', 'needs_attention')
                        ORDER BY received_at, id LIMIT 1),
    'last_error', (SELECT jsonb_build_object('order_id', order_id, 'state', state,
                                             'error', last_error, 'at', $(iso updated_at))
                   FROM orders o WHERE o.connection_id = c.id AND last_error IS NOT NULL
                   AND state IN ('retrying', 'needs_attention')
                   ORDER BY updated_at DESC, id DESC LIMIT 1),
    'paused', CASE WHEN c.paused_at IS NOT NULL
                   THEN jsonb_build_object('since', $(iso c.paused_at), 'reason', c.paused_reason) END,
    'redeliveries_differ', (SELECT count(*) FROM deliveries d WHERE d.connection_id = c.id
                            AND d.outcome = 'duplicate_differs')) AS want
  FROM connections c
), unregistered AS (
  SELECT jsonb_build_object('registered', false,
    'orders', '{\"queued\": 0, \"in_progress\": 0, \"retrying\": 0, \"needs_attention\": 0,
                \"skipped\": 0, \"synced\": 0, \"reconciled\": 0}'::jsonb,
    'orders_total', 0, 'oldest_unsynced', NULL, 'last_error', NULL, 'paused', NULL,
    'redeliveries_differ', 0) AS want
), compared AS (
  SELECT g.i, g.e ->> 'name' AS name,
         (g.e - 'name' - 'administration_id' - 'rate_budget') #- '{oldest_unsynced,age_seconds}' AS seen,
         coalesce(x.want, u.want) AS want
  FROM got g LEFT JOIN expected x ON x.name = g.e ->> 'name' CROSS JOIN unregistered u
)"
status_q() {
	"$BM_PSQL" -X -At -q -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" <<EOF || bm_fail "comparing status: $1"
\\set status \`cat $BM_TMP/status.json\`
$compare_sql
$1
EOF
}
seen="$(status_q "SELECT count(*) FROM compared")"
bm_assert_eq "$seen" $((count + 5)) "status --json lists every configured connection"
bm_assert_eq "$(status_q "SELECT count(*) FROM compared WHERE name <> 'c' || lpad(i::text, 4, '0')")" 0 \
	"status --json lists them in the config's order"
bad="$(status_q "SELECT count(*) FROM compared WHERE seen IS DISTINCT FROM want")"
[[ "$bad" == 0 ]] || status_q "SELECT name, seen, want FROM compared WHERE seen IS DISTINCT FROM want LIMIT 3" >&2
bm_assert_eq "$bad" 0 "status --json: every connection's figures are those SQL computes from the orders"
full="$(status_q "SELECT count(*) FROM compared WHERE seen -> 'oldest_unsynced' <> 'null'
	AND seen -> 'last_error' <> 'null' AND seen -> 'paused' <> 'null'
	AND (seen ->> 'redeliveries_differ')::int > 0")"
((full > 0)) && bm_pass "the data covers $full connections with every figure at once" ||
	bm_fail "the generated data has no connection with every figure"
bm_assert_eq "$(status_q "SELECT count(*) FROM got WHERE (e #>> '{rate_budget,remaining}')::int = 150")" \
	$((count + 5)) "status --json: every connection's rate budget is read (150 left)"
bm_assert_eq "$(status_q "SELECT count(*) FROM got WHERE NOT (e ->> 'registered')::boolean")" 5 \
	"status --json: the five connections serve never registered say so"
bm_ops status
bm_assert_eq "$RC" 0 "status (human) exits 0 at $count connections"
bm_assert_contains "$OUT" "paused               yes, since" "status (human) shows the pauses"

# --- /metrics shows the same orders per state ------------------------------------
bm_serve_start
curl -sf --max-time 10 -o "$BM_TMP/metrics.txt" "$BM_URL/metrics" || bm_fail "GET /metrics failed"
bm_serve_stop
bm_assert_contains "$(cat "$BM_TMP/metrics.txt")" "bookto_moneybird_database_up 1" "/metrics reads the database"
sed -n 's/^bookto_moneybird_orders{connection="\([^"]*\)",state="\([^"]*\)"} \([0-9]*\)$/\1|\2|\3/p' \
	"$BM_TMP/metrics.txt" | sort >"$BM_TMP/metrics.orders"
bm_psql "SELECT c.name || '|' || s || '|' || (SELECT count(*) FROM orders o WHERE o.connection_id = c.id
	AND o.state = s) FROM connections c, unnest(ARRAY['queued', 'in_progress', 'retrying',
	'needs_attention', 'skipped', 'synced', 'reconciled']) s" | sort >"$BM_TMP/sql.orders"
bm_assert_eq "$(wc -l <"$BM_TMP/metrics.orders")" $((count * 7)) "/metrics: a gauge per connection and state"
bm_assert_eq "$(diff "$BM_TMP/metrics.orders" "$BM_TMP/sql.orders" | head -n 5)" "" \
	"/metrics: orders per state are those SQL counts"
bm_assert_eq "$(grep -c '^bookto_moneybird_rate_budget_remaining{connection=' "$BM_TMP/metrics.txt")" \
	"$count" "/metrics: a rate budget per connection"

# --- a fixed number of statements --------------------------------------------------
# statements CMD...: runs the binary with CMD and prints how many statements
# it sent, from PostgreSQL's log (log_statement = all, lines prefixed with
# the application name).
bm_psql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
bm_psql "ALTER SYSTEM SET log_line_prefix = '%a: '" >/dev/null
bm_psql "SELECT pg_reload_conf()" >/dev/null
sleep 1
statements() {
	local before after
	before="$(grep -c '^bookto-moneybird: LOG:  \(statement\|execute\)' "$BM_PG_DIR/server.log" || true)"
	"$BM_BINARY" "$@" >/dev/null 2>"$BM_TMP/statements.err" ||
		{ cat "$BM_TMP/statements.err" >&2; bm_fail "$* failed"; }
	after="$(grep -c '^bookto-moneybird: LOG:  \(statement\|execute\)' "$BM_PG_DIR/server.log" || true)"
	echo $((after - before))
}
bm_write_connections "$BM_TMP/small.cfg" 20
many_json="$(statements -c "$BM_TMP/all.cfg" status --json)"
few_json="$(statements -c "$BM_TMP/small.cfg" status --json)"
many_human="$(statements -c "$BM_TMP/all.cfg" status)"
echo "# statements of status --json: $few_json at 20 connections, $many_json at $((count + 5))"
bm_assert_eq "$many_json" "$few_json" "status --json: as many statements at $((count + 5)) connections as at 20"
bm_assert_eq "$many_human" "$many_json" "status: as many statements as status --json"
((many_json >= 1 && many_json <= 6)) && bm_pass "status --json: $many_json statements (at most 6)" ||
	bm_fail "status --json sent $many_json statements at $((count + 5)) connections (at most 6)"
bm_done
