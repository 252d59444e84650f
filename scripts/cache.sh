# Sourced by the ensure-* scripts: the per-user tool cache, and a logger that writes to stderr
# (stdout carries only the path of the tool the script provides).
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/attini-gitops"
log() { echo "$(basename "$0" .sh): $*" >&2; }
