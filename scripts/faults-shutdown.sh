#!/usr/bin/env bash
# Graceful shutdown under load. The example service (wwmaa-backend, embedded
# defaults: SQLite in a temporary directory, in-process cache, sandboxed APIs) exports its
# telemetry over OTLP/gRPC to a counting receiver (otelix-receiver --server-spans) with the
# default batch settings, so up to OTEL_BSP_SCHEDULE_DELAY (5 s) of spans wait in the queue
# when the signal comes. otelix-perf sends an open-loop load at RATE requests/s to
#   GET /api/members/7     fast (cache)
#   POST /api/ai/classify  a call to the sandboxed classification API (10 to 30 ms, served by
#                          the same process), so some requests are in flight at any moment
# for FAULT_SECONDS, then the service gets SIGTERM while the load goes on for AFTER_SECONDS
# more. Once the service has exited, the receiver is stopped and its SERVER spans are counted
# per route. Repeated REPEATS times, each with a fresh service, database and receiver.
#
# Prints per run: the responses the load got per endpoint (and their statuses), the SERVER
# spans the receiver got for that route, the transport errors, the service's exit status and
# how long it took to stop. Transport errors after the signal are expected and harmless:
#   connect  refused once the listener is closed;
#   io       "connection closed before message completed": a request sent on an idle keep-alive
#            connection as the server drained it. actix finishes the request each connection is
#            serving, then closes it without starting the next one, so such a request was never
#            started and has no span; a started request whose answer was cut off would leave a
#            span without a response, which the bound below catches.
# A classification in flight at the signal may answer 502: its call to the sandbox, served by
# the same process, can meet the closed listener or a drained connection. It is still a
# response, with its span; a real external API would not be shutting down.
# Exits non-zero when a run breaks a bound:
#   spans = responses for every route: each request that got a response was exported
#            (spans >= responses) and each request the service started got its response
#            (spans <= responses): in-flight requests finished
#   timeout = 0 (no request hung), no span drop warning logged
#   exit status 0, within the 30 s drain plus OTELIX_SHUTDOWN_TIMEOUT (5 s) + 5 s
#
# Usage: scripts/faults-shutdown.sh                  full run (about a minute after the build)
#        FAULT_SECONDS=3 scripts/faults-shutdown.sh  the short run (FAULTS_SHORT=1 scripts/faults.sh)
# Tunables: FAULT_SECONDS=10 AFTER_SECONDS=2 RATE=400 CONCURRENCY=32 REPEATS=3
set -euo pipefail

FAULT_SECONDS=${FAULT_SECONDS:-10}
AFTER_SECONDS=${AFTER_SECONDS:-2}
RATE=${RATE:-400}
CONCURRENCY=${CONCURRENCY:-32}
REPEATS=${REPEATS:-3}
# The example's drain (SHUTDOWN_GRACE_SECONDS), otelix's flush bound, and slack.
STOP_BOUND_SECONDS=40

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/faults.sh
source scripts/lib/faults.sh
die() { echo "faults-shutdown: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is required"

WORK=$(mktemp -d -t otelix-faults-shutdown.XXXXXX)
SERVER_PID=""
RECEIVER_PID=""
LOAD_PID=""
cleanup() {
  stop "$LOAD_PID"
  if [ -n "$SERVER_PID" ]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  stop "$RECEIVER_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --quiet -p wwmaa-backend -p otelix-testkit -p otelix-perf \
  --bin wwmaa-backend --bin otelix-receiver --bin otelix-perf || die "build failed"
BIN=$(release_dir)

now() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }


# run number: prints one JSON line with the run's figures
run() {
  local dir="$WORK/run$1" port receiver_port
  mkdir -p "$dir"
  port=$(free_port)
  receiver_port=$(free_port)
  "$BIN/otelix-receiver" --grpc-addr "127.0.0.1:$receiver_port" --http-addr "127.0.0.1:$(free_port)" \
    --report-every 1s --server-spans >"$dir/receiver.out" 2>"$dir/receiver.err" &
  RECEIVER_PID=$!
  wait_port "$receiver_port" "$RECEIVER_PID" || { cat "$dir/receiver.err" >&2; die "the receiver did not start"; }

  BIND_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/wwmaa.db" \
    SLOW_QUERY_LOG_FILE="$dir/slow_queries.log" DUNNING_INTERVAL_SECONDS=86400 \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$receiver_port" LOG_FORMAT=json RUST_LOG=info \
    "$BIN/wwmaa-backend" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$SERVER_PID" || { cat "$dir/server.log" >&2; die "the service did not start"; }

  "$BIN/otelix-perf" --base-url "http://127.0.0.1:$port" --slo "$WORK/load.yaml" \
    --rate "$RATE" --concurrency "$CONCURRENCY" \
    --duration "$((FAULT_SECONDS + AFTER_SECONDS))s" --timeout 30s --slowest 0 \
    --output "$dir/report.json" >/dev/null 2>"$dir/perf.err" &
  LOAD_PID=$!
  sleep "$FAULT_SECONDS"
  local signalled stopped status=0 in_flight
  # Requests being served just before the signal (the gauge the middleware keeps).
  in_flight=$(curl -s --max-time 2 "http://127.0.0.1:$port/metrics" |
    awk '/^http_server_active_requests/ { s += $NF } END { printf "%d\n", s }')
  signalled=$(now)
  kill -TERM "$SERVER_PID"
  # Bounded wait: a service that does not stop is killed and reported.
  for _ in $(seq 1 $((STOP_BOUND_SECONDS * 10))); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID"
    status=killed
  fi
  local code=0
  wait "$SERVER_PID" 2>/dev/null || code=$?
  [ "$status" = killed ] || status=$code
  stopped=$(now)
  SERVER_PID=""
  wait "$LOAD_PID" || true
  LOAD_PID=""
  [ -s "$dir/report.json" ] || { cat "$dir/perf.err" >&2; die "otelix-perf wrote no report"; }
  stop "$RECEIVER_PID"
  RECEIVER_PID=""
  python3 - "$dir" "$status" "$signalled" "$stopped" "$in_flight" <<'PY'
import json, sys
directory, status, signalled, stopped, in_flight = sys.argv[1:6]
report = json.load(open(f"{directory}/report.json"))
final = [json.loads(l) for l in open(f"{directory}/receiver.out") if '"final":true' in l]
spans = final[-1].get("server_spans", {}) if final else {}
dropped = sum(1 for l in open(f"{directory}/server.log") if "dropped" in l and '"level":"WARN"' in l)
routes = {"/api/members/7": "GET /api/members/{id}", "/api/ai/classify": "POST /api/ai/classify"}
rows = []
for e in report["endpoints"]:
    route = routes[e["path"]]
    rows.append({"endpoint": e["endpoint"], "route": route, "requests": e["requests"],
                 "responses": e["responses"], "status_codes": e["status_codes"],
                 "errors": e["errors"], "error_examples": e["error_examples"],
                 "spans": spans.get(route, 0)})
print(json.dumps({"status": status, "stop_s": float(stopped) - float(signalled), "rows": rows,
                  "in_flight": int(in_flight),
                  "not_sent": report["totals"]["not_sent"], "drop_warnings": dropped,
                  "receiver_final": bool(final)}))
PY
}

# The load's endpoints, in otelix-perf's SLO file format (the only way to give one endpoint a
# method and body of its own); the objectives are loose, the verdict is the script's.
cat >"$WORK/load.yaml" <<'YAML'
version: 1
service: wwmaa-backend
slos:
  - name: shutdown-load
    class: api
    endpoints:
      - {method: GET, path: /api/members/7}
      - method: POST
        path: /api/ai/classify
        body: {text: "How do I pay my dues?"}
    availability: 0.5
    latency_ms: {p99: 60000}
YAML

echo "faults-shutdown: SIGTERM after ${FAULT_SECONDS}s of $RATE requests/s (open loop, $CONCURRENCY connections)," \
  "load for ${AFTER_SECONDS}s more; $REPEATS runs"
: >"$WORK/results.jsonl"
for i in $(seq 1 "$REPEATS"); do
  run "$i" >>"$WORK/results.jsonl"
done

python3 - "$WORK/results.jsonl" "$STOP_BOUND_SECONDS" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
stop_bound = float(sys.argv[2])
failures = []
print(f"{'run':>3} {'route':<22} {'requests':>8} {'responses':>9} {'2xx':>6} {'other':>5} {'spans':>6} {'no span':>7} {'cut off':>7} {'connect':>7} {'io':>3} {'timeout':>7} {'exit':>4} {'stop s':>6} {'in flight':>9}")
for n, run in enumerate(runs, 1):
    if not run["receiver_final"]:
        failures.append(f"run {n}: the receiver printed no final line")
    for row in run["rows"]:
        codes = row["status_codes"]
        ok = sum(v for k, v in codes.items() if k.startswith("2"))
        other = row["responses"] - ok
        missing = max(0, row["responses"] - row["spans"])
        cut = max(0, row["spans"] - row["responses"])
        err = row["errors"]
        print(f"{n:>3} {row['route']:<22} {row['requests']:>8} {row['responses']:>9} {ok:>6} {other:>5} {row['spans']:>6} {missing:>7} {cut:>7} {err['connect']:>7} {err['io']:>3} {err['timeout']:>7} {run['status']:>4} {run['stop_s']:>6.2f} {run['in_flight']:>9}")
        if other:
            print(f"      other statuses: {', '.join(f'{k}: {v}' for k, v in sorted(codes.items()) if not k.startswith('2'))}")
        if missing:
            failures.append(f"run {n} {row['route']}: {row['spans']} spans < {row['responses']} responses")
        if cut:
            failures.append(f"run {n} {row['route']}: {cut} started requests got no response {row['error_examples']}")
        if err["timeout"]:
            failures.append(f"run {n} {row['route']}: {err['timeout']} requests timed out")
    if str(run["status"]) != "0":
        failures.append(f"run {n}: the service exited with {run['status']}")
    if run["stop_s"] > stop_bound:
        failures.append(f"run {n}: stopping took {run['stop_s']:.1f} s > {stop_bound:.0f} s")
    if run["drop_warnings"]:
        failures.append(f"run {n}: {run['drop_warnings']} span drop warnings logged")
if failures:
    print("FAIL\n  " + "\n  ".join(failures))
    sys.exit(1)
print("every response has its SERVER span at the receiver; every started request got its response")
PY
