#!/usr/bin/env bash
# Makes sure the local PostgreSQL and Redis that the tests use are running, starting them with
# the machine's own commands when they are down. Prints the URLs to export.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_up; then
  echo "services: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | head -n 1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if command -v redis-server >/dev/null 2>&1 && ! redis_up; then
  echo "services: starting Redis" >&2
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

pg_up && echo "services: PostgreSQL up on 127.0.0.1:5432" >&2 || echo "services: PostgreSQL NOT reachable" >&2
redis_up && echo "services: Redis up on 127.0.0.1:6379" >&2 || echo "services: Redis NOT reachable" >&2
