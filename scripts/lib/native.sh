# shellcheck shell=bash
# The project's native parts: the pg_querylens extension (built with PGXS against the pg_config on
# PATH and installed into that server), the ffi/ libraries the collector loads with Deno.dlopen
# (ffi/build/: the ring reader and the eBPF loader), and the eBPF tier's BPF program (bpf/build/).
# Sourced by scripts/setup.sh; expects ROOT and the helpers of common.sh.

# Builds and installs extension/ into Debian's PostgreSQL 15 (needs root for the install step).
build_extension() {
  local pg_config=/usr/lib/postgresql/15/bin/pg_config
  [[ -x "$pg_config" ]] || die "pg_config of PostgreSQL 15 not found at $pg_config (postgresql-server-dev-15)"
  log "building the pg_querylens extension"
  make -s -C "$ROOT/extension" PG_CONFIG="$pg_config" >&2 || die "make -C extension failed"
  [[ "$(id -u)" == 0 ]] || die "installing pg_querylens into PostgreSQL 15 needs root: run scripts/setup.sh as root"
  make -s -C "$ROOT/extension" PG_CONFIG="$pg_config" install >&2 || die "make -C extension install failed"
}

# Builds the ffi/ libraries (the ring reader with its stress harness, the eBPF loader) and the BPF
# program.
build_ffi() {
  log "building the ffi/ libraries"
  make -s -C "$ROOT/ffi" >&2 || die "make -C ffi failed"
  build_bpf
}

# Builds bpf/build/pgql_delay.bpf.o with clang, vmlinux.h generated from the running kernel's BTF.
# A kernel without BTF is not an error: the build says so and the eBPF tier reports itself
# unavailable when enabled.
build_bpf() {
  log "building the BPF program of the eBPF tier"
  make -s -C "$ROOT/bpf" >&2 || die "make -C bpf failed"
}
