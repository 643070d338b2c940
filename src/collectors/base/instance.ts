/**
 * PostgresqlInstanceSample: the server-wide background writer, checkpointer and I/O counters, as
 * one merged sample on the `pg-instance` entity.
 *
 * Before PostgreSQL 17 every counter comes from `pg_stat_bgwriter`; from 17 on, `pg_stat_bgwriter`
 * keeps only the background writer's own counters, checkpoints come from `pg_stat_checkpointer` and
 * backend writes and fsyncs are sums over `pg_stat_io`. Counters are raw (rates are computed when the
 * sample is published); a NULL column leaves its metric out.
 *
 * @module
 */

import {
  baseMetricsFor,
  type BaseQuery,
  INSTANCE_SAMPLE,
  rowMetrics,
  selectList,
} from "../../core/base_catalog.ts";
import type { BaseSample } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { instanceEntity, namingAttributes } from "../../core/entities.ts";

/** The relation each instance query reads. */
const INSTANCE_SOURCES: Partial<Record<BaseQuery, string>> = {
  bgwriter: "pg_stat_bgwriter",
  checkpointer: "pg_stat_checkpointer",
  io: "pg_stat_io",
};

/**
 * Collects the PostgresqlInstanceSample of the server behind `sql`: `displayName` and `entityName`
 * of the instance `<host>:<port>`, then the metrics of `caps.version.major` in catalog order (the
 * first row of each query).
 *
 * @throws Error when a query fails (the caller decides how to report it).
 */
export async function collectInstanceSample(
  sql: Sql,
  caps: Pick<Capabilities, "version">,
  host: string,
  port: string | number,
): Promise<BaseSample> {
  const entity = instanceEntity(host, port);
  const metrics = namingAttributes(entity);
  for (const [query, source] of Object.entries(INSTANCE_SOURCES) as [BaseQuery, string][]) {
    const defs = baseMetricsFor(caps.version.major, query);
    if (defs.length === 0) continue;
    const [row] = await sql.unsafe(`${MARKER} SELECT ${selectList(defs)} FROM ${source}`);
    if (row) metrics.push(...rowMetrics(defs, row));
  }
  return { entity, eventType: INSTANCE_SAMPLE, metrics };
}
