/**
 * Plan-change detection: one cycle's observations of the tracked queries applied to the plan
 * dictionary, and the plan changes whose verdict is known.
 *
 * A query's plan changes when its current plan differs from the one the dictionary holds. The
 * change is kept pending, in the dictionary (so a restart neither loses nor repeats it), until the
 * new plan has run `minExecutions` times since; then it is judged and exported, once. It is a
 * regression when both plans have at least `minExecutions` executions and the new plan's mean
 * duration is at least `ratio` times the previous plan's (and higher). A pending change is judged
 * with what is known when the plan changes again before the verdict, or once `verdictTimeoutMs`
 * passed (not a regression when the new plan ran fewer than `minExecutions` times). Plan ids of
 * different kinds (pg_querylens planids, EXPLAIN shape hashes) are never compared: a query whose
 * ids change kind starts over without a plan change.
 *
 * @module
 */

import type { PlanChange, PlanDictionaryEntry } from "../../core/model.ts";
import {
  addExecutions,
  enforceBounds,
  type PendingChange,
  type PlanDictionary,
  type PlanIdentity,
  planKey,
  type PlanRecord,
  queryKey,
  type QueryRecord,
  touchPlan,
  touchQuery,
} from "./dictionary.ts";

/** How changes are judged. */
export interface VerdictSettings {
  /** Regression ratio of mean durations, after / before (> 1). */
  ratio: number;
  /** Executions each plan needs before a change is judged. */
  minExecutions: number;
  /** A change still pending after this long is judged with what is known. */
  verdictTimeoutMs: number;
}

/** A plan captured by EXPLAIN this cycle. */
export interface CapturedPlan {
  /** Plan id. */
  planId: string;
  /** Root `Total Cost`. */
  totalCost: number;
  /** Root `Startup Cost`. */
  startupCost: number;
  /** Number of plan nodes. */
  nodeCount: number;
}

/** Executions of one plan this cycle. */
export interface PlanExecutions {
  /** Plan id. */
  planId: string;
  /** Executions. */
  executions: number;
  /** Their total duration, ms. */
  totalMs: number;
}

/** What one cycle saw of one tracked query. */
export interface QueryCycle {
  /** Database name. */
  databaseName: string;
  /** Query id. */
  queryId: string;
  /** The plan the query runs now; absent when this cycle cannot tell. */
  currentPlanId?: string;
  /** What kind of id the plan ids are. */
  identity: PlanIdentity;
  /** The plan EXPLAIN gave this cycle, if captured. */
  captured?: CapturedPlan;
  /** Executions this cycle, by plan. */
  executions: PlanExecutions[];
}

/** What {@link applyCycle} returns. */
export interface CycleResult {
  /** Plan changes judged this cycle, each exported once. */
  changes: PlanChange[];
  /** The dictionary's entries of the plans seen this cycle and of each query's current plan. */
  entries: PlanDictionaryEntry[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function judge(query: QueryRecord, p: PendingChange, dict: PlanDictionary, s: VerdictSettings): PlanChange {
  const after = p.executionsAfter > 0 ? p.totalMsAfter / p.executionsAfter : undefined;
  const before = p.avgDurationBeforeMs;
  const enough = p.executionsAfter >= s.minExecutions && p.executionsBefore >= s.minExecutions;
  const isRegression = enough && after !== undefined && before !== undefined && after > before &&
    after >= s.ratio * before;
  const next = dict.plans.get(planKey(query.databaseName, query.queryId, p.planId));
  const change: PlanChange = {
    queryId: query.queryId,
    databaseName: query.databaseName,
    planId: p.planId,
    previousPlanId: p.previousPlanId,
    executionsBefore: p.executionsBefore,
    executionsAfter: p.executionsAfter,
    isRegression,
    detectedAt: iso(p.detectedAtMs),
    detectedAtUnixMs: p.detectedAtMs,
  };
  if (p.previousTotalCost !== undefined) change.previousTotalCost = p.previousTotalCost;
  if (next?.totalCost !== undefined) change.totalCost = next.totalCost;
  if (before !== undefined) change.avgDurationBeforeMs = before;
  if (after !== undefined) change.avgDurationAfterMs = after;
  return change;
}

function pendingFrom(
  previous: PlanRecord | undefined,
  previousPlanId: string,
  planId: string,
  nowMs: number,
) {
  const p: PendingChange = {
    previousPlanId,
    planId,
    detectedAtMs: nowMs,
    executionsBefore: previous?.executionCount ?? 0,
    executionsAfter: 0,
    totalMsAfter: 0,
  };
  if (previous !== undefined && previous.executionCount > 0) p.avgDurationBeforeMs = previous.avgDurationMs;
  if (previous?.totalCost !== undefined) p.previousTotalCost = previous.totalCost;
  return p;
}

function entryOf(r: PlanRecord, current: boolean, cycleExecutions: number): PlanDictionaryEntry {
  const e: PlanDictionaryEntry = {
    databaseName: r.databaseName,
    queryId: r.queryId,
    planId: r.planId,
    current,
    firstSeen: iso(r.firstSeenMs),
    lastSeen: iso(r.lastSeenMs),
    executionCount: r.executionCount,
    cycleExecutions,
  };
  if (r.executionCount > 0) e.avgDurationMs = r.avgDurationMs;
  if (r.totalCost !== undefined) e.totalCost = r.totalCost;
  if (r.startupCost !== undefined) e.startupCost = r.startupCost;
  if (r.nodeCount !== undefined) e.nodeCount = r.nodeCount;
  return e;
}

/**
 * Applies one cycle's observations to `dict` at `nowMs`: captured plans and executions are
 * recorded, plan changes detected, pending changes judged, the bounds enforced.
 */
export function applyCycle(
  dict: PlanDictionary,
  cycles: readonly QueryCycle[],
  settings: VerdictSettings,
  nowMs: number,
): CycleResult {
  const changes: PlanChange[] = [];
  const seen = new Map<string, { record: PlanRecord; executions: number }>();
  for (const q of cycles) {
    const see = (planId: string, executions: number) => {
      const record = touchPlan(dict, q.databaseName, q.queryId, planId, nowMs);
      const key = planKey(q.databaseName, q.queryId, planId);
      const prev = seen.get(key);
      seen.set(key, { record, executions: (prev?.executions ?? 0) + executions });
      return record;
    };
    if (q.captured) {
      const record = see(q.captured.planId, 0);
      record.totalCost = q.captured.totalCost;
      record.startupCost = q.captured.startupCost;
      record.nodeCount = q.captured.nodeCount;
    }
    for (const e of q.executions) addExecutions(see(e.planId, e.executions), e.executions, e.totalMs);
    if (q.currentPlanId === undefined) continue;
    see(q.currentPlanId, 0);
    const key = queryKey(q.databaseName, q.queryId);
    let state = dict.queries.get(key);
    if (state === undefined) {
      state = {
        databaseName: q.databaseName,
        queryId: q.queryId,
        currentPlanId: q.currentPlanId,
        identity: q.identity,
        lastSeenMs: nowMs,
      };
    } else if (state.identity !== q.identity) {
      // Ids of another kind (pg_querylens came or went): start over, judging what was pending.
      if (state.pending !== undefined) changes.push(judge(state, state.pending, dict, settings));
      delete state.pending;
      state.currentPlanId = q.currentPlanId;
      state.identity = q.identity;
    } else if (state.currentPlanId !== q.currentPlanId) {
      if (state.pending !== undefined) changes.push(judge(state, state.pending, dict, settings));
      const previous = dict.plans.get(planKey(q.databaseName, q.queryId, state.currentPlanId));
      state.pending = pendingFrom(previous, state.currentPlanId, q.currentPlanId, nowMs);
      state.currentPlanId = q.currentPlanId;
    }
    touchQuery(dict, state, nowMs);
    const pending = state.pending;
    if (pending !== undefined) {
      for (const e of q.executions) {
        if (e.planId !== pending.planId) continue;
        pending.executionsAfter += e.executions;
        pending.totalMsAfter += e.totalMs;
      }
    }
  }
  for (const state of dict.queries.values()) {
    const p = state.pending;
    if (p === undefined) continue;
    if (p.executionsAfter >= settings.minExecutions || nowMs - p.detectedAtMs >= settings.verdictTimeoutMs) {
      changes.push(judge(state, p, dict, settings));
      delete state.pending;
    }
  }
  enforceBounds(dict);
  const entries = [...seen.values()].map(({ record, executions }) =>
    entryOf(
      record,
      dict.queries.get(queryKey(record.databaseName, record.queryId))?.currentPlanId === record.planId,
      executions,
    )
  );
  return { changes, entries };
}
