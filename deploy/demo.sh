#!/usr/bin/env bash
# End-to-end demo on an embedded default: installs the Debian packages,
# builds, starts a throwaway PostgreSQL cluster and the Moneybird simulator,
# applies the migrations, starts `serve`, posts one signed sample order.paid
# and prints what became of it (the sync_status row). It starts the web
# console too, with a demo operator, and prints its URL and credentials; on
# a terminal it waits for Enter before stopping (BM_DEMO_WAIT=0 never
# waits, 1 always does). Everything it starts is stopped and removed at the
# end; set BM_KEEP_TMP=1 to keep the files.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null

# The integration tests' helpers start and stop PostgreSQL, the simulator
# and the connector; the demo reuses them rather than repeating them.
# shellcheck source=../tests/integration/lib.sh
source tests/integration/lib.sh
bm_setup
echo "== starting PostgreSQL (as an unprivileged user when run as root) =="
bm_pg_start
echo "== starting the Moneybird simulator =="
bm_mbsim_start
console_port="$(bm_free_port)"
bm_write_config workers=2 console="127.0.0.1:$console_port"
echo "== bookto-moneybird migrate =="
bm_migrate
console_password="demo-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "== bookto-moneybird console user add demo --role operator =="
printf '%s\n' "$console_password" |
  "$BM_BINARY" -c "$BM_CONFIG" console user add demo --role operator
echo "== bookto-moneybird serve (http://127.0.0.1:$BM_HTTP_PORT) =="
bm_serve_start

# Moneybird reports paid invoices back through a signed webhook; register it
# first, as an operator would once per connection.
echo "== bookto-moneybird moneybird webhook register $BM_URL/webhooks/moneybird/shop =="
"$BM_BINARY" -c "$BM_CONFIG" moneybird webhook register "$BM_URL/webhooks/moneybird/shop"

order="$(bm_order_json "demo-$(date +%s)")"
echo "== POST a signed order.paid to /webhooks/bookto/shop =="
bm_post_bookto /webhooks/bookto/shop "$order"
echo "HTTP $BM_STATUS $BM_BODY"

# The workers create the contact, the invoice, send it and register the
# payment; Moneybird then pushes sales_invoice_state_changed_to_paid.
for _ in $(seq 1 100); do
  state="$(bm_psql "SELECT state FROM sync_status LIMIT 1")"
  case "$state" in reconciled | needs_attention | skipped) break ;; *) sleep 0.2 ;; esac
done

echo "== sync_status =="
psql -X -x -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -c "SELECT * FROM sync_status"
echo "== in the Moneybird simulator =="
curl -s "http://127.0.0.1:$BM_MBSIM_PORT/_sim/state" |
  grep -o '"\(state\|invoice_id\|total_price_incl_tax\|company_name\|customer_id\)":"[^"]*"' |
  sort -u
echo "== Moneybird webhook events received =="
psql -X -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" \
  -c "SELECT action, status, note FROM moneybird_events ORDER BY id"
# The operator's view of the same story.
order_id="$(bm_psql "SELECT order_id FROM orders LIMIT 1")"
echo "== bookto-moneybird status =="
"$BM_BINARY" -c "$BM_CONFIG" status
echo "== bookto-moneybird show $order_id =="
"$BM_BINARY" -c "$BM_CONFIG" show "$order_id"
echo "== bookto-moneybird audit verify =="
"$BM_BINARY" -c "$BM_CONFIG" audit verify
echo "== the web console =="
echo "  URL:       http://127.0.0.1:$console_port/"
echo "  user:      demo (operator)"
echo "  password:  $console_password"
echo "  (the order above is under Orders; from another machine: ssh -L $console_port:127.0.0.1:$console_port)"
wait_for_enter="${BM_DEMO_WAIT:-}"
[[ -n "$wait_for_enter" ]] || { [[ -t 0 ]] && wait_for_enter=1 || wait_for_enter=0; }
if [[ "$wait_for_enter" == 1 ]]; then
  read -r -p "The console stays up until you press Enter. " _ || true
fi
bm_serve_stop
echo "Demo finished (BM_KEEP_TMP=1 keeps $BM_TMP with the connector log)."
