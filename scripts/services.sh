#!/usr/bin/env bash
# PostgreSQL and Redis for the tests, on 127.0.0.1: installed from Debian's packages when missing,
# started when down, and set up the way the tests expect (a `test` database, trust for the
# postgres user on loopback). Idempotent: a second run with both up does nothing.
# Used by .ci/run; runnable by hand (root or sudo for the install):  bash scripts/services.sh
# Then:  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
note() { printf 'services: %s\n' "$*" >&2; }

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

# --- install -----------------------------------------------------------------------------------
packages=()
command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ] ||
  packages+=(postgresql)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
if [ "${#packages[@]}" -gt 0 ] && ! { pg_up && redis_up; }; then
  note "installing ${packages[*]} from Debian's packages"
  $SUDO apt-get update -qq
  # No service manager runs here (a container): the packages' own start attempts may fail, so
  # policy-rc.d keeps them from trying; this script starts the servers itself below.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
  [ -n "$own_policy" ] && $SUDO rm -f "$policy"
fi

# --- PostgreSQL --------------------------------------------------------------------------------
pg_version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)"
if [ -n "$pg_version" ] && ! pg_up; then
  if [ ! -d "/etc/postgresql/$pg_version/main" ]; then
    note "creating PostgreSQL $pg_version cluster main"
    $SUDO pg_createcluster "$pg_version" main >/dev/null
  fi
  conf="/etc/postgresql/$pg_version/main"
  # The tests connect as postgres without a password over TCP on loopback, and only there.
  if ! $SUDO grep -q '^# otelix: trust on loopback' "$conf/pg_hba.conf"; then
    note "PostgreSQL: trust for loopback connections ($conf/pg_hba.conf)"
    hba="$(mktemp)"
    {
      echo '# otelix: trust on loopback (tests only; written by scripts/services.sh)'
      echo 'local   all  all                 trust'
      echo 'host    all  all  127.0.0.1/32   trust'
      echo 'host    all  all  ::1/128        trust'
      $SUDO cat "$conf/pg_hba.conf"
    } >"$hba"
    $SUDO cp "$hba" "$conf/pg_hba.conf"
    rm -f "$hba"
  fi
  note "starting PostgreSQL $pg_version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start ||
    note "pg_ctlcluster start failed (log: /var/log/postgresql/postgresql-$pg_version-main.log)"
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    note "creating database test"
    psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test' >/dev/null
  fi
fi

# --- Redis -------------------------------------------------------------------------------------
if command -v redis-server >/dev/null 2>&1 && ! redis_up; then
  note "starting Redis"
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/otelix-redis"
  mkdir -p "$dir"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" || note "redis-server failed to start (log: $dir/redis.log)"
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

status=0
if pg_up; then note "PostgreSQL up on 127.0.0.1:5432 (database test)"; else note "PostgreSQL NOT reachable"; status=1; fi
if redis_up; then note "Redis up on 127.0.0.1:6379"; else note "Redis NOT reachable"; status=1; fi
exit "$status"
