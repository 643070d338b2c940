/**
 * The metric and attribute catalog: every exported field declared once.
 *
 * Each entry names the model field it reads, its NRI name and source type, and its unit. The NRI
 * adapter, the JSON schemas' tests and the docs read this catalog; no wire name is spelled twice.
 *
 * @module
 */

import type {
  BlockingSession,
  IndividualQuery,
  PlanNode,
  SlowQuery,
  UnifiedMetrics,
  WaitEvent,
} from "./model.ts";

/** How a value is encoded in NRI protocol v3: `gauge` is a JSON number, `attribute` a JSON string. */
export type NriSourceType = "gauge" | "attribute";

/** One exported field of a row type. */
export interface FieldSpec<Row> {
  /** Model field read from the row. */
  field: keyof Row & string;
  /** Attribute name in NRI output. */
  nri: string;
  /** NRI source type. */
  type: NriSourceType;
  /** Whether the value is always an integer (JSON Schema `integer`). */
  integer?: boolean;
  /** Whether the key must always be present. */
  required: boolean;
  /** UCUM unit, for OTLP and docs. */
  unit?: string;
  /** One-line meaning, for docs. */
  description: string;
}

/** A row type exported as one NRI event type. */
export interface EventTypeSpec<Row> {
  /** NRDB event type, e.g. `PostgresSlowQueries`. */
  eventType: string;
  /** Which snapshot array holds the rows. */
  source: keyof UnifiedMetrics;
  /** Fields in declaration order. */
  fields: FieldSpec<Row>[];
}

/** `query_id`: the statement's query id as a decimal string (shared by every QPM type). */
const QUERY_ID = {
  field: "queryId",
  nri: "query_id",
  type: "attribute",
  required: true,
  description: "query id (decimal)",
} as const;

/** `query_text`: normalized (or obfuscated) statement text, at most 4095 characters. */
const QUERY_TEXT = {
  field: "queryText",
  nri: "query_text",
  type: "attribute",
  required: true,
  description: "normalized text, at most 4095 characters",
} as const;

/** `database_name`. */
const DATABASE_NAME = {
  field: "databaseName",
  nri: "database_name",
  type: "attribute",
  required: true,
  description: "database",
} as const;

/** `collection_timestamp`: collection time, UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
const COLLECTION_TIMESTAMP = {
  field: "collectionTimestamp",
  nri: "collection_timestamp",
  type: "attribute",
  required: true,
  description: "collection time (UTC)",
} as const;

/** `plan_id`: the plan shape hash, shared by an individual query and its plan nodes. */
const PLAN_ID = {
  field: "planId",
  nri: "plan_id",
  type: "attribute",
  required: true,
  description: "plan shape hash",
} as const;

/** Fields of PostgresSlowQueries. */
export const SLOW_QUERIES: EventTypeSpec<SlowQuery> = {
  eventType: "PostgresSlowQueries",
  source: "slowQueries",
  fields: [
    QUERY_ID,
    QUERY_TEXT,
    DATABASE_NAME,
    { field: "schemaName", nri: "schema_name", type: "attribute", required: false, description: "schema" },
    {
      field: "executionCount",
      nri: "execution_count",
      type: "gauge",
      integer: true,
      required: true,
      unit: "{execution}",
      description: "calls since the statistics were reset",
    },
    {
      field: "avgElapsedTimeMs",
      nri: "avg_elapsed_time_ms",
      type: "gauge",
      required: true,
      unit: "ms",
      description: "mean execution time",
    },
    {
      field: "avgDiskReads",
      nri: "avg_disk_reads",
      type: "gauge",
      integer: true,
      required: false,
      unit: "{block}",
      description: "shared blocks read per call",
    },
    {
      field: "avgDiskWrites",
      nri: "avg_disk_writes",
      type: "gauge",
      integer: true,
      required: false,
      unit: "{block}",
      description: "shared blocks written per call",
    },
    {
      field: "statementType",
      nri: "statement_type",
      type: "attribute",
      required: false,
      description: "SELECT, INSERT, UPDATE, DELETE or OTHER",
    },
    COLLECTION_TIMESTAMP,
  ],
};

/** Fields of PostgresWaitEvents. */
export const WAIT_EVENTS: EventTypeSpec<WaitEvent> = {
  eventType: "PostgresWaitEvents",
  source: "waitEvents",
  fields: [
    {
      field: "waitEventName",
      nri: "wait_event_name",
      type: "attribute",
      required: true,
      description: "wait event type and name, `type:event`",
    },
    {
      field: "waitCategory",
      nri: "wait_category",
      type: "attribute",
      required: true,
      description: "Locks, Disk IO, CPU or Other",
    },
    {
      field: "totalWaitTimeMs",
      nri: "total_wait_time_ms",
      type: "gauge",
      required: false,
      unit: "ms",
      description: "sampled wait time",
    },
    COLLECTION_TIMESTAMP,
    QUERY_ID,
    QUERY_TEXT,
    DATABASE_NAME,
  ],
};

/** Fields of PostgresBlockingSessions. */
export const BLOCKING_SESSIONS: EventTypeSpec<BlockingSession> = {
  eventType: "PostgresBlockingSessions",
  source: "blockingSessions",
  fields: [
    {
      field: "blockedPid",
      nri: "blocked_pid",
      type: "gauge",
      integer: true,
      required: true,
      description: "pid of the waiting backend",
    },
    {
      field: "blockedQuery",
      nri: "blocked_query",
      type: "attribute",
      required: true,
      description: "waiting statement",
    },
    {
      field: "blockedQueryId",
      nri: "blocked_query_id",
      type: "attribute",
      required: false,
      description: "query id of the waiting statement",
    },
    {
      field: "blockedQueryStart",
      nri: "blocked_query_start",
      type: "attribute",
      required: true,
      description: "start of the waiting statement (RFC 3339)",
    },
    DATABASE_NAME,
    {
      field: "blockingPid",
      nri: "blocking_pid",
      type: "gauge",
      integer: true,
      required: true,
      description: "pid of the lock holder",
    },
    {
      field: "blockingQuery",
      nri: "blocking_query",
      type: "attribute",
      required: true,
      description: "current or last statement of the lock holder",
    },
    {
      field: "blockingQueryId",
      nri: "blocking_query_id",
      type: "attribute",
      required: false,
      description: "query id of the lock holder's statement",
    },
    {
      field: "blockingQueryStart",
      nri: "blocking_query_start",
      type: "attribute",
      required: true,
      description: "start of the lock holder's statement (RFC 3339)",
    },
  ],
};

/** Fields of PostgresIndividualQueries. */
export const INDIVIDUAL_QUERIES: EventTypeSpec<IndividualQuery> = {
  eventType: "PostgresIndividualQueries",
  source: "individualQueries",
  fields: [
    QUERY_TEXT,
    QUERY_ID,
    DATABASE_NAME,
    PLAN_ID,
    {
      field: "cpuTimeMs",
      nri: "cpu_time_ms",
      type: "gauge",
      required: false,
      unit: "ms",
      description: "CPU time per execution",
    },
    {
      field: "execTimeMs",
      nri: "exec_time_ms",
      type: "gauge",
      required: true,
      unit: "ms",
      description: "execution time",
    },
    {
      field: "avgExecTimeMs",
      nri: "avg_exec_time_ms",
      type: "gauge",
      required: false,
      unit: "ms",
      description: "mean execution time of the query",
    },
  ],
};

/** Fields of PostgresExecutionPlanMetrics. */
export const EXECUTION_PLANS: EventTypeSpec<PlanNode> = {
  eventType: "PostgresExecutionPlanMetrics",
  source: "executionPlans",
  fields: [
    { field: "nodeType", nri: "node_type", type: "attribute", required: true, description: "plan node type" },
    {
      field: "parallelAware",
      nri: "parallel_aware",
      type: "gauge",
      integer: true,
      required: false,
      description: "1 when the node is parallel aware",
    },
    {
      field: "asyncCapable",
      nri: "async_capable",
      type: "gauge",
      integer: true,
      required: false,
      description: "1 when the node is async capable",
    },
    {
      field: "scanDirection",
      nri: "scan_direction",
      type: "attribute",
      required: false,
      description: "scan direction or empty",
    },
    {
      field: "indexName",
      nri: "index_name",
      type: "attribute",
      required: false,
      description: "index or empty",
    },
    {
      field: "relationName",
      nri: "relation_name",
      type: "attribute",
      required: false,
      description: "relation or empty",
    },
    { field: "alias", nri: "alias", type: "attribute", required: false, description: "alias or empty" },
    {
      field: "startupCost",
      nri: "startup_cost",
      type: "gauge",
      required: true,
      description: "estimated startup cost",
    },
    {
      field: "totalCost",
      nri: "total_cost",
      type: "gauge",
      required: true,
      description: "estimated total cost",
    },
    {
      field: "planRows",
      nri: "plan_rows",
      type: "gauge",
      integer: true,
      required: true,
      unit: "{row}",
      description: "estimated rows",
    },
    {
      field: "planWidth",
      nri: "plan_width",
      type: "gauge",
      integer: true,
      required: false,
      unit: "By",
      description: "estimated row width",
    },
    {
      field: "rowsRemovedByFilter",
      nri: "rows_removed_by_filter",
      type: "gauge",
      integer: true,
      required: false,
      unit: "{row}",
      description: "rows removed by filter (0 without ANALYZE)",
    },
    DATABASE_NAME,
    QUERY_ID,
    PLAN_ID,
    {
      field: "levelId",
      nri: "level_id",
      type: "gauge",
      integer: true,
      required: true,
      description: "pre-order node ordinal, 0 for the root",
    },
  ],
};

/**
 * The five QPM event types in the default pipeline's publish order.
 * (The IS_RDS pipeline publishes in another order; see {@link qpmPublishOrder}.)
 */
// deno-lint-ignore no-explicit-any
export const QPM_EVENT_TYPES: EventTypeSpec<any>[] = [
  WAIT_EVENTS,
  BLOCKING_SESSIONS,
  SLOW_QUERIES,
  INDIVIDUAL_QUERIES,
  EXECUTION_PLANS,
];

/** The QPM publish order of the default pipeline, or of the IS_RDS pipeline when `isRds` is true. */
// deno-lint-ignore no-explicit-any
export function qpmPublishOrder(isRds: boolean): EventTypeSpec<any>[] {
  return isRds
    ? [SLOW_QUERIES, INDIVIDUAL_QUERIES, EXECUTION_PLANS, WAIT_EVENTS, BLOCKING_SESSIONS]
    : QPM_EVENT_TYPES;
}

/** Returns the PostgresSlowQueries field reading `field`, so other types can reuse its declaration. */
function slowQueryField(field: keyof SlowQuery): FieldSpec<SlowQuery> {
  const spec = SLOW_QUERIES.fields.find((f) => f.field === field);
  if (!spec) throw new Error(`catalog: PostgresSlowQueries declares no field "${field}"`);
  return spec;
}

/**
 * Per-statement fields the model has and nri-postgresql's PostgresSlowQueries lacks. They are
 * published in {@link SLOW_QUERY_DETAILS} (compatibility mode on) or appended to PostgresSlowQueries
 * (compatibility mode off).
 */
export const SLOW_QUERY_DETAIL_FIELDS: readonly FieldSpec<SlowQuery>[] = [
  {
    field: "totalExecTimeMs",
    nri: "total_exec_time_ms",
    type: "gauge",
    required: false,
    unit: "ms",
    description: "total execution time since the statistics were reset",
  },
  {
    field: "rows",
    nri: "rows",
    type: "gauge",
    integer: true,
    required: false,
    unit: "{row}",
    description: "rows retrieved or affected since the statistics were reset",
  },
];

/**
 * Fields of PgQueryLensSlowQueryDetails: one row per PostgresSlowQueries row, carrying the detail
 * fields and the join keys (`query_id`, `database_name`) and `collection_timestamp` of that row.
 */
export const SLOW_QUERY_DETAILS: EventTypeSpec<SlowQuery> = {
  eventType: "PgQueryLensSlowQueryDetails",
  source: "slowQueries",
  fields: [
    slowQueryField("queryId"),
    slowQueryField("databaseName"),
    ...SLOW_QUERY_DETAIL_FIELDS,
    slowQueryField("collectionTimestamp"),
  ],
};

/** The extended event types (data nri-postgresql does not have), in publish order. */
// deno-lint-ignore no-explicit-any
export const EXTENDED_EVENT_TYPES: EventTypeSpec<any>[] = [SLOW_QUERY_DETAILS];

/** PostgresSlowQueries with the detail fields appended: what compatibility mode off publishes. */
const SLOW_QUERIES_WITH_DETAILS: EventTypeSpec<SlowQuery> = {
  ...SLOW_QUERIES,
  fields: [...SLOW_QUERIES.fields, ...SLOW_QUERY_DETAIL_FIELDS],
};

/**
 * Every event type the NRI adapter publishes, in order.
 *
 * With `compat` on, the five QPM types (in the default or, when `isRds`, the IS_RDS pipeline's
 * order) carry exactly nri-postgresql's fields and the {@link EXTENDED_EVENT_TYPES} follow them as
 * separate types. With `compat` off, the same five types are published in the same order, but
 * PostgresSlowQueries also carries the {@link SLOW_QUERY_DETAIL_FIELDS}, and no extended type is
 * published.
 */
// deno-lint-ignore no-explicit-any
export function nriPublishOrder(isRds: boolean, compat: boolean): EventTypeSpec<any>[] {
  const qpm = qpmPublishOrder(isRds);
  if (compat) return [...qpm, ...EXTENDED_EVENT_TYPES];
  return qpm.map((spec) => spec === SLOW_QUERIES ? SLOW_QUERIES_WITH_DETAILS : spec);
}
