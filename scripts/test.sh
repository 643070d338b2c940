#!/usr/bin/env bash
# The test job on a fresh machine: installs everything (Deno, PostgreSQL 15 with extensions,
# pgbouncer, the embedded PostgreSQL 13-18 matrix), then runs every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.tools/bin/deno" task test "$@"
