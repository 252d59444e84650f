#!/usr/bin/env bash
# npm run bench [-- --readme]: the driver's overhead, the ledger's cost, the costs that grow with the work, then several targets in one wave.
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/bench/driver-overhead.js "$@"
node dist/bench/ledger-overhead.js "$@"
node dist/bench/scaling.js "$@"
node dist/bench/targets.js "$@"
