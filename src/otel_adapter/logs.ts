/**
 * The snapshot's query-level rows as OTLP log records with event names, in a plain structure
 * independent of any protocol library: one resource (the instance) → one scope → records.
 *
 * | Event name | From | Compatible with |
 * | --- | --- | --- |
 * | `db.server.top_query` | slow queries | the contrib PostgreSQL receiver's event of that name |
 * | `db.server.query_sample` | individual queries | the contrib receiver's event of that name |
 * | `pgquerylens.wait_event` | wait events | own |
 * | `pgquerylens.blocking_session` | blocking sessions | own, with contrib's `postgresql.blocking.*` keys |
 * | `pgquerylens.plan` | execution plans, one record per plan | own |
 * | `pgquerylens.query.execution` | pg_querylens executions the sampler kept (see `querylens.ts`) | own |
 * | `pgquerylens.ash.aggregate` | active session history groups of the cycle (see `ash.ts`) | own |
 * | `pgquerylens.plan.change` | plan changes judged in the cycle (see `plan_changes.ts`) | own |
 * | `pgquerylens.query.os_delay` | queries the eBPF tier traced (see `os_delays.ts`) | own |
 *
 * Every record carries the stable database semantic-convention keys `db.system.name`
 * (`postgresql`), `db.namespace`, `db.query.text` and `db.query.summary` where it has a query.
 *
 * - `db.namespace` is the database name alone (the semantic conventions' form when the schema is
 *   not known): wait, blocking, individual-query and plan rows do not carry a schema, and one form
 *   everywhere keeps records joinable.
 * - `db.query.text` is the snapshot's text, already normalized or obfuscated by the collectors
 *   (literals replaced); it is never taken from the raw text an individual query may hold.
 * - `db.query.summary` is `<statement type> <relations>`: the statement type is the slow query's
 *   (`SELECT`, `INSERT`, `UPDATE`, `DELETE`) or, when it is `OTHER` or unknown, the first keyword of
 *   the text, upper-cased; the relations are the distinct `Relation Name`s of the query's captured
 *   plan in pre-order, separated by spaces. It is cut to 255 characters.
 *   `db.operation.name` is the statement type alone.
 *
 * `db.server.top_query` follows contrib: the counters are **deltas** since the previous snapshot
 * (kept in a {@link TopQueryState}; a negative delta is 0), a query seen for the first time gives
 * no record, and a query whose execution time did not grow gives none either. Keys:
 * `postgresql.queryid`, `postgresql.calls`, `postgresql.total_exec_time` (ms, double) and
 * `postgresql.rows` (when the snapshot has rows). The snapshot has no per-query block counters,
 * plan time or role, so contrib's `postgresql.shared_blks_*`, `postgresql.temp_blks_*`,
 * `postgresql.total_plan_time` and `postgresql.rolname` are absent; the plan is not inlined
 * (`postgresql.query_plan`) but sent as its own `pgquerylens.plan` record.
 *
 * A `pgquerylens.plan` record joins its query's records by `postgresql.queryid` plus
 * `db.namespace` (a query id alone is not unique across databases) and carries `postgresql.plan_id`,
 * shared with the `db.server.query_sample` records of executions that used the plan. Its body is
 * the list of plan nodes in pre-order.
 *
 * @module
 */

import type { PlanNode, UnifiedMetrics } from "../core/model.ts";
import { dateToNs, type Scope, scope } from "./metrics.ts";
import { executionLogRecords } from "./querylens.ts";
import { ashLogRecords } from "./ash.ts";
import { planChangeLogRecords } from "./plan_changes.ts";
import { osDelayLogRecords } from "./os_delays.ts";
import { type Attributes, instanceResource, type ResourceOptions } from "./resource.ts";

/** A log body value (a subset of OTLP AnyValue): `bigint` is an int, `number` a double. */
export type BodyValue = string | boolean | bigint | number | BodyValue[] | { [key: string]: BodyValue };

/** One log record. */
export interface LogRecordData {
  /** Event name. */
  eventName: string;
  /** Time of the event (the collection time). */
  timeUnixNano: bigint;
  /** Attributes. */
  attributes: Attributes;
  /** Body, when the record has one. */
  body?: BodyValue;
}

/** The records of one resource. */
export interface ResourceLogsData {
  /** Resource attributes (the instance's). */
  resource: Attributes;
  /** The scope and its records (one scope). */
  scopeLogs: { scope: Scope; logRecords: LogRecordData[] }[];
}

/** Event names of the records. */
export const EVENT_NAMES = {
  topQuery: "db.server.top_query",
  querySample: "db.server.query_sample",
  waitEvent: "pgquerylens.wait_event",
  blockingSession: "pgquerylens.blocking_session",
  plan: "pgquerylens.plan",
} as const;

interface TopQueryCounters {
  calls: number;
  totalExecTimeMs: number;
  rows?: number;
}

/** Previous counters of each slow query (by database and query id), kept between snapshots. */
export interface TopQueryState {
  /** `<database>\u0000<queryId>` → counters of the previous snapshot. */
  readonly previous: Map<string, TopQueryCounters>;
}

/** A new, empty {@link TopQueryState}. */
export function createTopQueryState(): TopQueryState {
  return { previous: new Map() };
}

/** Options of {@link snapshotLogs}. */
export interface LogsOptions extends ResourceOptions {
  /** Previous slow-query counters, kept by the caller between snapshots of the same instance. */
  state: TopQueryState;
  /** Record time; the snapshot's `collectedAt` when absent. */
  nowNs?: bigint;
}

const SUMMARY_MAX = 255;

/**
 * `db.query.summary` of a statement: `statementType` (or, when it is `OTHER` or empty, the first
 * keyword of `text`) followed by `relations` without repeats, cut to 255 characters; undefined
 * when no operation can be told.
 */
export function querySummary(
  statementType: string | undefined,
  text: string,
  relations: readonly string[] = [],
): string | undefined {
  const op = operationOf(statementType, text);
  if (op === undefined) return undefined;
  const parts = [op, ...new Set(relations.filter((r) => r !== ""))];
  return parts.join(" ").slice(0, SUMMARY_MAX).trimEnd();
}

function operationOf(statementType: string | undefined, text: string): string | undefined {
  const t = statementType?.trim().toUpperCase();
  if (t !== undefined && t !== "" && t !== "OTHER") return t;
  const m = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(text);
  return m ? m[1].toUpperCase() : undefined;
}

/** Most slow queries a {@link TopQueryState} remembers; the least recently seen are forgotten first. */
export const TOP_QUERY_STATE_LIMIT = 10_000;

function remember(state: TopQueryState, key: string, counters: TopQueryCounters): void {
  state.previous.delete(key);
  state.previous.set(key, counters);
  while (state.previous.size > TOP_QUERY_STATE_LIMIT) {
    state.previous.delete(state.previous.keys().next().value!);
  }
}

function queryKey(database: string, queryId: string): string {
  return `${database}\u0000${queryId}`;
}

function nonNegative(n: number): number {
  return n > 0 ? n : 0;
}

/** Plans of the snapshot, grouped by database, query id and plan id, nodes in pre-order. */
function plansOf(nodes: readonly PlanNode[]): Map<string, PlanNode[]> {
  const plans = new Map<string, PlanNode[]>();
  for (const n of nodes) {
    const key = `${queryKey(n.databaseName, n.queryId)}\u0000${n.planId}`;
    const list = plans.get(key);
    if (list === undefined) plans.set(key, [n]);
    else list.push(n);
  }
  for (const list of plans.values()) list.sort((a, b) => a.levelId - b.levelId);
  return plans;
}

function relationsByQuery(plans: Map<string, PlanNode[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const nodes of plans.values()) {
    const key = queryKey(nodes[0].databaseName, nodes[0].queryId);
    if (!out.has(key)) out.set(key, nodes.map((n) => n.relationName));
  }
  return out;
}

function withSummary(attrs: Attributes, summary: string | undefined): Attributes {
  return summary === undefined ? attrs : { ...attrs, "db.query.summary": summary };
}

function planNodeBody(n: PlanNode): BodyValue {
  return {
    "Node Type": n.nodeType,
    "Level": BigInt(n.levelId),
    "Parallel Aware": n.parallelAware !== 0,
    "Async Capable": n.asyncCapable !== 0,
    "Scan Direction": n.scanDirection,
    "Index Name": n.indexName,
    "Relation Name": n.relationName,
    "Alias": n.alias,
    "Startup Cost": n.startupCost,
    "Total Cost": n.totalCost,
    "Plan Rows": n.planRows,
    "Plan Width": BigInt(Math.round(n.planWidth)),
    "Rows Removed by Filter": n.rowsRemovedByFilter,
  };
}

function int(n: number): bigint {
  return BigInt(Math.round(n));
}

/**
 * The log records of `snapshot`'s query-level rows, updating `opts.state`; empty when the snapshot
 * has none.
 *
 * @throws Error when the instance's host or port is invalid (see `instanceResource`).
 */
export function snapshotLogs(snapshot: UnifiedMetrics, opts: LogsOptions): ResourceLogsData[] {
  const now = opts.nowNs ?? dateToNs(snapshot.collectedAt);
  const plans = plansOf(snapshot.executionPlans);
  const relations = relationsByQuery(plans);
  const records: LogRecordData[] = [];
  const db = (name: string): Attributes => ({ "db.system.name": "postgresql", "db.namespace": name });

  const statementTypes = new Map<string, string>();
  for (const q of snapshot.slowQueries) {
    const key = queryKey(q.databaseName, q.queryId);
    statementTypes.set(key, q.statementType);
    const totalExecTimeMs = q.totalExecTimeMs ?? q.avgElapsedTimeMs * q.executionCount;
    const current: TopQueryCounters = { calls: q.executionCount, totalExecTimeMs, rows: q.rows };
    const prev = opts.state.previous.get(key);
    remember(opts.state, key, current);
    if (prev === undefined) continue;
    const execDelta = nonNegative(current.totalExecTimeMs - prev.totalExecTimeMs);
    if (execDelta === 0) continue;
    const attrs: Attributes = {
      ...db(q.databaseName),
      "db.query.text": q.queryText,
      "postgresql.queryid": q.queryId,
      "postgresql.calls": int(nonNegative(current.calls - prev.calls)),
      "postgresql.total_exec_time": execDelta,
    };
    if (current.rows !== undefined && prev.rows !== undefined) {
      attrs["postgresql.rows"] = int(nonNegative(current.rows - prev.rows));
    }
    const op = operationOf(q.statementType, q.queryText);
    if (op !== undefined) attrs["db.operation.name"] = op;
    records.push({
      eventName: EVENT_NAMES.topQuery,
      timeUnixNano: now,
      attributes: withSummary(attrs, querySummary(q.statementType, q.queryText, relations.get(key))),
    });
  }

  const summaryOf = (database: string, queryId: string | undefined, text: string) =>
    querySummary(
      queryId === undefined ? undefined : statementTypes.get(queryKey(database, queryId)),
      text,
      queryId === undefined ? [] : relations.get(queryKey(database, queryId)),
    );

  for (const q of snapshot.individualQueries) {
    const attrs: Attributes = {
      ...db(q.databaseName),
      "db.query.text": q.queryText,
      "postgresql.query_id": q.queryId,
      "postgresql.plan_id": q.planId,
      "pgquerylens.source": q.source,
    };
    if (q.execTimeMs !== undefined) attrs["postgresql.total_exec_time"] = q.execTimeMs;
    if (q.cpuTimeMs !== undefined) attrs["postgresql.cpu_time"] = q.cpuTimeMs;
    if (q.avgExecTimeMs !== undefined) attrs["postgresql.avg_exec_time"] = q.avgExecTimeMs;
    records.push({
      eventName: EVENT_NAMES.querySample,
      timeUnixNano: now,
      attributes: withSummary(attrs, summaryOf(q.databaseName, q.queryId, q.queryText)),
    });
  }

  for (const w of snapshot.waitEvents) {
    const [type, ...rest] = w.waitEventName.split(":");
    const attrs: Attributes = {
      ...db(w.databaseName),
      "db.query.text": w.queryText,
      "postgresql.queryid": w.queryId,
      "postgresql.wait_event_type": rest.length > 0 ? type : "",
      "postgresql.wait_event": rest.length > 0 ? rest.join(":") : type,
      "pgquerylens.wait_category": w.waitCategory,
    };
    if (w.totalWaitTimeMs !== undefined) attrs["pgquerylens.wait_time"] = w.totalWaitTimeMs;
    records.push({
      eventName: EVENT_NAMES.waitEvent,
      timeUnixNano: now,
      attributes: withSummary(attrs, summaryOf(w.databaseName, w.queryId, w.queryText)),
    });
  }

  for (const b of snapshot.blockingSessions) {
    const attrs: Attributes = {
      ...db(b.databaseName),
      "db.query.text": b.blockedQuery,
      "postgresql.pid": BigInt(b.blockedPid),
      "postgresql.query_start": b.blockedQueryStart,
      "postgresql.blocking.pids": `[${b.blockingPid}]`,
      "postgresql.blocking.pid": BigInt(b.blockingPid),
      "postgresql.blocking.query.text": b.blockingQuery,
      "postgresql.blocking.query_start": b.blockingQueryStart,
    };
    if (b.blockedQueryId !== undefined) attrs["postgresql.query_id"] = b.blockedQueryId;
    if (b.blockingQueryId !== undefined) attrs["postgresql.blocking.query_id"] = b.blockingQueryId;
    records.push({
      eventName: EVENT_NAMES.blockingSession,
      timeUnixNano: now,
      attributes: withSummary(attrs, summaryOf(b.databaseName, b.blockedQueryId, b.blockedQuery)),
    });
  }

  for (const nodes of plans.values()) {
    const root = nodes[0];
    const key = queryKey(root.databaseName, root.queryId);
    const attrs: Attributes = {
      ...db(root.databaseName),
      "postgresql.queryid": root.queryId,
      "postgresql.plan_id": root.planId,
      "postgresql.plan.node_count": BigInt(nodes.length),
      "postgresql.plan.total_cost": root.totalCost,
    };
    const type = statementTypes.get(key);
    const summary = type === undefined ? undefined : querySummary(type, "", relations.get(key));
    records.push({
      eventName: EVENT_NAMES.plan,
      timeUnixNano: now,
      attributes: withSummary(attrs, summary),
      body: nodes.map(planNodeBody),
    });
  }

  records.push(...executionLogRecords(snapshot));
  records.push(...ashLogRecords(snapshot));
  records.push(...planChangeLogRecords(snapshot));
  records.push(...osDelayLogRecords(snapshot));

  if (records.length === 0) return [];
  return [{
    resource: instanceResource(snapshot.instance, opts),
    scopeLogs: [{ scope: scope(), logRecords: records }],
  }];
}
