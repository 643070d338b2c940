/**
 * The unified model: what one collection cycle knows about one PostgreSQL instance.
 *
 * Collectors fill a {@link UnifiedMetrics} snapshot with typed rows; adapters (NRI, OTLP) encode
 * it. Field names here are the model's own (camelCase); the wire names live in
 * `src/core/catalog.ts`. Optional fields are absent when the source value was SQL NULL, which the
 * NRI encoding turns into an omitted key.
 *
 * @module
 */

/** One row of `PostgresSlowQueries`: a pg_stat_statements entry (cumulative since reset). */
export interface SlowQuery {
  /** pg_stat_statements queryid as a decimal string (may be negative). */
  queryId: string;
  /** Normalized statement text (`$n` placeholders), at most 4095 characters. */
  queryText: string;
  /** Database the statement ran in. */
  databaseName: string;
  /** Schema reported with the statement. */
  schemaName: string;
  /** Number of executions (`calls`). */
  executionCount: number;
  /** Mean execution time in milliseconds, rounded to 3 decimals. */
  avgElapsedTimeMs: number;
  /** Shared blocks read per call (integer division). */
  avgDiskReads: number;
  /** Shared blocks written per call (integer division). */
  avgDiskWrites: number;
  /** SELECT, INSERT, UPDATE, DELETE or OTHER. */
  statementType: string;
  /** Collection time, `YYYY-MM-DDTHH:MM:SSZ` in UTC. */
  collectionTimestamp: string;
  /** Total execution time in milliseconds (not part of the NRI QPM attributes). */
  totalExecTimeMs?: number;
  /** Rows returned or affected in total (not part of the NRI QPM attributes). */
  rows?: number;
}

/** One row of `PostgresWaitEvents`: waits of one query aggregated by wait event. */
export interface WaitEvent {
  /** `type:event`, e.g. `Lock:transactionid`. */
  waitEventName: string;
  /** Locks, Disk IO, CPU or Other. */
  waitCategory: string;
  /** Total sampled wait time in milliseconds; absent when it cannot be computed. */
  totalWaitTimeMs?: number;
  /** Collection time, `YYYY-MM-DDTHH:MM:SSZ` in UTC. */
  collectionTimestamp: string;
  /** Query id as a decimal string. */
  queryId: string;
  /** Normalized statement text. */
  queryText: string;
  /** Database name. */
  databaseName: string;
}

/** One row of `PostgresBlockingSessions`: a waiting backend and the backend holding its lock. */
export interface BlockingSession {
  /** Pid of the waiting backend. */
  blockedPid: number;
  /** Text of the waiting statement (normalized or obfuscated). */
  blockedQuery: string;
  /** Query id of the waiting statement, when known. */
  blockedQueryId?: string;
  /** Start of the waiting statement, RFC 3339. */
  blockedQueryStart: string;
  /** Database of the waiting backend. */
  databaseName: string;
  /** Pid of the backend holding the lock. */
  blockingPid: number;
  /** Current or last statement of the blocking backend (normalized or obfuscated). */
  blockingQuery: string;
  /** Query id of the blocking statement, when known. */
  blockingQueryId?: string;
  /** Start of the blocking statement, RFC 3339. */
  blockingQueryStart: string;
}

/** One row of `PostgresIndividualQueries`: an individual execution (or bucket) of a slow query. */
export interface IndividualQuery {
  /** Normalized text of the matching slow query. */
  queryText: string;
  /** Query id as a decimal string. */
  queryId: string;
  /** Database name. */
  databaseName: string;
  /** Plan identity: a deterministic hash of the plan's shape, as a decimal string. */
  planId: string;
  /** CPU time per execution in milliseconds, when the source measures it. */
  cpuTimeMs?: number;
  /** Execution time in milliseconds. */
  execTimeMs?: number;
  /** The slow query's cumulative mean execution time in milliseconds. */
  avgExecTimeMs?: number;
  /** Where the row came from (`pg_stat_monitor`, `pg_stat_activity`, `pg_querylens`); never exported by NRI. */
  source: "pg_stat_monitor" | "pg_stat_activity" | "pg_stat_statements" | "pg_querylens";
  /** The statement text with literals, used only to obtain a plan; never exported. */
  rawText?: string;
}

/** One node of a captured plan (`PostgresExecutionPlanMetrics`), in pre-order. */
export interface PlanNode {
  /** EXPLAIN `Node Type`. */
  nodeType: string;
  /** `Parallel Aware` as 0/1. */
  parallelAware: number;
  /** `Async Capable` as 0/1 (0 before PostgreSQL 14). */
  asyncCapable: number;
  /** `Scan Direction`, or "". */
  scanDirection: string;
  /** `Index Name`, or "". */
  indexName: string;
  /** `Relation Name`, or "". */
  relationName: string;
  /** `Alias`, or "". */
  alias: string;
  /** `Startup Cost`. */
  startupCost: number;
  /** `Total Cost`. */
  totalCost: number;
  /** `Plan Rows`. */
  planRows: number;
  /** `Plan Width`. */
  planWidth: number;
  /** `Rows Removed by Filter` (0 without ANALYZE). */
  rowsRemovedByFilter: number;
  /** Database name. */
  databaseName: string;
  /** Query id as a decimal string. */
  queryId: string;
  /** Plan id shared with the individual query. */
  planId: string;
  /** Pre-order ordinal, 0 for the root. */
  levelId: number;
}

/** Identity of the monitored instance, as configured and as probed. */
export interface InstanceInfo {
  /** Configured host name (part of the pg-instance entity name). */
  host: string;
  /** Configured port, as a string (part of the entity name). */
  port: string;
  /** `server_version_num` (e.g. 150018), or 0 when unknown. */
  serverVersionNum: number;
  /** Major version, e.g. 15. */
  majorVersion: number;
  /** `server_version` as reported. */
  serverVersion: string;
}

/** A problem met during a cycle: reported once per cause, counted in self-telemetry. */
export interface CollectionIssue {
  /** Collector or component that met the problem, e.g. `qpm.slow_queries`. */
  component: string;
  /** Stable cause key, used to log each cause once. */
  cause: string;
  /** Human-readable message naming what is missing or failed. */
  message: string;
  /** warning: data is reduced; error: a collector produced nothing; debug: expected, logged only with -verbose. */
  severity: "warning" | "error" | "debug";
}

/** One snapshot of everything a collection cycle produced. */
export interface UnifiedMetrics {
  /** The instance this snapshot describes. */
  instance: InstanceInfo;
  /** Start of the collection cycle. */
  collectedAt: Date;
  /** PostgresSlowQueries rows. */
  slowQueries: SlowQuery[];
  /** PostgresWaitEvents rows. */
  waitEvents: WaitEvent[];
  /** PostgresBlockingSessions rows. */
  blockingSessions: BlockingSession[];
  /** PostgresIndividualQueries rows. */
  individualQueries: IndividualQuery[];
  /** PostgresExecutionPlanMetrics rows (all plans, pre-order per plan). */
  executionPlans: PlanNode[];
  /** Problems met while collecting this snapshot. */
  issues: CollectionIssue[];
  /** Base samples (instance, databases, …), counters still raw. */
  baseSamples: BaseSample[];
  /** pg_settings as `<name>/setting|boot_val|reset_val` → value, when inventory is collected. */
  inventory?: Map<string, string | null>;
  /** When the server's cumulative statistics were last reset, when read this cycle. */
  statsResets?: StatsResetTimes;
}

/**
 * The `stats_reset` times of one instance: the start of each group of cumulative counters.
 * A time is absent when the server reports none (never reset, or a view the version lacks).
 */
export interface StatsResetTimes {
  /** `pg_stat_bgwriter.stats_reset`: start of the background writer counters (all of them before 17). */
  instance?: Date;
  /** `pg_stat_checkpointer.stats_reset` (PostgreSQL 17+): start of the checkpointer counters. */
  checkpointer?: Date;
  /** Latest `pg_stat_io.stats_reset` (PostgreSQL 17+): start of the I/O counters. */
  io?: Date;
  /** `pg_stat_database.stats_reset` by database name: start of its database, table and index counters. */
  databases: Map<string, Date>;
}

/** Returns an empty snapshot for `instance`, stamped with `collectedAt`. */
export function emptySnapshot(instance: InstanceInfo, collectedAt: Date = new Date()): UnifiedMetrics {
  return {
    instance,
    collectedAt,
    slowQueries: [],
    waitEvents: [],
    blockingSessions: [],
    individualQueries: [],
    executionPlans: [],
    issues: [],
    baseSamples: [],
  };
}

/** How a base metric's value is published (nri-postgresql's SDK source types). */
export type SourceType = "gauge" | "rate" | "delta" | "prate" | "pdelta" | "attribute";

/** An NRI entity of the base integration. */
export interface BaseEntity {
  /** Entity name, e.g. `shop` or `host:5432`. */
  name: string;
  /** Entity type: pg-instance, pg-database, pg-table, pg-index or pgbouncer. */
  type: string;
  /** Identity attributes (emitted sorted by key). */
  idAttributes: { key: string; value: string }[];
}

/** One raw value of a base sample, before rates are computed. */
export interface RawMetric {
  /** NRI metric name, e.g. `db.commitsPerSecond`. */
  name: string;
  /** Source type deciding how the value is published. */
  sourceType: SourceType;
  /** Value: a counter for rate/delta, a number for gauge, a string for attribute. */
  value: number | string;
}

/** One base sample (metric set) as collected: counters still raw. */
export interface BaseSample {
  /** The entity it belongs to. */
  entity: BaseEntity;
  /** Event type, e.g. `PostgresqlDatabaseSample`. */
  eventType: string;
  /** Metrics and attributes in collection order (NULL columns are absent). */
  metrics: RawMetric[];
}
