/**
 * The pg_querylens event types of a snapshot as metric sets: `PostgresQueryExecutions` (one per
 * execution the sampler kept) and `PostgresQueryPlanAggregates` (one per database, query id and
 * plan id of the cycle), with the fields of `src/core/querylens_catalog.ts`.
 *
 * They are data nri-postgresql does not have, so they are always their own event types, published
 * after the QPM (and extended) types on the same `pg-instance` entity, in compatibility mode or not;
 * a type is published only when the snapshot holds it (absent when pg_querylens is not read).
 *
 * @module
 */

import { QUERYLENS_EVENT_TYPES } from "../core/querylens_catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import type { DroppedValue, SdkAttributeOptions } from "./metric_set.ts";
import { eventTypeMetricSets, type EventTypeSets } from "./event_type_sets.ts";

/** The metric sets of one of these event types. */
export type QueryLensTypeSets = EventTypeSets;

/**
 * The metric sets of the pg_querylens event types `snapshot` holds, in publish order (a type whose
 * rows are absent from the snapshot is left out; an empty one is kept and publishes nothing).
 */
export function queryLensMetricSets(
  snapshot: UnifiedMetrics,
  sdk: SdkAttributeOptions = {},
): { types: QueryLensTypeSets[]; dropped: DroppedValue[] } {
  return eventTypeMetricSets(QUERYLENS_EVENT_TYPES, snapshot, sdk);
}
