/**
 * What the table, bloat and index queries share: the discovered tables and indexes of one database
 * as lists bound to one statement, and the lock guard of the size functions.
 *
 * A database's tables are bound as parallel text arrays (`$1` schemas, `$2` tables and, for
 * indexes, `$3` index names) and joined with `unnest(...) WITH ORDINALITY`, so one statement covers
 * every table, however many there are. Each result row carries `i`, the position of its table (or
 * index) in the bound lists, so no name read back from the server is needed to place a row.
 *
 * The size functions (`pg_total_relation_size`, `pg_indexes_size`, `pg_relation_size`) open the
 * relation with an AccessShareLock, which waits behind an AccessExclusiveLock held or awaited on it
 * (ALTER TABLE, VACUUM FULL, REINDEX, TRUNCATE, DROP in an open transaction). One such table would
 * make the whole statement wait for `lock_timeout` and fail, costing every other table its metrics.
 * So the statements first read, once, which relations of the database have an AccessExclusiveLock
 * in `pg_locks` (granted or not), and do not size those: their size metrics are left out for the
 * cycle, their other metrics are kept. A lock taken between that read and the size call still
 * waits (bounded by `lock_timeout`).
 *
 * @module
 */

import { type BaseMetricDef, rowMetrics } from "../../core/base_catalog.ts";
import type { RawMetric } from "../../core/model.ts";
import type { Row, Sql } from "../../query_engine/connection.ts";
import { arrayLiteral } from "../../query_engine/params.ts";

/**
 * The discovered objects of one database: schema → table → index names (one database's entry of
 * `DiscoveredObjects` in `discovery.ts`).
 */
export type DatabaseObjects = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** A table of a database. */
export interface TableRef {
  /** Schema name. */
  schema: string;
  /** Table name. */
  table: string;
}

/** An index of a table. */
export interface IndexRef extends TableRef {
  /** Index name. */
  index: string;
}

/** The tables of `tree`, in its order (schemas, then tables within a schema). */
export function tablesOf(tree: DatabaseObjects): TableRef[] {
  const out: TableRef[] = [];
  for (const [schema, tables] of tree) {
    for (const table of tables.keys()) out.push({ schema, table });
  }
  return out;
}

/** The indexes of `tree`, in its order (schemas, tables, then indexes within a table). */
export function indexesOf(tree: DatabaseObjects): IndexRef[] {
  const out: IndexRef[] = [];
  for (const [schema, tables] of tree) {
    for (const [table, indexes] of tables) {
      for (const index of indexes) out.push({ schema, table, index });
    }
  }
  return out;
}

/** The bound parameters of `refs`: the text arrays of their schema names and table names. */
export function tableParams(refs: readonly TableRef[]): string[] {
  return [arrayLiteral(refs.map((r) => r.schema)), arrayLiteral(refs.map((r) => r.table))];
}

/** The bound parameters of `refs`: the text arrays of their schema, table and index names. */
export function indexParams(refs: readonly IndexRef[]): string[] {
  return [...tableParams(refs), arrayLiteral(refs.map((r) => r.index))];
}

/**
 * FROM items binding the tables of `$1`/`$2`: `w` (the bound pair and its 1-based `ord`), `n`
 * (pg_namespace) and `c` (pg_class), limited to relations of the kinds in `kinds` (SQL char
 * literals). A pair naming no such relation gives no row.
 */
export function boundTables(kinds: readonly string[]): string {
  if (kinds.length === 0 || kinds.some((k) => !/^[a-zA-Z]$/.test(k))) {
    throw new Error(`invalid relation kinds ${JSON.stringify(kinds)}: expected single letters such as "r"`);
  }
  return `unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema_name, table_name, ord)
JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.table_name
  AND c.relkind IN (${kinds.map((k) => `'${k}'`).join(", ")})`;
}

/**
 * CTE `exclusive(relation)`: relations of the current database (or shared catalogs) with an
 * AccessExclusiveLock held or awaited, read once per statement.
 */
export const EXCLUSIVE_LOCKS_CTE = `exclusive AS MATERIALIZED (
  SELECT l.relation FROM pg_catalog.pg_locks l
  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
    AND l.database IN (0, (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database()))
)`;

/**
 * Condition true when sizing table `alias` (a pg_class alias) with its TOAST table and every index
 * of either would wait for a lock listed by {@link EXCLUSIVE_LOCKS_CTE}.
 */
export function tableLocked(alias: string): string {
  return `EXISTS (SELECT 1 FROM exclusive e WHERE e.relation IN (${alias}.oid, ${alias}.reltoastrelid)
  OR e.relation IN (SELECT x.indexrelid FROM pg_catalog.pg_index x
    WHERE x.indrelid IN (${alias}.oid, ${alias}.reltoastrelid)))`;
}

/**
 * `rows` placed by their column `i` (0-based position in the bound lists) into an array of
 * `count` entries; positions without a row stay undefined.
 *
 * @throws Error when a row has no valid position.
 */
export function byPosition(rows: readonly Row[], count: number): (Row | undefined)[] {
  const out: (Row | undefined)[] = new Array(count).fill(undefined);
  for (const row of rows) {
    const i = Number(row.i);
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new Error(`result row has position ${JSON.stringify(row.i)}, expected 0 to ${count - 1}`);
    }
    out[i] = row;
  }
  return out;
}

/**
 * Runs `statement` (which reads `defs` with `selectList` and numbers its rows by position `i`) with
 * `params` on `sql`, and returns the metrics of each of the `count` bound relations in order:
 * undefined where no row came back. Nothing is sent when `count` is 0.
 *
 * @throws Error when the statement fails or a row has no valid position.
 */
export async function readByPosition(
  sql: Sql,
  defs: readonly BaseMetricDef[],
  statement: string,
  params: unknown[],
  count: number,
): Promise<(RawMetric[] | undefined)[]> {
  if (count === 0) return [];
  const rows = await sql.unsafe(statement, params);
  return byPosition(rows, count).map((row) => row && rowMetrics(defs, row));
}
