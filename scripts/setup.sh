#!/usr/bin/env bash
# Installs everything this project needs, idempotently: npm packages (including the node@22 binary
# that npm scripts run on), the Pulumi CLI (scripts/ensure-pulumi.sh), the AWS API emulator
# (scripts/ensure-moto.sh) and the Attini CLI built from source with the test-only emulator
# interceptor (scripts/ensure-attini.sh), then builds.
#
# It prints one line per step: what, why, what happened and how long it took. Each step's own
# output (npm, go, mvn, pip, tsc) goes to a log file under the tool cache, which it names, with its
# last lines, when the step fails; the long builds show progress meanwhile (scripts/cache.sh).
# Nothing here prints colour codes.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/cache.sh
source scripts/cache.sh
mkdir -p "$LOG_DIR"
# The ensure-* scripts' progress goes to this stderr, while their messages go to the step's log.
exec 3>&2
export ATTINI_GITOPS_PROGRESS_FD=3

# step NAME WHAT WHY CMD...: runs CMD with its output in $LOG_DIR/setup-NAME.log; one line when it
# is done (its last message, e.g. "using cached pulumi 3.274.1"), or the log's end when it fails.
step() {
  local name="$1" what="$2" why="$3"; shift 3
  local logfile="$LOG_DIR/setup-$name.log" t0=$SECONDS rc=0
  "$@" >/dev/null 2>"$logfile" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "setup: $what ($why) FAILED after $((SECONDS - t0))s; its output is in $logfile, which ends:" >&2
    tail -n 20 "$logfile" | sed 's/^/  | /' >&2
    exit "$rc"
  fi
  local said; said="$(grep -v '^ *|' "$logfile" | tail -n 1 | sed 's/^[a-z-]*: //')"
  echo "setup: $what ($why): ${said:-done}, $((SECONDS - t0))s" >&2
}

npm_deps() {
  # Reinstall only when package-lock.json changed since the last install.
  local stamp=node_modules/.attini-gitops-lock.sha256
  local want; want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "npm: up to date" >&2
    return
  fi
  # A node_modules that links to another checkout's is shared: npm ci here would replace the link
  # and empty the folder it points to, under the other checkout's feet. Leave it to its owner.
  if [ -L node_modules ]; then
    echo "npm: node_modules links to $(readlink node_modules), installed for another package-lock.json; not reinstalling it here (run npm ci there, or replace the link)" >&2
    return
  fi
  # Its prepare script builds the product code.
  run_logged npm-ci "installing the npm packages" npm ci --no-audit --no-fund --loglevel=error || return
  echo "$want" > "$stamp"
  echo "npm: installed from package-lock.json" >&2
}

build() {
  run_logged build "building" npm run --silent build || return
  echo "build: dist/ is up to date" >&2
}

step npm "npm packages" "the driver, the test tools and Node 22" npm_deps
step pulumi "Pulumi CLI" "the tests and the demo read stack outputs with it" bash scripts/ensure-pulumi.sh
step moto "AWS API emulator" "AWS for the tests and the demo, on 127.0.0.1" bash scripts/ensure-moto.sh
step attini "Attini CLI" "the real attini for the tests and the demo" bash scripts/ensure-attini.sh --emulator
# The tests, the demo and the bench too (prepare builds only the product code).
step build "TypeScript build" "type check, and the tests and demo compiled" build
