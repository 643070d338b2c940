/**
 * The metric catalog of the base samples PostgresqlInstanceSample and PostgresqlDatabaseSample.
 *
 * Every metric is declared once: the query it comes from, the SQL expression it reads, its NRI name
 * and source type, the server versions that have it, its meaning and its unit. The collectors build
 * their SELECT lists from these declarations, so no metric name or column is spelled twice.
 *
 * The declarations hold for PostgreSQL 12 and later (versions before 9.2 had fewer columns and are
 * not supported).
 *
 * SQL expressions of the database queries use the aliases of the collector's FROM clauses:
 * `SD` for `pg_stat_database`, `DBC` for `pg_stat_database_conflicts` and `L` for `pg_locks`.
 *
 * @module
 */

import type { RawMetric, SourceType } from "./model.ts";

/** Event type of the instance sample. */
export const INSTANCE_SAMPLE = "PostgresqlInstanceSample";

/** Event type of the database samples. */
export const DATABASE_SAMPLE = "PostgresqlDatabaseSample";

/**
 * The query a base metric is read by:
 * - `bgwriter`: `pg_stat_bgwriter` (instance sample);
 * - `checkpointer`: `pg_stat_checkpointer` (instance sample, 17+);
 * - `io`: aggregates over `pg_stat_io` (instance sample, 17+);
 * - `database`: `pg_stat_database` joined with `pg_stat_database_conflicts` (its own database sample);
 * - `database_io`: temporary files, deadlocks and I/O times of `pg_stat_database` (its own sample);
 * - `locks`: `pg_locks` counted by mode (its own sample, when lock metrics are enabled);
 * - `bloat`: estimated table bloat (PostgresqlTableSample, declared in `relation_catalog.ts`);
 * - `table`: table statistics (PostgresqlTableSample, declared in `relation_catalog.ts`);
 * - `index`: index size and statistics (PostgresqlIndexSample, declared in `relation_catalog.ts`).
 */
export type BaseQuery =
  | "bgwriter"
  | "checkpointer"
  | "io"
  | "database"
  | "database_io"
  | "locks"
  | "bloat"
  | "table"
  | "index";

/** Every {@link BaseQuery}, in the order their samples are collected. */
export const BASE_QUERIES: readonly BaseQuery[] = [
  "bgwriter",
  "checkpointer",
  "io",
  "database",
  "database_io",
  "locks",
  "bloat",
  "table",
  "index",
];

/** The declaration of one base metric. */
export interface BaseMetricDef {
  /** Query the metric is read by. */
  query: BaseQuery;
  /** SQL expression read (a column, a cast or an aggregate), in the query's FROM context. */
  column: string;
  /** NRI metric name. */
  name: string;
  /** NRI source type (counters are `rate`: published per second). */
  sourceType: SourceType;
  /** First major version having the metric (inclusive); every supported version when absent. */
  minMajor?: number;
  /** Last major version having the metric (inclusive); every later version when absent. */
  maxMajor?: number;
  /** One-line meaning, for docs and OTLP. */
  description: string;
  /** UCUM unit of the raw value. */
  unit: string;
}

function def(
  query: BaseQuery,
  column: string,
  name: string,
  sourceType: SourceType,
  unit: string,
  description: string,
  range: { minMajor?: number; maxMajor?: number } = {},
): BaseMetricDef {
  return { query, column, name, sourceType, ...range, description, unit };
}

const BEFORE_17 = { maxMajor: 16 };
const SINCE_17 = { minMajor: 17 };

function lockMode(mode: string): BaseMetricDef {
  const name = `db.locks.${mode[0].toLowerCase()}${mode.slice(1)}`;
  return def(
    "locks",
    `count(*) FILTER (WHERE L.mode = '${mode}')`,
    name,
    "gauge",
    "{lock}",
    `locks in mode ${mode} held or awaited by sessions connected to the database`,
  );
}

/** Every base metric, grouped by query, in emission order. */
export const BASE_METRICS: readonly BaseMetricDef[] = [
  // PostgresqlInstanceSample: pg_stat_bgwriter.
  def(
    "bgwriter",
    "checkpoints_timed",
    "bgwriter.checkpointsScheduledPerSecond",
    "rate",
    "{checkpoint}",
    "scheduled checkpoints performed",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "checkpoints_req",
    "bgwriter.checkpointsRequestedPerSecond",
    "rate",
    "{checkpoint}",
    "requested checkpoints performed",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "buffers_checkpoint",
    "bgwriter.buffersWrittenForCheckpointsPerSecond",
    "rate",
    "{buffer}",
    "buffers written during checkpoints",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "buffers_clean",
    "bgwriter.buffersWrittenByBackgroundWriterPerSecond",
    "rate",
    "{buffer}",
    "buffers written by the background writer",
  ),
  def(
    "bgwriter",
    "maxwritten_clean",
    "bgwriter.backgroundWriterStopsPerSecond",
    "rate",
    "{stop}",
    "times the background writer stopped a cleaning scan for writing too many buffers",
  ),
  def(
    "bgwriter",
    "buffers_backend",
    "bgwriter.buffersWrittenByBackendPerSecond",
    "rate",
    "{buffer}",
    "buffers written directly by backends",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "buffers_alloc",
    "bgwriter.buffersAllocatedPerSecond",
    "rate",
    "{buffer}",
    "buffers allocated",
  ),
  def(
    "bgwriter",
    "buffers_backend_fsync",
    "bgwriter.backendFsyncCallsPerSecond",
    "rate",
    "{call}",
    "fsync calls backends had to execute themselves",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "CAST(checkpoint_write_time AS bigint)",
    "bgwriter.checkpointWriteTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time spent writing checkpoint files to disk",
    BEFORE_17,
  ),
  def(
    "bgwriter",
    "CAST(checkpoint_sync_time AS bigint)",
    "bgwriter.checkpointSyncTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time spent synchronizing checkpoint files to disk",
    BEFORE_17,
  ),
  // PostgresqlInstanceSample: pg_stat_checkpointer (17+).
  def(
    "checkpointer",
    "num_timed",
    "checkpointer.checkpointsScheduledPerSecond",
    "rate",
    "{checkpoint}",
    "scheduled checkpoints",
    SINCE_17,
  ),
  def(
    "checkpointer",
    "num_requested",
    "checkpointer.checkpointsRequestedPerSecond",
    "rate",
    "{checkpoint}",
    "requested checkpoints",
    SINCE_17,
  ),
  def(
    "checkpointer",
    "buffers_written",
    "checkpointer.buffersWrittenForCheckpointsPerSecond",
    "rate",
    "{buffer}",
    "buffers written during checkpoints and restartpoints",
    SINCE_17,
  ),
  def(
    "checkpointer",
    "CAST(write_time AS bigint)",
    "checkpointer.checkpointWriteTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time spent writing checkpoint and restartpoint files to disk",
    SINCE_17,
  ),
  def(
    "checkpointer",
    "CAST(sync_time AS bigint)",
    "checkpointer.checkpointSyncTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time spent synchronizing checkpoint and restartpoint files to disk",
    SINCE_17,
  ),
  // PostgresqlInstanceSample: pg_stat_io (17+).
  def(
    "io",
    "SUM(writes)",
    "io.buffersWrittenByBackendPerSecond",
    "rate",
    "{write}",
    "write operations of every backend type, object and context",
    SINCE_17,
  ),
  def(
    "io",
    "SUM(fsyncs)",
    "io.backendFsyncCallsPerSecond",
    "rate",
    "{call}",
    "fsync calls of every backend type, object and context",
    SINCE_17,
  ),
  // PostgresqlDatabaseSample: activity and conflicts.
  def(
    "database",
    "(SELECT setting::integer FROM pg_settings WHERE name = 'max_connections')",
    "db.maxconnections",
    "gauge",
    "{connection}",
    "max_connections of the server",
  ),
  def("database", "SD.numbackends", "db.connections", "gauge", "{connection}", "sessions connected"),
  def("database", "SD.xact_commit", "db.commitsPerSecond", "rate", "{transaction}", "transactions committed"),
  def(
    "database",
    "SD.xact_rollback",
    "db.rollbacksPerSecond",
    "rate",
    "{transaction}",
    "transactions rolled back",
  ),
  def("database", "SD.blks_read", "db.readsPerSecond", "rate", "{block}", "disk blocks read"),
  def(
    "database",
    "SD.blks_hit",
    "db.bufferHitsPerSecond",
    "rate",
    "{block}",
    "disk blocks found in shared buffers",
  ),
  def("database", "SD.tup_returned", "db.rowsReturnedPerSecond", "rate", "{row}", "rows returned by queries"),
  def("database", "SD.tup_fetched", "db.rowsFetchedPerSecond", "rate", "{row}", "rows fetched by queries"),
  def("database", "SD.tup_inserted", "db.rowsInsertedPerSecond", "rate", "{row}", "rows inserted"),
  def("database", "SD.tup_updated", "db.rowsUpdatedPerSecond", "rate", "{row}", "rows updated"),
  def("database", "SD.tup_deleted", "db.rowsDeletedPerSecond", "rate", "{row}", "rows deleted"),
  def(
    "database",
    "DBC.confl_tablespace",
    "db.conflicts.tablespacePerSecond",
    "rate",
    "{query}",
    "queries canceled on a standby by dropped tablespaces",
  ),
  def(
    "database",
    "DBC.confl_lock",
    "db.conflicts.locksPerSecond",
    "rate",
    "{query}",
    "queries canceled on a standby by lock timeouts",
  ),
  def(
    "database",
    "DBC.confl_snapshot",
    "db.conflicts.snapshotPerSecond",
    "rate",
    "{query}",
    "queries canceled on a standby by old snapshots",
  ),
  def(
    "database",
    "DBC.confl_bufferpin",
    "db.conflicts.bufferpinPerSecond",
    "rate",
    "{query}",
    "queries canceled on a standby by pinned buffers",
  ),
  def(
    "database",
    "DBC.confl_deadlock",
    "db.conflicts.deadlockPerSecond",
    "rate",
    "{query}",
    "queries canceled on a standby by deadlocks",
  ),
  // PostgresqlDatabaseSample: temporary files, deadlocks and I/O times.
  def(
    "database_io",
    "SD.temp_files",
    "db.tempFilesCreatedPerSecond",
    "rate",
    "{file}",
    "temporary files created by queries",
  ),
  def(
    "database_io",
    "SD.temp_bytes",
    "db.tempWrittenInBytesPerSecond",
    "rate",
    "By",
    "data written to temporary files by queries",
  ),
  def("database_io", "SD.deadlocks", "db.deadlocksPerSecond", "rate", "{deadlock}", "deadlocks detected"),
  def(
    "database_io",
    "CAST(SD.blk_read_time AS bigint)",
    "db.readTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time backends spent reading data file blocks (needs track_io_timing)",
  ),
  def(
    "database_io",
    "CAST(SD.blk_write_time AS bigint)",
    "db.writeTimeInMillisecondsPerSecond",
    "rate",
    "ms",
    "time backends spent writing data file blocks (needs track_io_timing)",
  ),
  // PostgresqlDatabaseSample: locks by mode.
  lockMode("AccessExclusiveLock"),
  lockMode("AccessShareLock"),
  lockMode("ExclusiveLock"),
  lockMode("RowExclusiveLock"),
  lockMode("RowShareLock"),
  lockMode("ShareLock"),
  lockMode("ShareRowExclusiveLock"),
  lockMode("ShareUpdateExclusiveLock"),
];

/** Whether `metric` exists on a server of major version `major`. */
export function availableIn(metric: BaseMetricDef, major: number): boolean {
  return (metric.minMajor === undefined || major >= metric.minMajor) &&
    (metric.maxMajor === undefined || major <= metric.maxMajor);
}

/**
 * The base metrics of major version `major`, in catalog order; only those of `query` when given.
 *
 * @throws Error when `major` is not a positive integer.
 */
export function baseMetricsFor(major: number, query?: BaseQuery): BaseMetricDef[] {
  if (!Number.isInteger(major) || major < 1) {
    throw new Error(`invalid PostgreSQL major version ${major}: expected a positive integer such as 16`);
  }
  return BASE_METRICS.filter((m) => (query === undefined || m.query === query) && availableIn(m, major));
}

/**
 * The SELECT list reading `metrics`: each expression as a double precision column named `m<i>` by
 * its position (so that values arrive as numbers and no name depends on the expression).
 */
export function selectList(metrics: readonly BaseMetricDef[]): string {
  if (metrics.length === 0) throw new Error("cannot build a SELECT list without metrics");
  return metrics.map((m, i) => `(${m.column})::float8 AS m${i}`).join(", ");
}

/**
 * The raw metrics of one result row read with {@link selectList}`(metrics)`, in catalog order; a
 * NULL (or missing) column leaves its metric out.
 *
 * @throws Error when a value is not a number.
 */
export function rowMetrics(
  metrics: readonly BaseMetricDef[],
  row: Record<string, unknown>,
): RawMetric[] {
  const out: RawMetric[] = [];
  metrics.forEach((m, i) => {
    const raw = row[`m${i}`];
    if (raw === null || raw === undefined) return;
    const value = typeof raw === "number" ? raw : Number(raw);
    if (!Number.isFinite(value)) {
      throw new Error(`metric ${m.name} (${m.column}) read a non-numeric value ${JSON.stringify(raw)}`);
    }
    out.push({ name: m.name, sourceType: m.sourceType, value });
  });
  return out;
}
