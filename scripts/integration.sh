#!/usr/bin/env bash
# The integration suite: the example service (the real wwmaa-backend binary) in front of real
# peers, all on 127.0.0.1:
#   - PostgreSQL and Redis: the machine's (DATABASE_URL, REDIS_URL; default the local ones);
#     the suite fails, naming the one, when either is unreachable;
#   - rotel, a real OpenTelemetry collector (PyPI), between the service and the otelix testkit
#     receiver, over OTLP/gRPC in one run and OTLP/HTTP-protobuf in the other;
#   - Prometheus and promtool (Debian's prometheus package) with the project's prometheus.yml
#     adapted to loopback and its alert rules, and Alertmanager with the project's
#     alertmanager.yml.
# The checks live in examples/wwmaa-backend/tests/integration.rs; this script installs the
# peers (scripts/lib/tools.sh), checks the backends, runs the suite and prints a summary.
# Runnable by hand and by CI: bash scripts/integration.sh   (a few minutes)
set -euo pipefail

cd "$(dirname "$0")/.."

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

note() { printf 'integration: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/tools.sh
. scripts/lib/tools.sh

install_debian_tools
select_alertmanager
install_venv

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
PROMETHEUS="$(command -v prometheus)"
PROMTOOL="$(command -v promtool)"
OTELIX_PYTHON="$PY"
export PROMETHEUS PROMTOOL ALERTMANAGER OTELIX_PYTHON
export OTELIX_INTEGRATION=1

note "peers: $("$ROTEL_AGENT" --version 2>&1 | head -n 1), $("$PROMETHEUS" --version 2>&1 | head -n 1), $("$ALERTMANAGER" --version 2>&1 | head -n 1)"
status=0
cargo test -p wwmaa-backend --test integration -- --test-threads=1 --nocapture 2>&1 |
  tee "$WORK/out" || status=$?

printf '\n== integration summary ==\n'
grep -E '^(== run|ok    )' "$WORK/out" || true
passed="$(grep -c '^ok    ' "$WORK/out" || true)"
if [ "$status" -ne 0 ] || ! grep -q 'test result: ok. 2 passed' "$WORK/out"; then
  printf 'FAILED after %s checks passed (see above)\n' "$passed"
  exit 1
fi
printf '%s checks passed\n' "$passed"
