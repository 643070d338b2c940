/**
 * The PostgreSQL server installs that tests can start clusters from.
 *
 * Two kinds exist, both installed by `scripts/setup.sh`:
 * - `debian15`: Debian's PostgreSQL 15 with pg_wait_sampling and pg_stat_kcache;
 * - `pg13` … `pg18`: embedded builds unpacked into `.tools/pg/<major>`.
 *
 * The environment variable `PGQL_MATRIX` (comma-separated ids) chooses the servers that matrix tests
 * run against; by default every installed one. A requested server that is not installed is an error,
 * never a silent skip.
 *
 * @module
 */

import { join } from "node:path";

/** Identifier of a server install. */
export type ServerId = "debian15" | "pg13" | "pg14" | "pg15" | "pg16" | "pg17" | "pg18";

/** One PostgreSQL installation on this machine. */
export interface ServerInstall {
  /** Identifier used by `PGQL_MATRIX` and in test names. */
  id: ServerId;
  /** Major version (13…18). */
  major: number;
  /** Directory holding `initdb`, `pg_ctl` and `postgres`. */
  binDir: string;
  /** Directory of the install's own shared libraries, when they are not in a system location. */
  libDir?: string;
  /** Directory of loadable modules (`pkglibdir`). */
  pkgLibDir: string;
  /** Directory of extension control and script files. */
  extensionDir: string;
  /** Extensions whose control file and module are both present, sorted. */
  extensions: string[];
}

/** Every server id, in matrix order. */
export const SERVER_IDS: readonly ServerId[] = ["debian15", "pg13", "pg14", "pg15", "pg16", "pg17", "pg18"];

/** Majors of the embedded builds that `scripts/setup.sh` installs into `.tools/pg/<major>`. */
export const EMBEDDED_MAJORS: readonly number[] = [13, 14, 15, 16, 17, 18];

const DEBIAN_MAJOR = 15;

/** Absolute path of the repository root. */
export function repoRoot(): string {
  const here = import.meta.dirname;
  if (!here) throw new Error("tests/support/servers.ts must be loaded from a local file");
  return join(here, "..", "..");
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function listNames(dir: string, suffix: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.name.endsWith(suffix))
      .map((e) => e.name.slice(0, -suffix.length));
  } catch {
    return [];
  }
}

/** Extensions in `extensionDir` whose module `<name>.so` exists in `pkgLibDir`, sorted. */
export function detectExtensions(extensionDir: string, pkgLibDir: string): string[] {
  const modules = new Set(listNames(pkgLibDir, ".so"));
  return listNames(extensionDir, ".control").filter((name) => modules.has(name)).sort();
}

function describe(
  id: ServerId,
  major: number,
  dirs: { binDir: string; libDir?: string; pkgLibDir: string; extensionDir: string },
): ServerInstall | undefined {
  for (const tool of ["initdb", "pg_ctl", "postgres"]) {
    if (!isFile(join(dirs.binDir, tool))) return undefined;
  }
  return { id, major, ...dirs, extensions: detectExtensions(dirs.extensionDir, dirs.pkgLibDir) };
}

function probe(id: ServerId, root: string): ServerInstall | undefined {
  if (id === "debian15") {
    return describe(id, DEBIAN_MAJOR, {
      binDir: `/usr/lib/postgresql/${DEBIAN_MAJOR}/bin`,
      pkgLibDir: `/usr/lib/postgresql/${DEBIAN_MAJOR}/lib`,
      extensionDir: `/usr/share/postgresql/${DEBIAN_MAJOR}/extension`,
    });
  }
  const major = Number(id.slice(2));
  const native = join(root, ".tools", "pg", String(major), "native");
  return describe(id, major, {
    binDir: join(native, "bin"),
    libDir: join(native, "lib"),
    pkgLibDir: join(native, "lib", "postgresql"),
    extensionDir: join(native, "share", "postgresql", "extension"),
  });
}

function isServerId(id: string): id is ServerId {
  return (SERVER_IDS as readonly string[]).includes(id);
}

/**
 * Every server install present on this machine, in matrix order. `root` is the checkout whose
 * `.tools/pg` holds the embedded builds (this repository by default).
 */
export function availableServers(root: string = repoRoot()): ServerInstall[] {
  return SERVER_IDS.map((id) => probe(id, root)).filter((s): s is ServerInstall => s !== undefined);
}

/**
 * The install with the given id (embedded builds are looked up under `root`, this repository by
 * default).
 *
 * @throws Error when the id is unknown or the install is missing (the message says how to install it).
 */
export function serverById(id: string, root: string = repoRoot()): ServerInstall {
  if (!isServerId(id)) {
    throw new Error(`unknown PostgreSQL server id "${id}" (known: ${SERVER_IDS.join(", ")})`);
  }
  const server = probe(id, root);
  if (!server) {
    throw new Error(
      `PostgreSQL server "${id}" is not installed; run scripts/setup.sh` +
        (id === "debian15" ? "" : " (without PGQL_SKIP_MATRIX=1)"),
    );
  }
  return server;
}

/** Debian's PostgreSQL 15, the default server for tests (it has pg_wait_sampling and pg_stat_kcache). */
export function debianServer(): ServerInstall {
  return serverById("debian15");
}

/**
 * The servers matrix tests run against: the ids in `PGQL_MATRIX` (comma-separated, in that order),
 * or every installed server when the variable is unset or empty.
 *
 * @throws Error when a requested server is unknown or not installed, or when nothing is installed.
 */
export function matrixServers(
  matrix: string | undefined = Deno.env.get("PGQL_MATRIX"),
  root: string = repoRoot(),
): ServerInstall[] {
  const ids = (matrix ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (ids.length === 0) {
    const installed = availableServers(root);
    if (installed.length === 0) {
      throw new Error("no PostgreSQL server is installed for tests; run scripts/setup.sh");
    }
    return installed;
  }
  return [...new Set(ids)].map((id) => serverById(id, root));
}
