# shellcheck shell=bash
# The Go peers of the stack, built from their own modules at the versions pinned in tools/<peer>/
# (go.mod and go.sum), once per machine, into a cache folder; sourced, not run.
#
#   peers_build [peer ...]   builds the named peers (all when none is named) unless already built
#                            at their pins, then sets, for each peer's binaries, the variable the
#                            scripts use: OTELCOL, JAEGER, PROMETHEUS, PROMTOOL, ALERTMANAGER,
#                            AMTOOL, VICTORIALOGS.
#
# A peer's cache key is a hash of its module (go.mod, go.sum, *.go), the Go version and the build
# flags: a changed pin builds anew beside the old build, an unchanged one reuses it without
# network. Everything comes from the Go module proxy the machine's Go is set up for.
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/otelix-peers (OTELIX_PEERS_CACHE overrides).
# shellcheck disable=SC2034  # the variables set here are for the caller

PEERS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_CACHE="${OTELIX_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otelix-peers}"
PEERS_ALL=(otelcol jaeger prometheus alertmanager victorialogs)

if ! declare -F note >/dev/null; then
  note() { printf '%s\n' "$*" >&2; }
fi

# peer -> "variable=package ..." (package relative to the module, or a tool's import path)
peers_binaries() {
  case "$1" in
    otelcol) echo "OTELCOL=." ;;
    jaeger) echo "JAEGER=github.com/jaegertracing/jaeger/cmd/jaeger" ;;
    prometheus) echo "PROMETHEUS=github.com/prometheus/prometheus/cmd/prometheus PROMTOOL=github.com/prometheus/prometheus/cmd/promtool" ;;
    alertmanager) echo "ALERTMANAGER=github.com/prometheus/alertmanager/cmd/alertmanager AMTOOL=github.com/prometheus/alertmanager/cmd/amtool" ;;
    victorialogs) echo "VICTORIALOGS=github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs" ;;
    *) return 1 ;;
  esac
}

# The pinned version of a peer's main module, as go.mod names it (the collector: its otelcol).
peers_version() {
  local module
  case "$1" in
    otelcol) module=go.opentelemetry.io/collector/otelcol ;;
    jaeger) module=github.com/jaegertracing/jaeger ;;
    prometheus) module=github.com/prometheus/prometheus ;;
    alertmanager) module=github.com/prometheus/alertmanager ;;
    victorialogs) module=github.com/VictoriaMetrics/VictoriaLogs ;;
  esac
  awk -v m="$module" '$1 == m { print $2; exit }' "$PEERS_ROOT/tools/$1/go.mod"
}

# Build tags and linker flags per peer: the version each program reports, set from the pin (the
# release builds set it the same way); Prometheus with only the service discovery our
# prometheus.yml uses (static, file, HTTP).
peers_flags() {
  local version
  version="$(peers_version "$1")"
  case "$1" in
    prometheus)
      # Module v0.3MM.P is Prometheus v3.MM.P.
      local v="${version#v0.}"
      v="3.$((10#${v%%.*} - 300)).${v#*.}"
      echo "-tags=remove_all_sd -ldflags=-s -w -X github.com/prometheus/common/version.Version=$v" ;;
    alertmanager)
      echo "-ldflags=-s -w -X github.com/prometheus/common/version.Version=${version#v}" ;;
    jaeger)
      # Module v1.(63+N).P is the Jaeger v2.N.P release.
      local v="${version#v1.}"
      v="v2.$((10#${v%%.*} - 63)).${v#*.}"
      echo "-ldflags=-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$v" ;;
    *) echo "-ldflags=-s -w" ;;
  esac
}

# The file a package builds to: the collector distribution's own name, else the package's last
# path element.
peers_binary_name() {
  if [ "$1" = "." ]; then echo otelcol-otelix; else basename "$1"; fi
}

peers_key() {
  local dir="$PEERS_ROOT/tools/$1"
  {
    go version
    peers_flags "$1"
    (cd "$dir" && find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
}

peers_build() {
  local peers=("$@")
  [ "${#peers[@]}" -gt 0 ] || peers=("${PEERS_ALL[@]}")
  command -v go >/dev/null 2>&1 || { note "peers: Go is not installed (needed to build ${peers[*]})"; return 1; }
  local peer
  for peer in "${peers[@]}"; do
    peers_binaries "$peer" >/dev/null || { note "peers: unknown peer $peer (known: ${PEERS_ALL[*]})"; return 1; }
    local key dest
    key="$(peers_key "$peer")"
    dest="$PEERS_CACHE/$peer-$(peers_version "$peer")-$key"
    if [ ! -f "$dest/.built" ]; then
      local tmp="$dest.tmp.$$" started flags entry
      rm -rf "$tmp" && mkdir -p "$tmp/bin"
      started=$(date +%s)
      note "peers: building $peer $(peers_version "$peer") (tools/$peer; first build on this machine takes minutes)"
      flags="$(peers_flags "$peer")"
      for entry in $(peers_binaries "$peer"); do
        local pkg="${entry#*=}" name
        name="$(peers_binary_name "$pkg")"
        # -ldflags takes everything after "=" as one argument, so split flags by hand.
        local tags="${flags%% -ldflags=*}" ldflags="${flags#*-ldflags=}"
        [ "$tags" = "$flags" ] && tags=""
        if ! (cd "$PEERS_ROOT/tools/$peer" && go build -trimpath ${tags:+"$tags"} -ldflags="$ldflags" -o "$tmp/bin/$name" "$pkg"); then
          rm -rf "$tmp"
          note "peers: building $peer failed (tools/$peer)"
          return 1
        fi
      done
      echo "$(( $(date +%s) - started ))" >"$tmp/.build-seconds"
      touch "$tmp/.built"
      rm -rf "$dest" && mv "$tmp" "$dest"
      note "peers: built $peer in $(cat "$dest/.build-seconds") s -> $dest/bin"
    fi
    for entry in $(peers_binaries "$peer"); do
      local var="${entry%%=*}"
      printf -v "$var" '%s' "$dest/bin/$(peers_binary_name "${entry#*=}")"
      export "${var?}"
    done
  done
}
