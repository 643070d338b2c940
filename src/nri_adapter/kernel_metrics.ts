/**
 * The OS metrics of a snapshot as metric sets of `PostgresKernelMetrics` (see
 * `src/core/kernel_catalog.ts`): the `host` set, then one `query` set per database and query id,
 * then one `backend` set per server process.
 *
 * It is data nri-postgresql does not have, so it is always its own event type, published after the
 * other extended types on the same `pg-instance` entity, in compatibility mode or not; it is
 * published only when the snapshot holds OS metrics (absent when the tier is off or not permitted).
 *
 * @module
 */

import {
  KERNEL_BACKEND_SCOPE,
  KERNEL_HOST_SCOPE,
  KERNEL_METRICS_EVENT_TYPE,
  KERNEL_QUERY_SCOPE,
  type KernelScopeSpec,
} from "../core/kernel_catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import { buildMetricSet, type DroppedValue, type MetricSet, type SdkAttributeOptions } from "./metric_set.ts";

/** The metric sets of the OS metrics event type. */
export interface KernelTypeSets {
  /** `PostgresKernelMetrics`. */
  eventType: string;
  /** The host set, the query sets, then the backend sets. */
  sets: MetricSet[];
}

function setsOf<Row>(
  spec: KernelScopeSpec<Row>,
  rows: readonly Row[],
  sdk: SdkAttributeOptions,
  dropped: DroppedValue[],
): MetricSet[] {
  return rows.map((row) => {
    const fields = spec.fields.map((f) => ({ key: f.nri, type: f.type, value: f.value(row) }));
    const built = buildMetricSet(KERNEL_METRICS_EVENT_TYPE, fields, sdk);
    dropped.push(...built.dropped);
    return built.set;
  });
}

/** The `PostgresKernelMetrics` sets of `snapshot` (no type when the snapshot holds no OS metrics). */
export function kernelMetricSets(
  snapshot: Pick<UnifiedMetrics, "kernelMetrics">,
  sdk: SdkAttributeOptions = {},
): { types: KernelTypeSets[]; dropped: DroppedValue[] } {
  const k = snapshot.kernelMetrics;
  if (k === undefined) return { types: [], dropped: [] };
  const dropped: DroppedValue[] = [];
  const sets = [
    ...setsOf(KERNEL_HOST_SCOPE, [k], sdk, dropped),
    ...setsOf(KERNEL_QUERY_SCOPE, k.perQuery, sdk, dropped),
    ...setsOf(KERNEL_BACKEND_SCOPE, k.perBackend, sdk, dropped),
  ];
  return { types: [{ eventType: KERNEL_METRICS_EVENT_TYPE, sets }], dropped };
}
