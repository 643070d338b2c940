/**
 * When the server's cumulative statistics were last reset: the true start of its counters, which
 * the OTLP adapter gives cumulative sums as their start time.
 *
 * One statement reads every time:
 * - `pg_stat_bgwriter.stats_reset`: the instance's counters (on 17+ only the background writer's);
 * - on PostgreSQL 17+, `pg_stat_checkpointer.stats_reset` and the latest `pg_stat_io.stats_reset`,
 *   which `pg_stat_reset_shared('checkpointer')` and `pg_stat_reset_shared('io')` move on their own;
 * - `pg_stat_database.stats_reset` of every database that has one (`pg_stat_reset()` in a database
 *   moves it, as does resetting one of its tables' or functions' counters).
 *
 * Times are read in whole milliseconds (what a `Date` holds). pg_stat_statements has its own
 * reset (`pg_stat_statements_reset`), not read here.
 *
 * @module
 */

import type { StatsResetTimes } from "../core/model.ts";
import type { Row, Session } from "../query_engine/connection.ts";
import { MARKER } from "../query_engine/marker.ts";

/** First major version with `pg_stat_checkpointer` (and checkpoint counters gone from `pg_stat_bgwriter`). */
const CHECKPOINTER_SINCE = 17;

const resetMs = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

/** The statement of a server of `major` (every part of the 17+ form only when `major` ≥ 17). */
export function statsResetSql(major?: number): string {
  const parts = [
    `SELECT 'instance' AS kind, NULL::text AS datname, ${resetMs("stats_reset")} AS reset_ms
       FROM pg_stat_bgwriter WHERE stats_reset IS NOT NULL`,
  ];
  if (major !== undefined && major >= CHECKPOINTER_SINCE) {
    parts.push(
      `SELECT 'checkpointer', NULL::text, ${resetMs("stats_reset")}
         FROM pg_stat_checkpointer WHERE stats_reset IS NOT NULL`,
      `SELECT 'io', NULL::text, ${resetMs("max(stats_reset)")}
         FROM pg_stat_io HAVING max(stats_reset) IS NOT NULL`,
    );
  }
  parts.push(
    `SELECT 'database', datname::text, ${resetMs("stats_reset")}
       FROM pg_stat_database WHERE datname IS NOT NULL AND stats_reset IS NOT NULL`,
  );
  return `${MARKER} ${parts.join("\n     UNION ALL ")}`;
}

function dateOf(row: Row): Date {
  const ms = typeof row.reset_ms === "string" ? Number(row.reset_ms) : row.reset_ms;
  const d = typeof ms === "number" ? new Date(ms) : new Date(NaN);
  if (!Number.isFinite(d.getTime())) {
    throw new Error(`stats_reset of ${row.kind} ${row.datname ?? ""}: not a time: ${String(row.reset_ms)}`);
  }
  return d;
}

/**
 * The `stats_reset` times of the server behind `sql`, in one statement. Pass the server's major
 * version to read the PostgreSQL 17+ checkpointer and I/O times too; without it only the
 * `pg_stat_bgwriter` and `pg_stat_database` times are read (valid on every supported version).
 *
 * @throws Error when the statement fails or returns a value that is not a time.
 */
export async function readStatsResets(sql: Session, major?: number): Promise<StatsResetTimes> {
  const rows = await sql.unsafe(statsResetSql(major));
  const out: StatsResetTimes = { databases: new Map() };
  for (const row of rows) {
    const d = dateOf(row);
    if (row.kind === "instance") out.instance = d;
    else if (row.kind === "checkpointer") out.checkpointer = d;
    else if (row.kind === "io") out.io = d;
    else out.databases.set(String(row.datname), d);
  }
  return out;
}
