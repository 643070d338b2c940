/**
 * Metric sets: the flat `{event_type, key: value…}` objects of protocol v3's `metrics` array, built
 * the way the infrastructure SDK builds them.
 *
 * A `gauge` becomes a JSON number (booleans 1/0, numeric strings parsed); an `attribute` becomes
 * a JSON string (`String(value)`); `undefined`/`null` (SQL NULL) omits the key. A gauge value that
 * is not a finite number is dropped and reported in the result, never written (Go's encoder would
 * refuse the whole document).
 *
 * @module
 */

import type { EventTypeSpec, NriSourceType } from "../core/catalog.ts";

/** A metric set: a Go map, so its keys are encoded in sorted order. */
export type MetricSet = Map<string, string | number>;

/** A value that could not be encoded and was left out of its metric set. */
export interface DroppedValue {
  /** Event type of the metric set. */
  eventType: string;
  /** Attribute or metric name. */
  key: string;
  /** Why it was dropped. */
  reason: string;
}

/** A metric set and the values left out of it. */
export interface BuiltMetricSet {
  /** The metric set, with `event_type`. */
  set: MetricSet;
  /** Values that were dropped (empty when everything was encoded). */
  dropped: DroppedValue[];
}

/** One field to put in a metric set. */
export interface SampleField {
  /** Wire name. */
  key: string;
  /** NRI source type. */
  type: NriSourceType;
  /** Raw value; `undefined` or `null` omits the key. */
  value: unknown;
}

/** Attributes the SDK adds to every metric set for `-nri_cluster` / `-nri_service`. */
export interface SdkAttributeOptions {
  /** `cluster_name`, when set and non-empty. */
  cluster?: string;
  /** `service_name`, when set and non-empty. */
  service?: string;
}

/** The `[key, value]` pairs the SDK adds to every metric set, in the SDK's own order. */
export function sdkAttributes(opts: SdkAttributeOptions): [string, string][] {
  const attrs: [string, string][] = [];
  if (opts.cluster) attrs.push(["cluster_name", opts.cluster]);
  if (opts.service) attrs.push(["service_name", opts.service]);
  return attrs;
}

/**
 * Converts a gauge value to a JSON number: numbers as they are, booleans to 1/0, bigints and
 * decimal strings (as PostgreSQL drivers return `numeric`/`bigint`) parsed. Returns a reason string
 * instead when the value is not a finite number.
 */
export function gaugeValue(value: unknown): number | { reason: string } {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "boolean") n = value ? 1 : 0;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string" && DECIMAL.test(value.trim())) n = Number(value.trim());
  else return { reason: `not a number: ${describe(value)}` };
  if (!Number.isFinite(n)) return { reason: `not a finite number: ${describe(value)}` };
  return n;
}

/** Builds one metric set of `eventType` from `fields`, then the SDK attributes. */
export function buildMetricSet(
  eventType: string,
  fields: Iterable<SampleField>,
  sdk: SdkAttributeOptions = {},
): BuiltMetricSet {
  const set: MetricSet = new Map([["event_type", eventType]]);
  const dropped: DroppedValue[] = [];
  for (const { key, type, value } of fields) {
    if (value === undefined || value === null) continue;
    if (type === "attribute") {
      set.set(key, String(value));
      continue;
    }
    const n = gaugeValue(value);
    if (typeof n === "number") set.set(key, n);
    else dropped.push({ eventType, key, reason: n.reason });
  }
  for (const [key, value] of sdkAttributes(sdk)) set.set(key, value);
  return { set, dropped };
}

/** Builds the metric set of one row of a catalog event type (only the catalog's fields are read). */
export function catalogMetricSet<Row>(
  spec: EventTypeSpec<Row>,
  row: Row,
  sdk: SdkAttributeOptions = {},
): BuiltMetricSet {
  return buildMetricSet(
    spec.eventType,
    spec.fields.map((f) => ({ key: f.nri, type: f.type, value: row[f.field] })),
    sdk,
  );
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}
