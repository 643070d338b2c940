/**
 * The metric catalog of the relation samples: PostgresqlTableSample (table statistics and estimated
 * bloat, on `pg-table` entities) and PostgresqlIndexSample (on `pg-index` entities).
 *
 * The declarations use {@link BaseMetricDef} of `base_catalog.ts`, so the collectors build their
 * SELECT lists with its `selectList` and read rows with its `rowMetrics`. Every metric exists on
 * every supported version (PostgreSQL 13 and later): the columns read have not changed since.
 *
 * SQL expressions use the aliases of the collectors' FROM clauses:
 * - `table` query: `S` for the table's row of `pg_stat_all_tables`, `IO` for its row of
 *   `pg_statio_all_tables`, and `R.sized`, the table's oid, or NULL while sizing it would wait for a
 *   lock (so the size functions, which are strict, give NULL and the metric is left out);
 * - `bloat` query: `B`, one estimate per table, with `B.bs` (block size in bytes), `B.relpages`
 *   (pages of the table as of its last VACUUM or ANALYZE) and `B.est_pages` (pages its live rows
 *   need with its fill factor), all double precision;
 * - `index` query: `S` for the index's row of `pg_stat_all_indexes` and `R.sized`, the index's oid
 *   or NULL as for tables.
 *
 * @module
 */

import { availableIn, type BaseMetricDef, type BaseQuery } from "./base_catalog.ts";
import type { SourceType } from "./model.ts";

/** Event type of the table samples (statistics and bloat). */
export const TABLE_SAMPLE = "PostgresqlTableSample";

/** Event type of the index samples. */
export const INDEX_SAMPLE = "PostgresqlIndexSample";

/** The queries of the relation samples, in the order their samples are emitted for a table. */
export type RelationQuery = Extract<BaseQuery, "bloat" | "table" | "index">;

function def(
  query: RelationQuery,
  column: string,
  name: string,
  sourceType: SourceType,
  unit: string,
  description: string,
): BaseMetricDef {
  return { query, column, name, sourceType, description, unit };
}

/** Unix time in whole seconds of a timestamptz column of `pg_stat_all_tables`. */
function epoch(column: string): string {
  return `CAST(EXTRACT(EPOCH FROM S.${column}) AS bigint)`;
}

/** Every relation metric, grouped by query, in emission order. */
export const RELATION_METRICS: readonly BaseMetricDef[] = [
  // PostgresqlTableSample: estimated bloat (emitted before the statistics sample).
  def(
    "bloat",
    "GREATEST(B.relpages - B.est_pages, 0) * B.bs",
    "table.bloatSizeInBytes",
    "gauge",
    "By",
    "estimated space of the table's heap not taken by live rows or reserved by its fill factor",
  ),
  def("bloat", "B.relpages * B.bs", "table.dataSizeInBytes", "gauge", "By", "size of the table's heap"),
  def(
    "bloat",
    "CASE WHEN B.relpages > B.est_pages THEN 100 * (B.relpages - B.est_pages) / B.relpages ELSE 0 END",
    "table.bloatRatio",
    "gauge",
    "%",
    "estimated bloat as a percentage of the heap (0 when there is none)",
  ),
  // PostgresqlTableSample: statistics.
  def(
    "table",
    "pg_total_relation_size(R.sized)",
    "table.totalSizeInBytes",
    "gauge",
    "By",
    "size of the table with its indexes and TOAST data",
  ),
  def(
    "table",
    "pg_indexes_size(R.sized)",
    "table.indexSizeInBytes",
    "gauge",
    "By",
    "size of the table's indexes",
  ),
  def("table", "S.n_live_tup", "table.liveRows", "gauge", "{row}", "estimated live rows"),
  def("table", "S.n_dead_tup", "table.deadRows", "gauge", "{row}", "estimated dead rows"),
  def(
    "table",
    "IO.idx_blks_read",
    "table.indexBlocksReadPerSecond",
    "rate",
    "{block}",
    "disk blocks read from the table's indexes",
  ),
  def(
    "table",
    "IO.idx_blks_hit",
    "table.indexBlocksHitPerSecond",
    "rate",
    "{block}",
    "buffer hits in the table's indexes",
  ),
  def(
    "table",
    "IO.toast_blks_read",
    "table.indexToastBlocksReadPerSecond",
    "rate",
    "{block}",
    "disk blocks read from the table's TOAST table",
  ),
  def(
    "table",
    "IO.toast_blks_hit",
    "table.indexToastBlocksHitPerSecond",
    "rate",
    "{block}",
    "buffer hits in the table's TOAST table",
  ),
  def("table", epoch("last_vacuum"), "table.lastVacuum", "gauge", "s", "Unix time of the last manual VACUUM"),
  def(
    "table",
    epoch("last_autovacuum"),
    "table.lastAutoVacuum",
    "gauge",
    "s",
    "Unix time of the last autovacuum",
  ),
  def(
    "table",
    epoch("last_analyze"),
    "table.lastAnalyze",
    "gauge",
    "s",
    "Unix time of the last manual ANALYZE",
  ),
  def(
    "table",
    epoch("last_autoanalyze"),
    "table.lastAutoAnalyze",
    "gauge",
    "s",
    "Unix time of the last autoanalyze",
  ),
  def("table", "S.seq_scan", "table.sequentialScansPerSecond", "rate", "{scan}", "sequential scans"),
  def(
    "table",
    "S.seq_tup_read",
    "table.sequentialScanRowsFetchedPerSecond",
    "rate",
    "{row}",
    "rows read by sequential scans",
  ),
  def("table", "S.idx_scan", "table.indexScansPerSecond", "rate", "{scan}", "index scans on the table"),
  def(
    "table",
    "S.idx_tup_fetch",
    "table.indexScanRowsFetchedPerSecond",
    "rate",
    "{row}",
    "live rows fetched by index scans",
  ),
  def("table", "S.n_tup_ins", "table.rowsInsertedPerSecond", "rate", "{row}", "rows inserted"),
  def("table", "S.n_tup_upd", "table.rowsUpdatedPerSecond", "rate", "{row}", "rows updated (HOT included)"),
  def("table", "S.n_tup_del", "table.rowsDeletedPerSecond", "rate", "{row}", "rows deleted"),
  // PostgresqlIndexSample.
  def("index", "pg_relation_size(R.sized)", "index.sizeInBytes", "gauge", "By", "size of the index"),
  def(
    "index",
    "S.idx_tup_read",
    "index.rowsReadPerSecond",
    "rate",
    "{row}",
    "index entries returned by scans of the index",
  ),
  def(
    "index",
    "S.idx_tup_fetch",
    "index.rowsFetchedPerSecond",
    "rate",
    "{row}",
    "live table rows fetched by simple index scans of the index",
  ),
];

/**
 * The metrics of `query` on a server of major version `major`, in catalog order.
 *
 * @throws Error when `major` is not a positive integer.
 */
export function relationMetricsFor(major: number, query: RelationQuery): BaseMetricDef[] {
  if (!Number.isInteger(major) || major < 1) {
    throw new Error(`invalid PostgreSQL major version ${major}: expected a positive integer such as 16`);
  }
  return RELATION_METRICS.filter((m) => m.query === query && availableIn(m, major));
}
