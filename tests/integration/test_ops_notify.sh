#!/usr/bin/env bash
# Notifications (the `notify` config section) against a local chat webhook
# (notify_receiver) and a fake sendmail: a parked order sends one message on
# each channel, also with two serves running; a flood of parks within the
# interval becomes one summary; a
# message queued when serve stops is sent once after the restart and none is
# repeated; with the receiver dead, orders still sync, the failure is logged
# and counted, the email is not repeated, and the message arrives once the
# receiver is back; a pause and a resume each send one; a reconciliation
# with differences sends one; a spool that holds a delivery while
# PostgreSQL is down is announced. The webhook URL (a secret) never reaches
# the logs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/recon_lib.sh"
source "$(dirname "$0")/sync_lib.sh"
bm_testing pause_probe_seconds=1 backoff_base_seconds=1
bm_setup
sync_start
bm_write_config workers=1

RECEIVER="$BM_BUILD_DIR/notify_receiver"
[[ -x "$RECEIVER" ]] || bm_fail "no receiver at $RECEIVER (build first)"
RECV_PORT="$(bm_free_port)"
RECV_LOG="$BM_TMP/received.log"
MAIL_DIR="$BM_TMP/mail"
mkdir -p "$MAIL_DIR"
touch "$RECV_LOG"
receiver_start() {
	"$RECEIVER" "$RECV_PORT" "$RECV_LOG" >>"$BM_TMP/receiver.out" 2>&1 &
	RECV_PID=$!
	echo "$RECV_PID" >>"$BM_TMP/.pids"
	for _ in $(seq 1 100); do
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RECV_PORT/")" == 405 ]] && return
		sleep 0.05
	done
	bm_fail "the receiver did not start"
}
receiver_start
cat >"$BM_TMP/sendmail" <<EOF
#!/bin/sh
# A sendmail for the test: keeps each mail and its arguments.
{ echo "ARGS: \$*"; cat; } >"$MAIL_DIR/mail.\$\$"
EOF
chmod 755 "$BM_TMP/sendmail"
export BM_TEST_NOTIFY_URL="http://127.0.0.1:$RECV_PORT/hooks/T0/B0/notify-url-secret-77"
cat >>"$BM_CONFIG" <<EOF
notify = {
  webhook_url = "env:BM_TEST_NOTIFY_URL";
  sendmail = "$BM_TMP/sendmail";
  email_to = "ops@example.com";
  email_from = "connector@example.com";
  interval_seconds = 12; # long enough that a 12-order replay fits in one interval on a loaded machine
  spool_age_seconds = 1;
  timeout_seconds = 2;
};
EOF
out="$("$BM_BINARY" -c "$BM_CONFIG" config check 2>&1)" || bm_fail "config check: $out"
bm_pass "config check accepts the notify section"
bm_migrate
bm_serve_start
# Two hosts for the first parks: each message must still go out once.
serve2_start

messages() { grep -c . "$RECV_LOG" || true; }
mails() { find "$MAIL_DIR" -type f | wc -l; }
message() { sed -n "${1}p" "$RECV_LOG"; }
# wait_messages N SECONDS: until the receiver has N messages.
wait_messages() {
	for _ in $(seq 1 $(($2 * 10))); do
		[[ "$(messages)" -ge "$1" ]] && return
		sleep 0.1
	done
	bm_fail "expected $1 messages within $2 s, got $(messages): $(cat "$RECV_LOG")"
}
park() { # ORDER_ID...: orders whose amounts do not add up, in one replay (fast)
	local files=() id
	for id in "$@"; do files+=("$(bm_order_json "$id" total=121.00 excl=100.00 vat=20.00)"); done
	"$BM_BINARY" -c "$BM_CONFIG" replay --connection shop "${files[@]}" >"$BM_TMP/replay.out" 2>&1 ||
		bm_fail "replay failed: $(cat "$BM_TMP/replay.out")"
}
metric() { # CHANNEL OUTCOME: summed over the running serves (counters are per process)
	local url total=0 value
	for url in "$BM_URL" ${BM_SERVE2_PID:+"$BM_SERVE2_URL"}; do
		value="$(curl -s --max-time 5 "$url/metrics" |
			awk -v key="bookto_moneybird_notifications_total{channel=\"$1\",outcome=\"$2\"} " \
				'index($0, key) == 1 { print substr($0, length(key) + 1) }')"
		total=$((total + ${value:-0}))
	done
	echo "$total"
}

# --- one park: one message per channel ------------------------------------------------
park nt-1
wait_messages 1 10
bm_assert_contains "$(message 1)" '"text":"bookto-moneybird: 1 order of shop parked' "the message names the count and connection"
bm_assert_contains "$(message 1)" 'nt-1: ' "and the order"
bm_assert_contains "$(message 1)" 'bookto-moneybird retry ORDER' "and what to do"
for _ in $(seq 1 50); do [[ "$(mails)" -ge 1 ]] && break; sleep 0.1; done
bm_assert_eq "$(mails)" 1 "one email"
mail="$(cat "$MAIL_DIR"/mail.*)"
bm_assert_contains "$mail" "ARGS: -i -- ops@example.com" "sendmail gets the recipient"
bm_assert_contains "$mail" "Subject: bookto-moneybird: 1 order of shop parked" "the email's subject"
bm_assert_contains "$mail" "From: connector@example.com" "the email's sender"
bm_assert_eq "$(metric webhook sent)/$(metric email sent)" "1/1" "notifications_total counts the sends"

# --- a flood of parks: one summary after the interval ---------------------------------
park nt-f{1..12}
bm_assert_eq "$(messages)" 1 "no second message within the interval"
wait_messages 2 25
bm_assert_contains "$(message 2)" "12 orders of shop parked" "the flood is one summary"
bm_assert_contains "$(message 2)" "... and 2 more" "listing ten orders and the count of the rest"
bm_assert_eq "$(grep -o 'nt-f[0-9]*' <<<"$(message 2)" | sort -u | wc -l)" 10 "ten orders named"

serve2_stop
bm_pass "with two serves running, each message went out once"

# --- stop with a message waiting; restart: sent once, nothing repeated ---------------
park nt-r1 nt-r2 nt-r3
rc_wait_sql "SELECT coalesce(sum(events), 0) FROM notifications WHERE sent_at IS NULL" 3 5
bm_serve_stop
bm_assert_eq "$(bm_psql "SELECT events FROM notifications WHERE sent_at IS NULL")" 3 \
	"the three parks wait in PostgreSQL as one message"
bm_serve_start
wait_messages 3 25
bm_assert_contains "$(message 3)" "3 orders of shop parked" "after the restart the waiting message is sent"
sleep 2
bm_assert_eq "$(messages)" 3 "and nothing is repeated"

# --- a dead receiver changes nothing else ----------------------------------------------
mails_before="$(mails)"
kill "$RECV_PID"
wait "$RECV_PID" 2>/dev/null || true
park nt-d1
bm_post_expect /webhooks/bookto/shop "$(bm_order_json nt-ok)" 200 accepted "a good order" >/dev/null
rc_wait_state nt-ok synced 30
bm_pass "orders sync while the receiver is dead"
for _ in $(seq 1 150); do [[ "$(metric webhook failed)" -ge 1 ]] && break; sleep 0.1; done
bm_assert_ne "$(metric webhook failed)" 0 "the failure is counted"
bm_assert_contains "$(grep notification_failed "$BM_TMP/connector.log" | head -n 1)" "could not be reached" \
	"and logged"
for _ in $(seq 1 50); do [[ "$(mails)" -gt "$mails_before" ]] && break; sleep 0.1; done
bm_assert_eq "$(mails)" $((mails_before + 1)) "the email went out"
receiver_start
wait_messages 4 30
bm_assert_contains "$(message 4)" "nt-d1" "the message arrives once the receiver is back"
bm_assert_eq "$(mails)" $((mails_before + 1)) "the retry does not repeat the email"

# --- pause and resume ------------------------------------------------------------------
rc_sim_post /_sim/faults '{"force_status": {"match": "*", "status": 401, "count": -1}}' >/dev/null
bm_post_expect /webhooks/bookto/shop "$(bm_order_json nt-p1)" 200 accepted "an order while the token is refused" >/dev/null
rc_wait_sql "SELECT paused_at IS NOT NULL FROM connections WHERE name = 'shop'" t 20
wait_messages 5 10
bm_assert_contains "$(message 5)" "connection shop paused" "a pause sends a message"
bm_assert_contains "$(message 5)" "(401)" "with the reason"
rc_sim_post /_sim/faults '{}' >/dev/null
rc_wait_state nt-p1 synced 30
wait_messages 6 10
bm_assert_contains "$(message 6)" "connection shop resumed" "the resume sends one"

# --- reconcile differences ---------------------------------------------------------------
inv="$(rc_order nt-ok moneybird_invoice_id)"
rc_api DELETE "sales_invoices/$inv/payments/$(rc_order nt-ok moneybird_payment_id)"
bm_assert_eq "$RC_STATUS" 204 "a bookkeeper deletes nt-ok's payment"
rc=0
"$BM_BINARY" -c "$BM_CONFIG" reconcile >"$BM_TMP/reconcile.out" 2>&1 || rc=$?
bm_assert_eq "$rc" 3 "reconcile finds the difference"
wait_messages 7 10
bm_assert_contains "$(message 7)" "reconciliation of shop found differences" "a reconciliation with differences sends one"
bm_assert_contains "$(message 7)" \
	"run 1 (command): $(bm_psql "SELECT differences FROM reconcile_runs WHERE id = 1") difference(s)" \
	"with the run and its count"

# --- the spool, while PostgreSQL is down ---------------------------------------------------
bm_pg_stop
bm_post_expect /webhooks/bookto/shop "$(bm_order_json nt-s1)" 200 spooled "an order while PostgreSQL is down" >/dev/null
wait_messages 8 15
bm_assert_contains "$(message 8)" "deliveries wait in the spool of" "a spool older than spool_age_seconds is announced"
bm_assert_contains "$(message 8)" "1 delivery waiting" "with the count"
bm_pg_start_again
rc_wait_sql "SELECT count(*) FROM orders WHERE order_id = 'nt-s1'" 1 30
bm_pass "the spool drains once PostgreSQL is back"

sleep 2
bm_assert_eq "$(messages)" 8 "eight messages in all, none repeated"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM notifications WHERE sent_at IS NULL")" 0 "none left waiting"
if grep -q "notify-url-secret-77" "$BM_TMP/connector.log" "$BM_TMP/serve.out" "$BM_TMP"/*.out; then
	bm_fail "the webhook URL reached a log"
fi
bm_pass "the webhook URL never reaches the logs"
bm_serve_stop
bm_done
