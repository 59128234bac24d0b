#!/usr/bin/env bash
# `bookto-moneybird moneybird check` and `moneybird webhook register | list |
# delete` against the simulator: a readable summary of what a mapping needs,
# the webhook's token and secret stored in the connection's row and never
# printed in full, usage errors exiting 2 and Moneybird refusals exiting 1.
source "$(dirname "$0")/lib.sh"
bm_stack --mbsim -- --no-serve

# run ARGS...: runs the binary; sets RC, STDOUT, STDERR.
run() {
	bm_ops "$@"
	STDOUT="$OUT"
	STDERR="$ERR"
}

# ---- check
run moneybird check
bm_assert_eq "$RC" 0 "moneybird check exits 0 [$STDERR]"
bm_assert_contains "$STDOUT" "Connection shop: the API token works; administration $BM_MBSIM_ADMIN" \
	"check names the connection and administration"
bm_assert_contains "$STDOUT" "Sales tax rates" "tax rates section"
bm_assert_contains "$STDOUT" "21.0" "a 21 % rate is shown"
bm_assert_contains "$STDOUT" "DE" "an OSS rate shows its country"
bm_assert_contains "$STDOUT" "Revenue ledger accounts" "ledger accounts section"
bm_assert_contains "$STDOUT" "Financial accounts" "financial accounts section"
bm_assert_contains "$STDOUT" "InvoiceWorkflow" "workflows section"
bm_assert_contains "$STDOUT" "Document styles" "document styles section"
bm_assert_not_contains "$STDOUT$STDERR" "$BM_MBSIM_TOKEN" "the API token is never printed"
# the columns line up: every row of the tax rate table starts its NAME column
# at the same offset as the header
HEADER_LINE="$(printf '%s\n' "$STDOUT" | grep -m1 '^  ID  *NAME  *PERCENTAGE')"
NAME_AT="$(awk -v h="$HEADER_LINE" 'BEGIN { print index(h, "NAME") }')"
ROW="$(printf '%s\n' "$STDOUT" | grep -m1 -A1 '^  ID  *NAME  *PERCENTAGE' | tail -n 1)"
bm_assert_eq "$(awk -v r="$ROW" -v n="$NAME_AT" 'BEGIN { print (substr(r, n - 2, 2) == "  " && substr(r, n, 1) != " ") ? "aligned" : "ragged" }')" \
	aligned "table columns are aligned"
CALLS="$(bm_psql "SELECT count(*) FROM rate_budget_calls")"
((CALLS >= 6)) || bm_fail "check made $CALLS calls through the shared budget, expected >= 6"
bm_pass "check's calls went through the shared rate budget ($CALLS)"

run moneybird --connection nosuch check
bm_assert_eq "$RC" 2 "an unknown connection is a usage error"
bm_assert_contains "$STDERR" "no connection named" "... and says so"
run moneybird frobnicate
bm_assert_eq "$RC" 2 "an unknown subcommand is a usage error"
run moneybird webhook register
bm_assert_eq "$RC" 2 "webhook register without a URL is a usage error"
run moneybird webhook delete not-an-id
bm_assert_eq "$RC" 2 "a non-numeric webhook id is a usage error"

# ---- webhook register
SINK="http://127.0.0.1:$BM_MBSIM_PORT/_sim/sink/moneybird"
run moneybird webhook register "$SINK"
bm_assert_eq "$RC" 0 "webhook register exits 0 [$STDERR]"
bm_assert_contains "$STDOUT" "Registered Moneybird webhook" "register reports the webhook"
bm_assert_contains "$STDOUT" "sales_invoice_state_changed_to_paid,payment_registered,payment_destroyed" \
	"it subscribes to paid, payment registered and payment destroyed"
ROW="$(bm_psql "SELECT moneybird_webhook_id || '|' || moneybird_webhook_token || '|' || moneybird_webhook_secret FROM connections WHERE name = 'shop'")"
WEBHOOK_ID="${ROW%%|*}"
REST="${ROW#*|}"
TOKEN="${REST%%|*}"
SECRET="${REST#*|}"
[[ -n "$WEBHOOK_ID" && -n "$TOKEN" && ${#SECRET} -ge 16 ]] || bm_fail "the connection row holds [$ROW]"
bm_pass "id, token and secret stored in the connection's row"
SIM_STATE="$(curl -s "http://127.0.0.1:$BM_MBSIM_PORT/_sim/state")"
bm_assert_contains "$SIM_STATE" "$SECRET" "the stored secret is the simulator's"
bm_assert_not_contains "$STDOUT$STDERR" "$SECRET" "the secret is never printed in full"
bm_assert_not_contains "$STDOUT$STDERR" "$TOKEN" "the webhook token is never printed in full"
bm_assert_contains "$STDOUT" "${SECRET:0:4}" "the secret is shown masked (first 4 characters)"

# ---- webhook list
run moneybird webhook list
bm_assert_eq "$RC" 0 "webhook list exits 0 [$STDERR]"
bm_assert_contains "$STDOUT" "$WEBHOOK_ID" "the webhook is listed"
bm_assert_contains "$STDOUT" "stored" "the stored webhook is marked"
bm_assert_not_contains "$STDOUT" "$SECRET" "list does not print the secret"

# ---- webhook delete
run moneybird webhook delete "$WEBHOOK_ID"
bm_assert_eq "$RC" 0 "webhook delete exits 0 [$STDERR]"
bm_assert_contains "$STDOUT" "its token and secret were removed" "delete forgets the stored secret"
bm_assert_eq "$(bm_psql "SELECT coalesce(moneybird_webhook_secret, 'none') FROM connections WHERE name = 'shop'")" \
	none "the secret is gone from the database"
run moneybird webhook delete "$WEBHOOK_ID"
bm_assert_eq "$RC" 1 "deleting an unknown webhook is a runtime failure"
bm_assert_contains "$STDERR" "has no webhook $WEBHOOK_ID" "... with a sentence naming it"

# ---- a wrong token: check fails with one sentence
sed -i "s/api_token = \"$BM_MBSIM_TOKEN\"/api_token = \"wrong-token\"/" "$BM_CONFIG"
run moneybird check
bm_assert_eq "$RC" 1 "check with a wrong token exits 1"
bm_assert_contains "$STDERR" "HTTP 401 (check the API token" "the failure names the token"
bm_assert_not_contains "$STDERR" "wrong-token" "the token is not echoed"

bm_done
