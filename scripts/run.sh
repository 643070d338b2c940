#!/usr/bin/env bash
# The main job on a fresh machine: installs what it needs (without the test matrix), then runs the
# collector. With a server configured (HOSTNAME, --hostname, --config or PGQUERYLENS_CONFIG) the
# arguments go to the collector as they are; without one, an embedded throwaway PostgreSQL with a
# small workload is started and the collector's NRI documents are printed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGQL_SKIP_MATRIX=1 bash "$ROOT/scripts/setup.sh" >&2
cd "$ROOT"
exec "$ROOT/.tools/bin/deno" run -A --quiet scripts/demo.ts "$@"
