/**
 * The active session history of a snapshot as metric sets: `PostgresActiveSessionHistory`, one per
 * database, role, state, wait event and query id of the cycle, with the fields of
 * `src/core/ash_catalog.ts`.
 *
 * It is data nri-postgresql does not have, so it is always its own event type, published after the
 * QPM, extended and pg_querylens types on the same `pg-instance` entity, in compatibility mode or
 * not; it is published only when the snapshot holds it (absent when sessions are not sampled).
 *
 * @module
 */

import { ASH_EVENT_TYPES } from "../core/ash_catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import type { DroppedValue, SdkAttributeOptions } from "./metric_set.ts";
import { eventTypeMetricSets, type EventTypeSets } from "./event_type_sets.ts";

/** The metric sets of one of these event types. */
export type AshTypeSets = EventTypeSets;

/**
 * The metric sets of the active session history types `snapshot` holds, in publish order (a type
 * whose rows are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function ashMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: AshTypeSets[]; dropped: DroppedValue[] } {
  return eventTypeMetricSets(ASH_EVENT_TYPES, snapshot, sdk);
}
