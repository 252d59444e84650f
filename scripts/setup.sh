#!/usr/bin/env bash
# Installs everything this project needs, idempotently, and prints how long each phase took:
#   npm packages (including the node@22 binary that npm scripts run on), the Pulumi CLI
#   (scripts/ensure-pulumi.sh), the AWS API emulator (scripts/ensure-moto.sh) and the Attini CLI
#   built from source with the test-only emulator interceptor (scripts/ensure-attini.sh), then builds.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() {
  local name="$1"; shift
  local t0=$SECONDS
  "$@"
  echo "setup: $name took $((SECONDS - t0))s" >&2
}

npm_deps() {
  # Reinstall only when package-lock.json changed since the last install.
  local stamp=node_modules/.attini-gitops-lock.sha256
  local want; want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: npm packages up to date" >&2
    return
  fi
  npm ci --no-audit --no-fund --loglevel=error >&2 # its prepare script builds the product code
  echo "$want" > "$stamp"
}

phase "npm packages" npm_deps
phase "Pulumi CLI" bash scripts/ensure-pulumi.sh >/dev/null
phase "AWS API emulator" bash scripts/ensure-moto.sh >/dev/null
phase "Attini CLI" bash scripts/ensure-attini.sh --emulator >/dev/null
# The tests, the demo and the bench too (prepare builds only the product code).
phase "build" npm run --silent build
