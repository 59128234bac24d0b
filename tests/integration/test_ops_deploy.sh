#!/usr/bin/env bash
# deploy/: the systemd unit passes `systemd-analyze verify` (and its offline
# security exposure stays low); the nginx site passes `nginx -t` with a
# throwaway certificate and, running, proxies only the two webhook paths with
# its body limit; deploy/postgres-setup.sql makes an owner role that migrates
# and an app role that serves and syncs but cannot run DDL or alter the audit
# log. A check is skipped (with the reason printed) only when its tool is not
# installed here.
source "$(dirname "$0")/lib.sh"
bm_setup
DEPLOY="$BM_SOURCE_DIR/deploy"

# --- systemd unit ------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	unit="$BM_TMP/bookto-moneybird.service"
	# The unit names the installed binary; verify checks that it is executable.
	sed "s#/usr/sbin/bookto-moneybird#$BM_BINARY#g" "$DEPLOY/bookto-moneybird.service" >"$unit"
	rc=0
	systemd-analyze verify "$unit" >"$BM_TMP/verify.out" 2>&1 || rc=$?
	bm_assert_eq "$rc" 0 "systemd-analyze verify accepts the unit ($(cat "$BM_TMP/verify.out"))"
	bm_assert_eq "$(grep -v 'ignoring\.$' "$BM_TMP/verify.out" | grep -c . || true)$(grep -c 'ignoring' "$BM_TMP/verify.out" || true)" "00" \
		"systemd-analyze verify prints no warning"
	for key in "User=bookto-moneybird" "NoNewPrivileges=true" "ProtectSystem=strict" "PrivateTmp=true" \
		"EnvironmentFile=" "CapabilityBoundingSet=" "KillSignal=SIGTERM" "LimitCORE=0"; do
		bm_assert_contains "$(cat "$unit")" "$key" "the unit sets $key"
	done
	if systemd-analyze security --offline=true "$unit" >"$BM_TMP/security.out" 2>&1; then
		level="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$BM_TMP/security.out")"
		awk -v l="$level" 'BEGIN { exit !(l != "" && l + 0 <= 2.0) }' &&
			bm_pass "systemd's exposure level of the unit is $level (<= 2.0)" ||
			bm_fail "exposure level [$level] is above 2.0: $(tail -n 3 "$BM_TMP/security.out")"
	else
		echo "# skipped the exposure check: this systemd-analyze has no 'security --offline'"
	fi
else
	echo "# skipped the systemd unit checks: systemd-analyze is not installed"
fi

# --- PostgreSQL roles -----------------------------------------------------------------
bm_pg_start
bm_mbsim_start
"$BM_PSQL" -X -q "postgresql://postgres@127.0.0.1:$BM_PG_PORT/postgres" \
	-c "DROP DATABASE bookto_moneybird" >/dev/null || bm_fail "could not drop the test database"
setup() {
	"$BM_PSQL" -X -q -v ON_ERROR_STOP=1 -v owner_password="'owner-pw'" -v app_password="'app-pw'" \
		"postgresql://postgres@127.0.0.1:$BM_PG_PORT/postgres" -f "$DEPLOY/postgres-setup.sql" \
		>"$BM_TMP/setup.out" 2>&1 || { cat "$BM_TMP/setup.out" >&2; bm_fail "postgres-setup.sql failed"; }
}
setup
bm_pass "postgres-setup.sql runs"
setup
bm_pass "postgres-setup.sql runs again (idempotent)"
owner_url="postgresql://bookto_moneybird_owner@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
app_url="postgresql://bookto_moneybird_app@127.0.0.1:$BM_PG_PORT/bookto_moneybird"
export BM_DATABASE_URL="$app_url"
bm_write_config workers=1
bm_assert_eq "$(bm_psql "SELECT current_user")" bookto_moneybird_app "the tests' psql now runs as the app role"

rc=0
BOOKTO_MONEYBIRD_DATABASE="$app_url" "$BM_BINARY" -c "$BM_CONFIG" migrate >"$BM_TMP/migrate-app.out" 2>&1 || rc=$?
bm_assert_eq "$rc" 1 "migrate as the app role fails (no DDL): $(head -c 200 "$BM_TMP/migrate-app.out")"
BOOKTO_MONEYBIRD_DATABASE="$owner_url" "$BM_BINARY" -c "$BM_CONFIG" migrate >"$BM_TMP/migrate.out" 2>&1 ||
	{ cat "$BM_TMP/migrate.out" >&2; bm_fail "migrate as the owner role failed"; }
bm_pass "migrate as the owner role works"
setup # applies the audit_log revoke to the new table
bm_assert_eq "$(bm_psql "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'")" bookto_moneybird_owner \
	"the tables belong to the owner role"

bm_serve_start
f="$(bm_order_json dep-1)"
bm_post_expect /webhooks/bookto/shop "$f" 200 accepted "a delivery stored by the app role"
bm_assert_synced 1 "the app role syncs the order (budget, contact, invoice, payment)"
"$BM_BINARY" -c "$BM_CONFIG" status >/dev/null 2>&1 && bm_pass "status runs as the app role" ||
	bm_fail "status failed as the app role"
"$BM_BINARY" -c "$BM_CONFIG" audit verify >/dev/null 2>&1 && bm_pass "audit verify runs as the app role" ||
	bm_fail "audit verify failed as the app role"

refused() { # SQL MESSAGE: the app role must be refused
	if bm_psql "$1" >/dev/null 2>"$BM_TMP/refused.err"; then
		bm_fail "$2: the app role was allowed: $1"
	fi
	grep -Eq "permission denied|must be owner" "$BM_TMP/refused.err" && bm_pass "$2" ||
		bm_fail "$2: unexpected error $(cat "$BM_TMP/refused.err")"
}
refused "CREATE TABLE intruder (id int)" "the app role cannot create a table"
refused "DROP TABLE orders" "the app role cannot drop a table"
refused "ALTER TABLE orders ADD COLUMN x int" "the app role cannot alter a table"
refused "UPDATE audit_log SET actor = 'x' WHERE id = 1" "the app role cannot update the audit log"
refused "DELETE FROM audit_log" "the app role cannot delete from the audit log"
refused "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update" "the app role cannot disable the audit trigger"
refused "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'x', 'x')" \
	"the app role cannot fake a migration"

# --- nginx site ---------------------------------------------------------------------
# nginx must close an idle upstream connection before the connector does (a
# POST racing the connector's close gets a 502 and is lost): the upstream's
# keepalive_timeout stays below the example config's idle close.
upstream_idle="$(sed -n '/^upstream /,/^}/s/^[[:space:]]*keepalive_timeout \([0-9]*\)s;.*/\1/p' \
	"$DEPLOY/nginx-bookto-moneybird.conf")"
daemon_idle="$(sed -n 's/^  request_timeout_seconds = \([0-9]*\);.*/\1/p' "$BM_SOURCE_DIR/config.example.cfg")"
[[ -n "$upstream_idle" && -n "$daemon_idle" ]] ||
	bm_fail "no upstream keepalive_timeout in the nginx site, or no request_timeout_seconds in config.example.cfg"
((upstream_idle < daemon_idle)) ||
	bm_fail "nginx keeps idle upstream connections ${upstream_idle}s, the connector closes them after ${daemon_idle}s"
bm_pass "nginx drops idle upstream connections (${upstream_idle}s) before the connector (${daemon_idle}s)"
if command -v nginx >/dev/null 2>&1; then
	ng="$BM_TMP/nginx"
	mkdir -p "$ng/logs"
	chmod 755 "$ng"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
		-keyout "$ng/key.pem" -out "$ng/cert.pem" >/dev/null 2>&1 || bm_fail "openssl could not make a certificate"
	# nginx_config: writes the site with fresh ports into $ng.
	nginx_config() {
		https_port="$(bm_free_port)"
		http_port="$(bm_free_port)"
		sed -e "s#/etc/letsencrypt/live/connector.example.com/fullchain.pem#$ng/cert.pem#" \
			-e "s#/etc/letsencrypt/live/connector.example.com/privkey.pem#$ng/key.pem#" \
			-e "s#/var/log/nginx/#$ng/logs/#g" \
			-e "s#127.0.0.1:8080#127.0.0.1:$BM_HTTP_PORT#" \
			-e "s#listen 443 ssl;#listen 127.0.0.1:$https_port ssl;#" \
			-e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
			-e "/listen \[::\]/d" \
			"$DEPLOY/nginx-bookto-moneybird.conf" >"$ng/site.conf"
		cat >"$ng/nginx.conf" <<CONF
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/logs/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $ng/body;
	proxy_temp_path $ng/proxy;
	fastcgi_temp_path $ng/fastcgi;
	uwsgi_temp_path $ng/uwsgi;
	scgi_temp_path $ng/scgi;
	include $ng/site.conf;
}
CONF
	}
	# nginx_diagnostics: what nginx said, for a failure message.
	nginx_diagnostics() {
		cat "$ng/run.out" "$ng/logs/error.log" 2>/dev/null | tail -n 8 | tr '\n' ' '
	}

	nginx_config
	rc=0
	nginx -t -p "$ng" -c "$ng/nginx.conf" >"$ng/test.out" 2>&1 || rc=$?
	bm_assert_eq "$rc" 0 "nginx -t accepts the site ($(tr '\n' ' ' <"$ng/test.out"))"

	# Started up to three times: a port picked as free can be taken by a test
	# running alongside before nginx binds it.
	nginx_pid=""
	for attempt in 1 2 3; do
		[[ $attempt -gt 1 ]] && nginx_config
		: >"$ng/logs/error.log"
		nginx -p "$ng" -c "$ng/nginx.conf" -g 'daemon off;' >"$ng/run.out" 2>&1 &
		nginx_pid=$!
		for _ in $(seq 1 100); do
			kill -0 "$nginx_pid" 2>/dev/null || break
			bm_port_free "$https_port" || bm_port_free "$http_port" || break
			sleep 0.1
		done
		kill -0 "$nginx_pid" 2>/dev/null && ! bm_port_free "$https_port" && break
		echo "# nginx did not start (attempt $attempt): $(nginx_diagnostics)"
		kill -KILL "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
		nginx_pid=""
	done
	[[ -n "$nginx_pid" ]] || bm_fail "nginx did not start three times: $(nginx_diagnostics)"
	saved_url="$BM_URL"
	export BM_URL="https://127.0.0.1:$https_port"
	f="$(bm_order_json dep-2)"
	bm_post_bookto /webhooks/bookto/shop "$f" "$BM_SECRET_CURRENT" "" -k
	bm_assert_eq "$BM_STATUS" 200 "a signed order through nginx (TLS) is accepted (body: $BM_BODY; nginx: $(nginx_diagnostics))"
	bm_assert_contains "$BM_BODY" accepted "nginx passes the connector's answer"
	bm_assert_eq "$(curl -sk -o /dev/null -w '%{http_code}' "$BM_URL/metrics")" 404 "/metrics is not published"
	bm_assert_eq "$(curl -sk -o /dev/null -w '%{http_code}' "$BM_URL/healthz")" 404 "/healthz is not published"
	bm_assert_eq "$(curl -sk -o /dev/null -w '%{http_code}' "$BM_URL/webhooks/bookto/shop")" 405 \
		"GET on a webhook path reaches the connector (405)"
	big="$(bm_pad_json "$f" 300000)"
	bm_post_bookto /webhooks/bookto/shop "$big" "$BM_SECRET_CURRENT" "" -k
	bm_assert_eq "$BM_STATUS" 413 "a body above 256 KiB is refused by nginx"
	bm_assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/webhooks/bookto/shop")" 301 \
		"plain HTTP redirects to HTTPS"
	export BM_URL="$saved_url"
	kill -TERM "$nginx_pid" 2>/dev/null || true
	bm_wait_pid_gone "$nginx_pid" 50 || kill -KILL "$nginx_pid" 2>/dev/null || true
	wait "$nginx_pid" 2>/dev/null || true
else
	echo "# skipped the nginx checks: nginx is not installed (deploy/install-deps.sh installs it)"
fi
bm_serve_stop
bm_done
