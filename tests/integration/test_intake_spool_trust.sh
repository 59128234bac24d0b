#!/usr/bin/env bash
# Intake, the spool is not trusted: serve refuses (exit 2, naming the fix) a
# spool folder others could write to; every spooled file is verified again
# on drain (signature headers against the configured secrets, without the
# timestamp tolerance); an unsigned, tampered, corrupt or unreadable file is
# set aside in rejected/ with a warn line naming it, counted in `status` and
# /metrics, never booked, and the drain goes on with the next file.
source "$(dirname "$0")/lib.sh"
bm_stack --no-serve tolerance=60

# serve_refuses WHAT NEEDLE: serve must exit 2 and say NEEDLE on stderr.
serve_refuses() {
	local rc=0
	timeout 20 "$BM_BINARY" -c "$BM_CONFIG" serve >"$BM_TMP/refused.out" 2>&1 || rc=$?
	bm_assert_eq "$rc" 2 "$1: serve exits 2"
	bm_assert_contains "$(cat "$BM_TMP/refused.out")" "$2" "$1: the error names the fix"
}
chmod 777 "$BM_SPOOL"
serve_refuses "a world-writable spool folder" "chmod 700 $BM_SPOOL"
chmod 770 "$BM_SPOOL"
serve_refuses "a group-writable spool folder" "chmod 700 $BM_SPOOL"
chmod 700 "$BM_SPOOL"
if [[ "$(id -u)" == 0 ]]; then
	chown nobody "$BM_SPOOL"
	serve_refuses "a spool folder owned by another user" "chown 0 $BM_SPOOL"
	chown 0 "$BM_SPOOL"
fi
rm -rf "$BM_SPOOL"
bm_serve_start
bm_assert_eq "$(stat -c %a "$BM_SPOOL")" 700 "a missing spool folder is created 0700"

# --- spooled files of every kind, then PostgreSQL comes back -----------------
bm_pg_stop
good="$(bm_order_json ord-t1)"
bm_post_expect /webhooks/bookto/shop "$good" 200 '"status":"spooled"' "a good order spooled"
spooled="$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | head -1)"
[[ -n "$spooled" ]] || bm_fail "no spool file was written"
bm_assert_contains "$(head -1 "$spooled")" '"signature_header":"sha256=' \
	"a spool file carries its signature header"
bm_serve_stop

# A copy under another name: the same signed delivery, stored once.
cp "$spooled" "$BM_SPOOL/0000000000002-copy.delivery"
# Tampered: the header of a signed file, another body (total changed).
{ head -1 "$spooled"; tail -n +2 "$spooled" | sed 's/"total_incl": 121.00/"total_incl": 1.00/'; } \
	>"$BM_SPOOL/0000000000003-tampered.delivery"
# Unsigned: an order dropped into the folder by someone else.
evil="$(bm_order_json ord-evil)"
{ printf '{"version":1,"connection":"shop","delivery_key":"evil1","source":"bookto","received_at_ms":1,"signature_timestamp":1}\n'; cat "$evil"; } \
	>"$BM_SPOOL/0000000000004-unsigned.delivery"
# Signed with a secret this connection does not have.
ts="$(date +%s)"
bad_sig="$(bm_sign wrong-secret "$ts" "$evil")"
{ printf '{"version":2,"connection":"shop","delivery_key":"evil2","source":"bookto","received_at_ms":1,"signature_timestamp":%s,"timestamp_header":"%s","signature_header":"%s"}\n' "$ts" "$ts" "$bad_sig"; cat "$evil"; } \
	>"$BM_SPOOL/0000000000005-badsig.delivery"
printf 'garbage without a header line' >"$BM_SPOOL/0000000000006-corrupt.delivery"
mkdir "$BM_SPOOL/0000000000007-unreadable.delivery" # a folder cannot be read as a file
# An old, signed file from long before the tolerance window: still booked
# (an outage may outlast the window).
old="$(bm_order_json ord-t2)"
old_ts=$(($(date +%s) - 7200))
old_sig="$(bm_sign "$BM_SECRET_PREVIOUS" "$old_ts" "$old")"
{ printf '{"version":2,"connection":"shop","delivery_key":"k-old","source":"bookto","received_at_ms":%s000,"signature_timestamp":%s,"timestamp_header":"%s","signature_header":"%s"}\n' "$old_ts" "$old_ts" "$old_ts" "$old_sig"; cat "$old"; } \
	>"$BM_SPOOL/0000000000008-old.delivery"

bm_pg_start_again
bm_serve_start
for ((i = 0; i < 100; i++)); do
	[[ "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l)" == 0 ]] && break
	sleep 0.2
done
bm_assert_eq "$(find "$BM_SPOOL" -maxdepth 1 -name '*.delivery' | wc -l | tr -d ' ')" 0 \
	"the drain went through every file"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-t1'")" 1 "the good order is stored once"
bm_assert_eq "$(bm_psql "SELECT total_incl_cents FROM orders WHERE order_id = 'ord-t1'")" 12100 \
	"with the amount it was signed with"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE order_id = 'ord-t1'")" 1 \
	"the copy of its file was the same delivery"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-t2'")" 1 \
	"a signed file older than the tolerance window is booked"
bm_assert_eq "$(bm_count_orders "order_id = 'ord-evil'")" 0 "no unsigned or badly signed file was booked"
rejected="$(ls "$BM_SPOOL/rejected" | sort | paste -sd, -)"
bm_assert_eq "$rejected" \
	"0000000000003-tampered.delivery,0000000000004-unsigned.delivery,0000000000005-badsig.delivery,0000000000006-corrupt.delivery,0000000000007-unreadable.delivery" \
	"the tampered, unsigned, badly signed, corrupt and unreadable files are set aside"
log="$(cat "$BM_TMP/connector.log")"
for name in tampered unsigned badsig corrupt unreadable; do
	bm_assert_contains "$(grep 'event=spool_file_set_aside' <<<"$log" | grep "$name" || true)" \
		"level=warn" "a warn line names the $name file"
done
bm_assert_contains "$(grep 'event=spool_file_set_aside' <<<"$log" | grep unsigned)" \
	"carries no signature" "the unsigned file's reason"
bm_assert_contains "$(grep 'event=spool_file_set_aside' <<<"$log" | grep tampered)" \
	"signature does not verify" "the tampered file's reason"
status="$("$BM_BINARY" -c "$BM_CONFIG" status)"
bm_assert_contains "$status" "Spool files set aside: 5" "status counts the files set aside"
bm_assert_contains "$("$BM_BINARY" -c "$BM_CONFIG" status --json | tr -d ' \t\n')" '"spool_set_aside":5' \
	"status --json counts them"
bm_assert_contains "$(curl -s --max-time 5 "$BM_URL/metrics")" \
	"bookto_moneybird_spool_rejected_files 5" "/metrics counts them"
bm_assert_not_contains "$log" "$BM_SECRET_CURRENT" "no secret in the log"
bm_serve_stop
bm_done
