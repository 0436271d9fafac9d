#!/usr/bin/env bash
# Installs the external tools the test suite talks to, when they are missing.
# Used by .ci/run; safe to run by hand (needs root or sudo for apt-get).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_packages=()
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)

if [ "${#apt_packages[@]}" -gt 0 ]; then
  echo "install-tools: installing ${apt_packages[*]} from Debian's packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

echo "install-tools: $(promtool --version 2>&1 | head -n 1)"
