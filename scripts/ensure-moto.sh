#!/usr/bin/env bash
# Installs the AWS API emulator (moto's server, pinned) into a virtualenv in the per-user cache
# and prints the path of its `moto_server` executable on stdout (progress goes to stderr).
# The same virtualenv gets the AWS CLI v1 (pinned), which `npm run bench` uses for the bash
# baseline (aws sts assume-role + jq). Idempotent: a second run costs nothing.
set -euo pipefail
# shellcheck source=scripts/cache.sh
source "$(dirname "$0")/cache.sh"

MOTO_VERSION="5.1.18"
AWSCLI_VERSION="1.45.11"
VENV="$CACHE_ROOT/aws-tools/moto-$MOTO_VERSION-awscli-$AWSCLI_VERSION"
BIN="$VENV/bin/moto_server"


if [ -x "$BIN" ] && [ -f "$VENV/.complete" ]; then
  log "using cached moto $MOTO_VERSION and AWS CLI $AWSCLI_VERSION ($VENV)"
  echo "$BIN"
  exit 0
fi

PYTHON="${PYTHON:-$(command -v python3 || true)}"
if [ -z "$PYTHON" ]; then
  log "python3 is needed to run the AWS API emulator (moto); install Python >= 3.9 and re-run"
  exit 1
fi

log "installing moto[server]==$MOTO_VERSION and awscli==$AWSCLI_VERSION into $VENV"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
install_tools() {
  "$PYTHON" -m venv "$VENV" &&
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION"
}
run_logged moto-install "installing moto and the AWS CLI" install_tools
touch "$VENV/.complete"
log "installed moto $MOTO_VERSION and AWS CLI $AWSCLI_VERSION"
echo "$BIN"
