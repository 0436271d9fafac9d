#!/usr/bin/env bash
# Builds the stack's Go peers from their pinned modules (tools/), once per machine, and prints
# where they are:  bash scripts/peers.sh [otelcol|jaeger|prometheus|alertmanager|victorialogs ...]
# With --env, prints export lines instead:  eval "$(bash scripts/peers.sh --env)"
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/peers.sh
. scripts/lib/peers.sh

env_out=""
if [ "${1:-}" = "--env" ]; then env_out=1; shift; fi
peers_build "$@"
peers=("$@")
[ "${#peers[@]}" -gt 0 ] || peers=("${PEERS_ALL[@]}")
for peer in "${peers[@]}"; do
  for entry in $(peers_binaries "$peer"); do
    var="${entry%%=*}"
    if [ -n "$env_out" ]; then
      printf 'export %s=%q\n' "$var" "${!var}"
    else
      printf '%-13s %-8s %s (built in %s s)\n' "$peer" "$(peers_version "$peer")" "${!var}" \
        "$(cat "$(dirname "$(dirname "${!var}")")/.build-seconds")"
    fi
  done
done
