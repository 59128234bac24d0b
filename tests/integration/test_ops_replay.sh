#!/usr/bin/env bash
# `replay`: saved order.paid payloads (files, or JSON lines on stdin) go
# through the webhook's own validation and storing path: 1,000 payloads with
# 100 duplicates become 900 orders (replay priority 10, source replay) and
# the duplicates are skipped and counted; unmapped ones are parked, invalid
# lines and other events are kept and reported; a progress bar only on a
# TTY; exit codes 0 / 1 (something invalid) / 2 (usage).
source "$(dirname "$0")/lib.sh"
bm_stack --no-serve workers=0 second=1

# ops CMD...: bm_ops (sets OUT, ERR and RC; never fails the test).
ops() { bm_ops "$@"; }

# --- usage ---------------------------------------------------------------------
ops replay
bm_assert_eq "$RC" 2 "replay without FILE or - exits 2"
ops replay --connection shop
bm_assert_eq "$RC" 2 "replay --connection without FILE exits 2"
f="$(bm_order_json rp-0)"
ops replay "$f"
bm_assert_eq "$RC" 2 "replay without --connection while two connections exist exits 2"
bm_assert_contains "$ERR" "--connection NAME" "the usage error says to name the connection"
ops replay --connection nope "$f"
bm_assert_eq "$RC" 2 "replay --connection with an unknown connection exits 2"
ops replay --connection shop "$f" -
bm_assert_eq "$RC" 2 "replay of files and - together exits 2"

# --- 1,000 JSON lines on stdin, 100 of them duplicates --------------------------
one_line() { # ORDER_ID: a compact order.paid payload on one line
	printf '{"event":"order.paid","payment_provider":"mollie","order_id":"%s","order_number":"N-%s","status":"paid","created_at":"2024-05-02T10:14:03Z","paid_at":"2024-05-02T10:15:27Z","amount":{"total_incl":121.00,"excl_vat":100.00,"vat":21.00,"vat_rate":21,"currency":"EUR"},"vat_treatment":"standard","product":{"name":"Boek","description":"Hardcover"},"buyer":{"first_name":"Jan","last_name":"Jansen","email":"jan@example.nl","company":"","vat_number":"","peppol_id":"","address":"Keizersgracht 1","address2":"","postal_code":"1015 CJ","city":"Amsterdam","country":"NL","match_ref":"buyer-%s"},"custom_fields":[],"seller":{"id":"s1","entity":null},"is_test_order":false}\n' "$1" "$1" "$(($2 % 50))"
}
lines="$BM_TMP/backfill.jsonl"
{
	for i in $(seq 1 900); do
		one_line "bf-$i" "$i"
		# Every ninth order appears twice (100 duplicates), the second
		# copy a few lines later.
		if ((i % 9 == 0)); then
			one_line "bf-$((i - 4))" "$((i - 4))"
		fi
	done
} >"$lines"
bm_assert_eq "$(wc -l <"$lines" | tr -d ' ')" 1000 "1,000 payload lines were generated"

start=$SECONDS
ops replay --connection shop - <"$lines"
bm_assert_eq "$RC" 0 "replay of 1,000 lines exits 0 (output: $OUT $ERR)"
bm_assert_contains "$OUT" "Replayed 1000 payloads into connection shop: 900 accepted, 100 duplicate, 0 parked, 0 ignored, 0 invalid." \
	"the summary counts accepted and duplicates"
echo "# replay of 1,000 payloads took $((SECONDS - start)) s"
bm_assert_not_contains "$ERR" $'\r' "no progress bar when stderr is not a terminal"
bm_assert_eq "$(bm_psql "SELECT count(*), count(DISTINCT order_id) FROM orders")" "900|900" \
	"900 orders, each exactly once"
bm_assert_eq "$(bm_psql "SELECT count(*) FILTER (WHERE source = 'replay'),
		count(*) FILTER (WHERE outcome = 'accepted'), count(*) FILTER (WHERE outcome = 'duplicate')
		FROM deliveries")" "1000|900|100" "every payload is a replay delivery; duplicates are marked"
bm_assert_eq "$(bm_psql "SELECT count(*), min(priority), max(priority) FROM jobs")" "900|10|10" \
	"one job per order, at replay priority 10"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM orders o JOIN connections c ON c.id = o.connection_id
		WHERE c.name = 'shop' AND o.state = 'queued'")" 900 "all queued on connection shop"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM audit_log WHERE action = 'order_received'
		AND detail->>'source' = 'replay'")" 900 "one audit row per replayed order"

# Replaying the same lines again stores no new order.
ops replay --connection shop - <"$lines"
bm_assert_eq "$RC" 0 "a second replay exits 0"
bm_assert_contains "$OUT" "0 accepted, 1000 duplicate" "a second replay skips everything as duplicate"
bm_assert_eq "$(bm_count_orders)" 900 "still 900 orders"

# --- files: accepted, parked, ignored, invalid, unreadable ----------------------
good="$(bm_order_json file-1)"
parked="$(bm_order_json file-2 treatment=margin_scheme)"
ignored="$(bm_order_json file-3 event=order.refunded)"
invalid="$BM_TMP/orders/invalid.json"
printf '{"event": "order.paid", "order_id": ' >"$invalid"
ops replay --connection other "$good" "$parked" "$ignored" "$invalid" "$BM_TMP/missing.json"
bm_assert_eq "$RC" 1 "replay with an invalid and a missing file exits 1"
bm_assert_contains "$OUT" "Replayed 5 payloads into connection other: 1 accepted, 0 duplicate, 1 parked, 1 ignored, 2 invalid." \
	"the file summary counts each kind"
bm_assert_contains "$ERR" "$invalid: not a JSON object" "the invalid file is named"
bm_assert_contains "$ERR" "missing.json: No such file" "the missing file is named"
bm_assert_eq "$(bm_psql "SELECT o.order_id, o.state FROM orders o JOIN connections c ON c.id = o.connection_id
		WHERE c.name = 'other' ORDER BY o.order_id")" $'file-1|queued\nfile-2|needs_attention' \
	"the good file is queued and the unmapped one parked, on connection other"
bm_assert_eq "$(bm_psql "SELECT count(*) FROM deliveries WHERE source = 'replay' AND outcome IN ('ignored', 'invalid_json')")" 2 \
	"the ignored and the invalid payloads are kept as deliveries"

# A payload above http.max_body_bytes is refused like the webhook would.
big="$(bm_pad_json "$(bm_order_json file-4)" 300000)"
ops replay --connection other "$big"
bm_assert_eq "$RC" 1 "a payload above max_body_bytes exits 1"
bm_assert_contains "$ERR" "larger than http.max_body_bytes" "the size limit is named"

# --- a progress bar on a terminal -------------------------------------------------
if command -v script >/dev/null 2>&1; then
	head -n 50 "$lines" | sed 's/"bf-/"tty-/g' >"$BM_TMP/tty.jsonl"
	script -qec "'$BM_BINARY' -c '$BM_CONFIG' replay --connection shop - <'$BM_TMP/tty.jsonl'" \
		/dev/null >"$BM_TMP/tty.out" 2>&1 || bm_fail "replay on a terminal failed: $(cat "$BM_TMP/tty.out")"
	bm_assert_contains "$(cat "$BM_TMP/tty.out")" "read  accepted" "a progress line is drawn on a terminal"
	bm_assert_contains "$(cat "$BM_TMP/tty.out")" "Replayed 50 payloads into connection shop: 45 accepted, 5 duplicate" "the summary follows the progress line"
else
	echo "# skipped the terminal check: script(1) is not installed"
fi

# --- the database goes away -------------------------------------------------------
bm_pg_stop
ops replay --connection shop "$good"
bm_assert_eq "$RC" 1 "replay with PostgreSQL down exits 1"
bm_assert_contains "$ERR" "check database.conninfo" "the error names what to check"
bm_pg_start_again
bm_done
