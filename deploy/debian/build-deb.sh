#!/usr/bin/env bash
# Builds the Debian package: a release build with Debian's hardening flags
# (dpkg-buildflags), installed under /usr, packed by `cpack -G DEB`.
#
#   deploy/debian/build-deb.sh [BUILD_DIR]     (default: build-deb)
#
# Prints the path of bookto-moneybird_<version>-<release>_<arch>.deb.
set -euo pipefail
# The package's modes must not depend on the caller's umask (the tests run under
# umask 077): directories 0755 and files 0644 unless the build sets others.
umask 022
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="${1:-$source_dir/build-deb}"
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

export DEB_BUILD_MAINT_OPTIONS="hardening=+all"
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS LDFLAGS

cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr -DBM_BUILD_TESTS=OFF -DBM_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$jobs" >/dev/null
rm -f "$build_dir"/bookto-moneybird_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
ls "$build_dir"/bookto-moneybird_*.deb
