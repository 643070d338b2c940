/**
 * Sum points whose running state lives in the exporter's series state, shared by the metric
 * families built outside the catalog (pg_querylens, active session history, kernel metrics, OS
 * delays).
 *
 * - {@link accumulatedPoint}: a sum fed with one interval's increment; the running total is kept
 *   in the series state, so one-shot runs (whose state is saved) still export a true cumulative
 *   sum, and delta temporality gets the interval's own increment.
 * - {@link counterPoint}: a counter the collector keeps itself, cumulative since a start time; a
 *   later start or a smaller value means it was reset.
 *
 * A start time is never after the point's time: a counter started during the cycle whose snapshot
 * is stamped earlier starts at the point's time.
 *
 * @module
 */

import type { OtelFamily } from "./metric_catalog.ts";
import type { NumberPoint, SeriesState, Temporality } from "./metrics.ts";
import { type Attributes, attributesKey } from "./resource.ts";

/** One data point of a family. */
export interface FamilyPoint {
  /** The metric. */
  family: OtelFamily;
  /** The point. */
  point: NumberPoint;
}

/** How points keep and time their series. */
export interface SeriesPointOptions {
  /** Series state kept between snapshots (the one of the other metrics). */
  state: SeriesState;
  /** Temporality of the sums. */
  temporality: Temporality;
  /** Time of the points. */
  nowNs: bigint;
}

/** The point value of `v` as the family's value type. */
export function familyValue(f: OtelFamily, v: number): bigint | number {
  return f.valueType === "int" ? BigInt(Math.round(v)) : v;
}

function seriesKey(prefix: string, f: OtelFamily, attributes: Attributes): string {
  return `${prefix}|${f.name}|${attributesKey(attributes)}`;
}

function remember(state: SeriesState, key: string, startNs: bigint, value: number, timeNs: bigint): void {
  state.series.delete(key);
  state.series.set(key, { startNs, value, timeNs });
}

/**
 * A sum fed with one interval's `increment` (series `prefix|name|attributes`). With `continuous`
 * false (an interval that does not join the previous one) the point covers its own interval only.
 */
export function accumulatedPoint(
  prefix: string,
  f: OtelFamily,
  attributes: Attributes,
  increment: number,
  intervalStartNs: bigint,
  o: SeriesPointOptions,
  continuous = true,
): FamilyPoint {
  const key = seriesKey(prefix, f, attributes);
  const prev = continuous ? o.state.series.get(key) : undefined;
  const ownStart = intervalStartNs < o.nowNs ? intervalStartNs : o.nowNs;
  const startNs = prev?.startNs ?? ownStart;
  const total = (prev?.value ?? 0) + increment;
  remember(o.state, key, startNs, total, o.nowNs);
  const delta = o.temporality === "delta";
  return {
    family: f,
    point: {
      attributes,
      startTimeUnixNano: delta ? (prev?.timeNs ?? ownStart) : startNs,
      timeUnixNano: o.nowNs,
      value: familyValue(f, delta ? increment : total),
    },
  };
}

/** A counter cumulative since `sinceNs` (series `prefix|name|attributes`). */
export function counterPoint(
  prefix: string,
  f: OtelFamily,
  attributes: Attributes,
  value: number,
  sinceNs: bigint,
  o: SeriesPointOptions,
): FamilyPoint {
  const key = seriesKey(prefix, f, attributes);
  const prev = o.state.series.get(key);
  const clamp = (t: bigint, limit: bigint) => t < limit ? t : limit;
  // The same run of the counter: the previous point started where this start would have put it then.
  const continued = prev !== undefined && value >= prev.value && clamp(sinceNs, prev.timeNs) === prev.startNs;
  const startNs = continued ? prev.startNs : clamp(sinceNs, o.nowNs);
  remember(o.state, key, startNs, value, o.nowNs);
  const delta = o.temporality === "delta";
  return {
    family: f,
    point: {
      attributes,
      startTimeUnixNano: delta && continued ? prev.timeNs : startNs,
      timeUnixNano: o.nowNs,
      value: familyValue(f, delta && continued ? value - prev.value : value),
    },
  };
}

/** Milliseconds (fractional allowed) as whole nanoseconds, for OTLP timestamps and durations. */
export const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;
