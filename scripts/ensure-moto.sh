#!/usr/bin/env bash
# Installs the AWS API emulator (moto's server, pinned) into a virtualenv in the per-user cache
# and prints the path of its `moto_server` executable on stdout (progress goes to stderr).
# Idempotent: a second run with the same pinned version costs nothing.
set -euo pipefail

MOTO_VERSION="5.1.18"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/attini-gitops"
VENV="$CACHE_ROOT/moto/v$MOTO_VERSION"
BIN="$VENV/bin/moto_server"

log() { echo "ensure-moto: $*" >&2; }

if [ -x "$BIN" ] && [ -f "$VENV/.complete" ]; then
  log "using cached moto $MOTO_VERSION ($VENV)"
  echo "$BIN"
  exit 0
fi

PYTHON="${PYTHON:-$(command -v python3 || true)}"
if [ -z "$PYTHON" ]; then
  log "python3 is needed to run the AWS API emulator (moto); install Python >= 3.9 and re-run"
  exit 1
fi

log "installing moto[server]==$MOTO_VERSION into $VENV"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
touch "$VENV/.complete"
log "installed moto $MOTO_VERSION"
echo "$BIN"
