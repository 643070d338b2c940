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

/**
 * What the plan dictionary knows about one plan of one query (the identity used everywhere: the
 * pg_querylens planid where the extension links captured plans, else the EXPLAIN shape hash).
 */
export interface PlanDictionaryEntry {
  /** Database name. */
  databaseName: string;
  /** Query id as a decimal string. */
  queryId: string;
  /** Plan id as a decimal string. */
  planId: string;
  /** Whether it is the query's current plan. */
  current: boolean;
  /** When the plan was first seen, RFC 3339 in UTC. */
  firstSeen: string;
  /** When the plan was last seen (captured or executed), RFC 3339 in UTC. */
  lastSeen: string;
  /** Executions counted for the plan since it was first seen. */
  executionCount: number;
  /** Mean execution time of those executions, ms; absent before the first one. */
  avgDurationMs?: number;
  /** Executions counted for the plan this cycle. */
  cycleExecutions: number;
  /** `Total Cost` of the plan's root when it was last captured; absent when never captured. */
  totalCost?: number;
  /** `Startup Cost` of the plan's root when it was last captured; absent when never captured. */
  startupCost?: number;
  /** Nodes of the captured plan; absent when never captured. */
  nodeCount?: number;
}

/** A change of a query's plan and its verdict (`PostgresPlanChanges`), exported once. */
export interface PlanChange {
  /** Query id as a decimal string. */
  queryId: string;
  /** Database name. */
  databaseName: string;
  /** The new plan's id. */
  planId: string;
  /** The plan the query had before. */
  previousPlanId: string;
  /** `Total Cost` of the previous plan's root; absent when it was never captured. */
  previousTotalCost?: number;
  /** `Total Cost` of the new plan's root; absent when it was never captured. */
  totalCost?: number;
  /** Mean execution time of the previous plan, ms; absent when it had no executions. */
  avgDurationBeforeMs?: number;
  /** Mean execution time of the new plan since the change, ms; absent when it had no executions. */
  avgDurationAfterMs?: number;
  /** Executions of the previous plan behind `avgDurationBeforeMs`. */
  executionsBefore: number;
  /** Executions of the new plan since the change behind `avgDurationAfterMs`. */
  executionsAfter: number;
  /** Whether both sides had enough executions and the mean grew by the regression ratio or more. */
  isRegression: boolean;
  /** When the change was detected, RFC 3339 in UTC. */
  detectedAt: string;
  /** When the change was detected, ms since the Unix epoch. */
  detectedAtUnixMs: number;
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
  /** Plan dictionary: what is known about each plan of the queries tracked this cycle. */
  planDictionary?: PlanDictionaryEntry[];
  /** Plan changes judged this cycle (`PostgresPlanChanges`), one per change. */
  planChanges?: PlanChange[];
  /** Problems met while collecting this snapshot. */
  issues: CollectionIssue[];
  /** Base samples (instance, databases, …), counters still raw. */
  baseSamples: BaseSample[];
  /** pg_settings as `<name>/setting|boot_val|reset_val` → value, when inventory is collected. */
  inventory?: Map<string, string | null>;
  /** When the server's cumulative statistics were last reset, when read this cycle. */
  statsResets?: StatsResetTimes;
  /** pg_querylens: the executions the sampler kept this cycle (`PostgresQueryExecutions`). */
  queryExecutions?: QueryExecution[];
  /** pg_querylens: this cycle's executions aggregated by plan (`PostgresQueryPlanAggregates`). */
  queryLensAggregates?: QueryLensAggregate[];
  /** pg_querylens: where the records came from, what the sampler kept and what the rings lost. */
  queryLensStats?: QueryLensStats;
  /** Active session history: this cycle's session samples aggregated (`PostgresActiveSessionHistory`). */
  activeSessionHistory?: AshAggregate[];
  /** Active session history: what the sampler took, lost and could measure. */
  ashStats?: AshStats;
  /** OS metrics per server process, per query and for the host (`PostgresKernelMetrics`). */
  kernelMetrics?: KernelMetrics;
  /** eBPF tier: the queries traced this cycle, their latency split by scheduler state (`PostgresQueryOsDelays`). */
  queryOsDelays?: QueryOsDelay[];
  /** eBPF tier: probe hits and what the program emitted, counted and lost. */
  ebpfStats?: EbpfStats;
}

/**
 * Wait samples of one or more executions by wait class: how many times the extension's sampler saw
 * the process in each class while it executed (one sample per sampling period, statistical).
 */
export interface WaitSamplesByClass {
  /** On CPU: executing without a wait event. */
  waitCpuSamples: number;
  /** Waiting on a lightweight lock. */
  waitLwlockSamples: number;
  /** Waiting on a heavyweight lock. */
  waitLockSamples: number;
  /** Waiting for a buffer pin. */
  waitBufferpinSamples: number;
  /** Waiting on I/O. */
  waitIoSamples: number;
  /** Waiting on another process (IPC). */
  waitIpcSamples: number;
  /** Waiting for a timeout to expire. */
  waitTimeoutSamples: number;
  /** Any other wait (client, activity, extension). */
  waitOtherSamples: number;
}

/** Statement kind of an execution, from the executor's command type. */
export type QueryCommand = "SELECT" | "UPDATE" | "INSERT" | "DELETE" | "OTHER";

/** One execution recorded by pg_querylens that the sampler kept (`PostgresQueryExecutions`). */
export interface QueryExecution extends WaitSamplesByClass {
  /** Query id as a decimal string (signed 64-bit, as pg_stat_statements shows it). */
  queryId: string;
  /** Plan id as a decimal string (signed 64-bit). */
  planId: string;
  /** Query id of the top-level execution this one ran under (itself when top level), decimal. */
  parentQueryId: string;
  /** Database oid. */
  dbid: number;
  /** Database name; absent when the oid could not be resolved. */
  databaseName?: string;
  /** Role oid. */
  userid: number;
  /** Role name; absent when the oid could not be resolved. */
  userName?: string;
  /** Process id of the backend. */
  pid: number;
  /** Execution number within the backend's ring (with `pid`, identifies the execution). */
  execSeq: number;
  /** Start of the execution, RFC 3339 in UTC with microseconds. */
  startTime: string;
  /** Start of the execution in microseconds since the Unix epoch. */
  startUnixUs: number;
  /** Time from executor start to end (or to the error), in milliseconds. */
  durationMs: number;
  /** Rows returned or affected. */
  rows: number;
  /** Shared buffer hits. */
  sharedBlksHit: number;
  /** Shared blocks read. */
  sharedBlksRead: number;
  /** Shared blocks dirtied. */
  sharedBlksDirtied: number;
  /** Shared blocks written. */
  sharedBlksWritten: number;
  /** Local buffer hits. */
  localBlksHit: number;
  /** Local blocks read. */
  localBlksRead: number;
  /** Local blocks dirtied. */
  localBlksDirtied: number;
  /** Local blocks written. */
  localBlksWritten: number;
  /** Temporary-file bytes read (blocks × block size). */
  tempBytesRead: number;
  /** Temporary-file bytes written (blocks × block size). */
  tempBytesWritten: number;
  /** WAL bytes generated. */
  walBytes: number;
  /** WAL records generated. */
  walRecords: number;
  /** WAL full-page images generated. */
  walFpi: number;
  /** Time reading shared blocks, ms; absent without `track_io_timing`. */
  sharedReadTimeMs?: number;
  /** Time writing shared blocks, ms; absent without `track_io_timing`. */
  sharedWriteTimeMs?: number;
  /** Time reading local blocks, ms (PostgreSQL 17+); absent without `track_io_timing`. */
  localReadTimeMs?: number;
  /** Time writing local blocks, ms (PostgreSQL 17+); absent without `track_io_timing`. */
  localWriteTimeMs?: number;
  /** Time reading temporary files, ms; absent without `track_io_timing`. */
  tempReadTimeMs?: number;
  /** Time writing temporary files, ms; absent without `track_io_timing`. */
  tempWriteTimeMs?: number;
  /** User CPU time, ms; absent when the execution's CPU time was not measured. */
  cpuUserTimeMs?: number;
  /** System CPU time, ms; absent when the execution's CPU time was not measured. */
  cpuSysTimeMs?: number;
  /** Last wait event sampled during the execution, `Type:Event`; absent when none was seen. */
  waitEventLast?: string;
  /** Whether the execution ended with an error. */
  failed: boolean;
  /** SQLSTATE of the error (failed executions only). */
  sqlstate?: string;
  /** Whether the statement was issued by the client (nesting level 0). */
  toplevel: boolean;
  /** Nesting level: 0 for top level, more inside functions. */
  nestingLevel: number;
  /** Statement kind. */
  command: QueryCommand;
  /** Why the sampler kept it: `slow`, `error`, `rule:<name>` or `default`. */
  sampleReason: string;
}

/** This cycle's executions of one plan of one query in one database (`PostgresQueryPlanAggregates`). */
export interface QueryLensAggregate extends WaitSamplesByClass {
  /** Database oid. */
  dbid: number;
  /** Database name; absent when the oid could not be resolved. */
  databaseName?: string;
  /** Query id as a decimal string. */
  queryId: string;
  /** Plan id as a decimal string. */
  planId: string;
  /** Executions (including failed ones). */
  calls: number;
  /** Executions that ended with an error. */
  errors: number;
  /** Sum of execution times, ms. */
  totalDurationMs: number;
  /** Shortest execution, ms. */
  minDurationMs: number;
  /** Longest execution, ms. */
  maxDurationMs: number;
  /** Rows returned or affected. */
  rows: number;
  /** Shared buffer hits. */
  sharedBlksHit: number;
  /** Shared blocks read. */
  sharedBlksRead: number;
  /** Temporary-file blocks read. */
  tempBlksRead: number;
  /** Temporary-file blocks written. */
  tempBlksWritten: number;
  /** WAL bytes generated. */
  walBytes: number;
  /** Executions whose CPU time was measured (the CPU sums cover these only). */
  cpuMeasuredCalls: number;
  /** User CPU time of the measured executions, ms; absent when none was measured. */
  cpuUserTimeMs?: number;
  /** System CPU time of the measured executions, ms; absent when none was measured. */
  cpuSysTimeMs?: number;
  /** Wait event of the last execution (by end time) that had one, `Type:Event`; absent when none. */
  waitEventLast?: string;
  /** Start of the earliest execution, RFC 3339 in UTC with microseconds. */
  firstSeen: string;
  /** Start of the earliest execution, microseconds since the Unix epoch. */
  firstSeenUnixUs: number;
  /** End of the latest execution, RFC 3339 in UTC with microseconds. */
  lastSeen: string;
  /** End of the latest execution, microseconds since the Unix epoch. */
  lastSeenUnixUs: number;
}

/** What an adaptive sampler kept and left out, by reason. */
export interface SamplerCounts {
  /** Executions kept by reason: `slow`, `error`, `rule:<name>`, `default`. */
  kept: Record<string, number>;
  /** Executions sampled out by reason: `rule:<name>`, `rate_limit`, `cap`. */
  sampledOut: Record<string, number>;
}

/** pg_querylens counters of a cycle: where records came from and what happened to them. */
export interface QueryLensStats {
  /** `ffi` (shared-memory rings) or `sql` (`pg_querylens_read()`). */
  source: "ffi" | "sql";
  /** Start of the cumulative counters (when the sampler and reader were created), ms since the epoch. */
  sinceUnixMs: number;
  /** Sampler decisions since `sinceUnixMs`. */
  sampled: SamplerCounts;
  /** Sampler decisions of this cycle. */
  cycleSampled: SamplerCounts;
  /** Records read since `sinceUnixMs`. */
  recordsRead: number;
  /** Records the rings overwrote before they were read, since `sinceUnixMs`. */
  recordsLost: number;
  /** Records read this cycle. */
  cycleRecordsRead: number;
  /** Records lost this cycle. */
  cycleRecordsLost: number;
  /** Records of this cycle left out of the aggregates because the key limit was reached. */
  aggregateOverflow: number;
}

/**
 * Active session history of one cycle: the session-samples of one database, role, state, wait event
 * and query id (`PostgresActiveSessionHistory`). A session-sample is one backend seen in one sample
 * of pg_stat_activity.
 */
export interface AshAggregate {
  /** Database of the sessions. */
  databaseName: string;
  /** Role of the sessions; absent when pg_stat_activity shows none. */
  userName?: string;
  /** pg_stat_activity `state`, e.g. `active` or `idle in transaction`. */
  state: string;
  /** `wait_event_type`; absent when the sessions were not waiting (on CPU when active). */
  waitEventType?: string;
  /** `wait_event`; absent when the sessions were not waiting. */
  waitEvent?: string;
  /** Query id (decimal) of the current or last statement; absent when not computed. */
  queryId?: string;
  /** Session-samples of the group. */
  samples: number;
  /** Distinct backends among them. */
  sessions: number;
  /** Average active sessions over the window: samples × interval ÷ window (samples ÷ samples taken), to 4 decimals. */
  averageActiveSessions: number;
  /** CPU seconds the backends used between consecutive samples, summed; absent when none was measured. */
  cpuSeconds?: number;
  /** Session-samples whose CPU time was measured (the CPU sum covers these only). */
  cpuSamples: number;
  /** Session-samples that waited on a heavyweight lock held by another backend. */
  blockedSamples: number;
  /** Pids that blocked the group's sessions, ascending, comma-separated (at most 20); absent when none. */
  blockingPids?: string;
  /** Samples taken in the window. */
  windowSamples: number;
  /** Milliseconds between samples. */
  sampleIntervalMs: number;
  /** Time of the window's first sample, RFC 3339 in UTC with milliseconds. */
  windowStart: string;
  /** Time of the window's first sample, milliseconds since the Unix epoch. */
  windowStartUnixMs: number;
  /** Time of the window's last sample, RFC 3339 in UTC with milliseconds. */
  windowEnd: string;
  /** Time of the window's last sample, milliseconds since the Unix epoch. */
  windowEndUnixMs: number;
}

/** Growth of one process's OS counters over one interval (from `/proc`). */
export interface ProcessDelta {
  /** Length of the interval, ms. */
  intervalMs: number;
  /** User-mode CPU time, ms (10 ms resolution). */
  cpuUserMs: number;
  /** Kernel-mode CPU time, ms (10 ms resolution). */
  cpuSysMs: number;
  /** Time on a CPU, ms (scheduler accounting, ns resolution). */
  onCpuMs: number;
  /** Time runnable but waiting for a CPU, ms. */
  runQueueMs: number;
  /** Interval time neither on a CPU nor waiting for one (I/O, locks, latches, the client), ms. */
  offCpuMs: number;
  /** Timeslices run on a CPU. */
  timeslices: number;
  /** Time blocked on block I/O, ms; absent when delay accounting is off (kernel.task_delayacct = 0). */
  blkioDelayMs?: number;
  /** Bytes fetched from storage; absent when `/proc/<pid>/io` is not readable. */
  readBytes?: number;
  /** Bytes sent to storage; absent when `/proc/<pid>/io` is not readable. */
  writeBytes?: number;
  /** Bytes read by read-like system calls (page cache included); absent when not readable. */
  readChars?: number;
  /** Bytes written by write-like system calls; absent when not readable. */
  writeChars?: number;
  /** Context switches the process asked for (it blocked or slept). */
  voluntaryCtxSwitches: number;
  /** Context switches forced on it (preempted). */
  involuntaryCtxSwitches: number;
}

/**
 * OS metrics of one server process over one interval, from `/proc` (`PostgresKernelMetrics`, scope
 * `backend`). Times are the growth of the process's counters between two readings; the
 * pg_stat_activity fields are those of the later reading.
 */
export interface KernelBackendRow extends ProcessDelta {
  /** Process id. */
  pid: number;
  /** Pid of the parallel group's leader, for a parallel worker. */
  leaderPid?: number;
  /** `backend_type`, e.g. `client backend`, `parallel worker`, `checkpointer`. */
  backendType: string;
  /** Database; absent for processes attached to none. */
  databaseName?: string;
  /** Role; absent when unknown. */
  userName?: string;
  /** pg_stat_activity `state`; absent for background processes. */
  state?: string;
  /** `wait_event_type`; absent when not waiting. */
  waitEventType?: string;
  /** `wait_event`; absent when not waiting. */
  waitEvent?: string;
  /** Query id (decimal) of the current or most recent statement (a worker's: its leader's when it shows none). */
  queryId?: string;
  /** For an active statement: time since its `query_start`, ms. */
  queryElapsedMs?: number;
  /** For an active statement: how much of its elapsed time the query totals cover, ms. */
  queryObservedMs?: number;
  /** For an active statement: time on a CPU over the observed part, ms. */
  queryOnCpuMs?: number;
  /** For an active statement: time waiting for a CPU over the observed part, ms. */
  queryRunQueueMs?: number;
  /** For an active statement: time off CPU over the observed part, ms. */
  queryOffCpuMs?: number;
  /** For an active statement: block-I/O delay over the observed part, ms; absent without delay accounting. */
  queryBlkioDelayMs?: number;
  /** Where the values come from. */
  tier: "procfs";
}

/**
 * OS metrics of one query over one interval (`PostgresKernelMetrics`, scope `query`): the sums over
 * the server processes whose query id it was, parallel workers included (through their leader).
 */
export interface KernelQueryRow {
  /** Database. */
  databaseName: string;
  /** Query id, decimal. */
  queryId: string;
  /** Processes summed (backends and parallel workers). */
  backends: number;
  /** Parallel workers among them. */
  parallelWorkers: number;
  /** Length of the interval, ms. */
  intervalMs: number;
  /** User-mode CPU time, ms. */
  cpuUserMs: number;
  /** Kernel-mode CPU time, ms. */
  cpuSysMs: number;
  /** Time on a CPU, ms. */
  onCpuMs: number;
  /** Time waiting for a CPU, ms. */
  runQueueMs: number;
  /** Time off CPU, ms. */
  offCpuMs: number;
  /** Block-I/O delay, ms; absent when delay accounting is off. */
  blkioDelayMs?: number;
  /** Bytes fetched from storage; absent when `/proc/<pid>/io` is not readable. */
  readBytes?: number;
  /** Bytes sent to storage; absent when `/proc/<pid>/io` is not readable. */
  writeBytes?: number;
  /** Voluntary context switches. */
  voluntaryCtxSwitches: number;
  /** Involuntary context switches. */
  involuntaryCtxSwitches: number;
  /** Where the values come from. */
  tier: "procfs";
}

/** One line of pressure stall information: the share of time tasks stalled on a resource. */
export interface PressureStall {
  /** Share of the last 10 s, %. */
  avg10Pct: number;
  /** Share of the last 60 s, %. */
  avg60Pct: number;
  /** Share of the last 300 s, %. */
  avg300Pct: number;
  /** Stall time within the interval, ms. */
  stallMs: number;
  /** Stall time since boot, µs. */
  totalUs: number;
}

/** Pressure on one resource: some tasks stalled, and (where the kernel says) all tasks stalled. */
export interface ResourcePressure {
  /** At least one task stalled. */
  some: PressureStall;
  /** All non-idle tasks stalled at once; absent where the kernel has no such line. */
  full?: PressureStall;
}

/** Host pressure stall information (`/proc/pressure`); a resource the kernel does not report is absent. */
export interface HostPressure {
  /** Waiting for a CPU. */
  cpu?: ResourcePressure;
  /** Waiting for I/O. */
  io?: ResourcePressure;
  /** Waiting for memory (reclaim, swap-in, thrashing). */
  memory?: ResourcePressure;
}

/** OS metrics of one interval: per server process, per query, and for the host. */
export interface KernelMetrics {
  /** Where the values come from. */
  tier: "procfs";
  /** Time of the first reading, ms since the epoch. */
  intervalStartUnixMs: number;
  /** Time of the second reading, ms since the epoch. */
  intervalEndUnixMs: number;
  /**
   * Whether the interval starts at the previous snapshot's last reading (daemon mode after its first
   * cycle), so the intervals of consecutive snapshots join without a gap; false for the first cycle
   * and for one-shot runs, whose intervals are samples.
   */
  continuous: boolean;
  /** Server processes that used a resource in the interval or ran a statement, by pid. */
  perBackend: KernelBackendRow[];
  /** Sums by database and query id. */
  perQuery: KernelQueryRow[];
  /** Host pressure; absent when `/proc/pressure` cannot be read (PSI off). */
  pressure?: HostPressure;
  /** Whether block-I/O delay was measured (kernel.task_delayacct was 1 at both readings). */
  delayAccounting: boolean;
  /** Whether `/proc/<pid>/io` was readable (I/O bytes are absent otherwise). */
  ioReadable: boolean;
}

/** Active session history counters: cumulative since `sinceUnixMs`, and of this cycle. */
export interface AshStats {
  /** When the sampler started, ms since the epoch (start of the cumulative counters). */
  sinceUnixMs: number;
  /** Milliseconds between samples. */
  intervalMs: number;
  /** Samples taken since `sinceUnixMs`. */
  samplesTaken: number;
  /** Samples whose statement failed since `sinceUnixMs`. */
  sampleFailures: number;
  /** Samples not taken because the previous one was still running, since `sinceUnixMs`. */
  samplesSkipped: number;
  /** Samples taken this cycle (the window of the aggregates). */
  cycleSamples: number;
  /** Samples that failed this cycle. */
  cycleFailures: number;
  /** Samples the ring dropped (oldest first) to stay within its bounds, since `sinceUnixMs`. */
  evictedSamples: number;
  /** Session-samples of the dropped samples, since `sinceUnixMs`. */
  evictedSessionSamples: number;
  /** Dropped samples that no cycle had aggregated yet, since `sinceUnixMs`. */
  unexportedSamples: number;
  /** Samples the ring holds now. */
  ringSamples: number;
  /** Session-samples the ring holds now. */
  ringSessionSamples: number;
  /** Whether per-backend CPU is read from /proc (the server runs on this host and its backends are visible). */
  cpuMeasured: boolean;
  /** Session-samples of this cycle left out of the aggregates because the group bound was reached. */
  aggregateOverflow: number;
}

/**
 * One query traced by the eBPF tier (`PostgresQueryOsDelays`): where its latency went, by scheduler
 * state, and the pg_querylens execution it was joined to when both saw it. The four times add up to
 * the duration.
 */
export interface QueryOsDelay {
  /** Backend process id. */
  pid: number;
  /** Database of the backend; absent when it was gone before the cycle could look it up. */
  databaseName?: string;
  /** Role of the backend; absent when it was gone before the cycle could look it up. */
  userName?: string;
  /** `simple` (a Query message) or `extended` (an Execute message; parse and bind not included). */
  protocol: "simple" | "extended";
  /** Whether a transaction abort (an error, or a ROLLBACK) closed the query instead of its end. */
  aborted: boolean;
  /** Start, RFC 3339 in UTC with microseconds. */
  startTime: string;
  /** Start, microseconds since the Unix epoch. */
  startUnixUs: number;
  /** Time between the query's probes, ms. */
  durationMs: number;
  /** Time on a CPU, ms. */
  onCpuMs: number;
  /** Time runnable but waiting for a CPU, ms. */
  runQueueMs: number;
  /** Time in uninterruptible sleep (D state: block I/O), ms. */
  ioWaitMs: number;
  /** Time in interruptible sleep (S state: locks, latches, the client), ms. */
  sleepMs: number;
  /** Times the backend was switched out. */
  switches: number;
  /** The first bytes of the query text with every literal replaced by `?`; absent when not read. */
  queryText?: string;
  /** Query id of the pg_querylens execution joined to it (decimal); absent when none was. */
  queryId?: string;
  /** Plan id of that execution (decimal). */
  planId?: string;
  /** `exec_seq` of that execution (with `pid`, it identifies the execution). */
  execSeq?: number;
}

/** eBPF tier counters, cumulative since `sinceUnixMs` (when the program was loaded). */
export interface EbpfStats {
  /** When the program was loaded, ms since the epoch. */
  sinceUnixMs: number;
  /** Hits of the query probes (every hit traps into the kernel, traced or not). */
  probeHits: number;
  /** Traced queries that ended (sampled ones). */
  queriesClosed: number;
  /** Queries at or above the threshold written to the ring buffer. */
  eventsEmitted: number;
  /** Queries below the threshold (counted only). */
  belowThreshold: number;
  /** Events lost because the ring buffer was full. */
  ringFull: number;
  /** Queries never closed (a backend's next query replaced them). */
  orphaned: number;
  /** Queries left out by `sample_every`. */
  unsampled: number;
  /** Queries not traced because the in-flight map was full. */
  inflightFull: number;
  /** Events read this cycle. */
  cycleEvents: number;
  /** Events left out because a cycle's bound was reached, since `sinceUnixMs`. */
  eventOverflow: number;
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
