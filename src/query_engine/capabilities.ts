/**
 * What a connection can do: server version, extensions in its database, preloaded libraries,
 * privileges and the columns that vary between versions.
 *
 * Probed once per connection, again whenever the backend pid changes (a reconnect, e.g. after a
 * server restart), and again once the probe is older than `maxAgeMs` (default 5 minutes), so an
 * extension created or a role granted while the collector runs is noticed without a restart.
 *
 * @module
 */

import { MARKER } from "./marker.ts";
import type { Sql } from "./connection.ts";
import { parseServerVersion, type ServerVersion, versionFromNum } from "./version.ts";

/** An installed extension. */
export interface ExtensionInfo {
  /** Installed version. */
  version: string;
  /** Schema the extension's objects live in. */
  schema: string;
}

/** The probed capabilities of one connection. */
export interface Capabilities {
  /** Backend pid of the probed session (a change means a reconnect). */
  backendPid: number;
  /** Server version. */
  version: ServerVersion;
  /** `server_version` text. */
  serverVersion: string;
  /** Extensions created in the connected database. */
  extensions: Map<string, ExtensionInfo>;
  /**
   * Entries of `shared_preload_libraries`, or undefined when the role may not read it (it needs
   * pg_read_all_settings).
   */
  preloaded?: string[];
  /** The role is a superuser. */
  superuser: boolean;
  /** The role can read all statistics (superuser or member of pg_read_all_stats). */
  readAllStats: boolean;
  /** Role name. */
  role: string;
  /** `compute_query_id` (14+), or undefined before 14. */
  computeQueryId?: string;
  /** pg_stat_activity has `query_id` (14+). */
  activityHasQueryId: boolean;
  /** Column of pg_stat_statements holding the total execution time. */
  pgssTotalTimeColumn: "total_exec_time" | "total_time";
  /** `current_schema()` of the session. */
  currentSchema: string;
  /** `track_activity_query_size` in bytes. */
  trackActivityQuerySize: number;
}

/** Runs the capability probe on `sql`. */
export async function probeCapabilities(sql: Sql): Promise<Capabilities> {
  const [base] = await sql.unsafe(
    `${MARKER} SELECT pg_backend_pid() AS pid, current_setting('server_version') AS sv,
       current_setting('server_version_num')::int AS svn,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       r.rolsuper AS superuser, r.rolname AS role,
       (r.rolsuper OR pg_has_role(r.oid, 'pg_read_all_stats', 'USAGE')) AS read_all_stats,
       current_setting('compute_query_id', true) AS compute_query_id,
       current_schema() AS current_schema,
       pg_size_bytes(current_setting('track_activity_query_size')) AS tqs
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const exts = await sql.unsafe(
    `${MARKER} SELECT e.extname, e.extversion, n.nspname
     FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
  );
  const extensions = new Map<string, ExtensionInfo>();
  for (const e of exts) extensions.set(e.extname, { version: e.extversion, schema: e.nspname });
  let version: ServerVersion;
  try {
    version = versionFromNum(Number(base.svn));
  } catch {
    version = parseServerVersion(String(base.sv));
  }
  let totalCol: Capabilities["pgssTotalTimeColumn"] = version.major >= 13 ? "total_exec_time" : "total_time";
  const pgss = extensions.get("pg_stat_statements");
  if (pgss) {
    const cols = await sql.unsafe(
      `${MARKER} SELECT attname FROM pg_attribute
       WHERE attrelid = to_regclass(quote_ident($1) || '.pg_stat_statements') AND attnum > 0`,
      [pgss.schema],
    );
    const names = new Set(cols.map((c) => c.attname as string));
    if (names.has("total_exec_time")) totalCol = "total_exec_time";
    else if (names.has("total_time")) totalCol = "total_time";
  }
  return {
    backendPid: Number(base.pid),
    version,
    serverVersion: String(base.sv),
    extensions,
    preloaded: base.preload === null
      ? undefined
      : String(base.preload).split(",").map((s) => s.trim()).filter(Boolean),
    superuser: Boolean(base.superuser),
    readAllStats: Boolean(base.read_all_stats),
    role: String(base.role),
    computeQueryId: base.compute_query_id ?? undefined,
    activityHasQueryId: version.major >= 14,
    pgssTotalTimeColumn: totalCol,
    currentSchema: base.current_schema ?? "",
    trackActivityQuerySize: Number(base.tqs),
  };
}

/** Returns the backend pid of the session behind `sql` (a cheap reconnect check). */
export async function backendPid(sql: Sql): Promise<number> {
  const [r] = await sql.unsafe(`${MARKER} SELECT pg_backend_pid() AS pid`);
  return Number(r.pid);
}

/**
 * Caches capabilities per database and re-probes after a reconnect (the backend pid changed).
 */
export class CapabilityCache {
  readonly #byDb = new Map<string, { caps: Capabilities; at: number }>();
  readonly #maxAgeMs: number;

  /** @param maxAgeMs age after which capabilities are probed again even without a reconnect */
  constructor(maxAgeMs = 300_000) {
    this.#maxAgeMs = maxAgeMs;
  }

  /** Current capabilities of `database`'s session, probing when new, reconnected or too old. */
  async get(
    database: string,
    sql: Sql,
    now = Date.now(),
  ): Promise<{ caps: Capabilities; reprobed: boolean }> {
    const known = this.#byDb.get(database);
    if (known && now - known.at < this.#maxAgeMs && (await backendPid(sql)) === known.caps.backendPid) {
      return { caps: known.caps, reprobed: false };
    }
    const caps = await probeCapabilities(sql);
    this.#byDb.set(database, { caps, at: now });
    return { caps, reprobed: true };
  }
}
