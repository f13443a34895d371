#!/usr/bin/env bash
# Debian packages some tests need: PostgreSQL 15 (a real TLS server) and PgBouncer (a real
# transaction-mode pooler). Installed only when running as root with apt-get and only if missing;
# elsewhere the tests that need them skip and say why.
set -euo pipefail
missing=()
[ -x "$(command -v pg_config || true)" ] && [ -x "$(pg_config --bindir)/postgres" ] || missing+=(postgresql-15)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-packages: not root or no apt-get; tests needing ${missing[*]} will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
# Debian's package starts a cluster service on install; the tests run their own servers.
command -v pg_ctlcluster >/dev/null 2>&1 && service postgresql stop >/dev/null 2>&1 || true
service pgbouncer stop >/dev/null 2>&1 || true
echo "system-packages: installed ${missing[*]}"
