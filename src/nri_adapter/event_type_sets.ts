/**
 * Metric sets of the event types nri-postgresql does not have (pg_querylens executions and plan
 * aggregates, plan changes, active session history, OS delays): one metric set per snapshot row,
 * built from the type's catalog. One function for all of them, so every such type is encoded the
 * same way.
 *
 * @module
 */

import type { EventTypeSpec } from "../core/catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";

/** The metric sets of one event type. */
export interface EventTypeSets {
  /** The event type, e.g. `PostgresQueryExecutions`. */
  eventType: string;
  /** One metric set per row, in row order. */
  sets: MetricSet[];
}

/**
 * The metric sets of the `specs` types `snapshot` holds, in the order of `specs` (a type whose rows
 * are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function eventTypeMetricSets(
  // deno-lint-ignore no-explicit-any
  specs: readonly EventTypeSpec<any>[],
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: EventTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  const types: EventTypeSets[] = [];
  for (const spec of specs) {
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
