#!/usr/bin/env bash
# Makes the Attini CLI (open source, GPL v3) available for the tests and the demo, and prints the
# absolute path of its launcher on stdout (and nothing else). The product itself always runs the
# user's own `attini`; this is the one the test loop runs.
#
#   1. ATTINI_BIN, if set, is used as it is (it must be executable); not with --emulator, which
#      needs the JVM jar built from source.
#   2. Otherwise a source tree or tarball named by ATTINI_CLI_SOURCE,
#   3. else ../shared/attini-cli/attini-cli-src.tar.gz beside the project, after checking its
#      commit and sha256,
#   4. else a git clone of the pinned commit from GitHub, on machines that reach it,
#      is built with Maven (-Pgraalvm -DskipTests) into the per-user cache, keyed by commit:
#      ${XDG_CACHE_HOME:-~/.cache}/attini-gitops/attini/<commit>/{attini-cli.jar,bin/attini,VERSION}.
#      A second run costs nothing. bin/attini starts the JVM jar with quick-start flags.
#   5. With --emulator, it also compiles the test-only emulator interceptor (test/attini-emulator/,
#      see its README) into emulator-<source hash>/ beside the jar, and prints the launcher there
#      instead, which puts the interceptor on attini's classpath. Only tests and the demo ask
#      for it; the launcher in bin/ and the product never use it.
#
# Without a JDK 17+ (java, javac) and Maven it fails and names how to get them.
# Progress goes to stderr so that `ATTINI=$(scripts/ensure-attini.sh)` works.
set -euo pipefail
# shellcheck source=scripts/cache.sh
source "$(dirname "$0")/cache.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

ATTINI_COMMIT="9589088df4f9c6507fc6123c308576614c17b525"
ATTINI_VERSION="2.6.0"
TARBALL_SHA256="347d849f5f8b302f5f72f16aeabb3bc3354409148f83bbadce4122402df75f32"
SHARED_TARBALL="$ROOT/../shared/attini-cli/attini-cli-src.tar.gz"
REPO_URL="https://github.com/attini-cloud-solutions/attini-cli.git"
DEST_DIR="$CACHE_ROOT/attini/$ATTINI_COMMIT"
JAR="$DEST_DIR/attini-cli.jar"
LAUNCHER="$DEST_DIR/bin/attini"
EMULATOR_SRC="$ROOT/test/attini-emulator"

EMULATOR=0
[ "${1:-}" = "--emulator" ] && EMULATOR=1

# 1. The user's own attini.
if [ -n "${ATTINI_BIN:-}" ] && [ "$EMULATOR" = 0 ]; then
  if [ ! -x "$ATTINI_BIN" ]; then
    log "ATTINI_BIN=$ATTINI_BIN is not an executable file"
    exit 1
  fi
  log "using ATTINI_BIN ($ATTINI_BIN)"
  echo "$ATTINI_BIN"
  exit 0
fi

need_jdk() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(java)
  command -v javac >/dev/null 2>&1 || missing+=(javac)
  command -v mvn >/dev/null 2>&1 || missing+=(mvn)
  local major=0
  if command -v java >/dev/null 2>&1; then
    major="$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n1)"
  fi
  if [ "${#missing[@]}" -gt 0 ] || [ "${major:-0}" -lt 17 ]; then
    cat >&2 <<MSG
ensure-attini: building the Attini CLI needs a JDK 17 or newer (java, javac) and Maven 3.8+.
  missing: ${missing[*]:-none}; java major version: ${major:-none}
  On Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven
  Elsewhere: https://adoptium.net (JDK 17) and https://maven.apache.org/install.html
  Or point ATTINI_BIN at an attini executable you already have.
MSG
    exit 1
  fi
}

# write_launcher FILE EXTRA_CLASSPATH COMMENT: a script that starts the jar quickly (the C1
# compiler only and the serial collector: about 1.1 s instead of 1.6 s).
write_launcher() {
  cat > "$1" <<LAUNCH
#!/bin/sh
# $3
ATTINI_CLI_JAR='$JAR'
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "\$ATTINI_CLI_JAR$2" se.attini.cli.AttiniCliCommand "\$@"
LAUNCH
  chmod +x "$1"
}

# The test-only interceptor, compiled against the jar, keyed by its source; prints its launcher.
build_emulator() {
  local hash dir
  hash="$(cat "$EMULATOR_SRC"/*.java "$EMULATOR_SRC"/services | sha256sum | cut -c1-16)"
  dir="$DEST_DIR/emulator-$hash"
  if [ ! -f "$dir/.complete" ]; then
    log "compiling the test-only emulator interceptor into $dir"
    rm -rf "$dir"
    mkdir -p "$dir/classes"
    run_logged attini-emulator "compiling the emulator interceptor" javac -nowarn -d "$dir/classes" -cp "$JAR" "$EMULATOR_SRC"/*.java
    while read -r svc; do
      [ -n "$svc" ] || continue
      mkdir -p "$dir/classes/software/amazon/awssdk/services/$svc"
      echo "attinigitops.emulator.EmulatorEndpoint" > "$dir/classes/software/amazon/awssdk/services/$svc/execution.interceptors"
    done < "$EMULATOR_SRC/services"
    write_launcher "$dir/attini" ":$dir/classes" "TEST ONLY: the Attini CLI with the emulator interceptor (test/attini-emulator/) on its classpath, which sends every AWS call to AWS_ENDPOINT_URL. Never use it against AWS."
    touch "$dir/.complete"
  fi
  echo "$dir/attini"
}

# 2-4. The cached build, or a new one from source.
if [ ! -f "$DEST_DIR/.complete" ]; then
  need_jdk
  mkdir -p "$CACHE_ROOT/attini"
  work="$(mktemp -d "$CACHE_ROOT/attini/build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  src=""
  if [ -n "${ATTINI_CLI_SOURCE:-}" ]; then
    if [ -d "$ATTINI_CLI_SOURCE" ]; then
      log "building the Attini CLI from the source tree ATTINI_CLI_SOURCE=$ATTINI_CLI_SOURCE"
      cp -R "$ATTINI_CLI_SOURCE" "$work/src"
      src="$work/src"
    elif [ -f "$ATTINI_CLI_SOURCE" ]; then
      log "building the Attini CLI from the tarball ATTINI_CLI_SOURCE=$ATTINI_CLI_SOURCE"
      tar -xzf "$ATTINI_CLI_SOURCE" -C "$work"
    else
      log "ATTINI_CLI_SOURCE=$ATTINI_CLI_SOURCE is neither a folder nor a file"
      exit 1
    fi
  elif [ -f "$SHARED_TARBALL" ]; then
    got_sha="$(sha256sum "$SHARED_TARBALL" | cut -d' ' -f1)"
    got_commit="$(gzip -dc "$SHARED_TARBALL" | git get-tar-commit-id || true)"
    if [ "$got_sha" != "$TARBALL_SHA256" ] || [ "$got_commit" != "$ATTINI_COMMIT" ]; then
      log "$SHARED_TARBALL is not the pinned source: sha256 $got_sha (want $TARBALL_SHA256), commit ${got_commit:-none} (want $ATTINI_COMMIT)"
      exit 1
    fi
    log "building the Attini CLI $ATTINI_VERSION (commit $ATTINI_COMMIT) from $SHARED_TARBALL (one-off; about a minute plus Maven's downloads)"
    tar -xzf "$SHARED_TARBALL" -C "$work"
  else
    log "no ATTINI_CLI_SOURCE and no $SHARED_TARBALL: cloning $REPO_URL at $ATTINI_COMMIT"
    if ! run_logged attini-clone "cloning the Attini CLI" timeout 300 git clone -q "$REPO_URL" "$work/src" || ! git -C "$work/src" checkout -q "$ATTINI_COMMIT" >&2; then
      log "could not get the Attini CLI source. Set ATTINI_CLI_SOURCE to a source tree or tarball of commit $ATTINI_COMMIT, or ATTINI_BIN to an attini executable."
      exit 1
    fi
    src="$work/src"
  fi
  if [ -z "$src" ]; then
    src="$(dirname "$(find "$work" -maxdepth 3 -name pom.xml -print -quit)")"
  fi
  if [ ! -f "$src/pom.xml" ]; then
    log "no pom.xml in the Attini CLI source"
    exit 1
  fi
  # The GraalVM profile of the Micronaut parent brings the GraalVM SDK that a plain build lacks.
  (cd "$src" && run_logged attini-build "building the Attini CLI with Maven" mvn -B -q -Dstyle.color=never -Pgraalvm -DskipTests package)
  built="$(find "$src/target" -maxdepth 1 -name 'attini-cli-*.jar' ! -name 'original-*' -print -quit)"
  [ -n "$built" ] || { log "the Maven build made no attini-cli jar"; exit 1; }
  version="$(java -jar "$built" --version 2>/dev/null | tail -n1 || true)"
  rm -rf "$DEST_DIR"
  mkdir -p "$DEST_DIR/bin"
  cp "$built" "$JAR"
  echo "attini-cli ${version:-unknown} commit $ATTINI_COMMIT" > "$DEST_DIR/VERSION"
  write_launcher "$LAUNCHER" "" "The Attini CLI ${version:-unknown} (commit $ATTINI_COMMIT), built from source by scripts/ensure-attini.sh."
  touch "$DEST_DIR/.complete"
  log "built $(cat "$DEST_DIR/VERSION") into $DEST_DIR"
else
  log "using cached $(cat "$DEST_DIR/VERSION") ($DEST_DIR)"
fi

if [ "$EMULATOR" = 1 ]; then
  need_jdk
  build_emulator
else
  echo "$LAUNCHER"
fi
