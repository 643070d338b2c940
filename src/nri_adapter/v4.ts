/**
 * The infrastructure integration protocol v4 envelope (`-nri_protocol=4`):
 *
 * `{"protocol_version":"4","integration":{"name","version"},"data":[{"common":{"timestamp",
 * "interval.ms","attributes"},"metrics":[…],"entity":{…},"inventory":{…},"events":[…]}]}`.
 *
 * **How a QPM row is carried.** Protocol v4 has no flat `event_type` samples. Each row that v3
 * writes as one metric set is written as one v4 **event**:
 *
 * `{"timestamp":<ms>,"summary":"<event type>","category":"<event type>","attributes":{<the v3 metric
 * set: event_type and every field, plus cluster_name/service_name>}}`.
 *
 * An event keeps a row whole: the strings (query text, ids, plan id) and the numbers stay together
 * in one record, with the same names and JSON types as in v3, and nothing is repeated. The
 * alternative, one gauge metric per numeric field with the string fields as dimensions, would
 * split a row into as many records as it has numbers (up to nine for a plan node), copy every
 * query text into each of them, and leave string-only rows such as a blocking session with its
 * ids and texts spread over two pid gauges. The agent stores v4 events as `InfrastructureEvent`
 * with the attributes flattened onto it, so a row is found again with
 * `WHERE category = 'PostgresSlowQueries'` (or `event_type`).
 *
 * Documents are split like v3: one event type per document, at most 600 rows each, none for an
 * empty type. `add_hostname` has no v4 counterpart and is not written.
 *
 * @module
 */

import { goJsonStringify, type GoJsonValue } from "./go_json.ts";
import type { MetricSet } from "./metric_set.ts";
import { batches, INTEGRATION_NAME, type Inventory, type NriEntity, PUBLISH_THRESHOLD } from "./v3.ts";

/** A v4 event. */
export interface V4Event {
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Summary (required, non-empty). */
  summary: string;
  /** Category. */
  category: string;
  /** Attributes (strings and numbers). */
  attributes: Map<string, string | number>;
}

/** A v4 dimensional metric of a numeric type. */
export interface V4Metric {
  /** Metric name. */
  name: string;
  /** Metric type. */
  type: "gauge" | "count" | "cumulative-count" | "rate" | "cumulative-rate";
  /** Value. */
  value: number;
  /** Dimensions. */
  attributes: Map<string, string | number>;
  /** Milliseconds since the epoch; the data item's common timestamp when absent. */
  timestamp?: number;
  /** Interval in milliseconds (count metrics). */
  intervalMs?: number;
}

/** One element of a v4 document's `data` array. */
export interface V4DataItem {
  /** The entity. */
  entity: NriEntity;
  /** Dimensional metrics. */
  metrics?: V4Metric[];
  /** Inventory; `{}` when absent. */
  inventory?: Inventory;
  /** Events. */
  events?: V4Event[];
  /** Attributes common to every metric of the item. */
  commonAttributes?: Map<string, string | number>;
}

/** How a v4 document is written. */
export interface V4Options {
  /** `integration.version`. */
  integrationVersion: string;
  /** Tab-indented output. */
  pretty: boolean;
  /** `common.timestamp`, milliseconds since the epoch. */
  timestampMs: number;
  /** `common.interval.ms`: the collection interval in milliseconds (0 for a one-shot run). */
  intervalMs: number;
}

/**
 * The v4 entity, as the v4 SDK writes it: `{"name","displayName","type","metadata"}`; identifying
 * attributes go to `metadata`.
 */
export function v4EntityJson(entity: NriEntity): GoJsonValue {
  return {
    name: entity.name,
    displayName: entity.name,
    type: entity.type,
    metadata: new Map(entity.idAttributes.map((a) => [a.key, a.value])),
  };
}

/** The v4 event carrying one v3 metric set (see the module documentation). */
export function metricSetEvent(set: MetricSet, timestampMs: number): V4Event {
  const eventType = set.get("event_type");
  if (typeof eventType !== "string" || eventType === "") {
    throw new TypeError("metric set has no event_type: a v4 event needs it as its summary");
  }
  return { timestamp: timestampMs, summary: eventType, category: eventType, attributes: new Map(set) };
}

/** Encodes one complete v4 document, ending in `\n`. */
export function encodeV4Document(items: readonly V4DataItem[], opts: V4Options): string {
  const data = items.map((item) => ({
    common: {
      timestamp: opts.timestampMs,
      "interval.ms": opts.intervalMs,
      attributes: item.commonAttributes ?? new Map(),
    },
    metrics: (item.metrics ?? []).map((m) => {
      const out: Record<string, GoJsonValue> = {};
      if (m.timestamp !== undefined) out.timestamp = m.timestamp;
      out.name = m.name;
      out.type = m.type;
      out.attributes = m.attributes;
      if (m.intervalMs !== undefined) out["interval.ms"] = m.intervalMs;
      out.value = m.value;
      return out;
    }),
    entity: v4EntityJson(item.entity),
    inventory: item.inventory ?? new Map(),
    events: (item.events ?? []).map((e) => ({
      timestamp: e.timestamp,
      summary: e.summary,
      category: e.category,
      attributes: e.attributes,
    })),
  }));
  const doc = {
    protocol_version: "4",
    integration: { name: INTEGRATION_NAME, version: opts.integrationVersion },
    data,
  };
  return goJsonStringify(doc, opts.pretty ? "\t" : "") + "\n";
}

/** Publishes metric sets of one entity as v4 events, at most `batchSize` per document. */
export function encodeV4Samples(
  entity: NriEntity,
  metricSets: readonly MetricSet[],
  opts: V4Options,
  batchSize: number = PUBLISH_THRESHOLD,
): string[] {
  return batches(metricSets, batchSize).map((sets) =>
    encodeV4Document([{ entity, events: sets.map((s) => metricSetEvent(s, opts.timestampMs)) }], opts)
  );
}
