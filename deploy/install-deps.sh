#!/usr/bin/env bash
# Installs the Debian packages needed to build, test and run bookto-moneybird.
# Skips apt entirely when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libconfig-dev
  libpq-dev libssl-dev libcmocka-dev
  postgresql postgresql-contrib curl openssl ca-certificates procps iproute2
  clang libclang-rt-dev   # libFuzzer targets (tests/fuzz, -DBM_FUZZ=ON)
  nginx                   # `nginx -t` of deploy/'s site (tests/integration/test_ops_deploy.sh)
  clang-format            # tests/structure/check.sh (format check before the build)
  valgrind                # memcheck of the main path (ctest -L valgrind, tests/run.sh)
  dpkg-dev file lintian man-db systemd logrotate   # the Debian package: cpack -G DEB with
                          # dpkg-shlibdeps, lintian, man --warnings, sysusers/tmpfiles,
                          # the logrotate snippet (ctest -L package)
  prometheus              # promtool: the alert rules (tests/integration/test_ops_alerts.sh)
  chromium chromium-driver python3-selenium   # the console's browser test
                          # (tests/integration/test_console_browser.sh)
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "Missing packages (${missing[*]}) and no root rights: run this script as root." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
