/**
 * The base document: nri-postgresql's one `Publish()` of instance, database, table, index and
 * pgbouncer samples plus the instance's inventory, in protocol v3.
 *
 * One data item per entity, in the order entities are first met, the `pg-instance` entity always
 * first (it exists from the start, like upstream's, and carries the inventory). Samples of one
 * entity become its metric sets in sample order. Entities are the same when their SDK entity keys
 * are (see {@link baseEntityKey}). The whole lot is one document, however many entities there are:
 * upstream publishes the base data once, without batching.
 *
 * @module
 */

import type { BaseEntity } from "../core/model.ts";
import { entityKey } from "../core/entity_key.ts";
import { buildMetricSet, type DroppedValue, type MetricSet, type SdkAttributeOptions } from "./metric_set.ts";
import { type DataItem, encodeV3Document, type EnvelopeOptions, type Inventory } from "./v3.ts";

/** One base sample ready to publish: rates already converted to per-second values. */
export interface PublishedSample {
  /** The entity the sample belongs to. */
  entity: BaseEntity;
  /** Event type, e.g. `PostgresqlDatabaseSample`. */
  eventType: string;
  /** `[name, value]` in collection order: a number is a metric (JSON number), a string an attribute. */
  values: [string, number | string][];
}

/** What the base document is made of. */
export interface BaseDocumentInput {
  /** The `pg-instance` entity (`<host>:<port>`, no id attributes). */
  instance: BaseEntity;
  /** Samples of every entity, the instance's included, in collection order. */
  samples: PublishedSample[];
  /** Inventory of the instance: item key (`<setting>/<column>`) to value; none when absent. */
  inventory?: Map<string, string | null>;
}

/** How the base document is written. */
export type BaseDocumentOptions = EnvelopeOptions & SdkAttributeOptions;

/** The encoded base document and what had to be left out of it. */
export interface BaseEncoding {
  /** The document, ending in `\n`. */
  document: string;
  /** Values left out because they were not finite numbers (the rest of their sample is published). */
  dropped: DroppedValue[];
}

/** The SDK's entity key: two entities with the same key are one entity (see `src/core/entity_key.ts`). */
export const baseEntityKey: (entity: BaseEntity) => string = entityKey;

/**
 * Encodes the base document of `input`. Throws a `TypeError` naming the problem for a malformed
 * entity or sample (an instance that is not `pg-instance`, an empty name or type, a repeated id attribute, an empty event type, a value that
 * is neither a number nor a string); a number that is not finite is left out and listed in
 * `dropped` instead.
 */
export function encodeBaseDocument(input: BaseDocumentInput, opts: BaseDocumentOptions): BaseEncoding {
  checkEntity(input.instance, "instance");
  if (input.instance.type !== "pg-instance") {
    throw new TypeError(
      `instance: the entity type must be pg-instance, got ${JSON.stringify(input.instance.type)}`,
    );
  }
  if (!Array.isArray(input.samples)) throw new TypeError("samples must be an array");
  const items = new Map<string, DataItem>();
  items.set(baseEntityKey(input.instance), {
    entity: input.instance,
    metrics: [],
    inventory: inventoryItems(input.inventory),
  });
  const dropped: DroppedValue[] = [];
  input.samples.forEach((sample, i) => {
    const where = `samples[${i}]`;
    checkEntity(sample.entity, `${where}.entity`);
    const set = metricSet(sample, opts, where, dropped);
    const key = baseEntityKey(sample.entity);
    let item = items.get(key);
    if (!item) {
      item = { entity: sample.entity, metrics: [] };
      items.set(key, item);
    }
    item.metrics.push(set);
  });
  return { document: encodeV3Document([...items.values()], opts), dropped };
}

function metricSet(
  sample: PublishedSample,
  sdk: SdkAttributeOptions,
  where: string,
  dropped: DroppedValue[],
): MetricSet {
  if (typeof sample.eventType !== "string" || sample.eventType === "") {
    throw new TypeError(`${where}: eventType must be a non-empty string`);
  }
  if (!Array.isArray(sample.values)) {
    throw new TypeError(`${where}: values must be an array of [name, value]`);
  }
  const fields = sample.values.map(([key, value], j) => {
    if (typeof key !== "string" || key === "") {
      throw new TypeError(`${where}.values[${j}]: the name must be a non-empty string`);
    }
    if (typeof value !== "number" && typeof value !== "string") {
      throw new TypeError(
        `${where}.values[${j}] (${key}): the value must be a number or a string, got ${typeof value}`,
      );
    }
    return { key, type: typeof value === "number" ? "gauge" as const : "attribute" as const, value };
  });
  const built = buildMetricSet(sample.eventType, fields, sdk);
  dropped.push(...built.dropped);
  return built.set;
}

function inventoryItems(inventory: Map<string, string | null> | undefined): Inventory {
  const out: Inventory = new Map();
  for (const [key, value] of inventory ?? []) {
    if (value !== null && typeof value !== "string") {
      throw new TypeError(`inventory item ${JSON.stringify(key)}: the value must be a string or null`);
    }
    out.set(key, new Map([["value", value]]));
  }
  return out;
}

function checkEntity(entity: BaseEntity, where: string): void {
  if (typeof entity?.name !== "string" || entity.name === "") {
    throw new TypeError(`${where}: the entity name must be a non-empty string`);
  }
  if (typeof entity.type !== "string" || entity.type === "") {
    throw new TypeError(`${where} (${entity.name}): the entity type must be a non-empty string`);
  }
  if (!Array.isArray(entity.idAttributes)) {
    throw new TypeError(`${where} (${entity.type} ${entity.name}): idAttributes must be an array`);
  }
  const seen = new Set<string>();
  for (const attr of entity.idAttributes) {
    if (typeof attr?.key !== "string" || typeof attr.value !== "string") {
      throw new TypeError(
        `${where} (${entity.type} ${entity.name}): id attributes need string key and value`,
      );
    }
    if (seen.has(attr.key)) {
      throw new TypeError(`${where} (${entity.type} ${entity.name}): id attribute "${attr.key}" is repeated`);
    }
    seen.add(attr.key);
  }
}
