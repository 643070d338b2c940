/**
 * The QPM documents of one snapshot: the five QPM event types, each published on its own (in the
 * pipeline's order, at most 600 rows per document, nothing for an empty type), as metric sets on
 * the `pg-instance` entity in protocol v3, or as events in protocol v4.
 *
 * Only the catalog's fields are read from a row, so the five types never carry a key beyond
 * nri-postgresql's (plus `event_type`, and `cluster_name`/`service_name` when configured, as the
 * SDK adds them).
 *
 * @module
 */

import { type EventTypeSpec, qpmPublishOrder } from "../core/catalog.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import {
  catalogMetricSet,
  type DroppedValue,
  type MetricSet,
  type SdkAttributeOptions,
} from "./metric_set.ts";
import { encodeSamples, type EnvelopeOptions, pgInstanceEntity, PUBLISH_THRESHOLD } from "./v3.ts";
import { encodeV4Samples } from "./v4.ts";

/** How the QPM documents are written. */
export interface NriOptions extends EnvelopeOptions, SdkAttributeOptions {
  /** Publish in the IS_RDS pipeline's order. */
  isRds: boolean;
  /** Protocol version of the envelope. */
  protocol: 3 | 4;
  /** Most rows per document (default 600). */
  batchSize?: number;
  /** v4 only: `common.interval.ms` (default 0: one-shot run). */
  intervalMs?: number;
}

/** The metric sets of one QPM event type. */
export interface QpmTypeSets {
  /** Event type, e.g. `PostgresSlowQueries`. */
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

/** Builds the metric sets of every QPM event type of `snapshot`, in publish order (empty types included). */
export function qpmMetricSets(
  snapshot: UnifiedMetrics,
  opts: Pick<NriOptions, "isRds" | "cluster" | "service">,
): { types: QpmTypeSets[]; dropped: DroppedValue[] } {
  const dropped: DroppedValue[] = [];
  // deno-lint-ignore no-explicit-any
  const types = qpmPublishOrder(opts.isRds).map((spec: EventTypeSpec<any>) => {
    const rows = snapshot[spec.source] as unknown[];
    const sets = rows.map((row) => {
      const built = catalogMetricSet(spec, row, opts);
      dropped.push(...built.dropped);
      return built.set;
    });
    return { eventType: spec.eventType, sets };
  });
  return { types, dropped };
}

/**
 * Encodes the QPM documents of `snapshot`. Pure: it reads the snapshot and nothing else.
 * Protocol 3 gives nri-postgresql's documents byte for byte; protocol 4 carries the same rows as
 * v4 events (see `v4.ts`), stamped with `snapshot.collectedAt`.
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
