/**
 * What the base collectors cover: COLLECTION_LIST resolved to databases, schemas, tables and
 * indexes.
 *
 * Differences from nri-postgresql, on purpose:
 * - discovery reads pg_catalog rather than information_schema: it is faster and does not depend on
 *   privileges on information_schema views;
 * - system schemas (`pg_catalog`, `information_schema`, `pg_toast`, `pg_temp_*`,
 *   `pg_toast_temp_*`) are left out unless asked for, which avoids an entity per catalog table
 *   and index;
 * - a database that cannot be reached is skipped and reported; the others are still discovered;
 * - names come out sorted (JavaScript string order), so output is deterministic.
 *
 * @module
 */

import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import type { Session } from "../../query_engine/connection.ts";
import type { CollectionList } from "../../config/validate.ts";
import { resolveDatabases } from "../databases.ts";

/** Discovered objects: database → schema → table → index names, every level sorted. */
export type DiscoveredObjects = Map<string, Map<string, Map<string, string[]>>>;

/** A database left out of discovery, and why. */
export interface DiscoveryIssue {
  /** Database name. */
  database: string;
  /** The reason, as the server or driver gave it (with the SQLSTATE when there is one). */
  message: string;
}

/** Outcome of {@link discoverCollection}. */
export interface Discovery {
  /** What the base collectors cover. */
  databases: DiscoveredObjects;
  /** Databases that could not be discovered, sorted by name. */
  issues: DiscoveryIssue[];
}

/** Inputs of {@link discoverCollection}. */
export interface DiscoveryOptions {
  /** Source of one session per database (a `ConnectionManager` does). */
  connections: { sql(database: string): Session };
  /** The main database (`DATABASE`), on whose session pg_database is read. */
  mainDatabase: string;
  /** COLLECTION_IGNORE_DATABASE_LIST: exact database names left out of every form. */
  ignoreDatabases: readonly string[];
  /** COLLECTION_IGNORE_TABLE_LIST: bare table names (any schema) left out of discovered tables. */
  ignoreTables: readonly string[];
  /** Also discover tables of the system schemas (nri-postgresql always did). */
  includeSystemSchemas: boolean;
  /**
   * The databases of an `all` or `databases` list when the caller has already resolved them (with
   * {@link resolveDatabases}); pg_database is then not read again.
   */
  resolved?: readonly string[];
}

/** Schemas PostgreSQL itself owns; their tables are left out by default. */
const SYSTEM_SCHEMA_FILTER =
  ` AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_(toast_)?temp_'`;

/**
 * Ordinary (`r`) and partitioned (`p`) tables with their indexes; a table without an index comes
 * back once with a NULL index. `$1` is the array of ignored table names.
 */
const TABLES_SQL =
  `${MARKER} SELECT n.nspname AS schema_name, c.relname AS table_name, i.relname AS index_name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index x ON x.indrelid = c.oid
LEFT JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
WHERE c.relkind IN ('r', 'p') AND c.relname <> ALL ($1::text[])`;

/** Whether `schema` is one of the system schemas left out by default. */
export function isSystemSchema(schema: string): boolean {
  return ["pg_catalog", "information_schema", "pg_toast"].includes(schema) ||
    /^pg_(toast_)?temp_/.test(schema);
}

/**
 * Resolves COLLECTION_LIST to the databases, schemas, tables and indexes the base collectors cover.
 *
 * - `all`: databases from pg_database (no templates, only those that accept connections), read on
 *   the main database's session; `databases`: those names. Then, per database and on that
 *   database's own session, its tables and their indexes from pg_catalog. Tables are ordinary and
 *   partitioned tables (partitions included, as they are ordinary tables); views, materialized
 *   views and foreign tables are left out because they have no rows in pg_stat_user_tables or
 *   pg_statio_user_tables, so the table metrics would be empty for them. Tables in
 *   `ignoreTables` are left out; a table without indexes is kept with an empty index list.
 * - `explicit`: the object taken literally, without any query (names sorted, index names
 *   deduplicated); `ignoreTables` does not apply.
 *
 * `ignoreDatabases` applies to every form. A database that cannot be discovered (connection
 * refused, no CONNECT privilege, missing, statement failure) is left out and reported in `issues`.
 *
 * @throws when `all` cannot read pg_database on the main database
 */
export async function discoverCollection(list: CollectionList, opts: DiscoveryOptions): Promise<Discovery> {
  if (list.kind === "explicit") {
    return { databases: literal(list.databases, opts.ignoreDatabases), issues: [] };
  }
  const names = opts.resolved ? [...opts.resolved] : await resolveDatabases(
    opts.connections.sql(opts.mainDatabase),
    list.kind === "all" ? "all" : list.names,
    opts.ignoreDatabases,
  );
  const sqlText = opts.includeSystemSchemas ? TABLES_SQL : TABLES_SQL + SYSTEM_SCHEMA_FILTER;
  const ignored = arrayLiteral(opts.ignoreTables);
  const outcomes = await Promise.allSettled(
    names.map((db) => opts.connections.sql(db).unsafe(sqlText, [ignored])),
  );
  const databases: DiscoveredObjects = new Map();
  const issues: DiscoveryIssue[] = [];
  names.forEach((db, i) => {
    const outcome = outcomes[i];
    if (outcome.status === "rejected") {
      issues.push({ database: db, message: reason(outcome.reason) });
      return;
    }
    const tree = new Map<string, Map<string, string[]>>();
    for (const row of outcome.value) {
      let tables = tree.get(row.schema_name);
      if (!tables) tree.set(row.schema_name, tables = new Map());
      let indexes = tables.get(row.table_name);
      if (!indexes) tables.set(row.table_name, indexes = []);
      if (row.index_name !== null) indexes.push(row.index_name);
    }
    databases.set(db, sortedSchemas(tree));
  });
  return { databases, issues };
}

function literal(
  databases: Record<string, Record<string, Record<string, string[]>>>,
  ignore: readonly string[],
): DiscoveredObjects {
  const skip = new Set(ignore);
  const out: DiscoveredObjects = new Map();
  for (const [db, schemas] of sortedEntries(Object.entries(databases))) {
    if (skip.has(db)) continue;
    const tree = new Map(Object.entries(schemas).map(([schema, t]) => [schema, new Map(Object.entries(t))]));
    out.set(db, sortedSchemas(tree));
  }
  return out;
}

/** A copy of one database's schemas with every level sorted and index names deduplicated. */
function sortedSchemas(tree: Map<string, Map<string, string[]>>): Map<string, Map<string, string[]>> {
  return new Map(
    sortedEntries(tree).map(([schema, tables]) => [
      schema,
      new Map(sortedEntries(tables).map(([table, indexes]) => [table, [...new Set(indexes)].sort()])),
    ]),
  );
}

function sortedEntries<V>(entries: Iterable<[string, V]>): [string, V][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? `${message} (SQLSTATE ${code})` : message;
}
