/**
 * The OpenTelemetry encoding of every base metric: which OTLP metric an NRI base metric becomes,
 * with which data-point attributes.
 *
 * An OTLP metric ("family") is declared once with its unit, kind, value type and description; each
 * NRI metric of the base catalogs (`src/core/base_catalog.ts`, `src/core/relation_catalog.ts`,
 * `src/collectors/pgbouncer/catalog.ts`) names its family and the attributes that tell it apart
 * from the family's other members (e.g. `postgresql.blocks_read` with `source` = `idx_read`).
 *
 * Naming:
 * - where the OpenTelemetry contrib PostgreSQL receiver reads the same measurement, its name, unit,
 *   kind and attribute keys are used (`contrib: true`), even where its units are irregular, so its
 *   dashboards keep working;
 * - the other PostgreSQL metrics are the project's own, named in the same style under
 *   `postgresql.*` (`contrib: false`);
 * - PgBouncer metrics are the project's own under `pgbouncer.*`: they describe the pooler, not a
 *   PostgreSQL server, and have no contrib equivalent.
 *
 * Kinds: `sum` is a monotonic sum (the raw counter, which OTLP carries instead of the NRI per-second
 * rate), `updown` a non-monotonic cumulative sum (contrib's choice for connection counts, row
 * counts and table sizes), `gauge` a gauge. Values keep the unit of the catalog; no value is
 * scaled.
 *
 * NRI metrics of source type `attribute` become data-point attributes ({@link OTEL_ATTRIBUTES}).
 *
 * @module
 */

/** The kind of an OTLP metric. */
export type OtelKind = "sum" | "updown" | "gauge";

/** Whether data points carry ints or doubles. */
export type OtelValueType = "int" | "double";

/** An OTLP metric declared once. */
export interface OtelFamily {
  /** OTLP metric name. */
  name: string;
  /** UCUM unit. */
  unit: string;
  /** Metric kind. */
  kind: OtelKind;
  /** Value type of its data points. */
  valueType: OtelValueType;
  /** One-line description. */
  description: string;
  /** Whether the name, unit, kind and attribute keys are the contrib PostgreSQL receiver's. */
  contrib: boolean;
}

/** The OTLP encoding of one NRI base metric. */
export interface OtelMetricMapping extends OtelFamily {
  /** Data-point attributes the metric adds (empty when it is the family's only member). */
  attributes: Readonly<Record<string, string>>;
  /**
   * `instance`: read per database but a property of the server, so emitted once on the instance
   * resource (as contrib's server-level metrics are).
   */
  level?: "instance";
}

function fam(
  name: string,
  unit: string,
  kind: OtelKind,
  description: string,
  contrib: boolean,
  valueType: OtelValueType = "int",
): OtelFamily {
  return { name, unit, kind, valueType, description, contrib };
}

/** Every OTLP metric of the base samples, by name. */
export const OTEL_FAMILIES: Readonly<Record<string, OtelFamily>> = Object.fromEntries(
  [
    // Contrib equivalents (names, units, kinds and attribute keys of the contrib receiver).
    fam("postgresql.bgwriter.buffers.allocated", "{buffers}", "sum", "Buffers allocated.", true),
    fam("postgresql.bgwriter.buffers.writes", "{buffers}", "sum", "Buffers written, by writer.", true),
    fam("postgresql.bgwriter.checkpoint.count", "{checkpoints}", "sum", "Checkpoints performed.", true),
    fam(
      "postgresql.bgwriter.duration",
      "ms",
      "sum",
      "Time spent writing and synchronizing checkpoint files.",
      true,
      "double",
    ),
    fam(
      "postgresql.bgwriter.maxwritten",
      "1",
      "sum",
      "Times the background writer stopped a cleaning scan for writing too many buffers.",
      true,
    ),
    fam("postgresql.backends", "1", "updown", "Sessions connected to the database.", true),
    fam("postgresql.connection.max", "{connections}", "gauge", "Maximum connections allowed.", true),
    fam("postgresql.commits", "1", "sum", "Transactions committed.", true),
    fam("postgresql.rollbacks", "1", "sum", "Transactions rolled back.", true),
    fam("postgresql.blks_hit", "{blks_hit}", "sum", "Disk blocks found in shared buffers.", true),
    fam("postgresql.blks_read", "{blks_read}", "sum", "Disk blocks read.", true),
    fam("postgresql.tup_returned", "{tup_returned}", "sum", "Rows returned by queries.", true),
    fam("postgresql.tup_fetched", "{tup_fetched}", "sum", "Rows fetched by queries.", true),
    fam("postgresql.tup_inserted", "{tup_inserted}", "sum", "Rows inserted.", true),
    fam("postgresql.tup_updated", "{tup_updated}", "sum", "Rows updated.", true),
    fam("postgresql.tup_deleted", "{tup_deleted}", "sum", "Rows deleted.", true),
    fam(
      "postgresql.query.conflicts",
      "{query}",
      "sum",
      "Queries canceled on a standby by recovery conflicts, by conflict type.",
      true,
    ),
    fam("postgresql.temp_files", "{temp_file}", "sum", "Temporary files created by queries.", true),
    fam("postgresql.temp.io", "By", "sum", "Data written to temporary files by queries.", true),
    fam("postgresql.deadlocks", "{deadlock}", "sum", "Deadlocks detected.", true),
    fam("postgresql.rows", "1", "updown", "Estimated rows in the table, by state.", true),
    fam("postgresql.operations", "1", "sum", "Row operations on the table.", true),
    fam("postgresql.blocks_read", "1", "sum", "Blocks read or found in buffers, by source.", true),
    fam("postgresql.table.size", "By", "updown", "Size of the table's heap.", true),
    fam("postgresql.sequential_scans", "{sequential_scan}", "sum", "Sequential scans of the table.", true),
    fam("postgresql.index.size", "By", "gauge", "Size of the index.", true),
    // The project's own PostgreSQL metrics.
    fam(
      "postgresql.io.writes",
      "{write}",
      "sum",
      "Write operations of every backend type (pg_stat_io).",
      false,
    ),
    fam("postgresql.io.fsyncs", "{call}", "sum", "fsync calls of every backend type (pg_stat_io).", false),
    fam(
      "postgresql.blk_read_time",
      "ms",
      "sum",
      "Time backends spent reading data file blocks (needs track_io_timing).",
      false,
      "double",
    ),
    fam(
      "postgresql.blk_write_time",
      "ms",
      "sum",
      "Time backends spent writing data file blocks (needs track_io_timing).",
      false,
      "double",
    ),
    fam("postgresql.locks", "{lock}", "gauge", "Locks held or awaited in the database, by mode.", false),
    fam("postgresql.table.bloat.size", "By", "gauge", "Estimated bloat of the table's heap.", false),
    fam(
      "postgresql.table.bloat.ratio",
      "%",
      "gauge",
      "Estimated bloat as a percentage of the table's heap.",
      false,
      "double",
    ),
    fam("postgresql.table.total.size", "By", "gauge", "Size of the table with its indexes and TOAST.", false),
    fam("postgresql.table.index.size", "By", "gauge", "Size of the table's indexes.", false),
    fam(
      "postgresql.table.vacuum.last_time",
      "s",
      "gauge",
      "Unix time of the table's last vacuum, by type.",
      false,
    ),
    fam(
      "postgresql.table.analyze.last_time",
      "s",
      "gauge",
      "Unix time of the table's last analyze, by type.",
      false,
    ),
    fam(
      "postgresql.table.scan.rows",
      "{row}",
      "sum",
      "Rows read by scans of the table, by scan type.",
      false,
    ),
    fam("postgresql.table.index_scans", "{scan}", "sum", "Index scans on the table.", false),
    fam("postgresql.index.rows", "{row}", "sum", "Entries returned and rows fetched by the index.", false),
    // The project's own PgBouncer metrics.
    fam("pgbouncer.transactions", "{transaction}", "sum", "SQL transactions pooled.", false),
    fam("pgbouncer.queries", "{query}", "sum", "SQL queries pooled.", false),
    fam("pgbouncer.requests", "{request}", "sum", "SQL requests pooled (PgBouncer before 1.8).", false),
    fam(
      "pgbouncer.server_assignments",
      "{assignment}",
      "sum",
      "Server connections assigned to clients.",
      false,
    ),
    fam("pgbouncer.io", "By", "sum", "Bytes received from and sent to clients.", false),
    fam("pgbouncer.transactions.duration", "us", "sum", "Time in transactions on a server.", false),
    fam("pgbouncer.queries.duration", "us", "sum", "Time running queries on a server.", false),
    fam(
      "pgbouncer.avg.transactions",
      "{transaction}/s",
      "gauge",
      "Transactions per second in the last statistics period.",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.queries",
      "{query}/s",
      "gauge",
      "Queries per second in the last statistics period.",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.requests",
      "{request}/s",
      "gauge",
      "Requests per second in the last statistics period (PgBouncer before 1.8).",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.server_assignments",
      "{assignment}/s",
      "gauge",
      "Server assignments per second in the last statistics period.",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.io",
      "By/s",
      "gauge",
      "Bytes per second received and sent in the last statistics period.",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.transaction.duration",
      "us",
      "gauge",
      "Average transaction duration in the last statistics period.",
      false,
      "double",
    ),
    fam(
      "pgbouncer.avg.query.duration",
      "us",
      "gauge",
      "Average query duration in the last statistics period.",
      false,
      "double",
    ),
    fam("pgbouncer.client.connections", "{connection}", "gauge", "Client connections, by state.", false),
    fam("pgbouncer.server.connections", "{connection}", "gauge", "Server connections, by state.", false),
    fam("pgbouncer.pool.maxwait", "s", "gauge", "Wait of the oldest waiting client.", false),
  ].map((f) => [f.name, f]),
);

type Member = [family: string, attributes?: Record<string, string>, level?: "instance"];

/** NRI metric name → family and attributes. */
const MEMBERS: Readonly<Record<string, Member>> = {
  // PostgresqlInstanceSample (pg_stat_bgwriter; pg_stat_checkpointer and pg_stat_io on 17+).
  "bgwriter.checkpointsScheduledPerSecond": ["postgresql.bgwriter.checkpoint.count", { type: "scheduled" }],
  "bgwriter.checkpointsRequestedPerSecond": ["postgresql.bgwriter.checkpoint.count", { type: "requested" }],
  "bgwriter.buffersWrittenForCheckpointsPerSecond": [
    "postgresql.bgwriter.buffers.writes",
    { source: "checkpoints" },
  ],
  "bgwriter.buffersWrittenByBackgroundWriterPerSecond": [
    "postgresql.bgwriter.buffers.writes",
    { source: "bgwriter" },
  ],
  "bgwriter.buffersWrittenByBackendPerSecond": ["postgresql.bgwriter.buffers.writes", { source: "backend" }],
  "bgwriter.backendFsyncCallsPerSecond": ["postgresql.bgwriter.buffers.writes", { source: "backend_fsync" }],
  "bgwriter.backgroundWriterStopsPerSecond": ["postgresql.bgwriter.maxwritten"],
  "bgwriter.buffersAllocatedPerSecond": ["postgresql.bgwriter.buffers.allocated"],
  "bgwriter.checkpointWriteTimeInMillisecondsPerSecond": ["postgresql.bgwriter.duration", { type: "write" }],
  "bgwriter.checkpointSyncTimeInMillisecondsPerSecond": ["postgresql.bgwriter.duration", { type: "sync" }],
  "checkpointer.checkpointsScheduledPerSecond": ["postgresql.bgwriter.checkpoint.count", {
    type: "scheduled",
  }],
  "checkpointer.checkpointsRequestedPerSecond": ["postgresql.bgwriter.checkpoint.count", {
    type: "requested",
  }],
  "checkpointer.buffersWrittenForCheckpointsPerSecond": [
    "postgresql.bgwriter.buffers.writes",
    { source: "checkpoints" },
  ],
  "checkpointer.checkpointWriteTimeInMillisecondsPerSecond": [
    "postgresql.bgwriter.duration",
    { type: "write" },
  ],
  "checkpointer.checkpointSyncTimeInMillisecondsPerSecond": ["postgresql.bgwriter.duration", {
    type: "sync",
  }],
  "io.buffersWrittenByBackendPerSecond": ["postgresql.io.writes"],
  "io.backendFsyncCallsPerSecond": ["postgresql.io.fsyncs"],
  // PostgresqlDatabaseSample.
  "db.maxconnections": ["postgresql.connection.max", {}, "instance"],
  "db.connections": ["postgresql.backends"],
  "db.commitsPerSecond": ["postgresql.commits"],
  "db.rollbacksPerSecond": ["postgresql.rollbacks"],
  "db.readsPerSecond": ["postgresql.blks_read"],
  "db.bufferHitsPerSecond": ["postgresql.blks_hit"],
  "db.rowsReturnedPerSecond": ["postgresql.tup_returned"],
  "db.rowsFetchedPerSecond": ["postgresql.tup_fetched"],
  "db.rowsInsertedPerSecond": ["postgresql.tup_inserted"],
  "db.rowsUpdatedPerSecond": ["postgresql.tup_updated"],
  "db.rowsDeletedPerSecond": ["postgresql.tup_deleted"],
  "db.conflicts.tablespacePerSecond": ["postgresql.query.conflicts", {
    "postgresql.conflict.type": "tablespace",
  }],
  "db.conflicts.locksPerSecond": ["postgresql.query.conflicts", { "postgresql.conflict.type": "lock" }],
  "db.conflicts.snapshotPerSecond": ["postgresql.query.conflicts", {
    "postgresql.conflict.type": "snapshot",
  }],
  "db.conflicts.bufferpinPerSecond": ["postgresql.query.conflicts", {
    "postgresql.conflict.type": "bufferpin",
  }],
  "db.conflicts.deadlockPerSecond": ["postgresql.query.conflicts", {
    "postgresql.conflict.type": "deadlock",
  }],
  "db.tempFilesCreatedPerSecond": ["postgresql.temp_files"],
  "db.tempWrittenInBytesPerSecond": ["postgresql.temp.io"],
  "db.deadlocksPerSecond": ["postgresql.deadlocks"],
  "db.readTimeInMillisecondsPerSecond": ["postgresql.blk_read_time"],
  "db.writeTimeInMillisecondsPerSecond": ["postgresql.blk_write_time"],
  "db.locks.accessExclusiveLock": ["postgresql.locks", { mode: "AccessExclusiveLock" }],
  "db.locks.accessShareLock": ["postgresql.locks", { mode: "AccessShareLock" }],
  "db.locks.exclusiveLock": ["postgresql.locks", { mode: "ExclusiveLock" }],
  "db.locks.rowExclusiveLock": ["postgresql.locks", { mode: "RowExclusiveLock" }],
  "db.locks.rowShareLock": ["postgresql.locks", { mode: "RowShareLock" }],
  "db.locks.shareLock": ["postgresql.locks", { mode: "ShareLock" }],
  "db.locks.shareRowExclusiveLock": ["postgresql.locks", { mode: "ShareRowExclusiveLock" }],
  "db.locks.shareUpdateExclusiveLock": ["postgresql.locks", { mode: "ShareUpdateExclusiveLock" }],
  // PostgresqlTableSample (bloat and statistics).
  "table.bloatSizeInBytes": ["postgresql.table.bloat.size"],
  "table.dataSizeInBytes": ["postgresql.table.size"],
  "table.bloatRatio": ["postgresql.table.bloat.ratio"],
  "table.totalSizeInBytes": ["postgresql.table.total.size"],
  "table.indexSizeInBytes": ["postgresql.table.index.size"],
  "table.liveRows": ["postgresql.rows", { state: "live" }],
  "table.deadRows": ["postgresql.rows", { state: "dead" }],
  "table.indexBlocksReadPerSecond": ["postgresql.blocks_read", { source: "idx_read" }],
  "table.indexBlocksHitPerSecond": ["postgresql.blocks_read", { source: "idx_hit" }],
  "table.indexToastBlocksReadPerSecond": ["postgresql.blocks_read", { source: "toast_read" }],
  "table.indexToastBlocksHitPerSecond": ["postgresql.blocks_read", { source: "toast_hit" }],
  "table.lastVacuum": ["postgresql.table.vacuum.last_time", { type: "manual" }],
  "table.lastAutoVacuum": ["postgresql.table.vacuum.last_time", { type: "auto" }],
  "table.lastAnalyze": ["postgresql.table.analyze.last_time", { type: "manual" }],
  "table.lastAutoAnalyze": ["postgresql.table.analyze.last_time", { type: "auto" }],
  "table.sequentialScansPerSecond": ["postgresql.sequential_scans"],
  "table.sequentialScanRowsFetchedPerSecond": ["postgresql.table.scan.rows", { type: "sequential" }],
  "table.indexScansPerSecond": ["postgresql.table.index_scans"],
  "table.indexScanRowsFetchedPerSecond": ["postgresql.table.scan.rows", { type: "index" }],
  "table.rowsInsertedPerSecond": ["postgresql.operations", { operation: "ins" }],
  "table.rowsUpdatedPerSecond": ["postgresql.operations", { operation: "upd" }],
  "table.rowsDeletedPerSecond": ["postgresql.operations", { operation: "del" }],
  // PostgresqlIndexSample.
  "index.sizeInBytes": ["postgresql.index.size"],
  "index.rowsReadPerSecond": ["postgresql.index.rows", { operation: "read" }],
  "index.rowsFetchedPerSecond": ["postgresql.index.rows", { operation: "fetch" }],
  // PgBouncerSample: SHOW STATS.
  "pgbouncer.stats.transactionsPerSecond": ["pgbouncer.transactions"],
  "pgbouncer.stats.queriesPerSecond": ["pgbouncer.queries"],
  "pgbouncer.stats.totalServerAssignmentCount": ["pgbouncer.server_assignments"],
  "pgbouncer.stats.bytesInPerSecond": ["pgbouncer.io", { "network.io.direction": "receive" }],
  "pgbouncer.stats.bytesOutPerSecond": ["pgbouncer.io", { "network.io.direction": "transmit" }],
  "pgbouncer.stats.totalTransactionDurationInMillisecondsPerSecond": ["pgbouncer.transactions.duration"],
  "pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond": ["pgbouncer.queries.duration"],
  "pgbouncer.stats.requestsPerSecond": ["pgbouncer.requests"],
  "pgbouncer.stats.avgTransactionCount": ["pgbouncer.avg.transactions"],
  "pgbouncer.stats.avgTransactionDurationInMilliseconds": ["pgbouncer.avg.transaction.duration"],
  "pgbouncer.stats.avgQueryCount": ["pgbouncer.avg.queries"],
  "pgbouncer.stats.avgServerAssignmentCount": ["pgbouncer.avg.server_assignments"],
  "pgbouncer.stats.avgBytesIn": ["pgbouncer.avg.io", { "network.io.direction": "receive" }],
  "pgbouncer.stats.avgBytesOut": ["pgbouncer.avg.io", { "network.io.direction": "transmit" }],
  "pgbouncer.stats.avgRequestsPerSecond": ["pgbouncer.avg.requests"],
  "pgbouncer.stats.avgQueryDurationInMilliseconds": ["pgbouncer.avg.query.duration"],
  // PgBouncerSample: SHOW POOLS.
  "pgbouncer.pools.clientConnectionsCancelReq": ["pgbouncer.client.connections", { state: "cancel_req" }],
  "pgbouncer.pools.clientConnectionsActive": ["pgbouncer.client.connections", { state: "active" }],
  "pgbouncer.pools.clientConnectionsWaiting": ["pgbouncer.client.connections", { state: "waiting" }],
  "pgbouncer.pools.clientConnectionsWaitingCancelReq": [
    "pgbouncer.client.connections",
    { state: "waiting_cancel_req" },
  ],
  "pgbouncer.pools.clientConnectionsActiveCancelReq": [
    "pgbouncer.client.connections",
    { state: "active_cancel_req" },
  ],
  "pgbouncer.pools.serverConnectionsActiveCancel": ["pgbouncer.server.connections", {
    state: "active_cancel",
  }],
  "pgbouncer.pools.serverConnectionsBeingCancel": ["pgbouncer.server.connections", {
    state: "being_canceled",
  }],
  "pgbouncer.pools.serverConnectionsActive": ["pgbouncer.server.connections", { state: "active" }],
  "pgbouncer.pools.serverConnectionsIdle": ["pgbouncer.server.connections", { state: "idle" }],
  "pgbouncer.pools.serverConnectionsUsed": ["pgbouncer.server.connections", { state: "used" }],
  "pgbouncer.pools.serverConnectionsTested": ["pgbouncer.server.connections", { state: "tested" }],
  "pgbouncer.pools.serverConnectionsLogin": ["pgbouncer.server.connections", { state: "login" }],
  "pgbouncer.pools.maxwaitInMilliseconds": ["pgbouncer.pool.maxwait"],
};

/**
 * NRI attributes (source type `attribute`) that become data-point attributes, with their OTLP key.
 * PgBouncer's pool user is the semantic conventions' `user.name` (as contrib's query samples name
 * the database user).
 */
export const OTEL_ATTRIBUTES: Readonly<Record<string, string>> = {
  "pgbouncer.pools.user": "user.name",
};

/** Every NRI base metric name that has an OTLP encoding. */
export const MAPPED_METRIC_NAMES: readonly string[] = Object.keys(MEMBERS);

/**
 * The OTLP encoding of NRI base metric `nriName`, or undefined when it has none (for example a
 * custom-query metric).
 *
 * @throws Error when the mapping names an undeclared family (a catalog inconsistency).
 */
export function otelMetricFor(nriName: string): OtelMetricMapping | undefined {
  if (!Object.hasOwn(MEMBERS, nriName)) return undefined;
  const [family, attributes = {}, level] = MEMBERS[nriName];
  const f = OTEL_FAMILIES[family];
  if (f === undefined) throw new Error(`metric ${nriName} maps to undeclared OTLP metric ${family}`);
  return { ...f, attributes, ...(level ? { level } : {}) };
}
