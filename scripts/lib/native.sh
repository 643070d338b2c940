# shellcheck shell=bash
# The project's native parts: the pg_querylens extension (built with PGXS against the pg_config on
# PATH and installed into that server), and the ffi/ reader library the collector loads with
# Deno.dlopen (ffi/build/). Sourced by scripts/setup.sh; expects ROOT and the helpers of common.sh.

# Builds and installs extension/ into Debian's PostgreSQL 15 (needs root for the install step).
build_extension() {
  local pg_config=/usr/lib/postgresql/15/bin/pg_config
  [[ -x "$pg_config" ]] || die "pg_config of PostgreSQL 15 not found at $pg_config (postgresql-server-dev-15)"
  log "building the pg_querylens extension"
  make -s -C "$ROOT/extension" PG_CONFIG="$pg_config" >&2 || die "make -C extension failed"
  [[ "$(id -u)" == 0 ]] || die "installing pg_querylens into PostgreSQL 15 needs root: run scripts/setup.sh as root"
  make -s -C "$ROOT/extension" PG_CONFIG="$pg_config" install >&2 || die "make -C extension install failed"
}

# Builds the ffi/ reader library (and its stress harness).
build_ffi() {
  log "building the ffi/ library"
  make -s -C "$ROOT/ffi" >&2 || die "make -C ffi failed"
}
