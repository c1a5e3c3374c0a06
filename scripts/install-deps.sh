#!/usr/bin/env bash
# Installs, with apt-get, whatever the build and the tests need and this
# machine lacks. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(cmake g++ make pkg-config libpoco-dev libssl-dev openssl libboost-dev libboost-filesystem-dev
          libgtest-dev googletest curl python3 redis-server clang libclang-rt-14-dev)
# The monitoring tests: promtool (package prometheus) checks /metrics; Chromium,
# driven by playwright-core from npm, opens the /status page.
packages+=(prometheus chromium)
# The membership test whose nodes' wall clock steps (libfaketime).
packages+=(faketime)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm) # a Node.js from elsewhere (nodesource) will do
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx tomcat10)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Only promtool is wanted: do not leave a Prometheus server running on :9090.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The Jolokia integration test drives the server with the npm client pinned in
# tests/integration/jolokia/package-lock.json (node_modules is not committed).
jolokia_test="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/jolokia"
if command -v npm >/dev/null && [[ ! -d "$jolokia_test/node_modules/jolokia.js" ]]; then
  npm ci --prefix "$jolokia_test" --no-audit --no-fund --loglevel=error ||
    echo "install-deps: npm ci in $jolokia_test failed (the Jolokia test retries it)" >&2
fi
