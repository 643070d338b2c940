/**
 * The infrastructure integration protocol v3 envelope, as written by the SDK's `Publish()`:
 *
 * `{"name","protocol_version":"3","integration_version","data":[{"entity","metrics","inventory",
 * "events"[,"add_hostname":true]}]}` followed by `\n`, compact or tab-indented.
 *
 * These are the building blocks every v3 document is made of (QPM documents here; base samples
 * and inventory reuse them).
 *
 * @module
 */

import type { InstanceInfo } from "../core/model.ts";
import { compareGoKeys, goJsonStringify, type GoJsonValue } from "./go_json.ts";
import type { MetricSet } from "./metric_set.ts";

/** `name` of every document. */
export const INTEGRATION_NAME = "com.newrelic.postgresql";

/** Most metric sets per published document (nri-postgresql's `PublishThreshold`). */
export const PUBLISH_THRESHOLD = 600;

/** One identifying attribute of an entity. */
export interface IdAttribute {
  /** Attribute name, e.g. `host`. */
  key: string;
  /** Attribute value. */
  value: string;
}

/** An entity: the thing the metric sets describe. */
export interface NriEntity {
  /** Entity name, e.g. `db1:5432` for the instance. */
  name: string;
  /** Entity type, e.g. `pg-instance`. */
  type: string;
  /** Identifying attributes (written sorted by key). */
  idAttributes: IdAttribute[];
}

/** A protocol event (`{"summary","category","attributes"}`); nri-postgresql never emits one. */
export interface NriEvent {
  /** Event summary (required by the agent). */
  summary: string;
  /** Event category. */
  category: string;
  /** Extra attributes, omitted when empty. */
  attributes?: Map<string, string | number>;
}

/** Inventory: item key to item fields, e.g. `max_connections/setting` → `{value: "100"}`. */
export type Inventory = Map<string, Map<string, string | number | boolean | null>>;

/** One element of a document's `data` array. */
export interface DataItem {
  /** The entity. */
  entity: NriEntity;
  /** Its metric sets. */
  metrics: MetricSet[];
  /** Its inventory; `{}` when absent. */
  inventory?: Inventory;
  /** Its events; `[]` when absent. */
  events?: NriEvent[];
}

/** How a v3 document is written. */
export interface EnvelopeOptions {
  /** `integration_version`. */
  integrationVersion: string;
  /** Tab-indented output (`-pretty`). */
  pretty: boolean;
  /** Add `"add_hostname": true` to every data item (`-nri_add_hostname`). */
  addHostname: boolean;
}

/** The `pg-instance` entity of `instance`: `<host>:<port>`, no identifying attributes. */
export function pgInstanceEntity(instance: Pick<InstanceInfo, "host" | "port">): NriEntity {
  return { name: `${instance.host}:${instance.port}`, type: "pg-instance", idAttributes: [] };
}

/** The JSON value of an entity, `{"name","type","id_attributes":[{"Key","Value"}…]}`, ids sorted by key. */
export function entityJson(entity: NriEntity): GoJsonValue {
  const ids = [...entity.idAttributes].sort((a, b) => compareGoKeys(a.key, b.key));
  return {
    name: entity.name,
    type: entity.type,
    id_attributes: ids.map((a) => ({ Key: a.key, Value: a.value })),
  };
}

/** The JSON value of a protocol event. */
export function eventJson(event: NriEvent): GoJsonValue {
  const out: Record<string, GoJsonValue> = { summary: event.summary, category: event.category };
  if (event.attributes && event.attributes.size > 0) out.attributes = event.attributes;
  return out;
}

/** Encodes one complete v3 document (one `Publish()`), ending in `\n`. */
export function encodeV3Document(items: readonly DataItem[], opts: EnvelopeOptions): string {
  const data = items.map((item) => {
    const out: Record<string, GoJsonValue> = {
      entity: entityJson(item.entity),
      metrics: item.metrics,
      inventory: item.inventory ?? new Map(),
      events: (item.events ?? []).map(eventJson),
    };
    if (opts.addHostname) out.add_hostname = true;
    return out;
  });
  const doc = {
    name: INTEGRATION_NAME,
    protocol_version: "3",
    integration_version: opts.integrationVersion,
    data,
  };
  return goJsonStringify(doc, opts.pretty ? "\t" : "") + "\n";
}

/** Splits `items` into consecutive batches of at most `size` (an empty input gives no batch). */
export function batches<T>(items: readonly T[], size: number = PUBLISH_THRESHOLD): T[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${size}`);
  }
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Publishes `metricSets` of one entity as nri-postgresql does: one document per batch of at most
 * `batchSize` sets, each holding the entity alone; no document when there is no set.
 */
export function encodeSamples(
  entity: NriEntity,
  metricSets: readonly MetricSet[],
  opts: EnvelopeOptions,
  batchSize: number = PUBLISH_THRESHOLD,
): string[] {
  return batches(metricSets, batchSize).map((metrics) => encodeV3Document([{ entity, metrics }], opts));
}
