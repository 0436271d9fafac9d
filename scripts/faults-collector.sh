#!/usr/bin/env bash
# Collector faults under load: the collector down, accepting and never answering,
# answering slowly, and rejecting every export. For each, a fresh otelix-bench-server (otelix
# mode, every span exported over OTLP/gRPC, metrics and logs too) takes an open-loop load from
# otelix-perf at RATE requests/s for FAULT_SECONDS while the fault lasts; then the collector comes
# back healthy and the script checks that spans of new requests arrive without a restart.
#
# The server runs pinned to core 0 and the load generator and the receiver to the other cores
# (taskset), so that they do not take turns on the server's core; healthy and faulty runs
# alternate for ROUNDS rounds, and each fault is compared with the healthy run of its own round
# (the median of the rounds' ratios is reported and bounded), so that a burst of load from
# something else on the machine moves both sides of a ratio.
#
# Prints per scenario: p99 latency, throughput and the server's CPU time per request, as ratios
# to the healthy run, peak RSS, items dropped (otelix_exporter_dropped_total, spans and log
# records), drop warnings logged, and recovered yes/no. Exits non-zero when a scenario breaks a
# bound:
#   p99      median over rounds <= healthy median x P99_RATIO_MAX + the healthy runs' spread
#            (max - min: this machine's noise in this run) + P99_SLACK_MS
#   rps      median ratio >= RPS_RATIO_MIN
#   CPU      median ratio of CPU time per request <= CPU_RATIO_MAX
#   RSS      <= healthy RSS + RSS_EXTRA_MIB  (the export buffers' bound, see docs/benchmarks.md)
#   dropped  > 0 when the collector was down, hanging or rejecting: drops are counted
#   warnings <= 3 per reason, signal and minute: drops are logged at most once a minute
#   recovered: spans of requests sent after the collector returned reached it
#
# Usage: scripts/faults-collector.sh     full run (about 4 minutes after the release build)
#        FAULT_SECONDS=4 ROUNDS=1 P99_RATIO_MAX=2 CPU_RATIO_MAX=1.5 scripts/faults-collector.sh
#                                        the short run .ci/run uses (a smoke test of the bounds)
# Tunables: SCENARIOS="down hang slow reject" FAULT_SECONDS=10 ROUNDS=3 RATE=2000 CONCURRENCY=16 P99_RATIO_MAX=1.1 P99_SLACK_MS=1
#           RPS_RATIO_MIN=0.9 CPU_RATIO_MAX=1.1 RSS_EXTRA_MIB=24 PORT=18100 RECEIVER_PORT=14337
set -euo pipefail

FAULT_SECONDS=${FAULT_SECONDS:-10}
SCENARIOS=${SCENARIOS:-down hang slow reject}
ROUNDS=${ROUNDS:-3}
CPU_RATIO_MAX=${CPU_RATIO_MAX:-1.1}
RATE=${RATE:-2000}
CONCURRENCY=${CONCURRENCY:-16}
P99_RATIO_MAX=${P99_RATIO_MAX:-1.1}
P99_SLACK_MS=${P99_SLACK_MS:-1}
RPS_RATIO_MIN=${RPS_RATIO_MIN:-0.9}
RSS_EXTRA_MIB=${RSS_EXTRA_MIB:-24}
PORT=${PORT:-18100}
RECEIVER_PORT=${RECEIVER_PORT:-14337}

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/faults.sh
source scripts/lib/faults.sh
WORK=$(mktemp -d -t otelix-faults.XXXXXX)
SERVER_PID=""
RECEIVER_PID=""
cleanup() { stop "$SERVER_PID"; stop "$RECEIVER_PID"; rm -rf "$WORK"; }
trap cleanup EXIT
die() { echo "faults: $*" >&2; exit 1; }

for tool in python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
# Pinning: the server on core 0, everything else on the other cores; without taskset or with
# one core, nothing is pinned (the figures are noisier).
SERVER_PIN=()
LOAD_PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_PIN=(taskset -c 0)
  LOAD_PIN=(taskset -c "1-$(($(nproc) - 1))")
fi
cargo build --release --quiet -p otelix-bench-server -p otelix-testkit -p otelix-perf \
  --bin otelix-bench-server --bin otelix-receiver --bin otelix-perf || die "build failed"
BIN=$(release_dir)


start_receiver() { # behavior
  "${LOAD_PIN[@]}" "$BIN/otelix-receiver" --grpc-addr "127.0.0.1:$RECEIVER_PORT" \
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
    "${SERVER_PIN[@]}" "$BIN/otelix-bench-server" --mode otelix --addr "127.0.0.1:$PORT" \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$PORT" "$SERVER_PID" || { cat "$WORK/server.log" >&2; die "the server did not start"; }
}

# The server's CPU time so far, in clock ticks (user + system, all threads).
cpu_ticks() {
  awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$SERVER_PID/stat"
}

# Open-loop load; prints "p99_ms rps responses".
load() { # seconds
  "${LOAD_PIN[@]}" "$BIN/otelix-perf" --base-url "http://127.0.0.1:$PORT" --endpoint /users/7 \
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

# scenario behavior round: prints (each round's line also goes to stderr as it finishes)
# "name round p99 rps cpu_ticks rss_kib dropped warnings recovered responses"
run_scenario() {
  local name="$1" behavior="$2" round="$3"
  [ "$behavior" = down ] || start_receiver "$behavior"
  start_server
  load 2 >/dev/null # warm-up
  local cpu_before cpu_after
  cpu_before=$(cpu_ticks)
  read -r p99 rps responses < <(load "$FAULT_SECONDS")
  cpu_after=$(cpu_ticks)
  local rss dropped_now warnings
  rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
  dropped_now=$(dropped)
  warnings=$(grep -c 'dropped instead of exported' "$WORK/server.log" || true)
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
  echo "$name $round $p99 $rps $((cpu_after - cpu_before)) $rss $dropped_now $warnings $recovered $responses"
}

echo "faults-collector: ${FAULT_SECONDS}s per scenario at $RATE requests/s (open loop, $CONCURRENCY connections), $ROUNDS round(s)${SERVER_PIN[*]:+, server pinned to core 0}"
results=()
for round in $(seq 1 "$ROUNDS"); do
  for name in healthy $SCENARIOS; do
    case "$name" in
      healthy) behavior=accept ;;
      down | hang | reject) behavior=$name ;;
      slow) behavior=delay=3s ;;
      *) die "unknown scenario '$name' in SCENARIOS (down, hang, slow, reject)" ;;
    esac
    line=$(run_scenario "$name" "$behavior" "$round") || die "scenario $name could not run"
    echo "  round $line" >&2
    results+=("$line")
  done
done

cat >"$WORK/verdict.py" <<'PY'
import math, statistics, sys
p99_max, slack, rps_min, cpu_max, rss_extra, seconds = map(float, sys.argv[1:7])
rows = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
healthy = {r[1]: r for r in rows if r[0] == "healthy"}
by_name = {}
for name, rnd, p99, rps, cpu, rss, dropped, warned, recovered, responses in rows:
    base = healthy[rnd]
    b_p99, b_rps, b_cpu, b_resp = float(base[2]), float(base[3]), int(base[4]), int(base[9])
    cpu_per = int(cpu) / max(int(responses), 1)
    b_cpu_per = b_cpu / max(b_resp, 1)
    by_name.setdefault(name, []).append(dict(
        p99=float(p99), p99_ratio=float(p99) / b_p99, b_p99=b_p99,
        rps=float(rps), rps_ratio=float(rps) / b_rps,
        cpu_ratio=cpu_per / b_cpu_per if b_cpu_per else 1.0,
        rss=int(rss), b_rss=int(base[5]), dropped=int(dropped), warned=int(warned),
        recovered=recovered))
print(f"{'scenario':<9} {'p99 ms':>8} {'p99/ok':>7} {'req/s':>7} {'rps/ok':>7} {'cpu/ok':>7} {'RSS MiB':>8} {'dropped':>8} {'warned':>7} {'recovered':>9}")
failures = []
# The healthy runs' own spread is the noise floor of this machine in this run: a fault's p99 is
# held to the healthy median x P99_RATIO_MAX, plus that spread, plus P99_SLACK_MS.
healthy_p99s = [float(r[2]) for r in healthy.values()]
healthy_p99 = statistics.median(healthy_p99s)
spread = max(healthy_p99s) - min(healthy_p99s)
p99_bound = healthy_p99 * p99_max + spread + slack
print(f"healthy p99 over {len(healthy_p99s)} round(s): median {healthy_p99:.2f} ms, spread {spread:.2f} ms; p99 bound {p99_bound:.2f} ms")
def med(runs, key):
    return statistics.median(r[key] for r in runs)
for name, runs in by_name.items():
    p99, p99_ratio, b_p99 = med(runs, "p99"), med(runs, "p99_ratio"), med(runs, "b_p99")
    rps, rps_ratio, cpu_ratio = med(runs, "rps"), med(runs, "rps_ratio"), med(runs, "cpu_ratio")
    rss, b_rss = max(r["rss"] for r in runs), max(r["b_rss"] for r in runs)
    dropped, warned = min(r["dropped"] for r in runs), max(r["warned"] for r in runs)
    recovered = "yes" if all(r["recovered"] == "yes" for r in runs) else "no"
    print(f"{name:<9} {p99:>8.2f} {p99_ratio:>7.2f} {rps:>7.0f} {rps_ratio:>7.2f} {cpu_ratio:>7.2f} {rss / 1024:>8.1f} {dropped:>8} {warned:>7} {recovered:>9}")
    if p99 > p99_bound:
        failures.append(f"{name}: p99 {p99:.2f} ms (median of rounds) > {p99_bound:.2f} ms = healthy {healthy_p99:.2f} x {p99_max} + spread {spread:.2f} + {slack} ms")
    if rps_ratio < rps_min:
        failures.append(f"{name}: throughput {rps_ratio:.2f} x healthy < {rps_min}")
    if cpu_ratio > cpu_max:
        failures.append(f"{name}: CPU time per request {cpu_ratio:.2f} x healthy > {cpu_max}")
    if rss > b_rss + rss_extra * 1024:
        failures.append(f"{name}: RSS {rss / 1024:.1f} MiB > healthy {b_rss / 1024:.1f} + {rss_extra:.0f} MiB")
    if name in ("down", "hang", "reject") and dropped == 0:
        failures.append(f"{name}: no drop was counted")
    # Three reasons, two signals, once a minute each.
    if warned > 3 * 2 * math.ceil(seconds / 60 + 1):
        failures.append(f"{name}: {warned} drop warnings logged (at most one a minute per reason and signal)")
    if recovered != "yes":
        failures.append(f"{name}: export did not resume after the collector came back")
if failures:
    print("FAIL\n  " + "\n  ".join(failures))
    sys.exit(1)
print("all scenarios within their bounds")
PY
printf '%s\n' "${results[@]}" |
  python3 "$WORK/verdict.py" "$P99_RATIO_MAX" "$P99_SLACK_MS" "$RPS_RATIO_MIN" "$CPU_RATIO_MAX" \
    "$RSS_EXTRA_MIB" "$FAULT_SECONDS"
