#!/usr/bin/env bash
# Secrets stay in their place:
#  - a config file holding literal secrets (signing_secrets, api_token not
#    env:/file:) that group or others can read is refused by `config check`
#    and by `serve` (exit 2, one sentence naming `chmod 600 FILE`); the same
#    file at 0600, or one with only env: secrets at 0644, is fine;
#  - serve runs with core dumps off (RLIMIT_CORE 0 and not dumpable): even
#    started with `ulimit -c unlimited`, a SIGQUIT leaves no core file.
source "$(dirname "$0")/lib.sh"
bm_setup
bm_write_config

run_cli() {
	local rc=0
	"$BM_BINARY" "$@" >"$BM_TMP/cli.out" 2>"$BM_TMP/cli.err" || rc=$?
	echo "$rc"
}

bm_assert_eq "$(run_cli -c "$BM_CONFIG" config check)" 0 "a private config with literal secrets is valid"
for mode in 640 604 644; do
	chmod "$mode" "$BM_CONFIG"
	bm_assert_eq "$(run_cli -c "$BM_CONFIG" config check)" 2 "config check refuses it at mode $mode"
	bm_assert_contains "$(cat "$BM_TMP/cli.err")" "which group or others can read: run \`chmod 600 $BM_CONFIG\`" \
		"mode $mode: the sentence names the fix"
done
bm_assert_eq "$(grep -c 'group or others can read' "$BM_TMP/cli.err")" 1 \
	"one sentence for the file, though it holds three literal secrets"
for s in "$BM_SECRET_CURRENT" "$BM_SECRET_PREVIOUS" "$BM_MBSIM_TOKEN"; do
	bm_assert_eq "$(grep -c -F "$s" "$BM_TMP/cli.err" || true)" 0 "the refusal does not print a secret"
done
bm_assert_eq "$(run_cli -c "$BM_CONFIG" serve)" 2 "serve refuses it too"
bm_assert_contains "$(cat "$BM_TMP/cli.err")" "chmod 600 $BM_CONFIG" "serve names the fix"

# Only env: secrets: a group-readable file is fine.
sed -e "s/signing_secrets = \[ .* \];/signing_secrets = [ \"env:BM_TEST_SIGNING\" ];/" \
	-e "s/api_token = \"$BM_MBSIM_TOKEN\";/api_token = \"env:BM_TEST_TOKEN\";/" \
	"$BM_CONFIG" >"$BM_TMP/env.cfg"
chmod 644 "$BM_TMP/env.cfg"
bm_assert_eq "$(BM_TEST_SIGNING=s BM_TEST_TOKEN=t run_cli -c "$BM_TMP/env.cfg" config check)" 0 \
	"env: secrets in a 0644 file: valid"
chmod 600 "$BM_CONFIG"

# ---- core dumps
bm_pg_start
bm_write_config
bm_migrate
mkdir -p "$BM_TMP/cores"
(
	cd "$BM_TMP/cores"
	ulimit -c unlimited
	exec "$BM_BINARY" -c "$BM_CONFIG" serve >>"$BM_TMP/serve.out" 2>&1
) &
pid=$!
echo "$pid" >>"$BM_TMP/.pids"
for ((i = 0; i < 150; i++)); do
	[[ "$(bm_http_code /healthz)" == 200 ]] && break
	kill -0 "$pid" 2>/dev/null || bm_fail "serve exited during startup"
	sleep 0.1
done
bm_assert_eq "$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$pid/limits")" "0 0" \
	"serve's core file size limit is 0 (soft and hard), though started unlimited"
kill -QUIT "$pid"
rc=0
wait "$pid" || rc=$?
bm_assert_eq "$rc" 131 "SIGQUIT ends serve"
bm_assert_eq "$(find "$BM_TMP/cores" -type f | wc -l)" 0 "and leaves no core file"
bm_done
