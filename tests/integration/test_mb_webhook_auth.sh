#!/usr/bin/env bash
# Who may post to /webhooks/moneybird/{connection}: the registration check
# (no body, no signature) gets 200 and nothing is stored; a payload must carry
# a Moneybird-Signature that verifies (HMAC-SHA256 over "t.<raw body>" with
# the stored secret, t within 5 minutes either way) and the stored
# webhook_token, else 401. After a second `webhook register` the previous
# secret and token still verify (rotation), and a header with two v1 (old and
# new secret) verifies. Duplicates by Idempotency-Key or by signed body are
# stored once; 404
# for an unknown connection, 405 for GET, 413 for a body over the cap.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
bm_stack --mbsim -- workers=0 max_body_bytes=4096

# Nothing registered yet: a signed push cannot verify.
push="$BM_TMP/push.json"
rc_push_json "$push" sales_invoice_state_changed_to_paid 999000000000000001 X paid sometoken
now="$(date +%s)"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign whatever "$now" "$push")" key-0
bm_assert_eq "$BM_STATUS" 401 "no webhook registered: 401 ($BM_BODY)"

rc_register_webhook
# The keys are cached; a push that does not verify re-reads them at most
# every 2 s, and the refused push above just did.
sleep 2
token="$(bm_psql "SELECT moneybird_webhook_token FROM connections WHERE name = 'shop'")"
secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
bm_assert_eq "$secret" "$(rc_sim_q "s->'webhooks'->0->>'secret'")" "the stored secret is the simulator's"

# Registration check.
code="$(curl -s -o "$BM_TMP/check.out" -w '%{http_code}' -X POST "$BM_URL/webhooks/moneybird/shop")"
bm_assert_eq "$code" 200 "empty unsigned POST (registration check): 200"
bm_assert_eq "$(cat "$BM_TMP/check.out")" '{"status":"ok"}' "registration check body"

# A good push.
rc_push_json "$push" sales_invoice_state_changed_to_paid 999000000000000001 X paid "$token"
now="$(date +%s)"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" key-1
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"accepted"}' "signed push with the right token: accepted"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" key-1
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"duplicate"}' "same Idempotency-Key again: 200 duplicate"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM moneybird_events")" 1 "stored once"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")"
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"duplicate"}' \
	"the same signed body without an Idempotency-Key: a duplicate (the body is the replay guard)"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")"
bm_assert_eq "$BM_STATUS $BM_BODY" '200 {"status":"duplicate"}' "the same body again: duplicate"

# Refusals.
rc_post_mb "$push" - key-2
bm_assert_eq "$BM_STATUS" 401 "payload without a signature: 401"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign wrong-secret "$now" "$push")" key-3
bm_assert_eq "$BM_STATUS" 401 "signed with another secret: 401"
printf ' ' >>"$push"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" <(head -c -1 "$push"))" key-4
bm_assert_eq "$BM_STATUS" 401 "one byte of the body changed after signing: 401"
stale=$((now - 301))
rc_push_json "$push" sales_invoice_state_changed_to_paid 999000000000000001 X paid "$token"
rc_post_mb "$push" "t=$stale,v1=$(rc_mb_sign "$secret" "$stale" "$push")" key-5
bm_assert_eq "$BM_STATUS" 401 "timestamp 301 s old: 401"
future=$((now + 400))
rc_post_mb "$push" "t=$future,v1=$(rc_mb_sign "$secret" "$future" "$push")" key-6
bm_assert_eq "$BM_STATUS" 401 "timestamp 400 s ahead: 401"
rc_post_mb "$push" "t=$now,v2=$(rc_mb_sign "$secret" "$now" "$push")" key-7
bm_assert_eq "$BM_STATUS" 401 "only an unknown scheme (v2) carries the digest: 401"
rc_push_json "$push" sales_invoice_state_changed_to_paid 999000000000000001 X paid wrong-token
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" key-8
bm_assert_eq "$BM_STATUS" 401 "right signature, wrong webhook_token: 401"
printf 'not json' >"$BM_TMP/bad.json"
rc_post_mb "$BM_TMP/bad.json" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$BM_TMP/bad.json")" key-9
bm_assert_eq "$BM_STATUS" 400 "signed but not JSON: 400"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$push" \
	-H "Moneybird-Signature: t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" \
	"$BM_URL/webhooks/moneybird/nope")"
bm_assert_eq "$code" 404 "unknown connection: 404"
code="$(curl -s -o /dev/null -w '%{http_code}' "$BM_URL/webhooks/moneybird/shop")"
bm_assert_eq "$code" 405 "GET: 405"
head -c 5000 /dev/zero | tr '\0' x >"$BM_TMP/big.json"
rc_post_mb "$BM_TMP/big.json" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$BM_TMP/big.json")" key-10
bm_assert_eq "$BM_STATUS" 413 "body over http.max_body_bytes: 413"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM moneybird_events")" 1 "no refused request was stored"

# Rotation: a second registration; the previous secret and token keep working.
rc_register_webhook
new_token="$(bm_psql "SELECT moneybird_webhook_token FROM connections WHERE name = 'shop'")"
new_secret="$(bm_psql "SELECT moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
bm_assert_ne "$new_secret" "$secret" "the second registration stored a new secret"
bm_assert_eq "$(bm_psql "SELECT moneybird_webhook_previous_secret = '$secret' FROM connections WHERE name = 'shop'")" t \
	"the previous secret is kept"
now="$(date +%s)"
rc_push_json "$push" payment_registered 999000000000000002 Y paid "$token"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" key-old
bm_assert_eq "$BM_STATUS" 200 "push of the replaced webhook (old secret, old token): 200"
rc_push_json "$push" payment_registered 999000000000000003 Y paid "$new_token"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push"),v1=$(rc_mb_sign "$new_secret" "$now" "$push")" key-two
bm_assert_eq "$BM_STATUS" 200 "two v1 (old and new secret): 200"
rc_post_mb "$push" "t=$now,v1=0000000000000000000000000000000000000000000000000000000000000000,v1=$(rc_mb_sign "$new_secret" "$now" "$push")" key-two-b
bm_assert_eq "$BM_STATUS" 200 "two v1, only the second matches: 200"
rc_push_json "$push" payment_registered 999000000000000004 Y paid "$token"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$new_secret" "$now" "$push")" key-mixed
bm_assert_eq "$BM_STATUS" 401 "new secret with the old webhook's token: 401"
bm_psql "UPDATE connections SET moneybird_webhook_rotated_at = now() - interval '4 days'" >/dev/null
rc_push_json "$push" payment_registered 999000000000000005 Y paid "$token"
rc_post_mb "$push" "t=$now,v1=$(rc_mb_sign "$secret" "$now" "$push")" key-expired
bm_assert_eq "$BM_STATUS" 401 "the previous secret expires 72 hours after the rotation"

# Unknown invoices are recorded and ignored (no worker, no orders here).
bm_psql "UPDATE moneybird_events SET next_attempt_at = now()" >/dev/null
rc_wait_sql "SELECT count(*) FROM moneybird_events WHERE status <> 'ignored'" 0 10
bm_assert_contains "$(bm_psql "SELECT note FROM moneybird_events ORDER BY id LIMIT 1")" \
	"was not created by the connector" "pushes about invoices the connector did not create are ignored"
for s in "$secret" "$new_secret" "$token" "$new_token"; do
	bm_assert_eq "$(grep -c -F "$s" "$BM_TMP/connector.log" || true)" 0 "no secret or token in the log"
done
bm_serve_stop
bm_done
