#!/usr/bin/env bash
# Runs every test: installs the servers the tests start for themselves (PostgreSQL 15, Redis, HAProxy, nginx,
# Varnish, Caddy, Apache httpd), socat, wrk, Chromium and chromedriver when they are missing, then runs the solution's tests with a TRX report in TestResults/.
# Extra arguments go to `dotnet test`, e.g. build/test.sh --filter "FullyQualifiedName~Probing".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

have_postgres() {
  [ -x /usr/lib/postgresql/15/bin/postgres ] && return 0
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/postgres" ]
}

have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

missing=()
have_postgres || missing+=(postgresql)
have redis-server || missing+=(redis-server)
have haproxy || missing+=(haproxy)
have nginx || missing+=(nginx)
have socat || missing+=(socat)
have varnishd || missing+=(varnish)
have caddy || missing+=(caddy)
have apache2 || missing+=(apache2)
have wrk || missing+=(wrk)
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "Missing ${missing[*]}, and neither root nor sudo to install them: apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

dotnet test HealthKit.sln -c Release \
  --logger "trx;LogFilePrefix=HealthKit" \
  --results-directory TestResults \
  "$@"
