#!/usr/bin/env bash
# Slow-query log faults under load: the disk fills up, the log's directory is
# removed, logrotate rotates the log (copytruncate, then move-and-create), and the service is
# killed with SIGKILL while it writes. For each, a fresh wwmaa-backend (embedded SQLite, no
# exporters, SLOW_QUERY_THRESHOLD_SECONDS=0.000001 so that each of the two queries of a
# GET /api/members request is a slow-query line) takes an open-loop load from otelix-perf at
# RATE requests/s: STEADY_SECONDS before the fault, FAULT_SECONDS while it lasts, then 1 s
# rounds until new lines reach the log's path (RECOVER_SECONDS at most).
#
# Scenarios:
#   disk_full       the log on a TMPFS_SIZE tmpfs, filled up by a filler file for the fault,
#                   then the filler is deleted (needs root to mount; skipped otherwise)
#   dir_removed     rm -rf of the log's directory
#   copytruncate    logrotate -f with copytruncate
#   create          logrotate -f with create (move-and-create), no signal to the service
#   kill9           SIGKILL under load, then a restart on the same log
#
# Prints per scenario: complete lines before the fault and written at the path after it, lines
# that do not parse as JSON, torn last lines, slow-query lines the service dropped
# (otelix_slow_query_dropped_total), requests answered during the fault and recovery (for
# kill9: after the restart) with those not answered 2xx and their share, throughput and its
# ratio to the steady phase, errors the service logged about the log (target
# otelix::slow_query), and recovered yes/no with the seconds it took. Exits non-zero when a
# scenario breaks a bound:
#   bad        = 0   every complete line (ending in \n) of the log and its rotation parses
#   torn       = 0   disk_full: no half-written line is left while the disk is full (once there
#                    is room the writer would end it with a newline: a line that does not parse)
#              <= 1  kill9: the line the kill cut short, which the restart must end with a
#                    newline before its first line, so that nothing glues onto it
#   not 2xx    = 0   no 4xx, 5xx, timeout or connection error while the fault lasts
#   rps        >= steady rps x RPS_RATIO_MIN
#   errors     disk_full exactly 1 (reported once, not per line); dir_removed at most 1 (the
#              writer takes it for a rotation); 0 for the rotations and the restart
#   recovered  new lines at the path within RECOVER_SECONDS (the writer retries a failed file
#              every 5 s and looks for a moved, removed or truncated one every 1 s)
#
# Usage: scripts/faults-slow-query-log.sh                 full run (about 2 minutes after the build)
#        FAULT_SECONDS=3 scripts/faults-slow-query-log.sh  the short run (under a minute)
# Tunables: FAULT_SECONDS=15 STEADY_SECONDS=2 RECOVER_SECONDS=12 RATE=200 CONCURRENCY=8
#           RPS_RATIO_MIN=0.9 TMPFS_SIZE=2m
set -euo pipefail

FAULT_SECONDS=${FAULT_SECONDS:-15}
STEADY_SECONDS=${STEADY_SECONDS:-2}
RECOVER_SECONDS=${RECOVER_SECONDS:-12}
RATE=${RATE:-200}
CONCURRENCY=${CONCURRENCY:-8}
RPS_RATIO_MIN=${RPS_RATIO_MIN:-0.9}
TMPFS_SIZE=${TMPFS_SIZE:-2m}

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/faults.sh
source scripts/lib/faults.sh
WORK=$(mktemp -d -t otelix-faults-slow-query.XXXXXX)
SERVER_PID=""
LOAD_PID=""
MOUNTED=""
BASE=""
RECOVERED="-"
cleanup() {
  stop "$LOAD_PID"
  stop "$SERVER_PID"
  if [ -n "$MOUNTED" ]; then umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "faults-slow-query-log: $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
command -v python3 >/dev/null || die "python3 is required"
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
if [ ! -x "$LOGROTATE" ]; then
  echo "faults-slow-query-log: installing logrotate from Debian's packages" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends logrotate >/dev/null
  LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
  [ -x "$LOGROTATE" ] || die "logrotate is required"
fi
cargo build --release --quiet -p wwmaa-backend -p otelix-perf \
  --bin wwmaa-backend --bin otelix-perf || die "build failed"
BIN=$(release_dir)

# The service on a free port of 127.0.0.1 (it prints the address it bound), writing its
# slow-query log to $1 and its own log lines (errors only: each slow query is also a warning)
# to $2. Its own size rotation is off, so that only the faults move the file. The database is
# seeded by the first start and shared by the scenarios.
start_service() { # log_file, stdout_file
  BIND_ADDR=127.0.0.1:0 DATABASE_URL="sqlite://$WORK/data/wwmaa.db" OTEL_SDK_DISABLED=true \
    LOG_FORMAT=json RUST_LOG=error SLOW_QUERY_THRESHOLD_SECONDS=0.000001 \
    SLOW_QUERY_LOG_FILE="$1" SLOW_QUERY_LOG_MAX_BYTES=0 DUNNING_INTERVAL_SECONDS=86400 \
    SANDBOX_LATENCY_MS=0 "$BIN/wwmaa-backend" >>"$2" 2>&1 &
  SERVER_PID=$!
  BASE=""
  for _ in $(seq 1 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    BASE=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$2" | tail -n 1 | sed 's/^listening on //' || true)
    if [ -n "$BASE" ] && curl -fs -o /dev/null "$BASE/health"; then return 0; fi
    sleep 0.05
  done
  cat "$2" >&2
  die "the service did not start"
}

stop_service() {
  stop "$SERVER_PID"
  SERVER_PID=""
}

# Open-loop load on two endpoints that each run two SELECTs; the report goes to $WORK/$2.json.
load_bg() { # seconds, report name; sets LOAD_PID
  "$BIN/otelix-perf" --base-url "$BASE" --endpoint '/api/members?limit=5' \
    --endpoint '/api/members?status=active&limit=5' --rate "$RATE" --duration "${1}s" \
    --concurrency "$CONCURRENCY" --slowest 0 --output "$WORK/$2.json" \
    >/dev/null 2>>"$WORK/perf.err" &
  LOAD_PID=$!
}
load_wait() {
  wait "$LOAD_PID" || true
  LOAD_PID=""
}
load() { # seconds, report name
  load_bg "$@"
  load_wait
}

# Complete lines (ending in \n) of the files, summed.
complete_lines() { # file...
  cat "$@" 2>/dev/null | wc -l
}

dropped() {
  curl -s "$BASE/metrics" |
    awk '/^otelix_slow_query_dropped_total/ { s += $NF } END { printf "%d\n", s }'
}

errors_logged() { # stdout_file
  grep '"level":"ERROR"' "$1" | grep -c '"target":"otelix::slow_query"' || true
}

# Loads in 1 s rounds until the file at $1 has more than $2 complete lines; sets RECOVERED to
# the seconds that took, or "-". Once recovered, one more round shows the writing goes on.
recover() { # log_file, lines, report name prefix
  local waited=0
  RECOVERED="-"
  while [ "$(complete_lines "$1")" -le "$2" ]; do
    [ "$waited" -lt "$RECOVER_SECONDS" ] || return 0
    load 1 "$3-$waited"
    waited=$((waited + 1))
  done
  RECOVERED=$waited
  load 1 "$3-after"
}

# 1 when the file's last line has no newline (a torn line), else 0.
torn_tail() { # file
  if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" != 0a ]; then echo 1; else echo 0; fi
}

cat >"$WORK/lines.py" <<'PY'
# Lines of the files that end in \n but do not parse as a JSON object.
import json, sys
bad = 0
for name in sys.argv[1:]:
    try:
        data = open(name, "rb").read()
    except FileNotFoundError:
        continue
    for line in data.split(b"\n")[:-1]:
        try:
            if not isinstance(json.loads(line), dict):
                bad += 1
        except ValueError:
            bad += 1
print(bad)
PY
bad_lines() { python3 "$WORK/lines.py" "$@"; }

# Requests, responses not 2xx (or none), throughput, summed over reports $WORK/<prefix>*.json.
cat >"$WORK/reports.py" <<'PY'
import glob, json, sys
requests = not_ok = 0
elapsed = 0.0
for name in sorted(glob.glob(sys.argv[1] + "*.json")):
    r = json.load(open(name))
    t = r["totals"]
    requests += t["requests"]
    ok = sum(n for e in r["endpoints"] for code, n in e["status_codes"].items() if code.startswith("2"))
    not_ok += t["requests"] - ok
    elapsed += r["elapsed_s"]
print(requests, not_ok, f"{requests / elapsed if elapsed else 0:.1f}")
PY
served() { python3 "$WORK/reports.py" "$WORK/$1"; }

# Every scenario prints one row:
# name before after bad torn dropped requests not_2xx rps steady_rps errors recovered_s
# (recovered_s is "-" when it did not recover, "skip" for a skipped scenario).

scenario_disk_full() {
  local dir="$WORK/tmpfs"
  mkdir -p "$dir"
  if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o "size=$TMPFS_SIZE,mode=0700" tmpfs "$dir" 2>/dev/null; then
    echo "disk_full 0 0 0 0 0 0 0 0 0 0 skip"
    return 0
  fi
  MOUNTED="$dir"
  local log="$dir/logs/slow_queries.log" out="$WORK/disk_full.out"
  start_service "$log" "$out"
  load "$STEADY_SECONDS" disk_full-steady
  # The filler takes every free block: the next line that needs one fails, maybe half written.
  dd if=/dev/zero of="$dir/filler" bs=64k 2>/dev/null || true
  local before
  before=$(complete_lines "$log")
  load "$FAULT_SECONDS" disk_full-fault
  # A line half written when the disk filled up must have been cut off again: once there is
  # room, the writer would end it with a newline, a complete line that does not parse.
  local torn
  torn=$(torn_tail "$log")
  rm -f "$dir/filler"
  local at_free
  at_free=$(complete_lines "$log")
  recover "$log" "$at_free" disk_full-recover
  local dropped_now
  dropped_now=$(dropped)
  stop_service
  local after bad
  after=$(( $(complete_lines "$log") - at_free ))
  bad=$(bad_lines "$log")
  read -r requests not_ok rps < <(served "disk_full-[fr]")
  read -r _ _ steady < <(served disk_full-steady)
  echo "disk_full $before $after $bad $torn $dropped_now $requests $not_ok $rps $steady $(errors_logged "$out") $RECOVERED"
  if umount "$dir"; then MOUNTED=""; fi
}

scenario_dir_removed() {
  local dir="$WORK/removed/logs"
  local log="$dir/slow_queries.log" out="$WORK/dir_removed.out"
  start_service "$log" "$out"
  load "$STEADY_SECONDS" dir_removed-steady
  local before
  before=$(complete_lines "$log")
  # The writer may recreate the directory while rm runs, which then fails: that is the point.
  rm -rf "$WORK/removed" || rm -rf "$WORK/removed" || true
  load "$FAULT_SECONDS" dir_removed-fault
  recover "$log" 0 dir_removed-recover
  local dropped_now
  dropped_now=$(dropped)
  stop_service
  read -r requests not_ok rps < <(served "dir_removed-[fr]")
  read -r _ _ steady < <(served dir_removed-steady)
  echo "dir_removed $before $(complete_lines "$log") $(bad_lines "$log") 0 $dropped_now $requests $not_ok $rps $steady $(errors_logged "$out") $RECOVERED"
}

scenario_logrotate() { # name, directive (copytruncate or create)
  local name="$1" dir="$WORK/$1/logs"
  local log="$dir/slow_queries.log" out="$WORK/$1.out"
  start_service "$log" "$out"
  cat >"$WORK/$name.conf" <<CONF
$log {
    $2
    rotate 2
    missingok
    nocompress
}
CONF
  load "$STEADY_SECONDS" "$name-steady"
  load_bg "$FAULT_SECONDS" "$name-fault"
  sleep 0.5
  local before
  before=$(complete_lines "$log")
  "$LOGROTATE" -f -s "$WORK/$name.state" "$WORK/$name.conf" 2>"$WORK/$name.logrotate" ||
    { cat "$WORK/$name.logrotate" >&2; die "logrotate ($2) failed"; }
  load_wait
  recover "$log" 0 "$name-recover"
  local dropped_now
  dropped_now=$(dropped)
  stop_service
  [ -f "$log.1" ] || die "logrotate ($2) left no $log.1"
  read -r requests not_ok rps < <(served "$name-[fr]")
  read -r _ _ steady < <(served "$name-steady")
  echo "$name $before $(complete_lines "$log") $(bad_lines "$log" "$log.1") 0 $dropped_now $requests $not_ok $rps $steady $(errors_logged "$out") $RECOVERED"
}

cat >"$WORK/kill9.py" <<'PY'
# The log when the service was killed ($1) against the log after the restart ($2): what was
# there stays as it was, a torn last line is ended before the first new line, and the new
# lines parse. Prints "bad torn new_lines", or exits 1 when the old content changed.
import json, sys
old, new = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
if not new.startswith(old):
    sys.exit("the log written before the kill changed after the restart")
def bad(chunk):
    n = 0
    for line in chunk.split(b"\n")[:-1]:
        try:
            n += not isinstance(json.loads(line), dict)
        except ValueError:
            n += 1
    return n
rest = new[len(old):]
torn = 0
if old and not old.endswith(b"\n"):
    # The kill cut a line: the restarted writer must end it before writing its own.
    torn = 1
    if rest and not rest.startswith(b"\n"):
        sys.exit("the first new line was glued onto the torn one")
    rest = rest[1:]
print(bad(old[: old.rfind(b"\n") + 1]) + bad(rest), torn, rest.count(b"\n"))
PY

scenario_kill9() {
  local log="$WORK/kill9/logs/slow_queries.log" out="$WORK/kill9.out"
  start_service "$log" "$out"
  load "$STEADY_SECONDS" kill9-steady
  load_bg "$FAULT_SECONDS" kill9-killed
  sleep "$(python3 -c "print($FAULT_SECONDS / 2)")"
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  cp "$log" "$WORK/kill9.killed.log"
  local before
  before=$(complete_lines "$log")
  load_wait
  start_service "$log" "$out"
  load "$FAULT_SECONDS" kill9-restarted
  RECOVERED="-"
  if [ "$(complete_lines "$log")" -gt "$before" ]; then RECOVERED=0; fi
  local dropped_now
  dropped_now=$(dropped)
  stop_service
  local bad torn after
  read -r bad torn after < <(python3 "$WORK/kill9.py" "$WORK/kill9.killed.log" "$log") ||
    die "kill9: the restart broke the log"
  read -r requests not_ok rps < <(served kill9-restarted)
  read -r _ _ steady < <(served kill9-steady)
  echo "kill9 $before $after $bad $torn $dropped_now $requests $not_ok $rps $steady $(errors_logged "$out") $RECOVERED"
}

echo "faults-slow-query-log: ${FAULT_SECONDS}s per fault at $RATE requests/s (open loop, $CONCURRENCY connections), 2 slow-query lines a request"
# The first start creates and seeds the database, outside any scenario's figures.
start_service "$WORK/seed/slow_queries.log" "$WORK/seed.out"
stop_service
# Scenarios run in this shell, so that the exit trap sees their processes and mount.
RESULTS="$WORK/results"
{
  scenario_disk_full
  scenario_dir_removed
  scenario_logrotate copytruncate copytruncate
  scenario_logrotate create create
  scenario_kill9
} >"$RESULTS"

cat >"$WORK/verdict.py" <<'PY'
import sys
rps_min = float(sys.argv[1])
rows = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
print(f"{'scenario':<12} {'before':>7} {'after':>7} {'bad':>4} {'torn':>4} {'dropped':>8} "
      f"{'requests':>8} {'not 2xx':>7} {'err %':>6} {'req/s':>7} {'/steady':>7} {'errors':>6} {'recovered':>10}")
failures = []
max_errors = {"disk_full": (1, 1), "dir_removed": (0, 1)}
for name, before, after, bad, torn, dropped, requests, not_ok, rps, steady, errors, rec in rows:
    if rec == "skip":
        print(f"{name:<12} skipped (needs root to mount a tmpfs)")
        continue
    before, after, bad, torn, dropped, requests, not_ok, errors = map(
        int, (before, after, bad, torn, dropped, requests, not_ok, errors))
    rps, steady = float(rps), float(steady)
    ratio = rps / steady if steady else 0.0
    error_rate = 100 * not_ok / requests if requests else 100.0
    recovered = f"yes, {rec}s" if rec != "-" else "no"
    print(f"{name:<12} {before:>7} {after:>7} {bad:>4} {torn:>4} {dropped:>8} "
          f"{requests:>8} {not_ok:>7} {error_rate:>6.2f} {rps:>7.1f} {ratio:>7.2f} {errors:>6} {recovered:>10}")
    if bad:
        failures.append(f"{name}: {bad} complete lines do not parse as JSON")
    if torn > (1 if name == "kill9" else 0):
        failures.append(f"{name}: {torn} torn lines")
    if requests == 0 or not_ok:
        failures.append(f"{name}: {not_ok} of {requests} requests not answered 2xx")
    if ratio < rps_min:
        failures.append(f"{name}: {rps:.1f} requests/s < {rps_min} x steady {steady:.1f}")
    low, high = max_errors.get(name, (0, 0))
    if not low <= errors <= high:
        failures.append(f"{name}: {errors} slow-query log errors logged, expected {low} to {high}")
    if rec == "-" or after == 0:
        failures.append(f"{name}: no new line reached the log's path")
if failures:
    print("FAIL\n  " + "\n  ".join(failures))
    sys.exit(1)
print("all scenarios within their bounds")
PY
python3 "$WORK/verdict.py" "$RPS_RATIO_MIN" <"$RESULTS"
