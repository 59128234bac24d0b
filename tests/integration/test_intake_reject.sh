#!/usr/bin/env bash
# Intake, rejected deliveries: each bad input gets its documented status in
# INTERFACE.md's order of checks (405, 404, 413, 400 headers, 401, 400 JSON)
# with a JSON error body, and never becomes an order. Secret rotation: the
# previous secret is accepted, a retired one is not. Timestamps are checked
# in both directions. A signed non-order.paid event is kept and ignored.
source "$(dirname "$0")/lib.sh"
bm_stack max_body_bytes=8192 tolerance=300

orders=0
# bm_expect_rejected STATUS MESSAGE: asserts the last answer and that the
# number of orders has not changed.
bm_expect_rejected() {
	bm_assert_eq "$BM_STATUS" "$1" "$2: HTTP $1 (body: $BM_BODY)"
	bm_assert_contains "$BM_BODY" '"error":"' "$2: JSON error body"
	bm_assert_eq "$(bm_count_orders)" "$orders" "$2: no order created"
}
# bm_expect_accepted MESSAGE: asserts 200 accepted and one more order.
bm_expect_accepted() {
	orders=$((orders + 1))
	bm_assert_eq "$BM_STATUS" 200 "$1: HTTP 200 (body: $BM_BODY)"
	bm_assert_contains "$BM_BODY" '"status":"accepted"' "$1: accepted"
	bm_assert_eq "$(bm_count_orders)" "$orders" "$1: the order is stored"
}

f="$(bm_order_json ord-2001)"
now="$(date +%s)"

# --- signatures ------------------------------------------------------------
bm_post_bookto /webhooks/bookto/shop "$f" wrong-secret
bm_expect_rejected 401 "signature by a wrong secret"
bm_post_bookto /webhooks/bookto/shop "$f" test-secret-retired
bm_expect_rejected 401 "signature by a retired secret that is no longer configured"
sig="$(bm_sign "$BM_SECRET_CURRENT" "$now" "$f")"
bm_post_bookto /webhooks/bookto/shop "$f" - "$now" -H "X-Bookto-Signature: ${sig#sha256=}"
bm_expect_rejected 401 "signature without the sha256= prefix"
bm_post_bookto /webhooks/bookto/shop "$f" - "$now" -H "X-Bookto-Signature: sha256=zz${sig#sha256=??}"
bm_expect_rejected 401 "signature with non-hex characters"
bm_post_bookto /webhooks/bookto/shop "$f" - "$now" -H "X-Bookto-Signature: ${sig%?}"
bm_expect_rejected 401 "truncated signature"
bm_post_bookto /webhooks/bookto/shop "$f" - "$((now + 1))" -H "X-Bookto-Signature: $sig"
bm_expect_rejected 401 "signature over another timestamp than the header's"
g="$(bm_order_json ord-2001 total=1210.00 excl=1000.00 vat=210.00)"
bm_post_bookto /webhooks/bookto/shop "$g" - "$now" -H "X-Bookto-Signature: $sig"
bm_expect_rejected 401 "signature over another body (tampered amounts)"
h="$(mktemp "$BM_TMP/orders/trailing.XXXXXX.json")"
{ cat "$f"; printf ' '; } >"$h"
bm_post_bookto /webhooks/bookto/shop "$h" - "$now" -H "X-Bookto-Signature: $sig"
bm_expect_rejected 401 "signature over the body without one trailing space (raw bytes are signed)"

bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_PREVIOUS"
bm_expect_accepted "signature by the previous secret of the rotation list"
f="$(bm_order_json ord-2002)"
bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_CURRENT"
bm_expect_accepted "signature by the current secret"

# --- headers ---------------------------------------------------------------
f="$(bm_order_json ord-2003)"
bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_CURRENT" -
bm_expect_rejected 400 "missing X-Bookto-Timestamp"
bm_assert_contains "$BM_BODY" "X-Bookto-Timestamp" "the error names the missing X-Bookto-Timestamp"
bm_post_bookto /webhooks/bookto/shop "$f" -
bm_expect_rejected 400 "missing X-Bookto-Signature"
bm_assert_contains "$BM_BODY" "X-Bookto-Signature" "the error names the missing X-Bookto-Signature"
bm_post_bookto /webhooks/bookto/shop "$f" - -
bm_expect_rejected 400 "both headers missing"
bm_post_bookto /webhooks/bookto/shop "$f" wrong-secret -
bm_expect_rejected 400 "missing timestamp comes before a bad signature"
bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_CURRENT" "12abc"
if [[ "$BM_STATUS" == 400 || "$BM_STATUS" == 401 ]]; then
	bm_pass "a non-numeric timestamp is refused ($BM_STATUS)"
else
	bm_fail "a non-numeric timestamp: expected 400 or 401, got $BM_STATUS ($BM_BODY)"
fi
bm_assert_eq "$(bm_count_orders)" "$orders" "a non-numeric timestamp: no order created"

# --- timestamp tolerance (300 s), both directions ---------------------------
# The server's clock may be up to ~1 s ahead of ours when it checks.
f="$(bm_order_json ord-2004)"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) - 301))"
bm_expect_rejected 401 "timestamp 301 s old (tolerance 300)"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) - 3600))"
bm_expect_rejected 401 "timestamp an hour old"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) + 302))"
bm_expect_rejected 401 "timestamp 302 s in the future"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) - 299))"
bm_expect_accepted "timestamp 299 s old"
f="$(bm_order_json ord-2005)"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) + 299))"
bm_expect_accepted "timestamp 299 s in the future"
f="$(bm_order_json ord-2006)"
bm_post_bookto /webhooks/bookto/shop "$f" "" "$(($(date +%s) - 1700000000))"
bm_expect_rejected 401 "timestamp near the epoch"

# --- body not valid JSON: 400, kept as a delivery, never an order -----------
bad="$BM_TMP/orders/invalid.json"
printf '{"event":"order.paid","order_id":"ord-2007","amount":{"total_incl":1.21,' >"$bad"
bm_post_bookto /webhooks/bookto/shop "$bad"
bm_expect_rejected 400 "signed body that is not valid JSON"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'invalid_json'
		AND body_sha256 = '$(bm_sha256_file "$bad")'
		AND encode(sha256(body), 'hex') = '$(bm_sha256_file "$bad")'")" 1 \
	"the invalid JSON delivery is kept byte-exact with outcome invalid_json"
bm_post_bookto /webhooks/bookto/shop "$bad" wrong-secret
bm_expect_rejected 401 "invalid JSON with a bad signature is 401 (signature checked first)"

# --- other events: 200 ignored, kept, no order -------------------------------
f="$(bm_order_json ord-2008 event=order.refunded)"
BM_EVENT=order.refunded bm_post_bookto /webhooks/bookto/shop "$f"
bm_assert_eq "$BM_STATUS" 200 "signed order.refunded: HTTP 200 (body: $BM_BODY)"
bm_assert_contains "$BM_BODY" '"status":"ignored"' "signed order.refunded: ignored"
bm_assert_eq "$(bm_count_orders)" "$orders" "order.refunded: no order created"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE outcome = 'ignored'
		AND body_sha256 = '$(bm_sha256_file "$f")'")" 1 "order.refunded is kept with outcome ignored"
BM_EVENT=order.refunded bm_post_bookto /webhooks/bookto/shop "$f" wrong-secret
bm_expect_rejected 401 "an unsigned other event is 401, not ignored"
# X-Bookto-Event is not covered by the signature: the signed body decides.
f="$(bm_order_json ord-2011 event=order.refunded)"
BM_EVENT=order.paid bm_post_bookto /webhooks/bookto/shop "$f"
bm_assert_contains "$BM_STATUS $BM_BODY" '200 {"status":"ignored"' "body event order.refunded under an order.paid header is ignored"
bm_assert_eq "$(bm_count_orders)" "$orders" "body event order.refunded under an order.paid header: no order"

# --- body size cap (8192 bytes), with and without Content-Length -------------
base="$(bm_order_json ord-2009)"
exact="$(bm_pad_json "$base" 8192)"
over="$(bm_pad_json "$base" 8193)"
big="$(bm_pad_json "$base" 1048576)"
bm_post_bookto /webhooks/bookto/shop "$over"
bm_expect_rejected 413 "body one byte over the cap (Content-Length)"
bm_post_bookto /webhooks/bookto/shop "$over" "" "" -H "Transfer-Encoding: chunked"
bm_expect_rejected 413 "body one byte over the cap (chunked, no Content-Length)"
bm_post_bookto /webhooks/bookto/shop "$big" "" "" -H "Transfer-Encoding: chunked"
bm_expect_rejected 413 "1 MiB body (chunked, no Content-Length)"
bm_post_bookto /webhooks/bookto/shop "$big"
bm_expect_rejected 413 "1 MiB body (Content-Length)"
bm_post_bookto /webhooks/bookto/shop "$over" - -
bm_expect_rejected 413 "body over the cap is 413 before the missing headers' 400"
bm_post_bookto /webhooks/bookto/shop "$exact" "" "" -H "Transfer-Encoding: chunked"
bm_expect_accepted "body of exactly the cap (chunked)"
bm_assert_eq "$(bm_psql "SELECT octet_length(body) FROM deliveries WHERE order_id = 'ord-2009'")" \
	8192 "the capped body is stored whole"

# --- routing: unknown connection, wrong method ------------------------------
f="$(bm_order_json ord-2010)"
bm_post_bookto /webhooks/bookto/nosuch "$f"
bm_expect_rejected 404 "unknown connection"
bm_post_bookto /webhooks/bookto/nosuch "$over" - -
bm_expect_rejected 404 "unknown connection is 404 before the body cap and headers"
bm_post_bookto /webhooks/bookto/shop/extra "$f"
bm_expect_rejected 404 "a path below a connection"
for method in GET PUT DELETE; do
	BM_STATUS="$(curl -s -o "$BM_TMP/resp" -w '%{http_code}' --max-time 10 -X "$method" \
		-H 'Content-Type: application/json' --data-binary "@$f" "$BM_URL/webhooks/bookto/shop" || true)"
	BM_BODY="$(cat "$BM_TMP/resp")"
	bm_expect_rejected 405 "$method on the webhook path"
done
BM_STATUS="$(curl -s -o "$BM_TMP/resp" -w '%{http_code}' --max-time 10 "$BM_URL/webhooks/bookto/nosuch" || true)"
BM_BODY="$(cat "$BM_TMP/resp")"
bm_expect_rejected 405 "GET on an unknown connection is 405 (method checked first)"

# --- still healthy, exits cleanly --------------------------------------------
bm_assert_eq "$(bm_http_code /healthz)" 200 "serve still healthy after the bad inputs"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders WHERE order_id IN
		('ord-2003', 'ord-2006', 'ord-2007', 'ord-2008', 'ord-2010', 'ord-2011')")" 0 \
	"none of the refused orders exists"
bm_serve_stop
bm_assert_log_clean
bm_done
