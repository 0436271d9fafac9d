#!/usr/bin/env bash
# Redis and PostgreSQL lost and restored under load. The example service
# (wwmaa-backend) runs against a PostgreSQL and a Redis of its own, started here on free ports
# of 127.0.0.1 in a temporary directory (the system's instances are never touched), under an
# open-loop load from otelix-perf at RATE requests/s on two endpoints:
#   GET /api/members/7         cache-aside: Redis first, the database on a miss
#   GET /api/members?limit=5   the database only
# Two scenarios on the same service process, Redis first, then PostgreSQL; each has four
# phases of FAULT_SECONDS of load:
#   before   both backends up
#   outage   the backend is killed KILL_DELAY into the phase (Redis: SIGKILL; PostgreSQL:
#            pg_ctl stop -m immediate), with queries and connections in flight
#   restore  the backend is started again on the same port KILL_DELAY into the phase
#   after    both backends up again; the service was never restarted
#
# Prints per scenario and phase: requests, errors (5xx, transport), error rate, p99 and max
# latency, status codes; the answer to one request sent during the outage; log lines naming
# the backend; seconds from the backend being back to the service using it again.
# Exits non-zero when a bound is broken:
#   redis outage     no request fails (the cache reads as a miss), and none takes longer than
#                    2 x the Redis operation timeout (get, then set: 250 ms each, fixed in the
#                    example) + MARGIN_MS; p99 stays under one operation timeout (a refused
#                    connection fails at once, not when the timeout runs out); a log line names
#                    redis
#   postgres outage  requests that need the database fail with 503 and a JSON body
#                    {"error": "Service Unavailable", "request_id": <the X-Request-ID header>},
#                    none takes longer than DATABASE_ACQUIRE_TIMEOUT_MS + MARGIN_MS (no hang),
#                    no status but 200 and 503, and a log line names postgresql
#   recovery         within RECOVER_SECONDS of the backend accepting connections, the service
#                    uses it again (PostgreSQL: a query succeeds; Redis: a cache hit in the new
#                    instance), and the "after" phase has no error, in the same process
#
# Usage: scripts/faults-backends.sh                  full run (about 3 minutes after the build)
#        FAULT_SECONDS=3 scripts/faults-backends.sh  the short run (FAULTS_SHORT=1 scripts/faults.sh)
# Tunables: FAULT_SECONDS=20 RATE=200 MARGIN_MS=500 KILL_DELAY=0.5 RECOVER_SECONDS=5 (whole)
#           ACQUIRE_TIMEOUT_MS=1000 (the service's DATABASE_ACQUIRE_TIMEOUT_MS; its default is
#           5000, shorter here so that a short run sees many timeouts)
#           CONCURRENCY=RATE*ACQUIRE_TIMEOUT_MS/1000+64 PG_BIN=/usr/lib/postgresql/<version>/bin
# Needs: PostgreSQL server binaries (initdb, pg_ctl; run as the postgres user when root),
# redis-server and redis-cli, curl, python3.
set -euo pipefail

FAULT_SECONDS=${FAULT_SECONDS:-20}
RATE=${RATE:-200}
ACQUIRE_TIMEOUT_MS=${ACQUIRE_TIMEOUT_MS:-1000}
# Open loop: while the database is down, RATE/2 requests a second each wait out the acquire
# timeout; enough connections that they do not hold up the other requests in the load tool.
CONCURRENCY=${CONCURRENCY:-$((RATE * ACQUIRE_TIMEOUT_MS / 1000 + 64))}
MARGIN_MS=${MARGIN_MS:-500}
KILL_DELAY=${KILL_DELAY:-0.5}
RECOVER_SECONDS=${RECOVER_SECONDS:-5}
# The example's Redis cache bounds each operation to RedisCache::DEFAULT_TIMEOUT.
REDIS_OP_TIMEOUT_MS=250

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/faults.sh
source scripts/lib/faults.sh
die() { echo "faults-backends: $*" >&2; exit 1; }

if [ -z "${PG_BIN:-}" ]; then
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && PG_BIN=$dir
  done
fi
[ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL server binaries not found: set PG_BIN"
for tool in redis-server redis-cli curl python3; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

WORK=$(mktemp -d -t otelix-faults-backends.XXXXXX)
# PostgreSQL refuses to run as root: its directory belongs to the user that runs it.
PG_DIR=$(mktemp -d -t otelix-faults-pg.XXXXXX)
PG_DATA="$PG_DIR/data"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$PG_DIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
SERVER_PID=""
REDIS_PID=""
LOAD_PID=""

pg_stop() { # mode
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m "$1" -w stop >/dev/null 2>&1 || true
  fi
}
cleanup() {
  stop "$LOAD_PID"
  stop "$SERVER_PID"
  pg_stop immediate
  if [ -n "$REDIS_PID" ]; then kill -KILL "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK" "$PG_DIR"
}
trap cleanup EXIT

cargo build --release --quiet -p wwmaa-backend -p otelix-perf --bin wwmaa-backend --bin otelix-perf ||
  die "build failed"
BIN=$(release_dir)

PORT=$(free_port)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
# Wall clock in microseconds (bash 5), cheap enough to poll with.
now_us() { echo "${EPOCHREALTIME/./}"; }


pg_start() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c full_page_writes=off" start >/dev/null ||
    { cat "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
}
redis_start() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    >>"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_port "$REDIS_PORT" "$REDIS_PID" || { cat "$WORK/redis.log" >&2; die "Redis did not start"; }
}
redis_kill() {
  kill -KILL "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
}

as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync -E UTF8 >"$WORK/initdb.log" 2>&1 ||
  { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
pg_start
redis_start

BIND_ADDR="127.0.0.1:$PORT" DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" \
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT" DATABASE_ACQUIRE_TIMEOUT_MS="$ACQUIRE_TIMEOUT_MS" \
  DUNNING_INTERVAL_SECONDS=86400 SLOW_QUERY_LOG_FILE="$WORK/slow_queries.log" \
  OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
  LOG_FORMAT=json RUST_LOG=info \
  "$BIN/wwmaa-backend" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_port "$PORT" "$SERVER_PID" || { cat "$WORK/server.log" >&2; die "the service did not start"; }
BASE="http://127.0.0.1:$PORT"

load() { # seconds, report file
  "$BIN/otelix-perf" --base-url "$BASE" --endpoint /api/members/7 --endpoint '/api/members?limit=5' \
    --rate "$RATE" --concurrency "$CONCURRENCY" --duration "${1}s" --slowest 0 --output "$2" \
    >/dev/null 2>>"$WORK/perf.err" || true
  [ -s "$2" ] || { cat "$WORK/perf.err" >&2; die "otelix-perf wrote no report"; }
}

# One request during the outage: "status seconds" and the headers and body in files.
probe() { # path, name
  : >"$WORK/$2.body"; : >"$WORK/$2.headers"
  curl -s -o "$WORK/$2.body" -D "$WORK/$2.headers" -w '%{http_code} %{time_total}' \
    --max-time 30 "$BASE$1" || true
  echo
}

# The log lines after line N that match a pattern: their count, then the first one.
log_lines_since() { # line number, pattern
  tail -n "+$(($1 + 1))" "$WORK/server.log" | grep -- "$2" >"$WORK/named.log" || true
  wc -l <"$WORK/named.log"
  head -n 1 "$WORK/named.log"
}

# scenario name: runs the four phases, writes $WORK/<name>.*.json and $WORK/<name>.facts
run_scenario() {
  local name=$1 recovered_at="" ready_at since lines hits
  load 2 "$WORK/warmup.json"
  load "$FAULT_SECONDS" "$WORK/$name.before.json"

  load "$FAULT_SECONDS" "$WORK/$name.outage.json" &
  LOAD_PID=$!
  sleep "$KILL_DELAY"
  lines=$(wc -l <"$WORK/server.log")
  case $name in
    redis) redis_kill ;;
    postgres) pg_stop immediate ;;
  esac
  sleep 0.3
  case $name in
    redis) read -r code seconds < <(probe /api/members/7 probe) ;;
    postgres) read -r code seconds < <(probe '/api/members?limit=5' probe) ;;
  esac
  wait "$LOAD_PID"; LOAD_PID=""
  case $name in
    redis) log_lines_since "$lines" '"backend":"redis .*"level":"WARN"' >"$WORK/$name.named" ;;
    postgres) log_lines_since "$lines" '"db_system":"postgresql".*"level":"ERROR"' >"$WORK/$name.named" ;;
  esac

  load "$FAULT_SECONDS" "$WORK/$name.restore.json" &
  LOAD_PID=$!
  sleep "$KILL_DELAY"
  case $name in
    redis) redis_start ;;
    postgres) pg_start ;;
  esac
  ready_at=$(now_us)
  local deadline=$((ready_at + RECOVER_SECONDS * 1000000))
  while [ "$(now_us)" -lt "$deadline" ]; do
    case $name in
      # The new Redis is empty: a hit means the service reconnected, filled it and read it.
      redis)
        hits=$(redis-cli -p "$REDIS_PORT" info stats 2>/dev/null | tr -d '\r' | awk -F: '/^keyspace_hits:/ { print $2 }')
        [ "${hits:-0}" -gt 0 ] && break ;;
      postgres) [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/api/members?limit=5")" = 200 ] && break ;;
    esac
    sleep 0.05
  done
  since=$(now_us)
  if [ "$since" -lt "$deadline" ]; then
    recovered_at=$(awk -v us="$((since - ready_at))" 'BEGIN { printf "%.2f", us / 1e6 }')
  fi
  wait "$LOAD_PID"; LOAD_PID=""

  load "$FAULT_SECONDS" "$WORK/$name.after.json"
  python3 - "$WORK/$name.facts" "$code" "$seconds" "$WORK/probe.headers" "$WORK/probe.body" \
    "$WORK/$name.named" "${recovered_at:-none}" <<'PY'
import json, sys
out, code, seconds, headers, body, named, recovered = sys.argv[1:8]
named = open(named).read().splitlines()
request_id = None
for line in open(headers, encoding="latin-1"):
    key, _, value = line.partition(":")
    if key.strip().lower() == "x-request-id":
        request_id = value.strip()
try:
    body = json.load(open(body))
except ValueError:
    body = open(body, encoding="latin-1").read()[:200]
json.dump({"probe": {"status": int(code), "seconds": float(seconds), "request_id": request_id,
                     "body": body},
           "log_lines": int(named[0]), "log_example": named[1] if len(named) > 1 else None,
           "recovered_s": None if recovered == "none" else float(recovered)},
          open(out, "w"))
PY
}

echo "faults-backends: ${FAULT_SECONDS}s per phase at $RATE requests/s (open loop, $CONCURRENCY connections);" \
  "PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT, acquire timeout ${ACQUIRE_TIMEOUT_MS} ms"
run_scenario redis
run_scenario postgres
kill -0 "$SERVER_PID" 2>/dev/null || die "the service exited"
same_process=yes

cat >"$WORK/verdict.py" <<'PY'
import json, sys
work, acquire_ms, redis_op_ms, margin_ms, recover_s, same_process = sys.argv[1:7]
acquire_ms, redis_op_ms, margin_ms, recover_s = float(acquire_ms), float(redis_op_ms), float(margin_ms), float(recover_s)
failures = []
print(f"{'scenario':<9} {'phase':<8} {'endpoint':<26} {'requests':>8} {'errors':>6} {'err %':>6} {'p99 ms':>8} {'max ms':>8}  status codes")
for scenario in ("redis", "postgres"):
    facts = json.load(open(f"{work}/{scenario}.facts"))
    for phase in ("before", "outage", "restore", "after"):
        report = json.load(open(f"{work}/{scenario}.{phase}.json"))
        for e in report["endpoints"]:
            errors = sum(e["errors"][k] for k in ("connect", "timeout", "http_5xx", "io"))
            lat = e["latency_ms"] or {"p99": float("nan"), "max": float("nan")}
            rate = 100.0 * errors / e["requests"] if e["requests"] else 0.0
            codes = " ".join(f"{k}:{v}" for k, v in sorted(e["status_codes"].items()))
            print(f"{scenario:<9} {phase:<8} {e['endpoint']:<26} {e['requests']:>8} {errors:>6} {rate:>6.1f} {lat['p99']:>8.1f} {lat['max']:>8.1f}  {codes}")
            where = f"{scenario} {phase} {e['endpoint']}"
            transport = {k: e["errors"][k] for k in ("connect", "timeout", "io") if e["errors"][k]}
            if transport:
                failures.append(f"{where}: transport errors {transport} {e['error_examples']}")
            if phase == "outage":
                if scenario == "redis":
                    bound = 2 * redis_op_ms + margin_ms
                    if errors:
                        failures.append(f"{where}: {errors} requests failed while only the cache was down")
                    if lat["p99"] >= redis_op_ms:
                        failures.append(f"{where}: p99 {lat['p99']:.0f} ms: cache calls wait for their timeout instead of failing at once")
                else:
                    bound = acquire_ms + margin_ms
                    other = set(e["status_codes"]) - {"200", "503"}
                    if other:
                        failures.append(f"{where}: statuses {sorted(other)} besides 200 and 503")
                if lat["max"] > bound:
                    failures.append(f"{where}: a request took {lat['max']:.0f} ms > {bound:.0f} ms")
            if phase == "after" and errors:
                failures.append(f"{where}: {errors} errors after the backend came back")
    probe = facts["probe"]
    print(f"  {scenario} outage: one request answered {probe['status']} in {probe['seconds'] * 1000:.0f} ms,"
          f" body {json.dumps(probe['body'])}; {facts['log_lines']} log lines name the backend;"
          f" back in use {facts['recovered_s'] if facts['recovered_s'] is not None else 'never'} s after it was")
    if facts["log_example"]:
        print(f"    {facts['log_example']}")
    if scenario == "postgres":
        body = probe["body"]
        ok = (probe["status"] == 503 and isinstance(body, dict)
              and body.get("error") == "Service Unavailable"
              and isinstance(body.get("request_id"), str) and len(body["request_id"]) == 32
              and body["request_id"] == probe["request_id"])
        if not ok:
            failures.append(f"postgres outage: the answer was {probe}, not a 503 with the request ID")
        if probe["seconds"] * 1000 > acquire_ms + margin_ms:
            failures.append(f"postgres outage: the probe took {probe['seconds']:.2f} s")
    elif probe["status"] != 200:
        failures.append(f"redis outage: a cached member was answered {probe['status']}, not 200")
    if facts["log_lines"] == 0:
        failures.append(f"{scenario} outage: no log line names the backend")
    if facts["recovered_s"] is None:
        failures.append(f"{scenario}: not back in use within {recover_s:.0f} s")
print(f"service restarted: {'no' if same_process == 'yes' else 'yes'}")
if failures:
    print("FAIL\n  " + "\n  ".join(failures))
    sys.exit(1)
print("all bounds hold")
PY
python3 "$WORK/verdict.py" "$WORK" "$ACQUIRE_TIMEOUT_MS" "$REDIS_OP_TIMEOUT_MS" "$MARGIN_MS" \
  "$RECOVER_SECONDS" "$same_process"
