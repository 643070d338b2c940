# shellcheck shell=bash
# Debian packages: PostgreSQL 15 with the extensions the collector reads, server headers, pgbouncer,
# runuser, protoc (checks the OTLP encoding byte for byte), Prometheus' postgres exporter (the
# benchmark's reference), make and gcc for the native parts, valgrind (instruction counts), and for the
# eBPF tier clang (BPF target), libbpf/libelf/zlib headers (the loader library) and bpftool (vmlinux.h
# from the kernel's BTF, and the tests' check that no program outlives the collector).
# Sourced by scripts/setup.sh; expects the helpers of common.sh.

PGQL_APT_PACKAGES=(
  postgresql-15
  postgresql-15-pg-wait-sampling
  postgresql-15-pg-stat-kcache
  postgresql-server-dev-15
  pgbouncer
  prometheus-postgres-exporter
  util-linux
  protobuf-compiler
  make
  gcc
  valgrind
  clang
  libbpf-dev
  libelf-dev
  zlib1g-dev
  bpftool
  systemd
)

# Prints the packages of the argument list that dpkg does not report as installed.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      echo "$pkg"
    fi
  done
}

# True when apt knows an installable candidate for the package.
apt_has_candidate() {
  local candidate
  candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
  [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

# Keeps Debian's postgresql-common from creating a `main` cluster when the server package installs.
disable_main_cluster_creation() {
  local conf_dir=/etc/postgresql-common/createcluster.d
  mkdir -p "$conf_dir"
  printf '# Written by scripts/setup.sh: tests start their own clusters.\ncreate_main_cluster = false\n' \
    >"$conf_dir/pgquerylens.conf"
}

# Installs the missing Debian packages; runs apt-get update only when something must be installed.
install_apt_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages "${PGQL_APT_PACKAGES[@]}")
  if ((${#missing[@]} == 0)); then
    log "debian packages already installed: ${PGQL_APT_PACKAGES[*]}"
    return
  fi
  [[ "$(id -u)" == 0 ]] || die "missing packages (${missing[*]}) and not root: run scripts/setup.sh as root"
  disable_main_cluster_creation
  log "apt-get update (missing: ${missing[*]})"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # Older releases ship contrib separately; Debian 12 folds it into postgresql-15.
  if apt_has_candidate postgresql-contrib-15 && [[ -n "$(missing_packages postgresql-contrib-15)" ]]; then
    missing+=(postgresql-contrib-15)
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Stops Debian's auto-created clusters and services so nothing listens on 5432/6432 behind the tests.
stop_distribution_services() {
  if have pg_lsclusters; then
    local ver name port status
    while read -r ver name port status _; do
      [[ "$ver" =~ ^[0-9]+$ ]] || continue
      if [[ "$status" == online* ]]; then
        log "stopping debian cluster $ver/$name (port $port)"
        pg_ctlcluster "$ver" "$name" stop -m fast >&2 || log "warning: could not stop cluster $ver/$name"
      fi
      local start_conf="/etc/postgresql/$ver/$name/start.conf"
      if [[ -f "$start_conf" ]] && ! grep -qx disabled "$start_conf"; then
        log "disabling automatic start of debian cluster $ver/$name"
        printf '# Disabled by scripts/setup.sh: tests start their own clusters.\ndisabled\n' >"$start_conf"
      fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
  fi
  if have pgrep && pgrep -f /usr/bin/prometheus-postgres-exporter >/dev/null 2>&1; then
    log "stopping the distribution's prometheus-postgres-exporter service"
    if have service; then service prometheus-postgres-exporter stop >&2 || true; fi
  fi
  if have pgrep && pgrep -x pgbouncer >/dev/null 2>&1; then
    log "stopping the distribution's pgbouncer service"
    if have service; then service pgbouncer stop >&2 || true; fi
  fi
  if have systemctl && [[ -d /run/systemd/system ]]; then
    systemctl disable --now postgresql pgbouncer prometheus-postgres-exporter >/dev/null 2>&1 || true
  fi
}
