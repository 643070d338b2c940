/**
 * The QPM documents of one snapshot: the five QPM event types and the extended event types, each
 * published on its own (in `nriPublishOrder`'s order, at most 600 rows per document, nothing for
 * an empty type), as metric sets on the `pg-instance` entity in protocol v3, or as events in
 * protocol v4.
 *
 * Only the catalog's fields are read from a row. In compatibility mode (`compat`, the default) the
 * five QPM types never carry a key beyond nri-postgresql's (plus `event_type`, and
 * `cluster_name`/`service_name` when configured, as the SDK adds them); data nri-postgresql does not
 * have goes into separate event types (`PgQueryLensSlowQueryDetails`), published after the five.
 * With `compat: false` there is no separate type: PostgresSlowQueries carries that data itself.
 *
 * The pg_querylens types (`PostgresQueryExecutions`, `PostgresQueryPlanAggregates`, see
 * `querylens.ts`) follow all of these, in either mode, when the snapshot holds them, and then the
 * active session history (`PostgresActiveSessionHistory`, see `ash.ts`), the plan changes
 * (`PostgresPlanChanges`, see `plan_changes.ts`), the OS metrics (`PostgresKernelMetrics`, see
 * `kernel_metrics.ts`) and the eBPF tier's traced queries (`PostgresQueryOsDelays`, see
 * `os_delays.ts`).
 *
 * @module
 */

import { type EventTypeSpec, nriPublishOrder } from "../core/catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";
import { encodeSamples, type EnvelopeOptions, pgInstanceEntity, PUBLISH_THRESHOLD } from "./v3.ts";
import { encodeV4Samples } from "./v4.ts";
import { queryLensMetricSets } from "./querylens.ts";
import { ashMetricSets } from "./ash.ts";
import { planMetricSets } from "./plan_changes.ts";
import { kernelMetricSets } from "./kernel_metrics.ts";
import { osDelayMetricSets } from "./os_delays.ts";

/** How the QPM documents are written. */
export interface NriOptions extends EnvelopeOptions, SdkAttributeOptions {
  /** Publish in the IS_RDS pipeline's order. */
  isRds: boolean;
  /**
   * Compatibility mode (default true): the five QPM types carry no key beyond nri-postgresql's and
   * extended data is published as separate event types; false puts it in the QPM types instead.
   */
  compat?: boolean;
  /** Protocol version of the envelope. */
  protocol: 3 | 4;
  /** Most rows per document (default 600). */
  batchSize?: number;
  /** v4 only: `common.interval.ms` (default 0: one-shot run). */
  intervalMs?: number;
}

/** The metric sets of one published event type (a QPM type or an extended one). */
export interface QpmTypeSets {
  /** Event type, e.g. `PostgresSlowQueries` or `PgQueryLensSlowQueryDetails`. */
  eventType: string;
  /** One metric set per row, in row order. */
  sets: MetricSet[];
}

/** The encoded documents and what had to be left out of them. */
export interface NriEncoding {
  /** One string per published document, each ending in `\n`, in publish order. */
  documents: string[];
  /**
   * Values left out because they were not finite numbers (the rest of their row is published).
   * Callers report `dropped.length` in their telemetry.
   */
  dropped: DroppedValue[];
}

/**
 * Builds the metric sets of every event type `opts` selects (the five QPM types, then the extended
 * types when `compat` is on or absent, then the pg_querylens, active session history and plan-change
 * types the snapshot holds) from `snapshot`, in publish order, empty types included.
 */
export function qpmMetricSets(
  snapshot: UnifiedMetrics,
  opts: Pick<NriOptions, "isRds" | "compat" | "cluster" | "service">,
): { types: QpmTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  // deno-lint-ignore no-explicit-any
  const types = nriPublishOrder(opts.isRds, opts.compat ?? true).map((spec: EventTypeSpec<any>) => {
    const rows = snapshot[spec.source] as unknown[];
    const sets = rows.map((row) => {
      const built = catalogMetricSet(spec, row, opts);
      dropped.push(...built.dropped);
      return built.set;
    });
    return { eventType: spec.eventType, sets };
  });
  const querylens = queryLensMetricSets(snapshot, opts);
  types.push(...querylens.types);
  dropped.push(...querylens.dropped);
  const ash = ashMetricSets(snapshot, opts);
  types.push(...ash.types);
  dropped.push(...ash.dropped);
  const plans = planMetricSets(snapshot, opts);
  types.push(...plans.types);
  dropped.push(...plans.dropped);
  const kernel = kernelMetricSets(snapshot, opts);
  types.push(...kernel.types);
  dropped.push(...kernel.dropped);
  const osDelays = osDelayMetricSets(snapshot, opts);
  types.push(...osDelays.types);
  dropped.push(...osDelays.dropped);
  return { types, dropped };
}

/**
 * Encodes the QPM documents of `snapshot` (and, in compatibility mode, the extended types'
 * documents after them). Pure: it reads the snapshot and nothing else. In protocol 3 the five QPM
 * types' documents are nri-postgresql's byte for byte when `compat` is on; protocol 4 carries the
 * same rows as v4 events (see `v4.ts`), stamped with `snapshot.collectedAt`.
 */
export function encodeQpmDocuments(snapshot: UnifiedMetrics, opts: NriOptions): NriEncoding {
  if (opts.protocol !== 3 && opts.protocol !== 4) {
    throw new RangeError(`NRI protocol must be 3 or 4, got ${String(opts.protocol)}`);
  }
  const batchSize = opts.batchSize ?? PUBLISH_THRESHOLD;
  const entity = pgInstanceEntity(snapshot.instance);
  const { types, dropped } = qpmMetricSets(snapshot, opts);
  const documents = types.flatMap(({ sets }) =>
    opts.protocol === 4
      ? encodeV4Samples(entity, sets, {
        integrationVersion: opts.integrationVersion,
        pretty: opts.pretty,
        timestampMs: snapshot.collectedAt.getTime(),
        intervalMs: opts.intervalMs ?? 0,
      }, batchSize)
      : encodeSamples(entity, sets, opts, batchSize)
  );
  return { documents, dropped };
}
