/**
 * PostgresqlDatabaseSample: per-database activity, conflicts, temporary files, deadlocks, I/O times
 * and (optionally) lock counts, on the `pg-database` entities.
 *
 * Each query gives its own sample per database, as nri-postgresql emits them: one with activity and
 * conflicts, one with temporary files, deadlocks and I/O times, and one with lock counts when lock
 * metrics are enabled. Lock counts are plain SQL over `pg_locks` (no `tablefunc` extension needed):
 * every lock held or awaited by a session connected to the database (other than the collector's own
 * session, whose catalog reads would otherwise count) counts for its mode, and a mode without locks
 * counts 0. Databases are bound as one parameter; names that are not existing,
 * non-template databases are left out. Counters are raw (rates are computed when the sample is
 * published); a NULL column leaves its metric out.
 *
 * @module
 */

import {
  type BaseMetricDef,
  baseMetricsFor,
  type BaseQuery,
  DATABASE_SAMPLE,
  rowMetrics,
  selectList,
} from "../../core/base_catalog.ts";
import type { BaseSample } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Row, Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { databaseEntity, namingAttributes } from "../../core/entities.ts";

/** Options of {@link collectDatabaseSamples}. */
export interface DatabaseSampleOptions {
  /** Also collect the lock sample (`COLLECT_DB_LOCK_METRICS`). */
  locks: boolean;
}

/** FROM and WHERE of each database query; `$1` is the text array of database names. */
const FROM: Partial<Record<BaseQuery, string>> = {
  database: `FROM pg_database D
     JOIN pg_stat_database SD ON SD.datname = D.datname
     JOIN pg_stat_database_conflicts DBC ON DBC.datname = D.datname
     WHERE NOT D.datistemplate AND D.datname = ANY($1::text[])`,
  database_io: `FROM pg_database D
     JOIN pg_stat_database SD ON SD.datname = D.datname
     WHERE NOT D.datistemplate AND D.datname = ANY($1::text[])`,
  locks: `FROM pg_database D
     LEFT JOIN pg_stat_activity A ON A.datname = D.datname AND A.pid <> pg_backend_pid()
     LEFT JOIN pg_locks L ON L.pid = A.pid
     WHERE NOT D.datistemplate AND D.datname = ANY($1::text[])
     GROUP BY D.datname`,
};

/** The metrics one query read and its row per database name. */
interface QueryRows {
  defs: BaseMetricDef[];
  rows: Map<string, Row>;
}

async function rowsByDatabase(sql: Sql, query: BaseQuery, major: number, names: string): Promise<QueryRows> {
  const defs = baseMetricsFor(major, query);
  const rows = new Map<string, Row>();
  if (defs.length === 0) return { defs, rows };
  const result = await sql.unsafe(
    `${MARKER} SELECT D.datname AS datname, ${selectList(defs)} ${FROM[query]}`,
    [names],
  );
  for (const r of result) if (!rows.has(r.datname)) rows.set(r.datname, r);
  return { defs, rows };
}

/**
 * Collects the PostgresqlDatabaseSamples of `databases` on the server behind `sql`: for each
 * existing database, in the order given (duplicates once), the activity sample, the I/O sample and,
 * with `opts.locks`, the lock sample, each starting with `displayName` and `entityName`.
 *
 * @throws Error when a database name is empty or a query fails.
 */
export async function collectDatabaseSamples(
  sql: Sql,
  caps: Pick<Capabilities, "version">,
  databases: readonly string[],
  host: string,
  port: string | number,
  opts: DatabaseSampleOptions,
): Promise<BaseSample[]> {
  const names = [...new Set(databases)];
  const entities = names.map((db) => databaseEntity(host, port, db));
  if (names.length === 0) return [];
  const queries: BaseQuery[] = opts.locks
    ? ["database", "database_io", "locks"]
    : ["database", "database_io"];
  const param = arrayLiteral(names);
  const results: QueryRows[] = [];
  for (const q of queries) results.push(await rowsByDatabase(sql, q, caps.version.major, param));
  const out: BaseSample[] = [];
  names.forEach((db, i) => {
    for (const { defs, rows } of results) {
      const row = rows.get(db);
      if (!row) continue;
      out.push({
        entity: entities[i],
        eventType: DATABASE_SAMPLE,
        metrics: [...namingAttributes(entities[i]), ...rowMetrics(defs, row)],
      });
    }
  });
  return out;
}
