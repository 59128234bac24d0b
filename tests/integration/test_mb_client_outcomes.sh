#!/usr/bin/env bash
# Every outcome class of the Moneybird client, produced by the simulator's
# faults: not found, validation (422 and 400), permanent (401, 402, 403),
# rate limited (429 with epoch headers, JSON and nginx HTML bodies),
# transient (5xx on reads, refused connection, timeout on a read, stall), and
# unknown outcome (5xx on a create, "apply then drop", "apply then 502",
# timeout after a write was sent) -- including that a blind retry after an
# unknown outcome makes a duplicate, which only a lookup prevents.
source "$(dirname "$0")/lib.sh"
bm_setup
source "$(dirname "$0")/driver_lib.sh"
# faults JSON: replaces the simulator's fault settings.
faults() {
	local code
	code="$(curl -s -o "$BM_TMP/faults.out" -w '%{http_code}' -X POST --data-binary "$1" \
		"http://127.0.0.1:$BM_MBSIM_PORT/_sim/faults")"
	[[ "$code" == 200 ]] || bm_fail "setting faults $1 failed: $code $(cat "$BM_TMP/faults.out")"
}
drafts_with_reference() {
	mbc invoice-list "state:draft,reference:$1"
	field count
}

bm_mbsim_start

mbc contact-create customer_id=777000111 company_name="Outcome Test B.V."
expect ok "a contact to book against"
CONTACT="$(field id)"

# ---- not found, validation
mbc invoice-get 496081523381896487
expect not_found "404 on an unknown invoice"
mbc contact-create customer_id=777000111 company_name="Duplicate"
expect validation "422 duplicate customer_id"
bm_assert_eq "$(field status)" 422 "the 422 status is reported"
faults '{"force_status":{"match":"GET tax_rates","status":400,"count":1}}'
mbc tax-rates
expect validation "400 is a validation outcome"

# ---- permanent
OUT="$("$BM_DRIVER" "$BM_MBSIM_URL" "$BM_MBSIM_ADMIN" wrong-token admins 2>&1)" || true
expect permanent "401 for a wrong token"
bm_assert_contains "$(field error)" "check the API token" "the 401 sentence names the token"
faults '{"force_status":{"match":"POST sales_invoices","status":402,"count":1}}'
mbc invoice-create contact_id="$CONTACT" reference=R-402 price=10.00
expect permanent "402 plan limit on create"
bm_assert_contains "$(field error)" "creating sales invoices is limited" "the 402 reason is kept"
faults '{"force_status":{"match":"GET workflows","status":403,"count":1}}'
mbc workflows
expect permanent "403"

# ---- rate limited: epoch headers, JSON or HTML body
faults '{"rate_limit_body":"json","force_status":{"match":"GET tax_rates","status":429,"count":1}}'
NOW="$(date +%s)"
mbc tax-rates
expect rate_limited "429 with a JSON body"
RETRY_AT="$(field retry_at)"
((RETRY_AT >= NOW && RETRY_AT <= NOW + 60)) ||
	bm_fail "retry_at $RETRY_AT is not an epoch shortly after $NOW"
bm_pass "Retry-After/RateLimit-Reset read as an epoch ($RETRY_AT)"
faults '{"rate_limit_body":"html","force_status":{"match":"GET ledger_accounts","status":429,"count":1}}'
mbc ledger-accounts
expect rate_limited "429 with an nginx HTML body"
bm_assert_ne "$(field retry_at)" 0 "retry time read from the headers despite the HTML body"

# ---- transient
faults '{"force_status":{"match":"GET sales_invoices/:id","status":503,"count":1}}'
mbc invoice-get 496081523381896487
expect transient "503 on a read"
faults '{"error_rate":1.0}'
mbc document-styles
expect transient "error_rate 1.0 (random 5xx) on a read"
faults '{}'
OUT="$("$BM_DRIVER" "http://127.0.0.1:$(bm_free_port)/api/v2" "$BM_MBSIM_ADMIN" \
	"$BM_MBSIM_TOKEN" invoice-create contact_id="$CONTACT" reference=R-refused price=1.00 2>&1)" || true
expect transient "a refused connection, even for a create"
bm_assert_eq "$(field sent)" 0 "nothing was sent"
faults '{"latency_ms":2500}'
DRV_OPTS=(--timeout-ms 800)
mbc tax-rates
expect transient "a timeout on a read"
DRV_OPTS=(--stall-seconds 1)
mbc financial-accounts
expect transient "the stall detector ends a silent read"
DRV_OPTS=()
faults '{}'
DRV_OPTS=(--max-response-bytes 512)
mbc tax-rates
expect permanent "an answer over the response cap is refused, not buffered"
DRV_OPTS=()

# ---- unknown outcome: the write may have been applied
faults '{"force_status":{"match":"POST sales_invoices","status":500,"count":1}}'
mbc invoice-create contact_id="$CONTACT" reference=R-500 price=10.00
expect unknown_outcome "5xx on a create"

faults '{"apply_then_drop":{"match":"POST sales_invoices","count":1}}'
mbc invoice-create contact_id="$CONTACT" reference=R-drop price=10.00
expect unknown_outcome "apply then drop the connection"
bm_assert_eq "$(field sent)" 1 "the request was sent"
bm_assert_eq "$(drafts_with_reference R-drop)" 1 "the dropped create was applied: a lookup finds it"
faults '{}'
mbc invoice-create contact_id="$CONTACT" reference=R-drop price=10.00
expect ok "a blind retry succeeds"
bm_assert_eq "$(drafts_with_reference R-drop)" 2 "... and made a duplicate (reference is not unique)"

# On a reused keep-alive connection libcurl would silently resend a request
# whose connection died before any answer: for a create that is a duplicate.
faults '{"apply_then_drop":{"match":"POST sales_invoices","count":1}}'
DRV_OPTS=(--warm)
mbc invoice-create contact_id="$CONTACT" reference=R-reused price=10.00
DRV_OPTS=()
expect unknown_outcome "apply then drop after a warm-up call on the same client"
bm_assert_eq "$(drafts_with_reference R-reused)" 1 "no silent resend on a reused connection: one invoice"

faults '{"apply_then_status":{"match":"POST contacts","status":502,"count":1}}'
mbc contact-create customer_id=777000222 company_name="Applied Anyway B.V."
expect unknown_outcome "apply then answer 502 on a create"
mbc contact-by-customer-id 777000222
expect ok "the contact exists after the 502"

faults '{"apply_then_drop":{"match":"PATCH sales_invoices/:id/send_invoice","count":1}}'
mbc invoice-create contact_id="$CONTACT" reference=R-send price=10.00
INVOICE="$(field id)"
mbc invoice-send "$INVOICE" Manual
expect unknown_outcome "apply then drop on send_invoice"
mbc invoice-get "$INVOICE"
bm_assert_eq "$(field state)" open "the send was applied"

faults '{"apply_then_drop":{"match":"POST sales_invoices/:id/payments","count":1}}'
mbc payment-create "$INVOICE" payment_date=2024-05-02 price=12.10 transaction_identifier=ord-drop
expect unknown_outcome "apply then drop on a payment"
mbc invoice-get "$INVOICE"
bm_assert_contains "$OUT" "ord-drop" "the payment is found on the invoice by transaction_identifier"

faults '{"latency_ms":2500}'
DRV_OPTS=(--timeout-ms 800)
mbc invoice-create contact_id="$CONTACT" reference=R-slow price=10.00
expect unknown_outcome "a timeout after a create was sent"
DRV_OPTS=()
faults '{}'
sleep 2
bm_assert_eq "$(drafts_with_reference R-slow)" 1 "the slow create was applied after the client gave up"

faults '{"apply_then_status":{"match":"POST sales_invoices/synchronization","status":502,"count":1}}'
mbc sync-fetch "$INVOICE"
expect transient "a 5xx on the synchronization POST is a read: transient"

bm_done
