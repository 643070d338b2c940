/**
 * The databases a cycle collects: COLLECTION_LIST resolved against the server, less
 * COLLECTION_IGNORE_DATABASE_LIST.
 *
 * @module
 */

import { MARKER } from "../query_engine/marker.ts";
import type { Sql } from "../query_engine/connection.ts";

/** The database part of a parsed COLLECTION_LIST: every connectable database, or these names. */
export type DatabaseSelection = "all" | string[];

/**
 * Resolves `selection` to database names, sorted: `all` reads pg_database (no templates, only
 * databases that accept connections); names are taken as given. Ignored names are removed.
 */
export async function resolveDatabases(
  sql: Sql,
  selection: DatabaseSelection,
  ignore: readonly string[],
): Promise<string[]> {
  const names = selection === "all"
    ? (await sql.unsafe(
      `${MARKER} SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname`,
    )).map((r) => r.datname as string)
    : [...selection];
  const skip = new Set(ignore);
  return [...new Set(names)].filter((n) => !skip.has(n)).sort();
}
