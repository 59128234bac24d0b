# shellcheck shell=bash
#
# Helpers for the Moneybird webhook and reconciliation tests
# (tests/integration/test_mb_webhook_*.sh, test_reconcile_*.sh), sourced
# after lib.sh. The simulator's GET /_sim/state is read through PostgreSQL's
# jsonb (psql is needed anyway, jq is not).

# rc_api METHOD PATH [JSON]: calls the simulated Moneybird API as a
# bookkeeper would (PATH after the administration id); sets RC_STATUS and
# RC_BODY (call it directly, not in $(...), or they are lost).
rc_api() {
	local out
	out="$(mktemp "$BM_TMP/api.XXXXXX")"
	RC_STATUS="$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X "$1" \
		-H "Authorization: Bearer $BM_MBSIM_TOKEN" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "$BM_MBSIM_URL/$BM_MBSIM_ADMIN/$2" || true)"
	RC_BODY="$(cat "$out")"
	rm -f "$out"
}

# rc_sim_url, rc_sim_post, rc_sim_q: lib.sh's sim_url, sim_post, sim_q.
rc_sim_url() { sim_url; }
rc_sim_post() { sim_post "$@"; }
rc_sim_q() { sim_q "$@"; }

# rc_sim_calls: API requests the simulator counted so far.
rc_sim_calls() {
	rc_sim_q "(s->'requests'->>'total')::int"
}

# rc_post_order, rc_order: lib.sh's post_order and order_value.
rc_post_order() { post_order "$@"; }
rc_order() { order_value "$@"; }

# rc_sync_one ORDER_ID STATE [FAULTS]: posts the order (its own buyer) with
# the simulator's FAULTS armed, waits for STATE, then clears the faults.
rc_sync_one() {
	rc_sim_post /_sim/faults "${3:-{\}}" >/dev/null
	rc_post_order "$1" match_ref="buyer-$1" vat_number="" email="$1@example.nl" company=""
	rc_wait_state "$1" "$2" 30
	rc_sim_post /_sim/faults '{}' >/dev/null
}

# rc_wait_sql SQL EXPECTED SECONDS: waits until SQL prints EXPECTED.
rc_wait_sql() {
	local i value=""
	for ((i = 0; i < $3 * 5; i++)); do
		value="$(bm_psql "$1")"
		[[ "$value" == "$2" ]] && return 0
		sleep 0.2
	done
	bm_fail "after $3 s [$1] is [$value], not [$2]; orders: $(bm_psql \
		"SELECT string_agg(order_id || '=' || state || coalesce(' (' || last_error || ')', ''),
		 '; ' ORDER BY id) FROM orders"); events: $(bm_psql \
		"SELECT string_agg(action || '=' || status || coalesce(' (' || note || ')', ''),
		 '; ' ORDER BY id) FROM moneybird_events")"
}

# rc_wait_state ORDER_ID STATE SECONDS
rc_wait_state() {
	rc_wait_sql "SELECT state FROM orders WHERE order_id = '$1'" "$2" "$3"
}

# rc_register_webhook: `moneybird webhook register` for the shop connection,
# so the token and secret come from Moneybird (the simulator) via the database.
rc_register_webhook() {
	"$BM_BINARY" -c "$BM_CONFIG" moneybird webhook register "$BM_URL/webhooks/moneybird/shop" \
		>"$BM_TMP/register.out" 2>&1 || { cat "$BM_TMP/register.out" >&2; bm_fail "webhook register failed"; }
}

# rc_mb_sign SECRET TIMESTAMP FILE: the hex HMAC-SHA256 of "TIMESTAMP.<body>".
rc_mb_sign() {
	{ printf '%s.' "$2"; cat "$3"; } | openssl dgst -sha256 -hmac "$1" -r | awk '{print $1}'
}

# rc_post_mb FILE SIGNATURE_HEADER [IDEMPOTENCY_KEY]: POSTs FILE to the
# Moneybird webhook of "shop"; SIGNATURE_HEADER "-" sends none. Sets
# BM_STATUS and BM_BODY.
rc_post_mb() {
	local out
	local -a headers=(-H "Content-Type: application/json" -H "User-Agent: MoneyBird Webhook")
	[[ "$2" == "-" ]] || headers+=(-H "Moneybird-Signature: $2")
	[[ -z "${3:-}" ]] || headers+=(-H "Idempotency-Key: $3")
	out="$(mktemp "$BM_TMP/response.XXXXXX")"
	BM_STATUS="$(curl -s -o "$out" -w '%{http_code}' --max-time 30 -X POST "${headers[@]}" \
		--data-binary "@$1" "$BM_URL/webhooks/moneybird/shop" || true)"
	BM_BODY="$(cat "$out")"
	rm -f "$out"
}

# rc_push_json FILE ACTION INVOICE_ID REFERENCE STATE TOKEN: writes a push
# body shaped like Moneybird's (entity = a minimal sales invoice).
rc_push_json() {
	cat >"$1" <<EOF
{"administration_id":"$BM_MBSIM_ADMIN","webhook_id":"1","webhook_token":"$6","entity_type":"SalesInvoice","entity_id":"$3","state":"$5","action":"$2","entity":{"id":"$3","contact_id":"1","reference":"$4","state":"$5","currency":"EUR","total_price_excl_tax":"100.0","total_price_incl_tax":"121.0","total_paid":"121.0","total_unpaid":"0.0","version":1700000000,"payments":[]}}
EOF
}
