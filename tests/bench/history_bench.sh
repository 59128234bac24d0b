#!/usr/bin/env bash
# Work that must not grow with history: with N orders and N audit rows
# generated in SQL (generate_series; default 1,000,000 each), measures
#   - `reconcile --since D` (it reads every order of the connection, a page
#     of 1,000 at a time): peak RSS and wall time;
#   - `audit verify` (it walks the whole chain, 5,000 rows per statement):
#     peak RSS and wall time;
#   - a GET /metrics scrape (orders per state and the latency histogram come
#     from counters, not from a scan of the orders): wall time.
#
#   tests/bench/history_bench.sh [--short] [--orders N]
#   BM_BENCH_ORDERS=N tests/bench/history_bench.sh
#
# The orders: all but 2,500 are reconciled, received 400 days ago (out of
# --since's scope, but read all the same); 2,500 are queued and fresh, so
# reconcile counts them on three pages and reports no difference. The
# simulator holds no invoice. Full run: about 5 minutes on 2 cores, most of
# it generating the rows.
# --short (CI, label "bench"): 30,000 orders and audit rows; checks that
# reconcile counts exactly the in-scope orders, the chain is intact and the
# scrape answers, and that reconcile's and audit verify's peak RSS stay
# under 24 MB (the code before paging needed 37 MB at 30,000 orders).
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../integration/lib.sh
source "$BENCH_DIR/../integration/lib.sh"
# shellcheck source=bench_lib.sh
source "$BENCH_DIR/bench_lib.sh"

orders="${BM_BENCH_ORDERS:-1000000}"
short=0
while (($# > 0)); do
	case "$1" in
	--short) short=1; orders=30000 ;;
	--orders) orders="$2"; shift ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "history_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
fresh=2500
rss_limit_kb=24576
((orders > fresh)) || { echo "history_bench: --orders must be above $fresh" >&2; exit 2; }

bm_setup
command -v /usr/bin/time >/dev/null || bm_fail "GNU time (/usr/bin/time) is needed to measure peak RSS"
bm_pg_start
bm_mbsim_start
bm_write_config workers=0 log_level=warn
bm_migrate
bm_serve_start # creates the connection row
bm_serve_stop

echo "# generating $orders orders and $orders audit rows"
start="$(date +%s.%N)"
bm_psql "
INSERT INTO deliveries (delivery_key, connection_id, source, received_at, event, body, body_sha256,
                        outcome, order_id)
SELECT 'bench-delivery', id, 'replay', now(), 'order.paid', convert_to('{}', 'UTF8'),
       encode(sha256(convert_to('{}', 'UTF8')), 'hex'), 'accepted', 'hb-0'
FROM connections WHERE name = 'shop';
INSERT INTO orders (connection_id, order_id, order_number, total_incl_cents, excl_vat_cents,
                    vat_cents, currency, first_delivery_id, state, received_at, synced_at,
                    paid_confirmed_at, moneybird_contact_id, moneybird_invoice_id,
                    invoice_reference, invoice_state)
SELECT c.id, 'hb-' || n, 'ORD-hb-' || n, 12100, 10000, 2100, 'EUR', d.id,
       CASE WHEN n <= $fresh THEN 'queued' ELSE 'reconciled' END,
       CASE WHEN n <= $fresh THEN now() ELSE now() - interval '400 days' END,
       CASE WHEN n <= $fresh THEN NULL
            ELSE now() - interval '400 days' + make_interval(secs => 5 + n % 600) END,
       CASE WHEN n <= $fresh THEN NULL ELSE now() - interval '399 days' END,
       CASE WHEN n <= $fresh THEN NULL ELSE '4' || lpad((n % 5000)::text, 17, '0') END,
       CASE WHEN n <= $fresh THEN NULL ELSE '5' || lpad(n::text, 17, '0') END,
       CASE WHEN n <= $fresh THEN NULL ELSE 'ORD-hb-' || n END,
       CASE WHEN n <= $fresh THEN NULL ELSE 'paid' END
FROM generate_series(1, $orders) n, connections c, deliveries d
WHERE c.name = 'shop' AND d.delivery_key = 'bench-delivery';
INSERT INTO audit_log (actor, action, connection_id, order_pk, to_state, detail)
SELECT 'intake', 'order_received', 1, n, 'queued', jsonb_build_object('order_id', 'hb-' || n)
FROM generate_series(1, $orders) n;
ANALYZE orders; ANALYZE audit_log;" >/dev/null
gen_s="$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')"
echo "# generated in ${gen_s}s"

# measure NAME CMD...: runs CMD under GNU time; sets RC, RSS_KB, WALL_S.
measure() {
	local name="$1"
	shift
	RC=0
	/usr/bin/time -f '%M %e' -o "$BM_TMP/$name.time" "$@" >"$BM_TMP/$name.out" 2>"$BM_TMP/$name.err" || RC=$?
	read -r RSS_KB WALL_S <"$BM_TMP/$name.time"
}

since="$(date -u -d '30 days ago' +%Y-%m-%d)"
measure reconcile "$BM_BINARY" -c "$BM_CONFIG" reconcile --since "$since" --json
rc_reconcile="$RC" rss_reconcile="$RSS_KB" wall_reconcile="$WALL_S"
checked="$(grep -o '"orders_checked":[0-9]*' "$BM_TMP/reconcile.out" | head -n 1 | cut -d: -f2)"
measure verify "$BM_BINARY" -c "$BM_CONFIG" audit verify
rc_verify="$RC" rss_verify="$RSS_KB" wall_verify="$WALL_S"

bm_serve_start
scrape_ms=""
for _ in 1 2 3; do
	t="$(curl -s -o "$BM_TMP/metrics.txt" -w '%{time_total}' --max-time 30 "$BM_URL/metrics")"
	scrape_ms="$scrape_ms $(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')"
done
bm_serve_stop
scrape_worst="$(tr ' ' '\n' <<<"$scrape_ms" | sort -n | tail -n 1)"
database_up="$(sed -n 's/^bookto_moneybird_database_up \([0-9]\).*/\1/p' "$BM_TMP/metrics.txt")"

echo
echo "== history benchmark ($(nproc) cores, $orders orders, $orders audit rows) =="
bb_row "figure" "measured" "target" "verdict"
bb_row "reconcile exit status" "$rc_reconcile" "0" "$([[ "$rc_reconcile" == 0 ]] && echo PASS || echo MISS)"
bb_row "orders counted by reconcile" "${checked:-?}" "= $fresh" "$([[ "$checked" == "$fresh" ]] && echo PASS || echo MISS)"
bb_row "reconcile peak RSS (KB)" "$rss_reconcile" "<= $rss_limit_kb" "$(bb_verdict "$rss_reconcile" '<=' "$rss_limit_kb")"
bb_row "reconcile wall time (s)" "$wall_reconcile"
bb_row "audit verify exit status" "$rc_verify" "0" "$([[ "$rc_verify" == 0 ]] && echo PASS || echo MISS)"
bb_row "audit verify peak RSS (KB)" "$rss_verify" "<= $rss_limit_kb" "$(bb_verdict "$rss_verify" '<=' "$rss_limit_kb")"
bb_row "audit verify wall time (s)" "$wall_verify"
bb_row "/metrics scrape (ms, 3 runs)" "${scrape_ms# }" "database_up 1" "$([[ "$database_up" == 1 ]] && echo PASS || echo MISS)"
echo

[[ "$rc_reconcile" == 0 ]] || { head -c 2000 "$BM_TMP/reconcile.out" >&2; cat "$BM_TMP/reconcile.err" >&2; }
bm_assert_eq "$rc_reconcile" 0 "reconcile finds no difference"
bm_assert_eq "$checked" "$fresh" "reconcile counts every in-scope order, across pages"
bm_assert_eq "$rc_verify" 0 "audit verify: the chain is intact ($(cat "$BM_TMP/verify.out"))"
bm_assert_contains "$(cat "$BM_TMP/verify.out")" "intact ($orders rows)" "audit verify walks every row"
bm_assert_eq "$database_up" 1 "the scrape answered from the database (worst ${scrape_worst} ms)"
bm_assert_contains "$(cat "$BM_TMP/metrics.txt")" "state=\"reconciled\"} $((orders - fresh))" \
	"the scrape counts the reconciled orders"
((rss_reconcile <= rss_limit_kb)) && bm_pass "reconcile peak RSS ${rss_reconcile} KB <= $rss_limit_kb KB" ||
	bm_fail "reconcile peak RSS ${rss_reconcile} KB is above $rss_limit_kb KB"
((rss_verify <= rss_limit_kb)) && bm_pass "audit verify peak RSS ${rss_verify} KB <= $rss_limit_kb KB" ||
	bm_fail "audit verify peak RSS ${rss_verify} KB is above $rss_limit_kb KB"
bm_done
