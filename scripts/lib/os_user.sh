# shellcheck shell=bash
# The unprivileged OS user that runs initdb/postgres (both refuse to run as root).
# Sourced by scripts/setup.sh.

# Name used when the distribution did not create a `postgres` user.
PGQL_FALLBACK_USER="pgquerylens"

# Prints the name of the server user, creating `pgquerylens` when `postgres` is absent.
ensure_server_user() {
  if getent passwd postgres >/dev/null; then
    log "server user: postgres (exists)"
    echo postgres
    return
  fi
  if ! getent passwd "$PGQL_FALLBACK_USER" >/dev/null; then
    [[ "$(id -u)" == 0 ]] || die "no 'postgres' user and not root: cannot create '$PGQL_FALLBACK_USER'"
    log "creating server user $PGQL_FALLBACK_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$PGQL_FALLBACK_USER"
  else
    log "server user: $PGQL_FALLBACK_USER (exists)"
  fi
  echo "$PGQL_FALLBACK_USER"
}
