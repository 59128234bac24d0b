#!/usr/bin/env bash
# The command line: --help and --version without a config or database;
# `config check` exits 0 on a good config and 2 with file:line on a broken
# one; secrets (literal, env:, file:) are never printed; usage errors exit 2;
# and no secret reaches the log of a serve that handled deliveries at debug.
source "$(dirname "$0")/lib.sh"
bm_setup

# run_cli OUT_PREFIX ARGS...: runs the binary, sets RC, OUT (stdout), ERR.
run_cli() {
	RC=0
	"$BM_BINARY" "$@" >"$BM_TMP/cli.out" 2>"$BM_TMP/cli.err" </dev/null || RC=$?
	OUT="$(cat "$BM_TMP/cli.out")"
	ERR="$(cat "$BM_TMP/cli.err")"
	cat "$BM_TMP/cli.err" >>"$BM_TMP/cli-all.err" # for bm_done's sanitizer check
}

# --- no config, no database -------------------------------------------------
export BOOKTO_MONEYBIRD_CONFIG="$BM_TMP/does-not-exist.cfg"
cd "$BM_TMP"
run_cli --help
bm_assert_eq "$RC" 0 "--help exits 0 without a config"
bm_assert_contains "$OUT" "serve" "--help lists serve"
bm_assert_contains "$OUT" "migrate" "--help lists migrate"
bm_assert_contains "$OUT" "config check" "--help lists config check"
run_cli --version
bm_assert_eq "$RC" 0 "--version exits 0 without a config"
[[ "$OUT" =~ [0-9]+\.[0-9]+\.[0-9]+ ]] && bm_pass "--version prints a version ($OUT)" ||
	bm_fail "--version prints no version number: [$OUT]"
run_cli
bm_assert_eq "$RC" 2 "no command is a usage error (exit 2)"
run_cli frobnicate
bm_assert_eq "$RC" 2 "an unknown command is a usage error (exit 2)"
bm_assert_contains "$ERR" "frobnicate" "the error names the unknown command"
run_cli config check
bm_assert_eq "$RC" 2 "config check with a missing config file exits 2"
bm_assert_contains "$ERR" "does-not-exist.cfg" "the error names the missing file"
unset BOOKTO_MONEYBIRD_CONFIG

# --- config check ---------------------------------------------------------------
BM_DATABASE_URL="postgresql://postgres@127.0.0.1:9/bookto_moneybird" # never contacted
bm_write_config
good="$BM_TMP/good.cfg"
cp "$BM_CONFIG" "$good"
run_cli -c "$good" config check
bm_assert_eq "$RC" 0 "config check on a good config exits 0 ($ERR)"
BOOKTO_MONEYBIRD_CONFIG="$good" run_cli config check
bm_assert_eq "$RC" 0 "config check finds the config through BOOKTO_MONEYBIRD_CONFIG ($ERR)"
bm_assert_not_contains "$OUT$ERR" "$BM_SECRET_CURRENT" "config check does not print the signing secret"
bm_assert_not_contains "$OUT$ERR" "$BM_MBSIM_TOKEN" "config check does not print the api token"

# broken NAME SED_SCRIPT NEEDLE: applies SED_SCRIPT to a copy of the good
# config, expects exit 2 and "<file>:<line of NEEDLE>" on stderr.
broken() {
	local name="$1" cfg="$BM_TMP/$1.cfg" line
	sed -e "$2" "$good" >"$cfg"
	line="$(grep -n -F -- "$3" "$cfg" | head -n 1 | cut -d: -f1)"
	[[ -n "$line" ]] || bm_fail "test bug: '$3' not found in $cfg"
	run_cli -c "$cfg" config check
	bm_assert_eq "$RC" 2 "config check on $name exits 2"
	bm_assert_contains "$ERR" "$cfg:$line" "config check on $name reports $cfg:$line"
}
broken unknown_key '/^http = {/a\  frobnicate = 1;' 'frobnicate'
broken wrong_type 's/max_body_bytes = [0-9]*;/max_body_bytes = "big";/' 'max_body_bytes'
broken out_of_range 's/workers = { count = 0;/workers = { count = -3;/' 'count = -3'
broken bad_name 's/name = "shop";/name = "Shop Front";/' 'Shop Front'
broken syntax 's/pool_size = 8;/pool_size == 8;/' 'pool_size == 8'
broken bad_tolerance '0,/timestamp_tolerance_seconds = 300;/s//timestamp_tolerance_seconds = -5;/' \
	'timestamp_tolerance_seconds = -5'
broken no_secrets 's/signing_secrets = \[ .* \];/signing_secrets = [ ];/' 'signing_secrets = [ ]'

# Every problem is reported, not only the first.
sed -e '/^http = {/a\  frobnicate = 1;' -e 's/workers = { count = 0;/workers = { count = -3;/' "$good" >"$BM_TMP/two.cfg"
run_cli -c "$BM_TMP/two.cfg" config check
bm_assert_eq "$RC" 2 "config check with two problems exits 2"
bm_assert_eq "$(grep -c -F "$BM_TMP/two.cfg:" "$BM_TMP/cli.err" || true)" 2 "both problems are reported"

# Secrets from the environment and from files.
sed -e 's/api_token = "test-token";/api_token = "env:BM_TEST_API_TOKEN";/' "$good" >"$BM_TMP/env.cfg"
BM_TEST_API_TOKEN=s3cr3t-from-env run_cli -c "$BM_TMP/env.cfg" config check
bm_assert_eq "$RC" 0 "an env: secret that is set is accepted ($ERR)"
bm_assert_not_contains "$OUT$ERR" "s3cr3t-from-env" "the env: secret is not printed"
run_cli -c "$BM_TMP/env.cfg" config check
bm_assert_eq "$RC" 2 "an env: secret that is not set exits 2"
bm_assert_contains "$ERR" "BM_TEST_API_TOKEN" "the error names the missing variable"

printf 's3cr3t-from-file\n' >"$BM_TMP/token"
sed -e "s|api_token = \"test-token\";|api_token = \"file:$BM_TMP/token\";|" "$good" >"$BM_TMP/file.cfg"
chmod 600 "$BM_TMP/token"
run_cli -c "$BM_TMP/file.cfg" config check
bm_assert_eq "$RC" 0 "a file: secret readable only by its owner is accepted ($ERR)"
chmod 644 "$BM_TMP/token"
run_cli -c "$BM_TMP/file.cfg" config check
bm_assert_eq "$RC" 2 "a world-readable file: secret is refused"
bm_assert_contains "$ERR" "$BM_TMP/token" "the error names the secret file"
bm_assert_not_contains "$OUT$ERR" "s3cr3t-from-file" "the file: secret is not printed"
chmod 600 "$BM_TMP/token"

# --- no secret in the log of a busy serve at debug level ------------------------------
bm_pg_start
bm_write_config log_level=debug
bm_migrate
bm_serve_start
f="$(bm_order_json ord-6001)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery (current secret)"
f="$(bm_order_json ord-6002)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery (previous secret)" \
	"$BM_SECRET_PREVIOUS"
bm_post_bookto /webhooks/bookto/shop "$f" wrong-secret
bm_assert_eq "$BM_STATUS" 401 "a bad signature is 401"
bm_serve_stop
[[ -s "$BM_TMP/connector.log" ]] && bm_pass "serve wrote its log file" || bm_fail "no log file"
bm_assert_contains "$(cat "$BM_TMP/connector.log")" "ord-6001" "the log mentions the order it accepted"
for secret in "$BM_SECRET_CURRENT" "$BM_SECRET_PREVIOUS" "$BM_MBSIM_TOKEN"; do
	if grep -q -F -- "$secret" "$BM_TMP/connector.log" "$BM_TMP/serve.out" "$BM_TMP/migrate.out"; then
		bm_fail "secret '$secret' appears in the log: $(grep -F -- "$secret" "$BM_TMP/connector.log" | head -n 1)"
	fi
	bm_pass "secret '$secret' is not in the log"
done

# --- log format and rotation ------------------------------------------------------
logfmt='^[a-z_][a-z0-9_.]*=("([^"\\]|\\.)*"|[^ "]*)( [a-z_][a-z0-9_.]*=("([^"\\]|\\.)*"|[^ "]*))*$'
bad="$(grep -Evc "$logfmt" "$BM_TMP/connector.log" || true)"
bm_assert_eq "$bad" 0 "every log line is logfmt ($(grep -Ev "$logfmt" "$BM_TMP/connector.log" | head -n 1))"

mv "$BM_TMP/connector.log" "$BM_TMP/connector.log.old"
bm_write_config log_format=json
bm_serve_start
f="$(bm_order_json ord-6003)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery with JSON logs"
mv "$BM_TMP/connector.log" "$BM_TMP/connector.log.1"
kill -HUP "$BM_SERVE_PID"
sleep 0.5
f="$(bm_order_json ord-6004)"
bm_post_expect /webhooks/bookto/shop "$f" 200 '"status":"accepted"' "a delivery after SIGHUP"
bm_serve_stop
[[ -s "$BM_TMP/connector.log" ]] && bm_pass "SIGHUP reopened the log file" ||
	bm_fail "after SIGHUP no new log file was written"
bm_assert_contains "$(cat "$BM_TMP/connector.log")" "ord-6004" "the new log file has the delivery after SIGHUP"
bm_assert_not_contains "$(cat "$BM_TMP/connector.log.1")" "ord-6004" "the rotated file does not"
bm_assert_contains "$(cat "$BM_TMP/connector.log.1")" "ord-6003" "the rotated file has the delivery before SIGHUP"
bad="$(cat "$BM_TMP/connector.log.1" "$BM_TMP/connector.log" | grep -Evc '^\{".*\}$' || true)"
bm_assert_eq "$bad" 0 "with format json every log line is a JSON object"
bm_done
