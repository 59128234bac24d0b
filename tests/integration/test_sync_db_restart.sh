#!/usr/bin/env bash
# Idle workers survive a PostgreSQL restart: serve's workers wait for work
# holding their connections; PostgreSQL restarts (fast shutdown ends those
# sessions); an order that arrives afterwards is still synced. A claim on a
# lost connection used to read as "nothing to claim", so idle workers never
# reconnected and every later order stayed queued until serve restarted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_lib.sh"
sync_stack 300/10 workers=2 rate_limit=300/10

post_order rs-1
bm_assert_synced 1 "an order before the restart is synced"
sleep 1 # the workers are idle again, waiting on their connections

bm_pg_stop
bm_pg_start_again
bm_pass "PostgreSQL restarted under idle workers"

# As the world sends them: a retail price with odd cents, and a business
# buyer whose name is in three scripts.
post_order rs-2 total=19.99 excl=16.52 vat=3.47 rate=21 email="Zoë.Müller@example.com"
post_order rs-3 match_ref=NL123456789B01 vat_number=NL123456789B01 \
	company="Ærø & Zoon Bäckerei 東京 B.V." email="inkoop@aero-zoon.example"
bm_assert_synced 3 "orders that arrive after the restart are synced"
bm_assert_eq "$(bm_count_orders "state NOT IN ('synced', 'reconciled')")" 0 \
	"no order is left queued or in progress"
bm_assert_eq "$(sim_invoice_field "$(order_value rs-2 order_number)" \
	"(i->>'total_price_incl_tax') || ' paid ' || (i->'payments'->0->>'price')")" \
	"19.99 paid 19.99" "the odd-cent order is invoiced and paid to the cent"
bm_assert_contains "$(cat "$BM_TMP/connector.log")" "claim_failed" \
	"the lost connection is reported when a claim fails on it"
bm_serve_stop
bm_done
