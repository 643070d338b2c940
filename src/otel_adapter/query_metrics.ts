/**
 * The snapshot's query-level rows as OTLP metric observations, emitted by `snapshotMetrics` on the
 * instance resource beside the base metrics (so their series state, temporality and start times
 * are handled the same way).
 *
 * | Metric | Kind | Unit | From |
 * | --- | --- | --- | --- |
 * | `pgquerylens.query.calls` | monotonic sum, int | `{call}` | slow queries: `calls` |
 * | `pgquerylens.query.time` | monotonic sum, double | `s` | slow queries: total execution time |
 * | `pgquerylens.query.rows` | monotonic sum, int | `{row}` | slow queries: `rows` (when read) |
 * | `pgquerylens.query.mean_time` | gauge, double | `s` | slow queries: mean execution time |
 * | `pgquerylens.query.blocks.read.mean` | gauge, double | `{block}` | slow queries: read / call |
 * | `pgquerylens.query.blocks.written.mean` | gauge, double | `{block}` | slow queries: written / call |
 * | `pgquerylens.wait_event.time` | gauge, double | `s` | wait events: sampled wait time (see below) |
 * | `pgquerylens.blocked_sessions` | gauge, int | `{session}` | blocking sessions: distinct blocked pids |
 *
 * Attributes: `db.namespace` (the database name, as on the log records) on every metric;
 * `postgresql.queryid` on the query and wait metrics; `db.operation.name` on the query metrics when
 * the statement type is known (not empty, not `OTHER`); `postgresql.wait_event_type` and
 * `postgresql.wait_event` on the wait metric (`Type:Event` split at the first colon). Query text
 * never becomes an attribute: it would make every statement variant its own series.
 *
 * The slow-query sums are pg_stat_statements' cumulative counters. Their start time is the
 * series' first observation, never a database's `stats_reset` (pg_stat_statements is reset on its
 * own). pg_stat_statements keeps one entry per role and top-level flag, so several rows can share a
 * database and query id: their counters are added and their means weighted by calls, so each
 * series has one point per snapshot. Wait rows of one series are added likewise.
 *
 * The wait time is a gauge: the time the statement was seen waiting in what was sampled for this
 * snapshot (pg_wait_sampling's history ring, or this cycle's pg_stat_activity samples; see
 * `src/collectors/qpm/wait_events.ts`), not a counter that grows across snapshots.
 *
 * Individual queries and execution plans stay log records only (`logs.ts`): each is one execution
 * or one plan at one moment, not a value that a series tracks over time, and their identities
 * (plan ids, per-execution times) would make unbounded series.
 *
 * @module
 */

import type { BlockingSession, SlowQuery, UnifiedMetrics, WaitEvent } from "../core/model.ts";
import type { OtelFamily, OtelKind, OtelValueType } from "./metric_catalog.ts";
import type { Attributes } from "./resource.ts";

function fam(
  name: string,
  unit: string,
  kind: OtelKind,
  valueType: OtelValueType,
  description: string,
): OtelFamily {
  return { name, unit, kind, valueType, description, contrib: false };
}

/** Every query-level OTLP metric, declared once. */
export const QUERY_FAMILIES = {
  calls: fam("pgquerylens.query.calls", "{call}", "sum", "int", "Executions of the statement."),
  time: fam(
    "pgquerylens.query.time",
    "s",
    "sum",
    "double",
    "Total time spent executing the statement.",
  ),
  rows: fam("pgquerylens.query.rows", "{row}", "sum", "int", "Rows returned or affected by the statement."),
  meanTime: fam(
    "pgquerylens.query.mean_time",
    "s",
    "gauge",
    "double",
    "Mean execution time of the statement.",
  ),
  blocksReadMean: fam(
    "pgquerylens.query.blocks.read.mean",
    "{block}",
    "gauge",
    "double",
    "Shared blocks read per execution of the statement.",
  ),
  blocksWrittenMean: fam(
    "pgquerylens.query.blocks.written.mean",
    "{block}",
    "gauge",
    "double",
    "Shared blocks written per execution of the statement.",
  ),
  waitTime: fam(
    "pgquerylens.wait_event.time",
    "s",
    "gauge",
    "double",
    "Sampled time the statement spent waiting on the wait event in the collection window.",
  ),
  blockedSessions: fam(
    "pgquerylens.blocked_sessions",
    "{session}",
    "gauge",
    "int",
    "Sessions of the database waiting for a lock held by another session.",
  ),
} as const satisfies Readonly<Record<string, OtelFamily>>;

/** One value of one query-level series in a snapshot. */
export interface QueryObservation {
  /** The metric (one of {@link QUERY_FAMILIES}). */
  family: OtelFamily;
  /** Data-point attributes. */
  attributes: Attributes;
  /** The value, in the family's unit. */
  value: number;
}

/** `db.operation.name` of a statement type: upper-cased, absent when empty or `OTHER`. */
export function operationName(statementType: string): string | undefined {
  const t = statementType.trim().toUpperCase();
  return t === "" || t === "OTHER" ? undefined : t;
}

interface QueryTotals {
  database: string;
  queryId: string;
  operation?: string;
  calls: number;
  totalMs: number;
  rows: number;
  rowsKnown: boolean;
  reads: number;
  writes: number;
}

function key(...parts: string[]): string {
  return parts.join("\u0000");
}

function queryTotals(rows: readonly SlowQuery[]): QueryTotals[] {
  const byKey = new Map<string, QueryTotals>();
  for (const q of rows) {
    const k = key(q.databaseName, q.queryId);
    const t = byKey.get(k) ?? {
      database: q.databaseName,
      queryId: q.queryId,
      calls: 0,
      totalMs: 0,
      rows: 0,
      rowsKnown: true,
      reads: 0,
      writes: 0,
    };
    t.operation ??= operationName(q.statementType);
    t.calls += q.executionCount;
    t.totalMs += q.totalExecTimeMs ?? q.avgElapsedTimeMs * q.executionCount;
    if (q.rows === undefined) t.rowsKnown = false;
    else t.rows += q.rows;
    t.reads += q.avgDiskReads * q.executionCount;
    t.writes += q.avgDiskWrites * q.executionCount;
    byKey.set(k, t);
  }
  return [...byKey.values()];
}

function slowQueryObservations(rows: readonly SlowQuery[]): QueryObservation[] {
  const out: QueryObservation[] = [];
  for (const t of queryTotals(rows)) {
    const attributes: Attributes = { "db.namespace": t.database, "postgresql.queryid": t.queryId };
    if (t.operation !== undefined) attributes["db.operation.name"] = t.operation;
    const add = (family: OtelFamily, value: number) => out.push({ family, attributes, value });
    add(QUERY_FAMILIES.calls, t.calls);
    add(QUERY_FAMILIES.time, t.totalMs / 1000);
    if (t.rowsKnown) add(QUERY_FAMILIES.rows, t.rows);
    if (t.calls > 0) {
      add(QUERY_FAMILIES.meanTime, t.totalMs / t.calls / 1000);
      add(QUERY_FAMILIES.blocksReadMean, t.reads / t.calls);
      add(QUERY_FAMILIES.blocksWrittenMean, t.writes / t.calls);
    }
  }
  return out;
}

/** Wait event type and name of `Type:Event` (a name without a colon has an empty type). */
export function splitWaitEventName(name: string): { type: string; event: string } {
  const i = name.indexOf(":");
  return i < 0 ? { type: "", event: name } : { type: name.slice(0, i), event: name.slice(i + 1) };
}

function waitObservations(rows: readonly WaitEvent[]): QueryObservation[] {
  const byKey = new Map<string, QueryObservation>();
  for (const w of rows) {
    if (w.totalWaitTimeMs === undefined) continue;
    const { type, event } = splitWaitEventName(w.waitEventName);
    const k = key(w.databaseName, w.queryId, type, event);
    const seen = byKey.get(k);
    if (seen !== undefined) {
      seen.value += w.totalWaitTimeMs / 1000;
      continue;
    }
    byKey.set(k, {
      family: QUERY_FAMILIES.waitTime,
      attributes: {
        "db.namespace": w.databaseName,
        "postgresql.queryid": w.queryId,
        "postgresql.wait_event_type": type,
        "postgresql.wait_event": event,
      },
      value: w.totalWaitTimeMs / 1000,
    });
  }
  return [...byKey.values()];
}

function blockedObservations(rows: readonly BlockingSession[]): QueryObservation[] {
  const pids = new Map<string, Set<number>>();
  for (const b of rows) {
    const set = pids.get(b.databaseName) ?? new Set();
    set.add(b.blockedPid);
    pids.set(b.databaseName, set);
  }
  return [...pids].map(([database, set]) => ({
    family: QUERY_FAMILIES.blockedSessions,
    attributes: { "db.namespace": database },
    value: set.size,
  }));
}

/**
 * The query-level observations of `snapshot`: slow-query metrics, then wait times, then blocked
 * session counts, each series once, in order of first appearance. Values that are not finite are
 * left out.
 */
export function queryObservations(
  snapshot: Pick<UnifiedMetrics, "slowQueries" | "waitEvents" | "blockingSessions">,
): QueryObservation[] {
  return [
    ...slowQueryObservations(snapshot.slowQueries),
    ...waitObservations(snapshot.waitEvents),
    ...blockedObservations(snapshot.blockingSessions),
  ].filter((o) => Number.isFinite(o.value));
}
