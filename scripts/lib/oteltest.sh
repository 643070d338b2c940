# shellcheck shell=bash
# A Python virtual environment in .tools/otel-venv with PyPI's oteltest (pinned), whose OTLP sinks
# are the real receivers of the OTLP export tests. Sourced by scripts/setup.sh; expects ROOT and the
# helpers of common.sh.

PGQL_OTELTEST_VERSION="0.49.0"

# Prints the oteltest version installed in the venv, or nothing.
oteltest_version_in() {
  "$1/bin/python" -c 'import importlib.metadata as m; print(m.version("oteltest"))' 2>/dev/null || true
}

# Creates the venv and installs oteltest unless the pinned version is already there.
install_oteltest() {
  local venv="$ROOT/.tools/otel-venv"
  if [[ "$(oteltest_version_in "$venv")" == "$PGQL_OTELTEST_VERSION" ]]; then
    log "oteltest $PGQL_OTELTEST_VERSION already installed in .tools/otel-venv"
    return
  fi
  have python3 || die "python3 is required (it runs the OTLP test receiver)"
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating the python venv .tools/otel-venv"
    python3 -m venv "$venv" >&2 || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  log "installing oteltest $PGQL_OTELTEST_VERSION into .tools/otel-venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "oteltest==$PGQL_OTELTEST_VERSION" >&2
  [[ "$(oteltest_version_in "$venv")" == "$PGQL_OTELTEST_VERSION" ]] ||
    die "oteltest $PGQL_OTELTEST_VERSION did not install into .tools/otel-venv"
}
