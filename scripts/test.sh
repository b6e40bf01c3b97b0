#!/usr/bin/env bash
# Installs what the tests need on Debian 12 (ffmpeg, PostgreSQL, Redis, npm packages), makes sure
# PostgreSQL and Redis are running, then runs every test (type check, unit and integration).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
apt_ensure ffmpeg redis-server postgresql ca-certificates chromium

# PostgreSQL 15 on 127.0.0.1:5432 with trust auth for local TCP, as the tests connect.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir /tmp
fi

mediasoup_ensure
npm_ensure
npm test
