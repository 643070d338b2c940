/**
 * PostgresSlowQueries: the statements with the highest mean execution time in pg_stat_statements.
 *
 * Ranking runs on `pg_stat_statements(false)` (no texts), texts come from the cache; rows with
 * `calls = 0` (planning-only entries) are skipped instead of failing the query, and the collector's
 * own statements are left out by query id once their text has been seen.
 *
 * @module
 */

import type { SlowQuery } from "../../core/model.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { collectionTimestamp, extObject, type QpmContext } from "./context.ts";

/** A slow query plus the ids needed to correlate it. */
export interface SlowQueryRow extends SlowQuery {
  /** Database oid. */
  dbid: string;
}

/** Collects PostgresSlowQueries rows (empty when pg_stat_statements is missing or N is 0). */
export async function collectSlowQueries(ctx: QpmContext, now: Date): Promise<SlowQueryRow[]> {
  const fn = extObject(ctx.caps, "pg_stat_statements", "pg_stat_statements");
  if (!fn) {
    ctx.report({
      component: "qpm.slow_queries",
      cause: "no_pg_stat_statements",
      severity: "warning",
      message:
        "extension pg_stat_statements is not created in the monitored database: no slow queries, wait events or plans (CREATE EXTENSION pg_stat_statements, and preload it)",
    });
    return [];
  }
  if (ctx.countThreshold === 0 || ctx.databases.length === 0) return [];
  const total = ctx.caps.pgssTotalTimeColumn;
  const own = ctx.texts.ownQueryIds();
  const margin = 10;
  const rows = await ctx.sql.unsafe(
    `${MARKER} SELECT s.queryid::text AS query_id, s.dbid::text AS dbid, d.datname,
       s.calls::float8 AS calls, round((s.${total} / s.calls)::numeric, 3)::float8 AS avg_ms,
       (s.shared_blks_read / s.calls)::float8 AS avg_reads,
       (s.shared_blks_written / s.calls)::float8 AS avg_writes,
       s.${total}::float8 AS total_ms, s.rows::float8 AS rows
     FROM ${fn}(false) s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = ANY($1::text[]) AND s.calls > 0 AND s.queryid IS NOT NULL
       AND s.queryid <> ALL($2::bigint[])
     ORDER BY s.${total} / s.calls DESC
     LIMIT $3`,
    [arrayLiteral(ctx.databases), arrayLiteral(own), ctx.countThreshold + margin],
  );
  const view = extObject(ctx.caps, "pg_stat_statements", "pg_stat_statements")!;
  await ctx.texts.fill(ctx.sql, view, rows.map((r) => ({ dbid: r.dbid, queryId: r.query_id })));
  const ts = collectionTimestamp(now);
  const out: SlowQueryRow[] = [];
  for (const r of rows) {
    const text = ctx.texts.get(r.dbid, r.query_id);
    if (!text || text.own) continue;
    out.push({
      queryId: r.query_id,
      dbid: r.dbid,
      queryText: text.text,
      databaseName: r.datname,
      schemaName: ctx.caps.currentSchema,
      executionCount: r.calls,
      avgElapsedTimeMs: r.avg_ms,
      avgDiskReads: Math.trunc(r.avg_reads),
      avgDiskWrites: Math.trunc(r.avg_writes),
      statementType: text.type,
      collectionTimestamp: ts,
      totalExecTimeMs: r.total_ms,
      rows: r.rows,
    });
    if (out.length >= ctx.countThreshold) break;
  }
  return out;
}
