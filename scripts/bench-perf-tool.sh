#!/usr/bin/env bash
# otelix-perf's own speed against wrk: the two load generators drive the same
# endpoint of the example service with the same number of connections for the same time.
#
# Starts wwmaa-backend (release, offline defaults, telemetry export off) pinned to one core
# (`taskset -c SERVER_CPU`: actix then runs one worker), then alternates rounds of
# `wrk -t1 -cC` and `otelix-perf --concurrency C` pinned to the other core (LOAD_CPU), and
# prints each round's requests/s and CPU time per request of the load generator, then the
# median of the per-round ratios otelix-perf / wrk (target >= 0.9). The rounds are paired and
# short so that other work on the machine weighs on both generators alike.
#
# Usage: scripts/bench-perf-tool.sh   (about 2 minutes with the defaults, after the build)
# Tunables (environment): ROUNDS=9 DURATION=5 WARMUP=2 CONNECTIONS=32 ENDPOINT=/health
#   SERVER_CPU=0 LOAD_CPU=1 PORT=18090 SKIP_BUILD=0
# Exits non-zero when the set-up fails; a ratio under the target prints MISS but does not fail.
set -euo pipefail

ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
ENDPOINT=${ENDPOINT:-/health}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-18090}
SKIP_BUILD=${SKIP_BUILD:-0}
TARGET_RATIO=0.9

cd "$(dirname "$0")/.."
WORK=$(mktemp -d -t otelix-perf-bench.XXXXXX)
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "bench-perf-tool: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bench-perf-tool: installing wrk from Debian's packages"
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk \
    || die "cannot install wrk"
fi
for tool in taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[ "$(nproc)" -ge 2 ] || echo "bench-perf-tool: only $(nproc) CPU; server and load share it, figures are not meaningful"

if [ "$SKIP_BUILD" != 1 ]; then
  echo "bench-perf-tool: building (release)"
  cargo build --release --quiet -p wwmaa-backend -p otelix-perf || die "build failed"
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
SERVER_BIN="$TARGET_DIR/release/wwmaa-backend"
PERF_BIN="$TARGET_DIR/release/otelix-perf"
[ -x "$SERVER_BIN" ] && [ -x "$PERF_BIN" ] || die "binaries missing under $TARGET_DIR/release"

# --- server ------------------------------------------------------------------------------
wait_port() { # port, pid
  for _ in $(seq 1 600); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# The service creates ./data and ./logs where it runs: run it in the scratch directory.
(
  cd "$WORK"
  BIND_ADDR="127.0.0.1:$PORT" OTEL_SDK_DISABLED=true RUST_LOG=warn \
    exec taskset -c "$SERVER_CPU" "$SERVER_BIN" >"$WORK/server.log" 2>&1
) &
SERVER_PID=$!
wait_port "$PORT" "$SERVER_PID" || { cat "$WORK/server.log" >&2; die "wwmaa-backend did not start"; }
URL="http://127.0.0.1:$PORT"
curl_ok=$(python3 - "$URL$ENDPOINT" <<'EOF'
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
EOF
) || die "GET $ENDPOINT failed"
[ "$curl_ok" = 200 ] || die "GET $ENDPOINT answered $curl_ok"

# --- load generators ---------------------------------------------------------------------
# Each prints "requests/s CPU-microseconds-per-request" (user + system time of the load
# generator): while the server is the bottleneck, the second figure shows the headroom left.
cpu_seconds() { # a file written by bash's time with TIMEFORMAT='%U %S'
  awk '{ print $1 + $2 }' "$1"
}

run_wrk() { # seconds
  local TIMEFORMAT='%U %S'
  { time taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${1}s" "$URL$ENDPOINT" >"$WORK/wrk.out"; } 2>"$WORK/wrk.time"
  python3 - "$WORK/wrk.out" "$(cpu_seconds "$WORK/wrk.time")" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M).group(1))
requests = int(re.search(r"^\s*([0-9]+) requests in", text, re.M).group(1))
print(rps, float(sys.argv[2]) * 1e6 / requests)
EOF
}

run_perf() { # seconds
  local TIMEFORMAT='%U %S'
  { time taskset -c "$LOAD_CPU" "$PERF_BIN" --base-url "$URL" --endpoint "$ENDPOINT" \
    --concurrency "$CONNECTIONS" --duration "${1}s" --slowest 0 --output "$WORK/perf.json" \
    >"$WORK/perf.out" 2>"$WORK/perf.err"; } 2>"$WORK/perf.time" || { cat "$WORK/perf.err" >&2; die "otelix-perf failed"; }
  python3 - "$WORK/perf.json" "$(cpu_seconds "$WORK/perf.time")" <<'EOF'
import json, sys
totals = json.load(open(sys.argv[1]))["totals"]
assert totals["responses"] == totals["requests"], totals["errors"]
print(totals["throughput_rps"], float(sys.argv[2]) * 1e6 / totals["requests"])
EOF
}

echo "bench-perf-tool: GET $ENDPOINT, $CONNECTIONS connections, ${DURATION}s per run, $ROUNDS rounds;" \
  "server on CPU $SERVER_CPU, load on CPU $LOAD_CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))"
run_wrk "$WARMUP" >/dev/null
run_perf "$WARMUP" >/dev/null

WRK_RPS=()
PERF_RPS=()
WRK_CPU=()
PERF_CPU=()
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which one goes first, so a drift of the machine does not favour either.
  if [ $((round % 2)) -eq 1 ]; then
    read -r w wc < <(run_wrk "$DURATION"); read -r p pc < <(run_perf "$DURATION")
  else
    read -r p pc < <(run_perf "$DURATION"); read -r w wc < <(run_wrk "$DURATION")
  fi
  [ -n "$w" ] && [ -n "$p" ] || die "round $round: a load generator gave no figure"
  WRK_RPS+=("$w"); WRK_CPU+=("$wc")
  PERF_RPS+=("$p"); PERF_CPU+=("$pc")
  printf 'round %d: wrk %8.0f req/s (%5.1f us CPU/req)   otelix-perf %8.0f req/s (%5.1f us CPU/req)   ratio %.3f\n' \
    "$round" "$w" "$wc" "$p" "$pc" "$(python3 -c "print($p / $w)")"
done

python3 - "$TARGET_RATIO" "${WRK_RPS[*]}" "${PERF_RPS[*]}" "${WRK_CPU[*]}" "${PERF_CPU[*]}" <<'EOF'
import statistics, sys
target = float(sys.argv[1])
wrk, perf, wrk_cpu, perf_cpu = ([float(x) for x in arg.split()] for arg in sys.argv[2:6])
ratios = [p / w for p, w in zip(perf, wrk)]
w, p, r = statistics.median(wrk), statistics.median(perf), statistics.median(ratios)
print(f"median: wrk {w:.0f} req/s ({statistics.median(wrk_cpu):.1f} us CPU/req), "
      f"otelix-perf {p:.0f} req/s ({statistics.median(perf_cpu):.1f} us CPU/req)")
print(f"ratio otelix-perf/wrk: median of rounds {r:.3f}, of medians {p / w:.3f} "
      f"(target >= {target}): {'OK' if r >= target else 'MISS'}")
EOF
