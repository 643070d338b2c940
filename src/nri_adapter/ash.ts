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
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";

/** The metric sets of one active session history event type. */
export interface AshTypeSets {
  /** `PostgresActiveSessionHistory`. */
  eventType: string;
  /** One metric set per row, in row order. */
  sets: MetricSet[];
}

/**
 * The metric sets of the active session history types `snapshot` holds, in publish order (a type
 * whose rows are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function ashMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: AshTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  const types: AshTypeSets[] = [];
  for (const spec of ASH_EVENT_TYPES) {
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
