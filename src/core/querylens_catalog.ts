/**
 * The catalog of pg_querylens data: the per-execution event type `PostgresQueryExecutions` and the
 * per-plan event type `PostgresQueryPlanAggregates`, declared the way `catalog.ts` declares the QPM
 * types (model field, NRI name and source type, unit, meaning). Execution fields also name the key
 * they carry on the OTLP `pgquerylens.query.execution` log record.
 *
 * Both types are data nri-postgresql does not have: they are published as their own event types,
 * after the QPM types, whatever the compatibility mode; the five QPM types never carry them.
 *
 * @module
 */

import type { EventTypeSpec, FieldSpec } from "./catalog.ts";
import type { QueryExecution, QueryLensAggregate, WaitSamplesByClass } from "./model.ts";

/** A field of a pg_querylens event type, with its OTLP log-record key. */
export interface QueryLensFieldSpec<Row> extends FieldSpec<Row> {
  /**
   * Attribute key on the OTLP log record; absent when the record carries the value otherwise (the
   * start time is the record's time). Booleans become bool attributes, integers int attributes.
   */
  otel?: string;
}

/** A pg_querylens event type whose fields name their OTLP keys. */
export interface QueryLensEventTypeSpec<Row> extends EventTypeSpec<Row> {
  /** Fields in declaration order. */
  fields: QueryLensFieldSpec<Row>[];
}

/** One wait class: its name (as the extension reports it), model field, NRI and OTLP names. */
export interface WaitClassField {
  /** Class name, e.g. `LWLock` (the `pgquerylens.wait.class` attribute value). */
  className: string;
  /** Model field holding the class's samples. */
  field: keyof WaitSamplesByClass;
  /** NRI attribute, e.g. `wait_lwlock_samples`. */
  nri: string;
  /** OTLP log-record key, e.g. `pgquerylens.wait_samples.lwlock`. */
  otel: string;
}

function waitClass(className: string, field: keyof WaitSamplesByClass): WaitClassField {
  const lower = className.toLowerCase();
  return { className, field, nri: `wait_${lower}_samples`, otel: `pgquerylens.wait_samples.${lower}` };
}

/** The eight wait classes in the extension's order (`QL_WAIT_*`: index i of a record's samples). */
export const WAIT_CLASS_FIELDS: readonly WaitClassField[] = [
  waitClass("CPU", "waitCpuSamples"),
  waitClass("LWLock", "waitLwlockSamples"),
  waitClass("Lock", "waitLockSamples"),
  waitClass("BufferPin", "waitBufferpinSamples"),
  waitClass("IO", "waitIoSamples"),
  waitClass("IPC", "waitIpcSamples"),
  waitClass("Timeout", "waitTimeoutSamples"),
  waitClass("Other", "waitOtherSamples"),
];

function waitFields<Row extends WaitSamplesByClass>(withOtel: boolean): QueryLensFieldSpec<Row>[] {
  return WAIT_CLASS_FIELDS.map((w) => ({
    field: w.field,
    nri: w.nri,
    ...(withOtel ? { otel: w.otel } : {}),
    type: "gauge",
    integer: true,
    required: true,
    unit: "{sample}",
    description: `wait samples in class ${w.className}`,
  }));
}

function count<Row>(
  field: keyof Row & string,
  nri: string,
  otel: string | undefined,
  unit: string,
  description: string,
): QueryLensFieldSpec<Row> {
  return {
    field,
    nri,
    ...(otel === undefined ? {} : { otel }),
    type: "gauge",
    integer: true,
    required: true,
    unit,
    description,
  };
}

function ms<Row>(
  field: keyof Row & string,
  nri: string,
  otel: string | undefined,
  required: boolean,
  description: string,
): QueryLensFieldSpec<Row> {
  return {
    field,
    nri,
    ...(otel === undefined ? {} : { otel }),
    type: "gauge",
    required,
    unit: "ms",
    description,
  };
}

function text<Row>(
  field: keyof Row & string,
  nri: string,
  otel: string | undefined,
  required: boolean,
  description: string,
): QueryLensFieldSpec<Row> {
  return { field, nri, ...(otel === undefined ? {} : { otel }), type: "attribute", required, description };
}

/** Fields of PostgresQueryExecutions: one event per execution the sampler kept. */
export const QUERY_EXECUTIONS: QueryLensEventTypeSpec<QueryExecution> = {
  eventType: "PostgresQueryExecutions",
  source: "queryExecutions",
  fields: [
    text("queryId", "query_id", "postgresql.queryid", true, "query id (decimal)"),
    text("planId", "plan_id", "pgquerylens.planid", true, "plan id (decimal)"),
    text(
      "parentQueryId",
      "parent_query_id",
      "pgquerylens.parent_queryid",
      true,
      "query id of the top-level statement",
    ),
    text("databaseName", "database_name", "db.namespace", false, "database"),
    text("userName", "user_name", "postgresql.rolname", false, "role"),
    count("pid", "pid", "postgresql.pid", "{process}", "backend process id"),
    count(
      "execSeq",
      "exec_seq",
      "pgquerylens.exec_seq",
      "{execution}",
      "execution number in the backend's ring",
    ),
    text("startTime", "start_time", undefined, true, "start of the execution (RFC 3339, microseconds)"),
    ms("durationMs", "duration_ms", "pgquerylens.duration", true, "execution time"),
    count("rows", "rows", "postgresql.rows", "{row}", "rows returned or affected"),
    count("sharedBlksHit", "shared_blks_hit", "postgresql.shared_blks_hit", "{block}", "shared buffer hits"),
    count(
      "sharedBlksRead",
      "shared_blks_read",
      "postgresql.shared_blks_read",
      "{block}",
      "shared blocks read",
    ),
    count(
      "sharedBlksDirtied",
      "shared_blks_dirtied",
      "postgresql.shared_blks_dirtied",
      "{block}",
      "shared blocks dirtied",
    ),
    count(
      "sharedBlksWritten",
      "shared_blks_written",
      "postgresql.shared_blks_written",
      "{block}",
      "shared blocks written",
    ),
    count("localBlksHit", "local_blks_hit", "postgresql.local_blks_hit", "{block}", "local buffer hits"),
    count("localBlksRead", "local_blks_read", "postgresql.local_blks_read", "{block}", "local blocks read"),
    count(
      "localBlksDirtied",
      "local_blks_dirtied",
      "postgresql.local_blks_dirtied",
      "{block}",
      "local blocks dirtied",
    ),
    count(
      "localBlksWritten",
      "local_blks_written",
      "postgresql.local_blks_written",
      "{block}",
      "local blocks written",
    ),
    count(
      "tempBytesRead",
      "temp_bytes_read",
      "pgquerylens.temp_bytes_read",
      "By",
      "temporary-file bytes read",
    ),
    count(
      "tempBytesWritten",
      "temp_bytes_written",
      "pgquerylens.temp_bytes_written",
      "By",
      "temporary-file bytes written",
    ),
    count("walBytes", "wal_bytes", "pgquerylens.wal_bytes", "By", "WAL bytes generated"),
    count("walRecords", "wal_records", "pgquerylens.wal_records", "{record}", "WAL records generated"),
    count("walFpi", "wal_fpi", "pgquerylens.wal_fpi", "{image}", "WAL full-page images generated"),
    ms(
      "sharedReadTimeMs",
      "shared_read_time_ms",
      "pgquerylens.shared_read_time",
      false,
      "shared block read time",
    ),
    ms(
      "sharedWriteTimeMs",
      "shared_write_time_ms",
      "pgquerylens.shared_write_time",
      false,
      "shared block write time",
    ),
    ms(
      "localReadTimeMs",
      "local_read_time_ms",
      "pgquerylens.local_read_time",
      false,
      "local block read time",
    ),
    ms(
      "localWriteTimeMs",
      "local_write_time_ms",
      "pgquerylens.local_write_time",
      false,
      "local block write time",
    ),
    ms(
      "tempReadTimeMs",
      "temp_read_time_ms",
      "pgquerylens.temp_read_time",
      false,
      "temporary-file read time",
    ),
    ms(
      "tempWriteTimeMs",
      "temp_write_time_ms",
      "pgquerylens.temp_write_time",
      false,
      "temporary-file write time",
    ),
    ms("cpuUserTimeMs", "cpu_user_time_ms", "pgquerylens.cpu_user_time", false, "user CPU time"),
    ms("cpuSysTimeMs", "cpu_sys_time_ms", "pgquerylens.cpu_sys_time", false, "system CPU time"),
    ...waitFields<QueryExecution>(true),
    text(
      "waitEventLast",
      "wait_event_last",
      "pgquerylens.wait_event_last",
      false,
      "last sampled wait event, `Type:Event`",
    ),
    {
      field: "failed",
      nri: "failed",
      otel: "pgquerylens.failed",
      type: "gauge",
      integer: true,
      required: true,
      description: "1 when the execution ended with an error",
    },
    text("sqlstate", "sqlstate", "error.type", false, "SQLSTATE of the error"),
    {
      field: "toplevel",
      nri: "toplevel",
      otel: "pgquerylens.toplevel",
      type: "gauge",
      integer: true,
      required: true,
      description: "1 for a statement issued by the client",
    },
    count(
      "nestingLevel",
      "nesting_level",
      "pgquerylens.nesting_level",
      "{level}",
      "nesting level, 0 at top level",
    ),
    text("command", "command", "db.operation.name", true, "SELECT, UPDATE, INSERT, DELETE or OTHER"),
    text(
      "sampleReason",
      "sample_reason",
      "pgquerylens.sample_reason",
      true,
      "why the sampler kept it: slow, error, rule:<name> or default",
    ),
  ],
};

/** Fields of PostgresQueryPlanAggregates: one event per (database, query id, plan id) of the cycle. */
export const QUERY_PLAN_AGGREGATES: EventTypeSpec<QueryLensAggregate> = {
  eventType: "PostgresQueryPlanAggregates",
  source: "queryLensAggregates",
  fields: [
    text("queryId", "query_id", undefined, true, "query id (decimal)"),
    text("planId", "plan_id", undefined, true, "plan id (decimal)"),
    text("databaseName", "database_name", undefined, false, "database"),
    count("calls", "calls", undefined, "{execution}", "executions this cycle"),
    count("errors", "errors", undefined, "{execution}", "executions that ended with an error"),
    ms("totalDurationMs", "total_duration_ms", undefined, true, "sum of execution times"),
    ms("minDurationMs", "min_duration_ms", undefined, true, "shortest execution"),
    ms("maxDurationMs", "max_duration_ms", undefined, true, "longest execution"),
    count("rows", "rows", undefined, "{row}", "rows returned or affected"),
    count("sharedBlksHit", "shared_blks_hit", undefined, "{block}", "shared buffer hits"),
    count("sharedBlksRead", "shared_blks_read", undefined, "{block}", "shared blocks read"),
    count("tempBlksRead", "temp_blks_read", undefined, "{block}", "temporary-file blocks read"),
    count("tempBlksWritten", "temp_blks_written", undefined, "{block}", "temporary-file blocks written"),
    count("walBytes", "wal_bytes", undefined, "By", "WAL bytes generated"),
    count("cpuMeasuredCalls", "cpu_measured_calls", undefined, "{execution}", "executions with CPU time"),
    ms("cpuUserTimeMs", "cpu_user_time_ms", undefined, false, "user CPU time of the measured executions"),
    ms("cpuSysTimeMs", "cpu_sys_time_ms", undefined, false, "system CPU time of the measured executions"),
    ...waitFields<QueryLensAggregate>(false),
    text("waitEventLast", "wait_event_last", undefined, false, "last wait event seen, `Type:Event`"),
    text("firstSeen", "first_seen", undefined, true, "start of the earliest execution (RFC 3339)"),
    text("lastSeen", "last_seen", undefined, true, "end of the latest execution (RFC 3339)"),
  ],
};

/** The pg_querylens event types in publish order (after the QPM and extended types). */
// deno-lint-ignore no-explicit-any
export const QUERYLENS_EVENT_TYPES: EventTypeSpec<any>[] = [QUERY_EXECUTIONS, QUERY_PLAN_AGGREGATES];
