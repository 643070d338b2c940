/**
 * The plan dictionary: what the collector knows about the plans of the queries it tracks, kept
 * across cycles (and, through `store.ts`, across restarts).
 *
 * - Plans, per (database, query id, plan id): first and last seen, executions counted and their
 *   running mean duration, and the root costs and node count of the last captured EXPLAIN.
 * - Queries, per (database, query id): the current plan, and a plan change waiting for its verdict.
 * - Statement counters, per (database, query id): the pg_stat_statements calls and total time of
 *   the previous cycle, from which each cycle's deltas are taken.
 *
 * Every map is bounded and ordered least recently seen first: touching an entry moves it to the
 * end, and {@link enforceBounds} drops entries from the front. Plans and queries are bounded by
 * `maxPlans`; statement counters by `max(maxPlans, 20000)` (one per statement of
 * pg_stat_statements, whose default size is 5000).
 *
 * @module
 */

/** Least number of statement counters kept, whatever `maxPlans` is. */
export const MIN_COUNTERS = 20_000;

/** One plan of one query. */
export interface PlanRecord {
  /** Database name. */
  databaseName: string;
  /** Query id (decimal). */
  queryId: string;
  /** Plan id (decimal). */
  planId: string;
  /** First seen, ms since the epoch. */
  firstSeenMs: number;
  /** Last seen (captured or executed), ms since the epoch. */
  lastSeenMs: number;
  /** Executions counted since first seen. */
  executionCount: number;
  /** Running mean of their durations, ms (0 without executions). */
  avgDurationMs: number;
  /** Root `Total Cost` of the last captured EXPLAIN. */
  totalCost?: number;
  /** Root `Startup Cost` of the last captured EXPLAIN. */
  startupCost?: number;
  /** Nodes of the last captured EXPLAIN. */
  nodeCount?: number;
}

/** A plan change detected and waiting for enough executions of the new plan to be judged. */
export interface PendingChange {
  /** The plan before the change. */
  previousPlanId: string;
  /** The plan after the change. */
  planId: string;
  /** When the change was detected, ms since the epoch. */
  detectedAtMs: number;
  /** Executions of the previous plan at detection. */
  executionsBefore: number;
  /** Their mean duration, ms; absent without executions. */
  avgDurationBeforeMs?: number;
  /** Root `Total Cost` of the previous plan, when it was captured. */
  previousTotalCost?: number;
  /** Executions of the new plan since detection. */
  executionsAfter: number;
  /** Their total duration, ms. */
  totalMsAfter: number;
}

/**
 * What a plan id is: pg_querylens's planid, or the EXPLAIN shape hash. Ids of different kinds are
 * never compared (a query whose ids change kind starts over, without a plan change).
 */
export type PlanIdentity = "pg_querylens" | "shape";

/** One tracked query. */
export interface QueryRecord {
  /** Database name. */
  databaseName: string;
  /** Query id (decimal). */
  queryId: string;
  /** The plan the query runs now. */
  currentPlanId: string;
  /** What kind of id `currentPlanId` is. */
  identity: PlanIdentity;
  /** Last seen, ms since the epoch. */
  lastSeenMs: number;
  /** A change waiting for its verdict. */
  pending?: PendingChange;
}

/** pg_stat_statements counters of one statement at the previous cycle. */
export interface StatementCounters {
  /** Executions. */
  calls: number;
  /** Total execution time, ms. */
  totalMs: number;
  /** When they were read, ms since the epoch. */
  seenMs: number;
}

/** The dictionary. Keys are built with {@link queryKey} and {@link planKey}. */
export interface PlanDictionary {
  /** Most plans (and most queries) kept. */
  readonly maxPlans: number;
  /** Plans by {@link planKey}, least recently seen first. */
  readonly plans: Map<string, PlanRecord>;
  /** Queries by {@link queryKey}, least recently seen first. */
  readonly queries: Map<string, QueryRecord>;
  /** Statement counters by {@link queryKey}, least recently seen first. */
  readonly counters: Map<string, StatementCounters>;
}

/**
 * An empty dictionary.
 *
 * @throws RangeError when `maxPlans` is not a positive integer
 */
export function createDictionary(maxPlans: number): PlanDictionary {
  if (!Number.isSafeInteger(maxPlans) || maxPlans < 1) {
    throw new RangeError(`plan dictionary: maxPlans must be a positive integer, got ${maxPlans}`);
  }
  return { maxPlans, plans: new Map(), queries: new Map(), counters: new Map() };
}

/** The key of a query. */
export function queryKey(databaseName: string, queryId: string): string {
  return `${databaseName}\u0000${queryId}`;
}

/** The key of a plan of a query. */
export function planKey(databaseName: string, queryId: string, planId: string): string {
  return `${databaseName}\u0000${queryId}\u0000${planId}`;
}

function touch<V>(map: Map<string, V>, key: string, value: V): V {
  map.delete(key);
  map.set(key, value);
  return value;
}

/** The record of a plan, created when new; marked seen at `nowMs` and moved to the end. */
export function touchPlan(
  dict: PlanDictionary,
  databaseName: string,
  queryId: string,
  planId: string,
  nowMs: number,
): PlanRecord {
  const key = planKey(databaseName, queryId, planId);
  const record = dict.plans.get(key) ?? {
    databaseName,
    queryId,
    planId,
    firstSeenMs: nowMs,
    lastSeenMs: nowMs,
    executionCount: 0,
    avgDurationMs: 0,
  };
  record.lastSeenMs = Math.max(record.lastSeenMs, nowMs);
  return touch(dict.plans, key, record);
}

/** Adds `executions` taking `totalMs` in all to a plan's count and running mean. */
export function addExecutions(record: PlanRecord, executions: number, totalMs: number): void {
  if (!(executions > 0)) return;
  const count = record.executionCount + executions;
  record.avgDurationMs = (record.avgDurationMs * record.executionCount + totalMs) / count;
  record.executionCount = count;
}

/** Marks a query record seen at `nowMs` and moves it to the end. */
export function touchQuery(dict: PlanDictionary, record: QueryRecord, nowMs: number): void {
  record.lastSeenMs = Math.max(record.lastSeenMs, nowMs);
  touch(dict.queries, queryKey(record.databaseName, record.queryId), record);
}

/** What a statement ran since its previous counters. */
export interface StatementDelta {
  /** Executions. */
  calls: number;
  /** Execution time, ms. */
  totalMs: number;
  /** Whether there were no previous counters (or they were reset): the delta is the whole count. */
  firstSeen: boolean;
}

/**
 * Stores a statement's current counters and returns what ran since the previous ones. A statement
 * seen for the first time, or whose counters went down (pg_stat_statements was reset or evicted
 * it), counts everything it holds.
 */
export function statementDelta(
  dict: PlanDictionary,
  databaseName: string,
  queryId: string,
  calls: number,
  totalMs: number,
  nowMs: number,
): StatementDelta {
  const key = queryKey(databaseName, queryId);
  const prev = dict.counters.get(key);
  touch(dict.counters, key, { calls, totalMs, seenMs: nowMs });
  if (prev === undefined || prev.calls > calls || prev.totalMs > totalMs) {
    return { calls, totalMs, firstSeen: true };
  }
  return { calls: calls - prev.calls, totalMs: totalMs - prev.totalMs, firstSeen: false };
}

/** Most statement counters `dict` keeps. */
export function maxCounters(dict: PlanDictionary): number {
  return Math.max(dict.maxPlans, MIN_COUNTERS);
}

function trim<V>(map: Map<string, V>, max: number): number {
  let dropped = 0;
  while (map.size > max) {
    map.delete(map.keys().next().value as string);
    dropped++;
  }
  return dropped;
}

/** Drops the least recently seen plans, queries and counters beyond the bounds; returns the plans dropped. */
export function enforceBounds(dict: PlanDictionary): number {
  trim(dict.queries, dict.maxPlans);
  trim(dict.counters, maxCounters(dict));
  return trim(dict.plans, dict.maxPlans);
}
