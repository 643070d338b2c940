/**
 * The queries whose plans are tracked: the top ones by execution time this cycle, from
 * pg_stat_statements.
 *
 * Each cycle reads the cumulative calls and execution time of every statement of the monitored
 * databases (`pg_stat_statements(false)`, no texts; one row per database and query id, the entries
 * of several roles added up) and takes the deltas against the previous cycle's counters, kept in
 * the plan dictionary. Only top-level entries count where pg_stat_statements tells them apart
 * (`toplevel`, 14+): an `EXPLAIN EXECUTE` of a prepared statement, which plan capture runs before
 * 16, is counted as a nested call of the explained query, though nothing was executed. A statement seen for the first time counts everything it
 * holds, so a first run ranks by total time. Statements without executions this cycle are left out.
 *
 * @module
 */

import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { type PlanDictionary, type StatementDelta, statementDelta } from "./dictionary.ts";

/** Cumulative pg_stat_statements counters of one statement. */
export interface StatementTotals {
  /** Database oid (decimal). */
  dbid: string;
  /** Database name. */
  databaseName: string;
  /** Query id (decimal). */
  queryId: string;
  /** Executions. */
  calls: number;
  /** Total execution time, ms. */
  totalMs: number;
}

/** A statement and what it ran this cycle. */
export interface RankedStatement extends StatementTotals {
  /** Executions and time since the previous cycle. */
  delta: StatementDelta;
}

/** Where pg_stat_statements is and what it calls its total time column. */
export interface PgssSource {
  /** Schema-qualified `pg_stat_statements` function. */
  fn: string;
  /** `total_exec_time` (13+) or `total_time`. */
  totalColumn: "total_exec_time" | "total_time";
  /** Whether it has the `toplevel` column (then only top-level entries are counted). */
  hasToplevel: boolean;
}

/** Whether the pg_stat_statements view `view` (schema-qualified) has the `toplevel` column. */
export async function hasToplevelColumn(sql: Sql, view: string): Promise<boolean> {
  const rows = await sql.unsafe(
    `${MARKER} SELECT 1 FROM pg_attribute
     WHERE attrelid = to_regclass($1) AND attname = 'toplevel' AND NOT attisdropped`,
    [view],
  );
  return rows.length > 0;
}

/**
 * Reads the counters of every statement of `databases` with executions, leaving out the query ids
 * in `ownQueryIds` (the collector's own statements).
 */
export async function readStatementTotals(
  sql: Sql,
  pgss: PgssSource,
  databases: readonly string[],
  ownQueryIds: readonly string[],
): Promise<StatementTotals[]> {
  const rows = await sql.unsafe(
    `${MARKER} SELECT s.dbid::text AS dbid, d.datname, s.queryid::text AS query_id,
       sum(s.calls)::float8 AS calls, sum(s.${pgss.totalColumn})::float8 AS total_ms
     FROM ${pgss.fn}(false) s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = ANY($1::text[]) AND s.queryid IS NOT NULL AND s.queryid <> ALL($2::bigint[])
       ${pgss.hasToplevel ? "AND s.toplevel" : ""}
     GROUP BY s.dbid, d.datname, s.queryid
     HAVING sum(s.calls) > 0`,
    [arrayLiteral(databases), arrayLiteral(ownQueryIds)],
  );
  return rows.map((r) => ({
    dbid: String(r.dbid),
    databaseName: String(r.datname),
    queryId: String(r.query_id),
    calls: Number(r.calls),
    totalMs: Number(r.total_ms),
  }));
}

/**
 * Stores every statement's counters in `dict` and returns the `limit` statements that spent the
 * most execution time since the previous cycle, most first (ties by database and query id).
 */
export function rankByTimeDelta(
  dict: PlanDictionary,
  totals: readonly StatementTotals[],
  limit: number,
  nowMs: number,
): RankedStatement[] {
  const ranked: RankedStatement[] = [];
  for (const t of totals) {
    const delta = statementDelta(dict, t.databaseName, t.queryId, t.calls, t.totalMs, nowMs);
    if (delta.calls > 0) ranked.push({ ...t, delta });
  }
  ranked.sort((a, b) =>
    b.delta.totalMs - a.delta.totalMs || a.databaseName.localeCompare(b.databaseName) ||
    a.queryId.localeCompare(b.queryId)
  );
  return ranked.slice(0, Math.max(0, limit));
}
