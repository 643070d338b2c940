/**
 * The plan changes of a snapshot as metric sets: `PostgresPlanChanges`, one per plan change judged
 * in the cycle, with the fields of `src/core/plan_catalog.ts`.
 *
 * It is data nri-postgresql does not have, so it is always its own event type, published after the
 * QPM, extended, pg_querylens and active session history types on the same `pg-instance` entity, in
 * compatibility mode or not; it is published only when the snapshot holds it (absent when plans
 * are not tracked).
 *
 * @module
 */

import { PLAN_EVENT_TYPES } from "../core/plan_catalog.ts";
import type { PlanChange, UnifiedMetrics } from "../core/model.ts";
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";

/** The metric sets of one plan-tracking event type. */
export interface PlanTypeSets {
  /** `PostgresPlanChanges`. */
  eventType: string;
  /** One metric set per row, in row order. */
  sets: MetricSet[];
}

/**
 * The metric sets of the plan-tracking types `snapshot` holds, in publish order (a type whose rows
 * are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function planMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: PlanTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  const types: PlanTypeSets[] = [];
  for (const spec of PLAN_EVENT_TYPES) {
    const rows = snapshot[spec.source] as PlanChange[] | undefined;
    if (rows === undefined) continue;
    const sets = rows.map((row) => {
      const built = catalogMetricSet(spec, row, sdk);
      dropped.push(...built.dropped);
      return built.set;
    });
    types.push({ eventType: spec.eventType, sets });
  }
  return { types, dropped };
}
