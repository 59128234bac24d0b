#!/usr/bin/env bash
# End-to-end demo on an embedded default: installs the Debian packages,
# builds, starts a throwaway PostgreSQL cluster and the Moneybird simulator,
# applies the migrations, starts `serve`, posts one signed sample order.paid
# and prints what became of it (the sync_status row). Everything it starts is
# stopped and removed at the end; set BM_KEEP_TMP=1 to keep the files.
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
bm_write_config workers=2
echo "== bookto-moneybird migrate =="
bm_migrate
echo "== bookto-moneybird serve (http://127.0.0.1:$BM_HTTP_PORT) =="
bm_serve_start

order="$(bm_order_json "demo-$(date +%s)")"
echo "== POST a signed order.paid to /webhooks/bookto/shop =="
bm_post_bookto /webhooks/bookto/shop "$order"
echo "HTTP $BM_STATUS $BM_BODY"

# Give the sync workers a moment to take the order as far as they can.
for _ in $(seq 1 50); do
  state="$(bm_psql "SELECT state FROM sync_status LIMIT 1")"
  case "$state" in queued | in_progress | retrying) sleep 0.2 ;; *) break ;; esac
done

echo "== sync_status =="
psql -X -x -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" -c "SELECT * FROM sync_status"
echo "== audit log =="
psql -X -v ON_ERROR_STOP=1 "$BM_DATABASE_URL" \
  -c "SELECT id, at, actor, action, to_state, detail FROM audit_log ORDER BY id"
"$BM_BINARY" -c "$BM_CONFIG" audit verify
bm_serve_stop
echo "Demo finished (BM_KEEP_TMP=1 keeps $BM_TMP with the connector log)."
