# shellcheck shell=bash
# Installs the pinned Deno release from the npm registry into .tools/deno and links .tools/bin/deno.
# Sourced by scripts/setup.sh; expects ROOT and the helpers of common.sh.

PGQL_DENO_VERSION="2.9.6"

# Prints the version a deno binary reports, or nothing when it does not run.
deno_version_of() {
  "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }'
}

# Installs Deno unless .tools/bin/deno already reports the pinned version.
install_deno() {
  local prefix="$ROOT/.tools/deno" link="$ROOT/.tools/bin/deno"
  if [[ "$(deno_version_of "$link")" == "$PGQL_DENO_VERSION" ]]; then
    log "deno $PGQL_DENO_VERSION already installed"
    return
  fi
  log "installing deno $PGQL_DENO_VERSION from npm into .tools/deno"
  mkdir -p "$prefix" "$ROOT/.tools/bin"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --foreground-scripts \
    "deno@$PGQL_DENO_VERSION" >&2
  local candidate bin=""
  # The package's postinstall replaces its bin entry with the real binary; when install scripts were
  # skipped, the platform package still carries the binary itself.
  for candidate in \
    "$prefix/node_modules/.bin/deno" \
    "$prefix/node_modules/deno/deno" \
    "$prefix/node_modules/@deno/linux-x64-glibc/deno" \
    "$prefix/node_modules/@deno/linux-arm64-glibc/deno"; do
    if [[ -x "$candidate" && "$(deno_version_of "$candidate")" == "$PGQL_DENO_VERSION" ]]; then
      bin="$candidate"
      break
    fi
  done
  [[ -n "$bin" ]] || die "deno $PGQL_DENO_VERSION did not install a working binary under $prefix"
  ln -sfn "$(realpath --relative-to="$ROOT/.tools/bin" "$bin")" "$link"
  log "deno ready: $(deno_version_of "$link") -> .tools/bin/deno"
}

# Caches the project's npm dependencies; a failure here is reported but does not stop set-up.
cache_deno_dependencies() {
  local deno="$ROOT/.tools/bin/deno"
  [[ -f "$ROOT/deno.json" ]] || return 0
  log "caching npm dependencies (deno install)"
  if ! (cd "$ROOT" && "$deno" install >&2); then
    log "warning: 'deno install' failed; dependencies will be fetched on first use"
  fi
  if [[ -f "$ROOT/main.ts" ]]; then
    if ! (cd "$ROOT" && "$deno" cache main.ts >&2); then
      log "warning: 'deno cache main.ts' failed"
    fi
  fi
}
