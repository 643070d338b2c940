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
import type { UnifiedMetrics } from "../core/model.ts";
import type { DroppedValue, SdkAttributeOptions } from "./metric_set.ts";
import { eventTypeMetricSets, type EventTypeSets } from "./event_type_sets.ts";

/** The metric sets of one of these event types. */
export type PlanTypeSets = EventTypeSets;

/**
 * The metric sets of the plan-tracking types `snapshot` holds, in publish order (a type whose rows
 * are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function planMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: PlanTypeSets[]; dropped: DroppedValue[] } {
  return eventTypeMetricSets(PLAN_EVENT_TYPES, snapshot, sdk);
}
