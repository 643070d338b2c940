/**
 * What one cycle observed of one tracked query, from its captured plan and its executions: where
 * pg_querylens is read, its per-plan aggregates (exact, under the extension's planids); elsewhere,
 * the pg_stat_statements delta attributed to the captured plan. Pure functions; `mod.ts` runs them.
 *
 * @module
 */

import type { QueryLensAggregate } from "../../core/model.ts";
import type { ExplainNode } from "../qpm/plan_shape.ts";
import type { PlanResult } from "./capture.ts";
import type { CapturedPlan, QueryCycle, VerdictSettings } from "./detection.ts";
import { type PlanDictionary, planKey, queryKey, type QueryRecord } from "./dictionary.ts";
import type { RankedStatement } from "./top_queries.ts";

/**
 * This cycle's pg_querylens aggregates by {@link queryKey}; undefined when the extension is not
 * read. Aggregates of a database whose name is unknown are left out.
 */
export function aggregatesByQuery(
  aggregates: readonly QueryLensAggregate[] | undefined,
): Map<string, QueryLensAggregate[]> | undefined {
  if (aggregates === undefined) return undefined;
  const out = new Map<string, QueryLensAggregate[]>();
  for (const a of aggregates) {
    if (a.databaseName === undefined) continue;
    const key = queryKey(a.databaseName, a.queryId);
    const list = out.get(key) ?? [];
    list.push(a);
    out.set(key, list);
  }
  return out;
}

/** The aggregate whose last execution ended last, if any. */
export function latestAggregate(aggs: readonly QueryLensAggregate[]): QueryLensAggregate | undefined {
  return aggs.reduce<QueryLensAggregate | undefined>(
    (a, b) => (a === undefined || b.lastSeenUnixUs > a.lastSeenUnixUs ? b : a),
    undefined,
  );
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function nodeCount(node: ExplainNode): number {
  return 1 + (node.Plans ?? []).reduce((n, child) => n + nodeCount(child), 0);
}

/** The dictionary's view of a captured plan: id, root costs, node count. */
export function capturedPlan(plan: PlanResult): CapturedPlan | undefined {
  if (!plan.ok) return undefined;
  return {
    planId: plan.planId,
    totalCost: num(plan.root["Total Cost"]),
    startupCost: num(plan.root["Startup Cost"]),
    nodeCount: nodeCount(plan.root),
  };
}

/**
 * Whether the query looks as if its plan changed, so that a cached plan is worth capturing again:
 * with pg_querylens (`aggs` defined), its last execution ran another plan than the current one;
 * without, its mean duration this cycle moved from the current plan's by the regression ratio,
 * either way, both over at least `minExecutions` executions. Never for a query seen the first time.
 */
export function looksChanged(
  dict: PlanDictionary,
  state: QueryRecord | undefined,
  r: RankedStatement,
  aggs: readonly QueryLensAggregate[] | undefined,
  settings: Pick<VerdictSettings, "ratio" | "minExecutions">,
): boolean {
  if (state === undefined) return false;
  if (aggs !== undefined) {
    const latest = latestAggregate(aggs);
    return latest !== undefined && latest.planId !== state.currentPlanId;
  }
  const plan = dict.plans.get(planKey(r.databaseName, r.queryId, state.currentPlanId));
  const { ratio, minExecutions } = settings;
  if (plan === undefined || plan.executionCount < minExecutions || !(plan.avgDurationMs > 0)) return false;
  if (r.delta.firstSeen || r.delta.calls < minExecutions) return false;
  const mean = r.delta.totalMs / r.delta.calls;
  return mean >= ratio * plan.avgDurationMs || mean * ratio <= plan.avgDurationMs;
}

/**
 * The cycle's observation of query `r`.
 *
 * - With pg_querylens (`aggs` defined): executions by plan from the aggregates, the current plan
 *   the one executed last (none when it did not execute: a generic plan EXPLAINed may differ from
 *   the custom plans run), and the captured plan only when it carries the extension's planid.
 * - Without: the delta attributed to the captured plan, which is the current plan; when nothing
 *   could be captured, to the current plan of `state`.
 */
export function queryCycle(
  r: RankedStatement,
  plan: PlanResult,
  state: QueryRecord | undefined,
  aggs: readonly QueryLensAggregate[] | undefined,
): QueryCycle {
  const base = { databaseName: r.databaseName, queryId: r.queryId };
  if (aggs !== undefined) {
    return {
      ...base,
      identity: "pg_querylens",
      captured: plan.ok && plan.linked ? capturedPlan(plan) : undefined,
      currentPlanId: latestAggregate(aggs)?.planId,
      executions: aggs.map((a) => ({ planId: a.planId, executions: a.calls, totalMs: a.totalDurationMs })),
    };
  }
  const captured = capturedPlan(plan);
  const current = captured?.planId ?? state?.currentPlanId;
  return {
    ...base,
    identity: plan.ok ? (plan.linked ? "pg_querylens" : "shape") : state?.identity ?? "shape",
    captured,
    currentPlanId: current,
    executions: current === undefined
      ? []
      : [{ planId: current, executions: r.delta.calls, totalMs: r.delta.totalMs }],
  };
}
