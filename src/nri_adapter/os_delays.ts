/**
 * The eBPF tier's traced queries of a snapshot as metric sets: `PostgresQueryOsDelays`, one per
 * query at or above the threshold, with the fields of `src/core/os_delay_catalog.ts`.
 *
 * It is data nri-postgresql does not have, so it is always its own event type, published after the
 * other extended types on the same `pg-instance` entity, in compatibility mode or not; it is published
 * only when the snapshot holds it (absent when the tier is off or not permitted).
 *
 * @module
 */

import { OS_DELAY_EVENT_TYPES } from "../core/os_delay_catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import type { DroppedValue, SdkAttributeOptions } from "./metric_set.ts";
import { eventTypeMetricSets, type EventTypeSets } from "./event_type_sets.ts";

/** The metric sets of one of these event types. */
export type OsDelayTypeSets = EventTypeSets;

/**
 * The metric sets of the eBPF tier types `snapshot` holds, in publish order (a type whose rows are
 * absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function osDelayMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: OsDelayTypeSets[]; dropped: DroppedValue[] } {
  return eventTypeMetricSets(OS_DELAY_EVENT_TYPES, snapshot, sdk);
}
