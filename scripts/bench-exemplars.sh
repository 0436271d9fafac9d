#!/usr/bin/env bash
# What exemplars cost per request, in instructions, which do not depend on what else
# the machine is doing: otelix-bench-server (otelix mode, OTLP export of every span to the
# counting receiver) runs under valgrind's callgrind with OTELIX_EXEMPLARS=false and then =true;
# after a warm-up the counters are zeroed, wrk sends requests for DURATION seconds, and the
# instructions of the whole process (worker and export threads) are divided by the requests
# served. Prints both figures and the ratio on/off.
#
# Usage: scripts/bench-exemplars.sh   (about a minute after the release build)
# Tunables (environment): DURATION=10 WARMUP=3 CONNECTIONS=4 PORT=18090 RECEIVER_PORT=14327
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-18090}
RECEIVER_PORT=${RECEIVER_PORT:-14327}

cd "$(dirname "$0")/.."
WORK=$(mktemp -d -t otelix-exemplars.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "bench-exemplars: $*" >&2; exit 1; }

for tool in valgrind callgrind_control wrk python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (Debian packages valgrind, wrk)"
done
cargo build --release --quiet -p otelix-bench-server -p otelix-testkit --bin otelix-bench-server --bin otelix-receiver \
  || die "build failed"
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

wait_port() { # port, pid
  for _ in $(seq 1 600); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

"$TARGET_DIR/release/otelix-receiver" --grpc-addr "127.0.0.1:$RECEIVER_PORT" \
  --http-addr "127.0.0.1:$((RECEIVER_PORT + 1))" --report-every 1s >"$WORK/receiver.out" 2>&1 &
PIDS+=($!)
wait_port "$RECEIVER_PORT" "${PIDS[-1]}" || die "the receiver did not start"

# Instructions per request with OTELIX_EXEMPLARS=$1.
measure() {
  local out="$WORK/callgrind.$1"
  OTELIX_EXEMPLARS="$1" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT" \
    OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" \
    "$TARGET_DIR/release/otelix-bench-server" --mode otelix --addr "127.0.0.1:$PORT" \
    >"$WORK/server.$1.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$PORT" "$pid" || { cat "$WORK/server.$1.log" >&2; die "the server did not start"; }
  wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "http://127.0.0.1:$PORT/users/1" >/dev/null
  callgrind_control --zero "$pid" >/dev/null
  local requests
  requests=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$PORT/users/1" |
    awk '/requests in/ { print $1 }')
  callgrind_control --dump=measured "$pid" >/dev/null
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  local instructions
  instructions=$(grep -h '^summary:' "$out".*.* 2>/dev/null | awk '{ s += $2 } END { print s }')
  [ -n "$instructions" ] && [ "$instructions" -gt 0 ] || die "no callgrind dump for OTELIX_EXEMPLARS=$1"
  rm -f "$out".*
  echo "$((instructions / requests)) $requests"
}

read -r off off_requests < <(measure false)
read -r on on_requests < <(measure true)
printf '%-22s %14s %10s\n' "OTELIX_EXEMPLARS" "instr/request" "requests"
printf '%-22s %14s %10s\n' "false" "$off" "$off_requests"
printf '%-22s %14s %10s\n' "true" "$on" "$on_requests"
python3 -c "import sys; on, off = int(sys.argv[1]), int(sys.argv[2]); r = on / off; print(f'ratio on/off: {r:.4f} ({(r - 1) * 100:+.2f}%)', 'PASS (< 3%)' if r < 1.03 else 'MISS (>= 3%)')" "$on" "$off"
