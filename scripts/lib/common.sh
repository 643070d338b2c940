# shellcheck shell=bash
# Shared helpers for scripts/setup.sh: logging to stderr and small checks.
# Sourced, never run directly.

# Prints a progress line on stderr.
log() {
  printf '[setup] %s\n' "$*" >&2
}

# Prints an error on stderr and exits non-zero.
die() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 1
}

# True when a command is on PATH.
have() {
  command -v "$1" >/dev/null 2>&1
}

# Runs a command as the given OS user when root, else as ourselves (servers then run as us too).
run_as() {
  local user="$1"
  shift
  if [[ "$(id -u)" != 0 || "$(id -un)" == "$user" ]]; then
    "$@"
  else
    runuser -u "$user" -- "$@"
  fi
}
