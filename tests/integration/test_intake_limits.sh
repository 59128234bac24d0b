#!/usr/bin/env bash
# Intake limits from the config: http.request_timeout_seconds closes a client
# that stalls mid-body (and the half-sent delivery never becomes an order),
# a stalled client does not hold up others, and http.max_connections caps the
# number of open connections.
source "$(dirname "$0")/lib.sh"
bm_stack request_timeout=2 max_connections=4

f="$(bm_order_json ord-7001)"
ts="$(date +%s)"
sig="$(bm_sign "$BM_SECRET_CURRENT" "$ts" "$f")"
size="$(wc -c <"$f" | tr -d ' ')"

# --- a client that stalls mid-body --------------------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$BM_HTTP_PORT"
printf 'POST /webhooks/bookto/shop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Bookto-Event: order.paid\r\nX-Bookto-Timestamp: %s\r\nX-Bookto-Signature: %s\r\nContent-Length: %s\r\n\r\n' \
	"$ts" "$sig" "$size" >&3
head -c 100 "$f" >&3
start="$(date +%s%N)"
bm_assert_eq "$(bm_http_code /healthz)" 200 "another client is served while one stalls"
timeout 15 cat <&3 >"$BM_TMP/stalled.out" || true
exec 3>&-
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if ((elapsed_ms >= 1000 && elapsed_ms <= 6000)); then
	bm_pass "a stalled request is closed after the 2 s request timeout (${elapsed_ms} ms)"
else
	bm_fail "a stalled request was closed after ${elapsed_ms} ms (request timeout 2 s)"
fi
bm_assert_eq "$(bm_count_orders)" 0 "the half-sent delivery did not become an order"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries")" 0 "the half-sent delivery was not stored"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "the same delivery sent whole afterwards"

# --- the connection limit (4) ------------------------------------------------------
# A longer request timeout here, so that the idle connections stay open.
bm_serve_stop
bm_write_config request_timeout=10 max_connections=4
bm_serve_start
for fd in 3 4 5 6; do
	eval "exec $fd<>/dev/tcp/127.0.0.1/$BM_HTTP_PORT"
done
sleep 0.3
code="$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 "$BM_URL/healthz" || true)"
bm_assert_ne "$code" 200 "a fifth connection is not served while four are open (got $code)"
for fd in 3 4 5 6; do
	eval "exec $fd>&-"
done
ok="$(bm_wait_http_code /healthz 200 30)"
bm_assert_eq "$ok" 200 "connections are served again once the four are closed"
g="$(bm_order_json ord-7002)"
bm_post_expect /webhooks/bookto/shop "$g" 200 '"status":"accepted"' "a delivery after the limit was hit"

bm_serve_stop
bm_done
