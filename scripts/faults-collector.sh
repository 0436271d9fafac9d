#!/usr/bin/env bash
# Collector faults under load (issue 11): the collector down, accepting and never answering,
# answering slowly, and rejecting every export. For each, a fresh otelix-bench-server (otelix
# mode, every span exported over OTLP/gRPC, metrics and logs too) takes an open-loop load from
# otelix-perf at RATE requests/s for FAULT_SECONDS while the fault lasts; then the collector comes
# back healthy and the script checks that spans of new requests arrive without a restart.
#
# Prints per scenario: p99 latency, throughput, both as ratios to the healthy run, peak RSS,
# spans dropped (otelix_exporter_dropped_total), drop warnings logged, and recovered yes/no.
# Exits non-zero when a scenario breaks a bound:
#   p99      <= healthy p99 x P99_RATIO_MAX + P99_SLACK_MS  (a sub-millisecond p99 jitters)
#   rps      >= healthy rps x RPS_RATIO_MIN
#   RSS      <= healthy RSS + RSS_EXTRA_MIB  (the export buffers' bound, see docs/benchmarks.md)
#   dropped  > 0 when the collector was down, hanging or rejecting: drops are counted
#   warnings <= 3 per reason and minute: drops are logged at most once a minute per reason
#   recovered: spans of requests sent after the collector returned reached it
#
# Usage: scripts/faults.sh            full run (about 3 minutes after the release build)
#        FAULT_SECONDS=4 scripts/faults.sh   the short run .ci/run uses
# Tunables: FAULT_SECONDS=20 RATE=2000 CONCURRENCY=16 P99_RATIO_MAX=1.1 P99_SLACK_MS=1
#           RPS_RATIO_MIN=0.9 RSS_EXTRA_MIB=24 PORT=18100 RECEIVER_PORT=14337
set -euo pipefail

FAULT_SECONDS=${FAULT_SECONDS:-20}
RATE=${RATE:-2000}
CONCURRENCY=${CONCURRENCY:-16}
P99_RATIO_MAX=${P99_RATIO_MAX:-1.1}
P99_SLACK_MS=${P99_SLACK_MS:-1}
RPS_RATIO_MIN=${RPS_RATIO_MIN:-0.9}
RSS_EXTRA_MIB=${RSS_EXTRA_MIB:-24}
PORT=${PORT:-18100}
RECEIVER_PORT=${RECEIVER_PORT:-14337}

cd "$(dirname "$0")/.."
WORK=$(mktemp -d -t otelix-faults.XXXXXX)
SERVER_PID=""
RECEIVER_PID=""
stop() { # pid
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() { stop "$SERVER_PID"; stop "$RECEIVER_PID"; rm -rf "$WORK"; }
trap cleanup EXIT
die() { echo "faults: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is required"
cargo build --release --quiet -p otelix-bench-server -p otelix-testkit -p otelix-perf \
  --bin otelix-bench-server --bin otelix-receiver --bin otelix-perf || die "build failed"
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/release"

wait_port() { # port, pid
  for _ in $(seq 1 200); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

start_receiver() { # behavior
  "$BIN/otelix-receiver" --grpc-addr "127.0.0.1:$RECEIVER_PORT" \
    --http-addr "127.0.0.1:$((RECEIVER_PORT + 1))" --report-every 200ms --behavior "$1" \
    >"$WORK/receiver.out" 2>"$WORK/receiver.err" &
  RECEIVER_PID=$!
  wait_port "$RECEIVER_PORT" "$RECEIVER_PID" || { cat "$WORK/receiver.err" >&2; die "the receiver did not start"; }
}

received_spans() {
  tail -n 1 "$WORK/receiver.out" 2>/dev/null |
    python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(json.loads(t)["spans"] if t else 0)'
}

start_server() {
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT" OTEL_EXPORTER_OTLP_TIMEOUT=2000 \
    OTEL_BSP_SCHEDULE_DELAY=200 OTEL_METRIC_EXPORT_INTERVAL=1000 RUST_LOG=warn LOG_FORMAT=json \
    "$BIN/otelix-bench-server" --mode otelix --addr "127.0.0.1:$PORT" \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$PORT" "$SERVER_PID" || { cat "$WORK/server.log" >&2; die "the server did not start"; }
}

# Open-loop load; prints "p99_ms rps".
load() { # seconds
  "$BIN/otelix-perf" --base-url "http://127.0.0.1:$PORT" --endpoint /users/7 \
    --rate "$RATE" --duration "${1}s" --concurrency "$CONCURRENCY" --output "$WORK/report.json" \
    >/dev/null 2>"$WORK/perf.err" || true
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
e = r["endpoints"][0]
print(e["latency_ms"]["p99"], r["totals"]["throughput_rps"], r["totals"]["responses"])' "$WORK/report.json"
}

dropped() {
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^otelix_exporter_dropped_total/ { s += $NF } END { printf "%d\n", s }'
}

# scenario behavior: prints "p99 rps rss_kib dropped warnings recovered"
run_scenario() {
  local name="$1" behavior="$2"
  [ "$behavior" = down ] || start_receiver "$behavior"
  start_server
  load 2 >/dev/null # warm-up
  read -r p99 rps responses < <(load "$FAULT_SECONDS")
  local rss dropped_now warnings
  rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
  dropped_now=$(dropped)
  warnings=$(grep -c 'dropped' "$WORK/server.log" || true)
  # The collector comes back healthy; new requests' spans must reach it.
  stop "$RECEIVER_PID"
  start_receiver accept
  local recovered=no
  for _ in $(seq 1 40); do
    load 1 >/dev/null
    if [ "$(received_spans)" -gt 0 ]; then recovered=yes; break; fi
  done
  # Each scenario runs in a subshell: it stops its own processes.
  stop "$SERVER_PID"; SERVER_PID=""
  stop "$RECEIVER_PID"; RECEIVER_PID=""
  echo "$name $p99 $rps $rss $dropped_now $warnings $recovered $responses"
}

echo "faults: ${FAULT_SECONDS}s per scenario at $RATE requests/s (open loop, $CONCURRENCY connections)"
results=()
for scenario in "healthy accept" "down down" "hang hang" "slow delay=3s" "reject reject"; do
  # shellcheck disable=SC2086 # name and behavior, split on purpose
  line=$(run_scenario $scenario) || die "scenario ${scenario%% *} could not run"
  results+=("$line")
done

cat >"$WORK/verdict.py" <<'PY'
import math, sys
p99_max, slack, rps_min, rss_extra, seconds = map(float, sys.argv[1:6])
rows = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
base = rows[0]
b_p99, b_rps, b_rss = float(base[1]), float(base[2]), int(base[3])
print(f"{'scenario':<9} {'p99 ms':>8} {'p99/ok':>7} {'req/s':>8} {'rps/ok':>7} {'RSS MiB':>8} {'dropped':>8} {'warned':>7} {'recovered':>9}")
failures = []
for name, p99, rps, rss, dropped, warned, recovered, responses in rows:
    p99, rps, rss, dropped, warned = float(p99), float(rps), int(rss), int(dropped), int(warned)
    print(f"{name:<9} {p99:>8.2f} {p99 / b_p99:>7.2f} {rps:>8.0f} {rps / b_rps:>7.2f} {rss / 1024:>8.1f} {dropped:>8} {warned:>7} {recovered:>9}")
    if p99 > b_p99 * p99_max + slack:
        failures.append(f"{name}: p99 {p99:.2f} ms > {p99_max} x {b_p99:.2f} + {slack} ms")
    if rps < b_rps * rps_min:
        failures.append(f"{name}: {rps:.0f} requests/s < {rps_min} x {b_rps:.0f}")
    if rss > b_rss + rss_extra * 1024:
        failures.append(f"{name}: RSS {rss / 1024:.1f} MiB > healthy {b_rss / 1024:.1f} + {rss_extra:.0f} MiB")
    if name in ("down", "hang", "reject") and dropped == 0:
        failures.append(f"{name}: no drop was counted")
    if warned > 3 * 3 * math.ceil(seconds / 60 + 1):
        failures.append(f"{name}: {warned} drop warnings logged (at most one a minute per reason)")
    if recovered != "yes":
        failures.append(f"{name}: export did not resume after the collector came back")
if failures:
    print("FAIL\n  " + "\n  ".join(failures))
    sys.exit(1)
print("all scenarios within their bounds")
PY
printf '%s\n' "${results[@]}" |
  python3 "$WORK/verdict.py" "$P99_RATIO_MAX" "$P99_SLACK_MS" "$RPS_RATIO_MIN" "$RSS_EXTRA_MIB" "$FAULT_SECONDS"
