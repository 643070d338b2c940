/**
 * pg_querylens data as OTLP: one log record per execution the sampler kept, metrics per plan
 * aggregate, and the sampler's and reader's own counters.
 *
 * Log records, event name `pgquerylens.query.execution`, timed at the execution's start: the keys
 * of `src/core/querylens_catalog.ts` (`postgresql.queryid`, `pgquerylens.planid`, `db.namespace`,
 * `pgquerylens.duration` in ms as the other records' times, `postgresql.rows`,
 * `postgresql.shared_blks_*`, `pgquerylens.wait_samples.<class>`, `error.type` = the SQLSTATE of a
 * failed execution, …) plus `db.system.name` = `postgresql`, and `db.query.text` when the query is
 * one of the snapshot's slow queries (the ring holds no text). Integer fields are int attributes,
 * flags bool attributes, and absent values are left out.
 *
 * | Metric | Kind | Unit | Attributes |
 * | --- | --- | --- | --- |
 * | `pgquerylens.plan.calls` | monotonic sum, int | `{call}` | plan |
 * | `pgquerylens.plan.duration` | monotonic sum, double | `s` | plan |
 * | `pgquerylens.plan.errors` | monotonic sum, int | `{error}` | plan |
 * | `pgquerylens.plan.wait.samples` | monotonic sum, int | `{sample}` | plan, `pgquerylens.wait.class` |
 * | `pgquerylens.querylens.sampled` | monotonic sum, int | `{execution}` | `pgquerylens.reason`, `pgquerylens.decision` (kept, sampled_out) |
 * | `pgquerylens.querylens.lost` | monotonic sum, int | `{record}` | `pgquerylens.source` (ffi, sql) |
 *
 * "plan" is `db.namespace` (or `pgquerylens.dbid` when the database name is not known),
 * `postgresql.queryid` and `pgquerylens.planid`. A wait class gets a point only in cycles where the
 * plan was sampled in it (its series are created only when needed; a cumulative series without a
 * point has not changed).
 *
 * An aggregate holds one cycle's executions, so the plan sums are accumulated across snapshots in
 * the exporter's series state (which a one-shot run saves): a series starts at the start of the
 * first execution it counted; with delta temporality each point is the cycle's own sum since the
 * previous point. A series the state forgot (not seen for its time to live) starts over. The
 * sampler and reader counters are cumulative since `queryLensStats.sinceUnixMs`, their start time;
 * a new start (a new process) restarts them.
 *
 * @module
 */

import type { QueryExecution, QueryLensAggregate, UnifiedMetrics } from "../core/model.ts";
import { QUERY_EXECUTIONS, WAIT_CLASS_FIELDS } from "../core/querylens_catalog.ts";
import type { LogRecordData } from "./logs.ts";
import {
  accumulatedPoint,
  counterPoint,
  type FamilyPoint,
  type SeriesPointOptions,
} from "./series_points.ts";
import type { OtelFamily } from "./metric_catalog.ts";
import type { Attributes, AttrValue } from "./resource.ts";

/** Event name of the per-execution log records. */
export const EXECUTION_EVENT_NAME = "pgquerylens.query.execution";

function sum(name: string, unit: string, valueType: "int" | "double", description: string): OtelFamily {
  return { name, unit, kind: "sum", valueType, description, contrib: false };
}

/** Every pg_querylens OTLP metric, declared once. */
export const QUERYLENS_FAMILIES = {
  planCalls: sum("pgquerylens.plan.calls", "{call}", "int", "Executions of the plan."),
  planDuration: sum("pgquerylens.plan.duration", "s", "double", "Time spent executing the plan."),
  planErrors: sum(
    "pgquerylens.plan.errors",
    "{error}",
    "int",
    "Executions of the plan that ended with an error.",
  ),
  planWaitSamples: sum(
    "pgquerylens.plan.wait.samples",
    "{sample}",
    "int",
    "Wait samples of the plan's executions, by wait class.",
  ),
  sampled: sum(
    "pgquerylens.querylens.sampled",
    "{execution}",
    "int",
    "Executions the adaptive sampler kept or sampled out, by reason.",
  ),
  lost: sum(
    "pgquerylens.querylens.lost",
    "{record}",
    "int",
    "Execution records the rings overwrote before the collector read them.",
  ),
} as const satisfies Readonly<Record<string, OtelFamily>>;

function attrValue(value: unknown, integer: boolean | undefined, type: string): AttrValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (type === "attribute") return String(value);
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  return integer ? BigInt(Math.round(value)) : value;
}

/** The attributes of one execution's log record. */
export function executionAttributes(e: QueryExecution): Attributes {
  const attrs: Attributes = { "db.system.name": "postgresql" };
  for (const f of QUERY_EXECUTIONS.fields) {
    if (f.otel === undefined) continue;
    const v = attrValue(e[f.field], f.integer, f.type);
    if (v !== undefined) attrs[f.otel] = v;
  }
  return attrs;
}

function usToNs(us: number): bigint {
  return BigInt(Math.round(us)) * 1000n;
}

/**
 * The `pgquerylens.query.execution` log records of `snapshot`'s kept executions, in order. An
 * execution of a query the snapshot lists among its slow queries (same database and query id) also
 * carries that query's normalized text as `db.query.text`.
 */
export function executionLogRecords(
  snapshot: Pick<UnifiedMetrics, "queryExecutions" | "slowQueries">,
): LogRecordData[] {
  const executions = snapshot.queryExecutions ?? [];
  if (executions.length === 0) return [];
  const texts = new Map(
    snapshot.slowQueries.map((q) => [`${q.databaseName}\u0000${q.queryId}`, q.queryText]),
  );
  return executions.map((e) => {
    const attributes = executionAttributes(e);
    const text = e.databaseName === undefined ? undefined : texts.get(`${e.databaseName}\u0000${e.queryId}`);
    if (text !== undefined) attributes["db.query.text"] = text;
    return { eventName: EXECUTION_EVENT_NAME, timeUnixNano: usToNs(e.startUnixUs), attributes };
  });
}

/** One data point of a pg_querylens metric. */
export type QueryLensPoint = FamilyPoint;

/** How {@link queryLensPoints} keeps and times its series. */
export type QueryLensPointOptions = SeriesPointOptions;

function planAttributes(a: QueryLensAggregate): Attributes {
  const where: Attributes = a.databaseName === undefined
    ? { "pgquerylens.dbid": BigInt(a.dbid) }
    : { "db.namespace": a.databaseName };
  return { ...where, "postgresql.queryid": a.queryId, "pgquerylens.planid": a.planId };
}

/**
 * The pg_querylens metric points of `snapshot` (plan sums, then sampler and reader counters),
 * updating `o.state`. Empty when the snapshot holds no pg_querylens data.
 */
export function queryLensPoints(
  snapshot: Pick<UnifiedMetrics, "queryLensAggregates" | "queryLensStats">,
  o: QueryLensPointOptions,
): QueryLensPoint[] {
  const out: QueryLensPoint[] = [];
  const F = QUERYLENS_FAMILIES;
  for (const a of snapshot.queryLensAggregates ?? []) {
    const attrs = planAttributes(a);
    const windowStart = usToNs(a.firstSeenUnixUs);
    out.push(
      accumulatedPoint("querylens", F.planCalls, attrs, a.calls, windowStart, o),
      accumulatedPoint("querylens", F.planDuration, attrs, a.totalDurationMs / 1000, windowStart, o),
      accumulatedPoint("querylens", F.planErrors, attrs, a.errors, windowStart, o),
    );
    for (const w of WAIT_CLASS_FIELDS) {
      if (a[w.field] === 0) continue;
      const waitAttrs = { ...attrs, "pgquerylens.wait.class": w.className };
      out.push(accumulatedPoint("querylens", F.planWaitSamples, waitAttrs, a[w.field], windowStart, o));
    }
  }
  const stats = snapshot.queryLensStats;
  if (stats !== undefined) {
    const since = BigInt(Math.round(stats.sinceUnixMs)) * 1_000_000n;
    const decisions: [string, Record<string, number>][] = [
      ["kept", stats.sampled.kept],
      ["sampled_out", stats.sampled.sampledOut],
    ];
    for (const [decision, counts] of decisions) {
      for (const [reason, n] of Object.entries(counts)) {
        const attrs = { "pgquerylens.reason": reason, "pgquerylens.decision": decision };
        out.push(counterPoint("querylens", F.sampled, attrs, n, since, o));
      }
    }
    out.push(
      counterPoint("querylens", F.lost, { "pgquerylens.source": stats.source }, stats.recordsLost, since, o),
    );
  }
  return out;
}
