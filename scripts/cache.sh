# Sourced by the ensure-* scripts: the per-user tool cache, a logger that writes to stderr (stdout
# carries only the path of the tool the script provides), and run_logged, which keeps a tool's own
# output (go, mvn, pip) in a log file under the cache, shows progress while a long build runs, and
# names the log, with its last lines, when the tool fails. No colour codes, ever.
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/attini-gitops"
LOG_DIR="$CACHE_ROOT/logs"
log() { echo "$(basename "$0" .sh): $*" >&2; }

# Where progress goes: ATTINI_GITOPS_PROGRESS_FD (setup.sh points it at its own stderr while it
# keeps each step's messages in a log), else stderr.
PROGRESS_FD="${ATTINI_GITOPS_PROGRESS_FD:-2}"

# ticker WHAT START: on a terminal, a dot every 5 s on one line; elsewhere (a CI log), one line
# every 30 s. Runs until killed.
ticker() {
  local what="$1" start="$2" n=0
  if [ -t "$PROGRESS_FD" ]; then
    printf '%s: %s ' "$(basename "$0" .sh)" "$what" >&"$PROGRESS_FD"
    while sleep 5 </dev/null >/dev/null 2>&1; do printf '.' >&"$PROGRESS_FD"; done
  else
    while sleep 1 </dev/null >/dev/null 2>&1; do
      n=$((n + 1))
      [ $((n % 30)) = 0 ] && echo "$(basename "$0" .sh): still $what ($((SECONDS - start))s)" >&"$PROGRESS_FD"
    done
  fi
}

# run_logged NAME WHAT CMD...: runs CMD with its output in $LOG_DIR/NAME.log, showing progress;
# on failure, says what failed, names the log and shows its last 20 lines. Returns CMD's status.
run_logged() {
  local name="$1" what="$2"; shift 2
  mkdir -p "$LOG_DIR"
  local logfile="$LOG_DIR/$name.log" t0=$SECONDS rc=0
  : > "$logfile"
  ticker "$what" "$t0" </dev/null >/dev/null &
  local tick=$!
  "$@" >>"$logfile" 2>&1 </dev/null || rc=$?
  kill "$tick" 2>/dev/null || true
  wait "$tick" 2>/dev/null || true
  [ -t "$PROGRESS_FD" ] && echo " $((SECONDS - t0))s" >&"$PROGRESS_FD"
  if [ "$rc" != 0 ]; then
    log "$what failed (exit $rc) after $((SECONDS - t0))s; its output is in $logfile, which ends:"
    tail -n 20 "$logfile" | sed 's/^/  | /' >&2
  fi
  return "$rc"
}
