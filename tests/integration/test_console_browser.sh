#!/usr/bin/env bash
# The bookkeeper's console in a real browser (headless Chromium driven by
# Selenium, console_browser.py) against the real `serve`, PostgreSQL and
# the Moneybird simulator: users from `console user add`, sign-in, the
# overview, finding a parked order (no tax rate for 13 %) by its number,
# its reason, Retry as operator after the tax rate was created in the
# simulator -> synced; a viewer has no Retry button and gets 403; buyer and
# product fields holding HTML render as text and run nothing; forged POSTs
# without or with a wrong CSRF token get 403; logout ends the session;
# failed sign-ins are rate-limited. Screenshots of every page go to
# $BM_BUILD_DIR/console-screenshots/ on every run.
source "$(dirname "$0")/lib.sh"

BM_PY=/usr/bin/python3 # Debian's python3 with python3-selenium
[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] ||
	bm_fail "chromium and chromium-driver are needed (deploy/install-deps.sh installs them)"
"$BM_PY" -c 'import selenium' 2>/dev/null ||
	bm_fail "python3-selenium is needed (deploy/install-deps.sh installs it)"

CONSOLE_PORT="$(bm_free_port)"
bm_stack --mbsim -- workers=2 console="127.0.0.1:$CONSOLE_PORT"
CONSOLE_URL="http://127.0.0.1:$CONSOLE_PORT"
for ((i = 0; i < 50; i++)); do
	[[ "$(curl -s -o /dev/null -w '%{http_code}' "$CONSOLE_URL/login" || true)" == 200 ]] && break
	sleep 0.1
done
bm_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$CONSOLE_URL/login")" 200 \
	"serve answers GET /login on console.listen"

# --- users ---------------------------------------------------------------------
OPERATOR_PASSWORD="op-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
VIEWER_PASSWORD="vw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
user_cmd() { # user_cmd STDIN ARGS...: bm_ops with STDIN on standard input
	local input="$1"
	shift
	RC=0
	printf '%s\n' "$input" | "$BM_BINARY" -c "$BM_CONFIG" console user "$@" \
		>"$BM_TMP/ops.out" 2>"$BM_TMP/ops.err" || RC=$?
	OUT="$(cat "$BM_TMP/ops.out")"
	ERR="$(cat "$BM_TMP/ops.err")"
}
user_cmd "short" add olga --role operator
bm_assert_eq "$RC" 2 "a password under 10 characters is refused (exit 2)"
user_cmd "$OPERATOR_PASSWORD" add olga --role admin
bm_assert_eq "$RC" 2 "an unknown role is refused (exit 2)"
user_cmd "$OPERATOR_PASSWORD" add olga --role operator
bm_assert_eq "$RC" 0 "console user add olga --role operator"
user_cmd "$OPERATOR_PASSWORD" add olga --role operator
bm_assert_eq "$RC" 1 "adding olga twice fails"
bm_assert_contains "$ERR" "exists already" "the second add says the user exists"
user_cmd "$VIEWER_PASSWORD" add vera --role viewer
bm_assert_eq "$RC" 0 "console user add vera --role viewer"
user_cmd "$VIEWER_PASSWORD" add rita --role viewer # for the sign-in rate limit
user_cmd "throwaway-password" add temp --role viewer
user_cmd "" remove temp
bm_assert_eq "$RC" 0 "console user remove temp"
user_cmd "" remove temp
bm_assert_eq "$RC" 1 "removing an unknown user fails"
user_cmd "" list --json
bm_assert_eq "$RC" 0 "console user list --json"
bm_assert_eq "$(bm_psql "SELECT string_agg(u->>'name' || ':' || (u->>'role'), ',' ORDER BY u->>'name') FROM jsonb_array_elements(\$j\$$OUT\$j\$::jsonb) u")" "olga:operator,rita:viewer,vera:viewer" "the list names each user and role"
bm_assert_not_contains "$OUT" "pbkdf2" "the list never shows a password hash"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM console_users WHERE password_hash LIKE 'pbkdf2-sha256\$600000\$%'")" 3 \
	"passwords are stored as PBKDF2-SHA256 hashes (600000 iterations)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM console_users WHERE password_hash LIKE '%$OPERATOR_PASSWORD%'")" 0 \
	"the password itself is stored nowhere"

# --- orders: one parked (no 13 % tax rate), one with HTML in buyer/product ----
PARKED_ID="ord-park-$RANDOM"
PARKED_NUMBER="B-$RANDOM$RANDOM"
post_order "$PARKED_ID" order_number="$PARKED_NUMBER" total=113.00 excl=100.00 vat=13.00 rate=13 \
	match_ref=NL900000013B01 vat_number=NL900000013B01
XSS_ID="ord-xss-$RANDOM"
xss_file="$(bm_order_json "$XSS_ID" order_number="X-$RANDOM" match_ref=NL900000099B01 \
	vat_number=NL900000099B01)"
"$BM_PY" - "$xss_file" <<'PY'
import json, sys
path = sys.argv[1]
order = json.load(open(path))
order["buyer"]["first_name"] = "<script>alert(1)</script>"
order["buyer"]["last_name"] = "\"><img src=x onerror=alert(1)>"
order["buyer"]["company"] = "'><svg onload=alert(3)>"
order["product"]["name"] = "<img src=x onerror=alert(2)>"
order["custom_fields"] = [{"label": "<b>note</b>", "value": "<iframe src=javascript:alert(4)>"}]
json.dump(order, open(path, "w"))
PY
bm_post_bookto /webhooks/bookto/shop "$xss_file"
[[ "$BM_STATUS" == 200 ]] || bm_fail "the XSS order was not accepted: $BM_STATUS $BM_BODY"
for ((i = 0; i < 150; i++)); do
	[[ "$(order_value "$PARKED_ID" state)" == needs_attention &&
		"$(order_value "$XSS_ID" state)" =~ ^(synced|reconciled)$ ]] && break
	sleep 0.2
done
bm_assert_eq "$(order_value "$PARKED_ID" state)" needs_attention "the 13 % order is parked"
bm_assert_contains "$(order_value "$PARKED_ID" last_error)" "tax rate" "it is parked for the tax rate"

# --- the browser ---------------------------------------------------------------
SHOTS="${BM_BUILD_DIR:-$BM_TMP}/console-screenshots"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png # this run's pictures only
rc=0
CONSOLE_URL="$CONSOLE_URL" SIM_URL="$(sim_url)" SHOTS="$SHOTS" \
	OPERATOR_PASSWORD="$OPERATOR_PASSWORD" VIEWER_PASSWORD="$VIEWER_PASSWORD" \
	PARKED_ID="$PARKED_ID" PARKED_NUMBER="$PARKED_NUMBER" XSS_ID="$XSS_ID" \
	timeout 300 "$BM_PY" "$(dirname "$0")/console_browser.py" >"$BM_TMP/browser.out" 2>&1 || rc=$?
cat "$BM_TMP/browser.out"
BM_PASSED=$((BM_PASSED + $(grep -c '^ok ' "$BM_TMP/browser.out" || true)))
[[ "$rc" == 0 ]] || bm_fail "the browser test failed (exit $rc); screenshots in $SHOTS"

# --- what the browser did, as the database saw it -------------------------------
bm_assert_eq "$(bm_psql "SELECT state IN ('synced', 'reconciled') FROM orders WHERE order_id = '$PARKED_ID'")" t \
	"the retried order is synced (or already reconciled)"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log a JOIN orders o ON o.id = a.order_pk
	WHERE o.order_id = '$PARKED_ID' AND a.action = 'retry' AND a.actor = 'console:olga'
	AND a.detail->>'console_user' = 'olga'")" 1 "the retry is one audit row by console:olga"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE actor = 'console:vera'")" 0 \
	"the viewer's refused retry left no audit row"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE actor = 'console:olga'
	AND action = 'reconcile_requested'")" 1 "the reconcile request is an audit row by console:olga"
for ((i = 0; i < 100; i++)); do
	[[ "$(bm_psql "SELECT count(*) FROM reconcile_runs WHERE trigger = 'console' AND status <> 'running'")" == 1 ]] && break
	sleep 0.2
done
bm_assert_eq "$(bm_psql "SELECT count(*) FROM reconcile_runs WHERE trigger = 'console' AND status = 'done'")" 1 \
	"the console's reconciliation ran and finished"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM console_sessions s JOIN console_users u
	ON u.id = s.user_id WHERE u.name = 'olga'")" 0 "olga's logout removed her session"
user_cmd "$VIEWER_PASSWORD-new" passwd vera
bm_assert_eq "$RC" 0 "console user passwd vera"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM console_sessions s JOIN console_users u
	ON u.id = s.user_id WHERE u.name = 'vera'")" 0 "a new password ends the user's sessions"
log="$(cat "$BM_TMP/connector.log" "$BM_TMP/serve.out" 2>/dev/null)"
bm_assert_not_contains "$log" "$OPERATOR_PASSWORD" "the operator's password is in no log"
bm_assert_not_contains "$log" "$VIEWER_PASSWORD" "the viewer's password is in no log"
bm_assert_log_clean
bm_audit_ok="$("$BM_BINARY" -c "$BM_CONFIG" audit verify >/dev/null 2>&1 && echo yes || echo no)"
bm_assert_eq "$bm_audit_ok" yes "the audit chain verifies with the console's rows"

# --- an expired session opens nothing; cookies are Secure when configured ----
curl_login() { # curl_login USER PASSWORD: signs in with curl; the jar is $BM_TMP/jar
	local token
	rm -f "$BM_TMP/jar"
	token="$(curl -s -c "$BM_TMP/jar" "$CONSOLE_URL/login" | grep -o 'name="csrf" value="[0-9a-f]*"' |
		sed 's/.*value="//; s/"//')"
	curl -s -o /dev/null -w '%{http_code}' -b "$BM_TMP/jar" -c "$BM_TMP/jar" \
		--data-urlencode "csrf=$token" --data-urlencode "username=$1" \
		--data-urlencode "password=$2" "$CONSOLE_URL/login"
}
bm_assert_eq "$(curl_login olga "$OPERATOR_PASSWORD")" 303 "olga signs in with curl too"
bm_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -b "$BM_TMP/jar" "$CONSOLE_URL/")" 200 \
	"her session opens the overview"
bm_psql "UPDATE console_sessions SET expires_at = now() - interval '1 second'" >/dev/null
bm_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -b "$BM_TMP/jar" "$CONSOLE_URL/")" 303 \
	"an expired session is sent to /login"
bm_serve_stop
sed -i "s|console = { listen = \"127.0.0.1:$CONSOLE_PORT\"; };|console = { listen = \"127.0.0.1:$CONSOLE_PORT\"; secure_cookies = true; };|" \
	"$BM_CONFIG"
bm_serve_start
for ((i = 0; i < 50; i++)); do
	[[ "$(curl -s -o /dev/null -w '%{http_code}' "$CONSOLE_URL/login" || true)" == 200 ]] && break
	sleep 0.1
done
bm_assert_contains "$(curl -s -D - -o /dev/null "$CONSOLE_URL/login" | grep -i '^set-cookie')" \
	"HttpOnly; SameSite=Strict; Secure" "with secure_cookies the cookies are Secure too"
bm_serve_stop
bm_done
