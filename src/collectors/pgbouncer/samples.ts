/**
 * Turns rows of `SHOW STATS` and `SHOW POOLS` into PgBouncerSamples (pure; no I/O).
 *
 * Each row gives one sample on the `pgbouncer` entity of its `database` column, starting with
 * `displayName`, `entityName` and `host`, then the catalog's metrics in catalog order (pools lead with
 * the `pgbouncer.pools.user` attribute). Columns are looked up by name: a column the row lacks, a
 * NULL, or a value that is not a number leaves that one metric out and never costs the others (the
 * failure nri-postgresql once had when PgBouncer 1.18 dropped `cl_cancel_req` and 1.23 added
 * `total_server_assignment_count`); columns the catalog does not know are ignored. A row without a
 * database name is skipped, as it names no entity.
 *
 * The admin console's own pseudo-database `pgbouncer` is reported like any other database, as
 * nri-postgresql does: its rows are real PgBouncer statistics (the monitoring connections
 * themselves), and a dashboard built on nri-postgresql's output expects the `pgbouncer:pgbouncer`
 * entity.
 *
 * @module
 */

import { namingAttributes, pgbouncerEntity } from "../../core/entities.ts";
import type { BaseSample, RawMetric } from "../../core/model.ts";
import { DATABASE_COLUMN, PGBOUNCER_SAMPLE, pgbouncerMetricsFor, type PgBouncerQuery } from "./catalog.ts";

/** One admin console row, keyed by column name. */
export type ConsoleRow = Record<string, unknown>;

function present(row: ConsoleRow, columns: readonly string[]): unknown {
  for (const c of columns) {
    const v = row[c];
    if (v !== null && v !== undefined) return v;
  }
  return undefined;
}

function numeric(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === "bigint") return Number(raw);
  if (typeof raw === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) return Number(raw);
  return undefined;
}

/** The metrics and attributes of one `query` row, in catalog order (absent columns left out). */
export function pgbouncerRowMetrics(query: PgBouncerQuery, row: ConsoleRow): RawMetric[] {
  const out: RawMetric[] = [];
  for (const m of pgbouncerMetricsFor(query)) {
    const raw = present(row, m.columns);
    if (raw === undefined) continue;
    if (m.sourceType === "attribute") {
      out.push({ name: m.name, sourceType: m.sourceType, value: String(raw) });
      continue;
    }
    const value = numeric(raw);
    if (value !== undefined) out.push({ name: m.name, sourceType: m.sourceType, value });
  }
  return out;
}

/**
 * The PgBouncerSamples of the rows of one `query`, in row order, on PgBouncer `host`:`port`
 * (`host` also becomes each sample's `host` attribute).
 *
 * @throws Error when host or port is empty.
 */
export function pgbouncerSamples(
  query: PgBouncerQuery,
  rows: readonly ConsoleRow[],
  host: string,
  port: string | number,
): BaseSample[] {
  pgbouncerEntity(host, port, "pgbouncer"); // validates host and port even without rows
  const out: BaseSample[] = [];
  for (const row of rows) {
    const db = row[DATABASE_COLUMN];
    if (typeof db !== "string" || db.trim() === "") continue;
    const entity = pgbouncerEntity(host, port, db);
    out.push({
      entity,
      eventType: PGBOUNCER_SAMPLE,
      metrics: [
        ...namingAttributes(entity),
        { name: "host", sourceType: "attribute", value: host },
        ...pgbouncerRowMetrics(query, row),
      ],
    });
  }
  return out;
}
