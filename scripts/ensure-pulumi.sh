#!/usr/bin/env bash
# Makes a Pulumi CLI available and prints its absolute path on stdout (and nothing else).
#
#   1. `pulumi` on PATH is used when it is at least PULUMI_MIN_VERSION.
#   2. Otherwise the pinned PULUMI_VERSION is built from the Go module proxy into
#      ${XDG_CACHE_HOME:-~/.cache}/attini-gitops/pulumi/v<version>/bin/pulumi.
#      The build is keyed by version and idempotent: a second run costs nothing.
#   3. With neither a usable `pulumi` nor Go, it fails and names both ways to get one.
#
# Progress goes to stderr so that `PULUMI=$(scripts/ensure-pulumi.sh)` works.
set -euo pipefail
# shellcheck source=scripts/cache.sh
source "$(dirname "$0")/cache.sh"

PULUMI_VERSION="${ATTINI_GITOPS_PULUMI_VERSION:-3.274.1}"
PULUMI_MIN_VERSION="3.200.0"
DEST_DIR="$CACHE_ROOT/pulumi/v$PULUMI_VERSION"
DEST="$DEST_DIR/bin/pulumi"


# version_ge A B: true when dotted version A >= B (numeric, ignores pre-release suffixes).
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sed 's/-.*//' | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$(echo "$2" | sed 's/-.*//')" ]
}

cli_version() { "$1" version 2>/dev/null | sed -e 's/^v//' -e 's/-.*//' | head -n1; }

# 1. An installed CLI that is new enough.
if [ -z "${ATTINI_GITOPS_FORCE_BUILD:-}" ] && on_path="$(command -v pulumi 2>/dev/null)"; then
  v="$(cli_version "$on_path" || true)"
  if [ -n "$v" ] && version_ge "$v" "$PULUMI_MIN_VERSION"; then
    log "using pulumi $v on PATH ($on_path)"
    echo "$on_path"
    exit 0
  fi
  log "pulumi on PATH is ${v:-of unknown version}, older than the minimum $PULUMI_MIN_VERSION; using a pinned build"
fi

# 2. The cached pinned build.
if [ -x "$DEST" ] && [ "$(cli_version "$DEST" || true)" = "$PULUMI_VERSION" ]; then
  log "using cached pulumi $PULUMI_VERSION ($DEST)"
  echo "$DEST"
  exit 0
fi

# 3. Build it from the Go module proxy.
if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
ensure-pulumi: no Pulumi CLI >= $PULUMI_MIN_VERSION on PATH, and no Go toolchain to build one.
  Either install the Pulumi CLI:   https://www.pulumi.com/docs/install/  (then re-run)
  or install Go >= 1.23:           https://go.dev/doc/install  (this script then builds pulumi v$PULUMI_VERSION into $DEST_DIR)
MSG
  exit 1
fi

log "building pulumi v$PULUMI_VERSION from the Go module proxy into $DEST_DIR (one-off; a few minutes)"
mkdir -p "$CACHE_ROOT/pulumi"
work="$(mktemp -d "$CACHE_ROOT/pulumi/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
# pkg/v3's go.mod has replace directives, so `go install pkg@version` is refused; a wrapper
# module that requires pkg and sdk at the same version builds the same binary.
cat > go.mod <<MOD
module attini-gitops/pulumi-cli-build

go 1.23

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
export GOFLAGS="-mod=mod"
# Go's own output (hundreds of "go: downloading" lines) goes to the build log, not the terminal.
# (run_logged runs it where set -e does not apply: each step is chained.)
build() {
  { go mod tidy -e || true; } &&
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" &&
  mkdir -p "$DEST_DIR/bin.tmp" &&
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$DEST_DIR/bin.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}
run_logged pulumi-build "building pulumi v$PULUMI_VERSION" build
rm -rf "$DEST_DIR/bin"
mv "$DEST_DIR/bin.tmp" "$DEST_DIR/bin"
got="$(cli_version "$DEST")"
if [ "$got" != "$PULUMI_VERSION" ]; then
  log "built binary reports version '$got', expected $PULUMI_VERSION"
  exit 1
fi
log "built pulumi $got"
echo "$DEST"
