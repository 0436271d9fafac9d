#!/usr/bin/env bash
# Fault scenarios, each group a script of its own that prints its figures and exits
# non-zero when a scenario breaks its bound:
#   collector       scripts/faults-collector.sh       collector down, hanging, slow, rejecting
#   slow-query-log  scripts/faults-slow-query-log.sh  disk full, path removed, logrotate, kill -9
#   backends        scripts/faults-backends.sh        PostgreSQL and Redis lost and restored
#   shutdown        scripts/faults-shutdown.sh        graceful shutdown under load
#
# Usage: scripts/faults.sh [group...]      every group when none is named (full runs)
#        FAULTS_SHORT=1 scripts/faults.sh  the short runs .ci/run uses: fewer seconds per
#                                          scenario, one round, looser latency bounds
# Every group runs even when an earlier one failed; the exit status says whether all held.
set -euo pipefail

cd "$(dirname "$0")/.."

ALL=(collector slow-query-log backends shutdown)
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=("${ALL[@]}")

short_env() { # group: the environment of its short run
  case "$1" in
    # One round on a shared machine: p99 and CPU ratios only catch gross regressions here;
    # the full run's medians of three rounds hold the 10% bound.
    collector) echo "FAULT_SECONDS=${FAULT_SECONDS:-4} ROUNDS=1 P99_RATIO_MAX=2 P99_SLACK_MS=5 CPU_RATIO_MAX=1.5" ;;
    *) echo "FAULT_SECONDS=${FAULT_SECONDS:-3}" ;;
  esac
}

failed=()
for group in "${groups[@]}"; do
  script="scripts/faults-$group.sh"
  [ -f "$script" ] || { echo "faults: unknown group '$group' (one of: ${ALL[*]})" >&2; exit 2; }
  echo "== faults: $group"
  if [ -n "${FAULTS_SHORT:-}" ]; then
    # shellcheck disable=SC2046 # NAME=value words, split on purpose
    env $(short_env "$group") bash "$script" || failed+=("$group")
  else
    bash "$script" || failed+=("$group")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "faults: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "faults: every scenario held its bounds (${groups[*]})"
