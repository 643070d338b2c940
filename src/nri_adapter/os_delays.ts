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
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";

/** The metric sets of one eBPF tier event type. */
export interface OsDelayTypeSets {
  /** `PostgresQueryOsDelays`. */
  eventType: string;
  /** One metric set per row, in row order. */
  sets: MetricSet[];
}

/**
 * The metric sets of the eBPF tier types `snapshot` holds, in publish order (a type whose rows are
 * absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function osDelayMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: OsDelayTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  const types: OsDelayTypeSets[] = [];
  for (const spec of OS_DELAY_EVENT_TYPES) {
    const rows = snapshot[spec.source] as unknown[] | undefined;
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
