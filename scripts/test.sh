#!/usr/bin/env bash
# Runs the ava suite. Where Linux allows it (root, or unprivileged user namespaces), the suite runs
# in a network namespace of its own that has only loopback: a test that tried to reach any other
# address would fail instead of quietly depending on the network.
set -euo pipefail
cd "$(dirname "$0")/.."
# Formatting and lint first (biome.jsonc; `npm run format` fixes what it can). The type check ran
# in setup's build.
node_modules/.bin/biome check . >&2 || { echo "test: biome check failed; run npm run format, then fix what is left" >&2; exit 1; }
flags=-n
[ "$(id -u)" = 0 ] || flags=-rn
if command -v unshare >/dev/null && command -v ip >/dev/null && unshare $flags sh -c 'ip link set lo up' 2>/dev/null; then
  echo "test: running in a network namespace with loopback only" >&2
  exec unshare $flags bash -c 'ip link set lo up && exec node_modules/.bin/ava "$@"' ava "$@"
fi
echo "test: no private network namespace here; running with the host's network" >&2
exec node_modules/.bin/ava "$@"
