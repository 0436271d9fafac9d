#!/usr/bin/env bash
# The integration suite: the example service (the real wwmaa-backend binary) in front of real
# peers, all on 127.0.0.1:
#   - PostgreSQL and Redis: the machine's (DATABASE_URL, REDIS_URL; default the local ones);
#     the suite fails, naming the one, when either is unreachable;
#   - rotel, a real OpenTelemetry collector (PyPI), between the service and the otelix testkit
#     receiver, over OTLP/gRPC in one run and OTLP/HTTP-protobuf in the other;
#   - Prometheus and promtool with the project's prometheus.yml adapted to loopback and its alert
#     rules, and Alertmanager with the project's alertmanager.yml; built from their pinned Go
#     modules (tools/, scripts/lib/peers.sh) like the collector, Jaeger and VictoriaLogs.
# Those checks live in examples/wwmaa-backend/tests/integration/. Then OTLP delivery as
# production collectors ask for it, in examples/wwmaa-backend/tests/otlp_delivery/: the service
# exporting to the OpenTelemetry Collector built from tools/otelcol over TLS with a CA file,
# mTLS, a bearer token its bearertokenauth extension checks, and gzip, over both transports
# (certificates made at test time); refusals reported naming the endpoint; no token or private
# key in any output; a collector stopped for 10 s, and the testkit receiver answering
# UNAVAILABLE / 503 with Retry-After and INVALID_ARGUMENT / 400, under 50 requests a second.
# Then the real stack, in
# examples/wwmaa-backend/tests/stack/, over OTLP/gRPC in one run and OTLP/HTTP-protobuf in the
# other:
#   - the service (and a second instance serving the external APIs' sandbox) exporting to the
#     OpenTelemetry Collector running otel-collector.yaml itself (addresses moved to loopback by
#     its --set), which sends traces to Jaeger (docs/observability/jaeger.yaml), metrics to its
#     Prometheus exporter and logs to VictoriaLogs; Prometheus with prometheus.yml scraping the
#     service and the collector; each check on what Jaeger, VictoriaLogs and Prometheus answer,
#     and the troubleshooting commands of docs/observability/README.md run as written.
# This script builds the peers (scripts/lib/peers.sh, scripts/lib/tools.sh), checks the backends,
# runs both files and prints a summary; it fails when any test fails, is skipped or does not run.
# Runnable by hand and by CI: bash scripts/integration.sh   (a few minutes)
# One or more of the files alone: bash scripts/integration.sh otlp_delivery [integration stack]
set -euo pipefail

cd "$(dirname "$0")/.."

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

note() { printf 'integration: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/tools.sh
. scripts/lib/tools.sh
# shellcheck source=scripts/lib/peers.sh
. scripts/lib/peers.sh

# shellcheck disable=SC2119 # no arguments: every peer
peers_build
install_venv
# The troubleshooting commands that tests/stack/ runs as the docs write them.
install_commands curl jq

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if ! pg_isready -q -d "$DATABASE_URL"; then
  note "PostgreSQL at DATABASE_URL=$DATABASE_URL is not reachable (start it: bash scripts/services.sh)"
  exit 1
fi
if ! redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
  note "Redis at REDIS_URL=$REDIS_URL is not reachable (start it: bash scripts/services.sh)"
  exit 1
fi

ROTEL_AGENT="$("$PY" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')"
[ -x "$ROTEL_AGENT" ] || { note "rotel-agent not found at $ROTEL_AGENT"; exit 1; }
export ROTEL_AGENT
OTELIX_PYTHON="$PY"
export OTELIX_PYTHON
export OTELIX_INTEGRATION=1

note "peers: $("$ROTEL_AGENT" --version 2>&1 | head -n 1), $("$OTELCOL" --version 2>&1 | head -n 1), jaeger $(peers_version jaeger), $("$PROMETHEUS" --version 2>&1 | head -n 1), $("$ALERTMANAGER" --version 2>&1 | head -n 1), victoria-logs $(peers_version victorialogs)"

# Each test file with the number of tests it must pass: a test that was filtered out, renamed
# away or skipped must not pass unnoticed.
failed=""
run_tests() {
  local file="$1" expected="$2" status=0
  cargo test -p wwmaa-backend --test "$file" -- --test-threads=1 --nocapture 2>&1 |
    tee "$WORK/$file.out" || status=$?
  cat "$WORK/$file.out" >>"$WORK/out"
  if [ "$status" -ne 0 ] || ! grep -q "test result: ok. $expected passed; 0 failed" "$WORK/$file.out" ||
    grep -q '^skipped:' "$WORK/$file.out"; then
    failed="$failed $file"
  fi
}
: >"$WORK/out"
# Each file with the number of its tests.
declare -A expected=(
  [integration]=2
  # Four ways in and the outage, 503/UNAVAILABLE and 400/INVALID_ARGUMENT runs, per transport,
  # and the certificates' own test.
  [otlp_delivery]=9
  # stack: the gRPC and the HTTP/protobuf runs, and two tests of its own helpers.
  [stack]=4
)
files=("$@")
[ "${#files[@]}" -gt 0 ] || files=(integration otlp_delivery stack)
for file in "${files[@]}"; do
  [ -n "${expected[$file]:-}" ] || { note "unknown test file $file (known: ${!expected[*]})"; exit 1; }
  run_tests "$file" "${expected[$file]}"
done

printf '\n== integration summary ==\n'
grep -E '^(== |ok    )' "$WORK/out" || true
passed="$(grep -c '^ok    ' "$WORK/out" || true)"
if [ -n "$failed" ]; then
  printf 'FAILED (%s) after %s checks passed (see above)\n' "${failed# }" "$passed"
  exit 1
fi
printf '%s checks passed\n' "$passed"
