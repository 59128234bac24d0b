#!/usr/bin/env bash
# The Debian package, end to end, without touching this machine's /etc:
#   - deploy/debian/build-deb.sh builds it (cpack -G DEB, dpkg-shlibdeps);
#   - its contents (dpkg-deb -c), control fields (dpkg-deb -f), conffiles
#     and maintainer scripts are what deploy/debian/package.cmake promises;
#   - lintian reports no error and no warning that is not overridden;
#   - installed with `dpkg --root` into a scratch root (maintainer scripts
#     run with DPKG_ROOT, --force-script-chrootless): the system user, the
#     folders' owners and modes, the config's group, the enabled unit; an
#     edited conffile survives a re-install; remove keeps the conffile; purge
#     removes the rest but keeps a spool that still holds a delivery;
#     re-install after purge starts clean.
#   - the logrotate snippet rotates a log folder like the package's (owner
#     and paths pointed at a temporary folder) and runs its postrotate.
# Needs dpkg-dev, lintian, systemd (sysusers, tmpfiles), logrotate;
# deploy/install-deps.sh installs them.
source "$(dirname "$0")/../integration/lib.sh"
bm_setup
for tool in dpkg-deb dpkg-shlibdeps lintian cpack systemd-sysusers systemd-tmpfiles deb-systemd-helper logrotate; do
	command -v "$tool" >/dev/null 2>&1 || bm_fail "$tool is missing: run deploy/install-deps.sh"
done

# --- build ----------------------------------------------------------------------------
started=$(date +%s)
"$BM_SOURCE_DIR/deploy/debian/build-deb.sh" "$BM_BUILD_DIR/package-deb" >"$BM_TMP/build.out" 2>&1 ||
	{ tail -n 30 "$BM_TMP/build.out" >&2; bm_fail "build-deb.sh failed"; }
deb="$(tail -n 1 "$BM_TMP/build.out")"
arch="$(dpkg --print-architecture)"
version="$BM_PROJECT_VERSION-1"
bm_assert_eq "$(basename "$deb")" "bookto-moneybird_${version}_${arch}.deb" \
	"cpack made bookto-moneybird_<version>_<arch>.deb ($(($(date +%s) - started)) s)"

# --- control fields ---------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
bm_assert_eq "$(field Package)" bookto-moneybird "Package"
bm_assert_eq "$(field Version)" "$version" "Version is the project's version, Debian revision 1"
bm_assert_eq "$(field Architecture)" "$arch" "Architecture"
depends="$(field Depends)"
for lib in adduser libc6 libcurl4 libmicrohttpd12 libpq5 libconfig9 libcjson1 libssl3; do
	[[ ", $depends," == *", $lib"[\ ,]* ]] || bm_fail "Depends lacks $lib: $depends"
done
bm_pass "Depends has adduser and each shared library (dpkg-shlibdeps): $depends"
bm_assert_contains "$(field Description)" "Moneybird" "Description"
bm_assert_eq "$(field Section)/$(field Priority)" "net/optional" "Section and Priority"
changelog_version="$(dpkg-deb --fsys-tarfile "$deb" |
	tar -xO ./usr/share/doc/bookto-moneybird/changelog.Debian.gz | gzip -dc | head -n 1 |
	sed -n 's/^bookto-moneybird (\([^)]*\)).*/\1/p')"
bm_assert_eq "$changelog_version" "$version" "changelog.Debian's latest entry is this version"

# --- contents ---------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' >"$BM_TMP/contents"
has() { # MODE OWNER PATH
	grep -qxF -e "$1 $2 ./$3" "$BM_TMP/contents" || bm_fail "the package lacks $1 $2 $3: $(grep -F "$3" "$BM_TMP/contents" || echo absent)"
}
has -rwxr-xr-x root/root usr/sbin/bookto-moneybird
has -rw-r----- root/root etc/bookto-moneybird/connector.cfg
has -rw-r--r-- root/root etc/logrotate.d/bookto-moneybird
has -rw-r--r-- root/root lib/systemd/system/bookto-moneybird.service
has -rw-r--r-- root/root usr/lib/sysusers.d/bookto-moneybird.conf
has -rw-r--r-- root/root usr/lib/tmpfiles.d/bookto-moneybird.conf
has -rw-r--r-- root/root usr/share/man/man8/bookto-moneybird.8.gz
has -rw-r--r-- root/root usr/share/doc/bookto-moneybird/copyright
has -rw-r--r-- root/root usr/share/doc/bookto-moneybird/changelog.Debian.gz
has -rw-r--r-- root/root usr/share/lintian/overrides/bookto-moneybird
has -rw-r--r-- root/root usr/share/bookto-moneybird/postgres-setup.sql
has -rw-r--r-- root/root usr/share/bookto-moneybird/prometheus/alerts.yml
has -rw-r--r-- root/root usr/share/bookto-moneybird/nginx/bookto-moneybird.conf
has -rw-r--r-- root/root usr/share/bookto-moneybird/mappings/default.cfg
has -rw-r--r-- root/root usr/share/bookto-moneybird/console/console.css
for migration in "$BM_SOURCE_DIR"/migrations/*.sql; do
	has -rw-r--r-- root/root "usr/share/bookto-moneybird/migrations/$(basename "$migration")"
done
bm_pass "contents: binary, conffiles, unit, sysusers, tmpfiles, man page, docs, migrations, mappings"
bm_assert_eq "$(grep -c 'usr/local' "$BM_TMP/contents" || true)" 0 "nothing under /usr/local"
dpkg-deb -e "$deb" "$BM_TMP/control"
bm_assert_eq "$(cat "$BM_TMP/control/conffiles")" \
	"$(printf '/etc/bookto-moneybird/connector.cfg\n/etc/logrotate.d/bookto-moneybird')" "conffiles"
for script in postinst prerm postrm; do
	[[ -x "$BM_TMP/control/$script" ]] || bm_fail "no executable $script"
	sh -n "$BM_TMP/control/$script" || bm_fail "$script is not valid sh"
done
bm_pass "postinst, prerm and postrm are executable POSIX sh"
dpkg-deb -x "$deb" "$BM_TMP/unpacked"
bm_assert_contains "$(grep -a -o '/usr/share/bookto-moneybird' "$BM_TMP/unpacked/usr/sbin/bookto-moneybird" | head -n 1)" \
	/usr/share/bookto-moneybird "the binary looks for mappings in /usr/share/bookto-moneybird"
bm_assert_contains "$(grep '^ExecStart=' "$BM_TMP/unpacked/lib/systemd/system/bookto-moneybird.service")" \
	"ExecStart=/usr/sbin/bookto-moneybird " "the unit starts /usr/sbin/bookto-moneybird"
bm_assert_eq "$("$BM_TMP/unpacked/usr/sbin/bookto-moneybird" --version)" "bookto-moneybird $BM_PROJECT_VERSION" \
	"the packaged binary runs"

# --- lintian ------------------------------------------------------------------------
rc=0
lintian --fail-on error,warning "$deb" \
	>"$BM_TMP/lintian.out" 2>&1 || rc=$?
bm_assert_eq "$rc" 0 "lintian: no error, no warning that is not overridden ($(grep -E '^[EW]:' "$BM_TMP/lintian.out" | head -n 5))"
bm_assert_eq "$(grep -cE '^[EW]:' "$BM_TMP/lintian.out" || true)" 0 "lintian printed no E: or W: line"

# --- logrotate ------------------------------------------------------------------------
lr="$BM_TMP/logrotate"
mkdir -p "$lr/log"
echo "a line" >"$lr/log/connector.log"
sed -e "s#bookto-moneybird bookto-moneybird#$(id -un) $(id -gn)#" \
	-e "s#/var/log/bookto-moneybird/#$lr/log/#" \
	-e "s#systemctl reload bookto-moneybird.service#touch $lr/postrotate-ran#" \
	-e "s#if \[ -d /run/systemd/system \]; then#if true; then#" \
	"$BM_TMP/unpacked/etc/logrotate.d/bookto-moneybird" >"$lr/conf"
logrotate -f -s "$lr/state" "$lr/conf" >"$lr/out" 2>&1 || bm_fail "logrotate failed: $(cat "$lr/out")"
[[ -s "$lr/log/connector.log.1" && -e "$lr/postrotate-ran" ]] ||
	bm_fail "logrotate did not rotate or run postrotate: $(ls "$lr" "$lr/log")"
bm_assert_eq "$(stat -c '%a %s' "$lr/log/connector.log")" "640 0" "logrotate rotates and recreates the log (0640)"

# --- install into a scratch root -------------------------------------------------------
root="$BM_TMP/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
	"$root/var/log" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
	dpkg --root="$root" --log="$root/var/log/dpkg.log" --force-depends --force-script-chrootless \
		--force-not-root "$@" >>"$BM_TMP/dpkg.out" 2>&1 ||
		{ tail -n 20 "$BM_TMP/dpkg.out" >&2; bm_fail "dpkg $* failed"; }
}
dpkg_root -i "$deb"
bm_assert_eq "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}' bookto-moneybird)" \
	"install ok installed $version" "dpkg --root installs it"
passwd="$(grep '^bookto-moneybird:' "$root/etc/passwd" || true)"
uid="$(cut -d: -f3 <<<"$passwd")"
gid="$(awk -F: '$1 == "bookto-moneybird" { print $3 }' "$root/etc/group")"
[[ -n "$uid" && -n "$gid" && "$uid" -lt 1000 ]] || bm_fail "no system user and group in the root: [$passwd]"
bm_assert_eq "$(cut -d: -f6,7 <<<"$passwd")" "/var/lib/bookto-moneybird:/usr/sbin/nologin" \
	"the system user (sysusers.d) has the state folder as home and no shell"
mode() { stat -c '%a %u:%g' "$root$1"; }
bm_assert_eq "$(mode /var/lib/bookto-moneybird)" "700 $uid:$gid" "state folder 0700, owned by the user"
bm_assert_eq "$(mode /var/lib/bookto-moneybird/spool)" "700 $uid:$gid" "spool folder 0700, owned by the user"
bm_assert_eq "$(mode /var/log/bookto-moneybird)" "750 $uid:$gid" "log folder 0750, owned by the user"
bm_assert_eq "$(mode /etc/bookto-moneybird)" "750 0:$gid" "config folder 0750 root:bookto-moneybird"
bm_assert_eq "$(mode /etc/bookto-moneybird/connector.cfg)" "640 0:$gid" "connector.cfg 0640 root:bookto-moneybird"
bm_assert_eq "$(readlink "$root/etc/systemd/system/multi-user.target.wants/bookto-moneybird.service")" \
	/lib/systemd/system/bookto-moneybird.service "the unit is enabled (deb-systemd-helper)"
bm_assert_eq "$(diff "$root/etc/bookto-moneybird/connector.cfg" "$BM_SOURCE_DIR/config.example.cfg" && echo same)" \
	same "connector.cfg is config.example.cfg"

# The shipped config and mapping pass `config check` together (the config is
# copied next to the installed mappings/ folder, where its relative path
# resolves without the machine's /usr/share).
cp "$root/etc/bookto-moneybird/connector.cfg" "$root/usr/share/bookto-moneybird/check.cfg"
out="$(BOOKTO_SIGNING_SECRET=s MONEYBIRD_API_TOKEN=t "$root/usr/sbin/bookto-moneybird" \
	-c "$root/usr/share/bookto-moneybird/check.cfg" config check 2>&1)" ||
	bm_fail "config check of the shipped config failed: $out"
bm_pass "the shipped connector.cfg and mapping pass config check"
rm "$root/usr/share/bookto-moneybird/check.cfg"

# --- conffile kept, remove, purge, re-install ------------------------------------------
echo '# changed by the admin' >>"$root/etc/bookto-moneybird/connector.cfg"
dpkg_root -i "$deb"
bm_assert_eq "$(tail -n 1 "$root/etc/bookto-moneybird/connector.cfg")" "# changed by the admin" \
	"re-installing keeps the admin's change to the conffile"
bm_assert_eq "$(mode /etc/bookto-moneybird/connector.cfg)" "640 0:$gid" "and its owner and mode"
bm_assert_contains "$(cat "$BM_TMP/dpkg.out")" "Run \`bookto-moneybird migrate\`" \
	"the upgrade says: migrate, then restart"

dpkg_root --remove bookto-moneybird
[[ ! -e "$root/usr/sbin/bookto-moneybird" ]] || bm_fail "remove left the binary"
bm_assert_eq "$(tail -n 1 "$root/etc/bookto-moneybird/connector.cfg")" "# changed by the admin" \
	"remove keeps the conffile"
bm_assert_eq "$(readlink "$root/etc/systemd/system/bookto-moneybird.service")" /dev/null \
	"remove masks the unit"

# A delivery still in the spool must survive a purge.
echo '{}' >"$root/var/lib/bookto-moneybird/spool/pending.json"
dpkg_root --purge bookto-moneybird
bm_assert_eq "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' bookto-moneybird 2>/dev/null || echo gone)" \
	gone "purge forgets the package"
[[ ! -e "$root/etc/bookto-moneybird" ]] || bm_fail "purge left /etc/bookto-moneybird: $(ls -A "$root/etc/bookto-moneybird")"
[[ ! -e "$root/var/log/bookto-moneybird" ]] || bm_fail "purge left the log folder"
[[ ! -e "$root/etc/systemd/system/bookto-moneybird.service" ]] || bm_fail "purge left the mask"
[[ ! -e "$root/etc/systemd/system/multi-user.target.wants/bookto-moneybird.service" ]] ||
	bm_fail "purge left the unit enabled"
bm_assert_eq "$(cat "$root/var/lib/bookto-moneybird/spool/pending.json" 2>/dev/null)" "{}" \
	"purge keeps a spool that holds a delivery"
bm_assert_contains "$(cat "$BM_TMP/dpkg.out")" "holds deliveries that never reached PostgreSQL" "and says so"
rm -r "$root/var/lib/bookto-moneybird"

dpkg_root -i "$deb"
bm_assert_eq "$(diff "$root/etc/bookto-moneybird/connector.cfg" "$BM_SOURCE_DIR/config.example.cfg" && echo same)" \
	same "re-install after purge ships a fresh connector.cfg"
bm_assert_eq "$(grep -c '^bookto-moneybird:' "$root/etc/passwd")" 1 "the user exists once"
bm_assert_eq "$(mode /var/lib/bookto-moneybird/spool)" "700 $uid:$gid" "the spool folder is back"
dpkg_root --purge bookto-moneybird
[[ ! -e "$root/var/lib/bookto-moneybird" ]] || bm_fail "purge of an empty spool left /var/lib/bookto-moneybird"
bm_pass "purge with an empty spool removes the state folder"
bm_done
