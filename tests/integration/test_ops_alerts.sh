#!/usr/bin/env bash
# deploy/prometheus/alerts.yml: `promtool check rules` accepts it, `promtool
# test rules` passes alerts_test.yml (each alert firing and not firing on
# synthetic series), and every metric the rules name — with every label
# value they match on — is one a running serve really exports (scraped after
# an order was synced, so the Moneybird and budget series exist).
# Needs promtool (the Debian package prometheus; deploy/install-deps.sh).
source "$(dirname "$0")/lib.sh"
bm_setup
RULES="$BM_SOURCE_DIR/deploy/prometheus"
command -v promtool >/dev/null 2>&1 || bm_fail "promtool is missing: run deploy/install-deps.sh"

out="$(promtool check rules "$RULES/alerts.yml" 2>&1)" || bm_fail "promtool check rules: $out"
bm_assert_contains "$out" "SUCCESS" "promtool check rules accepts alerts.yml"
rules="$(grep -c '^      - alert: ' "$RULES/alerts.yml")"
(cd "$RULES" && promtool test rules alerts_test.yml) >"$BM_TMP/promtool.out" 2>&1 ||
	{ cat "$BM_TMP/promtool.out" >&2; bm_fail "promtool test rules failed"; }
bm_pass "promtool test rules: alerts_test.yml passes"
for alert in $(sed -n 's/^      - alert: //p' "$RULES/alerts.yml"); do
	firing="$(grep -A3 "alertname: $alert\$" "$RULES/alerts_test.yml" | grep -c 'exp_labels' || true)"
	quiet="$(grep -A2 "alertname: $alert\$" "$RULES/alerts_test.yml" | grep -c 'exp_alerts: \[\]' || true)"
	[[ "$firing" -ge 1 && "$quiet" -ge 1 ]] ||
		bm_fail "alerts_test.yml must show $alert firing and not firing (firing $firing, quiet $quiet)"
done
bm_pass "each of the $rules alerts is tested firing and not firing"

# --- the names against a running serve ---------------------------------------------
bm_pg_start
bm_mbsim_start
bm_write_config workers=1
bm_migrate
bm_serve_start
f="$(bm_order_json al-1)"
bm_post_expect /webhooks/bookto/shop "$f" 200 accepted "an order"
bm_assert_synced 1 "the order is synced"
curl -s --max-time 10 "$BM_URL/metrics" >"$BM_TMP/metrics.txt" || bm_fail "GET /metrics failed"

# Each selector in the rules: bookto_moneybird_NAME or NAME{label="value",...}.
grep -o 'bookto_moneybird_[a-z_]*\({[^}]*}\)\?' "$RULES/alerts.yml" | sort -u >"$BM_TMP/selectors"
[[ "$(wc -l <"$BM_TMP/selectors")" -ge 10 ]] || bm_fail "found too few selectors in alerts.yml"
while read -r selector; do
	name="${selector%%\{*}"
	grep -q "^$name[{ ]" "$BM_TMP/metrics.txt" || bm_fail "serve exports no $name (used in alerts.yml)"
	if [[ "$selector" == *"{"* ]]; then
		labels="${selector#*\{}"
		labels="${labels%\}}"
		IFS=',' read -ra pairs <<<"$labels"
		for pair in "${pairs[@]}"; do
			grep "^$name{" "$BM_TMP/metrics.txt" | grep -qF "$pair" ||
				bm_fail "serve exports no $name with $pair (used in alerts.yml)"
		done
	fi
done <"$BM_TMP/selectors"
bm_pass "every metric and label value in alerts.yml is exported: $(tr '\n' ' ' <"$BM_TMP/selectors")"
bm_done
