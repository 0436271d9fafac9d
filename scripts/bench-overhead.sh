#!/usr/bin/env bash
# Instrumentation overhead and export delivery, measured over the network.
#
# Runs otelix-bench-server (GET /users/{id}) bare and with otelix, one actix worker pinned to
# core 0 (`taskset -c 0`: the server's export threads share that core, so their cost counts),
# loads it with wrk pinned to core 1 next to the counting OTLP receiver (otelix-receiver), and
# prints per mode the medians over alternating rounds of: requests/s, server CPU per request
# (utime+stime from /proc/PID/stat over the measured run / requests), spans received per
# request after the shutdown flush, and peak RSS (VmHWM); then the ratios otelix/bare. A soak
# run keeps the otelix server saturated for SOAK_SECONDS and reports the share of spans that
# reached the receiver and the drops otelix counted; last, the time of a /metrics scrape with
# METRIC_SERIES extra series.
#
# Usage: scripts/bench-overhead.sh   (about 3.5 minutes with the defaults, after the release build)
# Tunables (environment): ROUNDS=3 DURATION=10 WARMUP=2 SOAK_SECONDS=60 CONNECTIONS=32
#   METRIC_SERIES=500 SERVER_CPU=0 LOAD_CPU=1 PORT=18080 RECEIVER_PORT=14317 SKIP_BUILD=0
#   SERVER_BIN=path (another build of otelix-bench-server, to compare versions)
# Exits non-zero when the set-up fails; missed targets print MISS but do not fail the run.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SOAK_SECONDS=${SOAK_SECONDS:-60}
CONNECTIONS=${CONNECTIONS:-32}
METRIC_SERIES=${METRIC_SERIES:-500}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-18080}
RECEIVER_PORT=${RECEIVER_PORT:-14317}
RECEIVER_HTTP_PORT=${RECEIVER_HTTP_PORT:-$((RECEIVER_PORT + 1))}
SKIP_BUILD=${SKIP_BUILD:-0}

cd "$(dirname "$0")/.."
WORK=$(mktemp -d -t otelix-bench.XXXXXX)
RECEIVER_PID=""
SERVER_PID=""

cleanup() {
  for pid in "$SERVER_PID" "$RECEIVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "bench-overhead: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bench-overhead: installing wrk from Debian's packages"
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk \
    || die "cannot install wrk"
fi
for tool in taskset python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[ "$(nproc)" -ge 2 ] || echo "bench-overhead: only $(nproc) CPU; server and load share it, figures are not meaningful"

if [ "$SKIP_BUILD" != 1 ]; then
  echo "bench-overhead: building (release)"
  cargo build --release --quiet -p otelix-bench-server -p otelix-testkit --bin otelix-bench-server --bin otelix-receiver \
    || die "build failed"
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
SERVER_BIN=${SERVER_BIN:-"$TARGET_DIR/release/otelix-bench-server"}
RECEIVER_BIN="$TARGET_DIR/release/otelix-receiver"
[ -x "$SERVER_BIN" ] && [ -x "$RECEIVER_BIN" ] || die "binaries missing under $TARGET_DIR/release"

CLK_TCK=$(getconf CLK_TCK)

# --- helpers -----------------------------------------------------------------------------
wait_port() { # port, pid
  for _ in $(seq 1 200); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

cpu_ticks() { # utime + stime of a process (fields 14 and 15; the name may hold spaces)
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

received_spans() { # the last count line of the receiver
  tail -n 1 "$WORK/receiver.out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["spans"])'
}

# Spans only stop arriving once the server's final flush is through: wait until the count
# stays the same for a second.
settled_spans() {
  local last now
  last=$(received_spans)
  for _ in $(seq 1 30); do
    sleep 1
    now=$(received_spans)
    [ "$now" = "$last" ] && break
    last=$now
  done
  echo "$last"
}

wrk_requests() { # total requests from wrk's output
  awk '/requests in/ { print $1 }' "$1"
}

start_server() { # mode, extra args...
  local mode=$1; shift
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT" \
  OTEL_SERVICE_NAME="otelix-bench-server" \
  OTEL_METRIC_EXPORT_INTERVAL="${OTEL_METRIC_EXPORT_INTERVAL:-10000}" \
  APP_ENV=production LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" \
  SLOW_QUERY_LOG_FILE="$WORK/slow_queries.log" \
    taskset -c "$SERVER_CPU" "$SERVER_BIN" --mode "$mode" --addr "127.0.0.1:$PORT" "$@" \
    >"$WORK/server-$mode.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$PORT" "$SERVER_PID" || { cat "$WORK/server-$mode.log" >&2; die "the $mode server did not start"; }
}

stop_server() {
  kill -TERM "$SERVER_PID"
  local status=0
  wait "$SERVER_PID" || status=$?
  SERVER_PID=""
  [ "$status" -eq 0 ] || { cat "$WORK/server-$1.log" >&2; die "the $1 server exited with status $status"; }
}

load() { # seconds, output file
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1s" "http://127.0.0.1:$PORT/users/42" >"$2" 2>&1 \
    || { cat "$2" >&2; die "wrk failed"; }
}

# One measured run: prints "mode rps cpu_us_per_request spans_per_request peak_rss_kib".
run_once() {
  local mode=$1 duration=$2
  local spans_before spans_after ticks_before ticks_after requests warm rss
  spans_before=$(received_spans)
  start_server "$mode"
  load "$WARMUP" "$WORK/warmup.txt"
  warm=$(wrk_requests "$WORK/warmup.txt")
  ticks_before=$(cpu_ticks "$SERVER_PID")
  load "$duration" "$WORK/wrk.txt"
  ticks_after=$(cpu_ticks "$SERVER_PID")
  requests=$(wrk_requests "$WORK/wrk.txt")
  rss=$(peak_rss_kib "$SERVER_PID")
  if [ "$mode" = otelix ]; then
    curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt" || die "/metrics failed"
  fi
  stop_server "$mode"
  spans_after=$(settled_spans)
  python3 - "$mode" "$duration" "$requests" "$warm" "$ticks_before" "$ticks_after" "$CLK_TCK" \
    "$spans_before" "$spans_after" "$rss" <<'EOF'
import sys
mode, duration, requests, warm, t0, t1, hz, s0, s1, rss = sys.argv[1:]
requests, warm = int(requests), int(warm)
cpu_us = (int(t1) - int(t0)) / int(hz) * 1e6 / requests
spans = (int(s1) - int(s0)) / (requests + warm)
print(f"{mode} {requests / float(duration):.0f} {cpu_us:.2f} {spans:.5f} {rss}")
EOF
}

# --- receiver ----------------------------------------------------------------------------
taskset -c "$LOAD_CPU" "$RECEIVER_BIN" --grpc-addr "127.0.0.1:$RECEIVER_PORT" \
  --http-addr "127.0.0.1:$RECEIVER_HTTP_PORT" --report-every 200ms \
  >"$WORK/receiver.out" 2>"$WORK/receiver.err" &
RECEIVER_PID=$!
wait_port "$RECEIVER_PORT" "$RECEIVER_PID" || { cat "$WORK/receiver.err" >&2; die "the receiver did not start"; }
sleep 0.5

echo "bench-overhead: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs;" \
  "server on CPU $SERVER_CPU, wrk and receiver on CPU $LOAD_CPU; $ROUNDS rounds x ${DURATION}s per mode," \
  "$CONNECTIONS connections"

: >"$WORK/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which mode goes first, so drift (heat, other load) hits both alike.
  if [ $((round % 2)) -eq 1 ]; then order="bare otelix"; else order="otelix bare"; fi
  for mode in $order; do
    line=$(run_once "$mode" "$DURATION")
    echo "  round $round: $line"
    echo "$line" >>"$WORK/results.txt"
  done
done

soak_line=""
if [ "$SOAK_SECONDS" -gt 0 ]; then
  echo "bench-overhead: soak, otelix saturated for ${SOAK_SECONDS}s"
  soak_line=$(run_once otelix "$SOAK_SECONDS")
  cp "$WORK/metrics.txt" "$WORK/soak-metrics.txt"
  echo "  soak: $soak_line"
fi

# /metrics render time with METRIC_SERIES extra series, idle server.
start_server otelix --metric-series "$METRIC_SERIES"
curl -fsS "http://127.0.0.1:$PORT/users/1" >/dev/null
for _ in $(seq 1 5); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/metrics"; done
for _ in $(seq 1 30); do
  curl -fsS -o "$WORK/scrape.txt" -w '%{time_starttransfer}\n' "http://127.0.0.1:$PORT/metrics"
done >"$WORK/scrape-times.txt"
series=$(grep -cv '^#' "$WORK/scrape.txt" || true)
stop_server otelix

python3 - "$WORK/results.txt" "$soak_line" "$WORK/scrape-times.txt" "$series" "$WORK/soak-metrics.txt" <<'EOF'
import re, statistics, sys
results, soak, scrape_file, series, soak_metrics = sys.argv[1:]
rows = {"bare": [], "otelix": []}
for line in open(results):
    mode, rps, cpu, spans, rss = line.split()
    rows[mode].append((float(rps), float(cpu), float(spans), int(rss)))
med = {m: [statistics.median(col) for col in zip(*r)] for m, r in rows.items()}
b, o = med["bare"], med["otelix"]
print()
print(f"{'median of ' + str(len(rows['bare'])) + ' rounds':<22}{'requests/s':>12}{'CPU us/req':>12}{'spans/req':>11}{'peak RSS':>11}")
for name, m in (("bare actix-web", b), ("otelix", o)):
    print(f"{name:<22}{m[0]:>12.0f}{m[1]:>12.2f}{m[2]:>11.4f}{m[3] / 1024:>9.1f} MiB")
cpu_ratio = o[1] / b[1]
print(f"{'otelix / bare':<22}{o[0] / b[0]:>11.2f}x{cpu_ratio:>11.2f}x{'':>11}{o[3] / b[3]:>10.2f}x")
print()
verdict = lambda ok: "PASS" if ok else "MISS"
print(f"{verdict(cpu_ratio <= 1.3)}  CPU per request {cpu_ratio:.2f}x bare (target <= 1.30x; +{o[1] - b[1]:.2f} us)")
if soak:
    _, rps, _, spans, rss = soak.split()
    delivered = float(spans) * 100
    dropped = 0.0
    try:
        for line in open(soak_metrics):
            if line.startswith("otelix_exporter_dropped_total"):
                dropped += float(line.rsplit(" ", 1)[1])
    except OSError:
        pass
    print(f"{verdict(delivered >= 99.9)}  spans delivered during the soak at {float(rps):.0f} req/s: {delivered:.3f}% "
          f"(target >= 99.9%; otelix_exporter_dropped_total before shutdown: {dropped:.0f}; peak RSS {int(rss) / 1024:.1f} MiB)")
times = sorted(float(t) * 1000 for t in open(scrape_file))
p50 = statistics.median(times)
print(f"{verdict(p50 < 5)}  /metrics scrape with {series} series: median {p50:.2f} ms, max {times[-1]:.2f} ms (target < 5 ms)")
EOF
