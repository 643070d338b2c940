/**
 * The snapshot's base samples as OTLP metrics, in a plain structure independent of any protocol
 * library: resources → one scope (`pgquerylens`) → metrics → number data points.
 *
 * Each base sample's entity is a resource (`resource.ts`); each NRI metric becomes the OTLP metric
 * and data-point attributes of `metric_catalog.ts`, and NRI attributes listed in its
 * `OTEL_ATTRIBUTES` become data-point attributes. Metrics without an OTLP encoding (custom-query
 * metrics) are returned by name in `unmapped`; other NRI attributes (entity names) are dropped, as
 * the resource carries them.
 *
 * Times: a data point's time is `nowNs` (the snapshot's `collectedAt` when absent).
 * - Monotonic sums, cumulative temporality: the raw counter with the series' start time: the
 *   `stats_reset` of its database (or of the instance, for instance metrics) when given, else the
 *   time the series was first observed. A counter that went down, or a `stats_reset` later than the
 *   previous observation, is a reset: the series restarts at the reset time (or, unknown, at the
 *   previous observation's time).
 * - Monotonic sums, delta temporality: the difference to the previous observation of the series,
 *   from the previous observation's time; the first observation gives no point, and after a reset
 *   the point is the new value, from the reset (or previous observation) time.
 * - Non-monotonic sums: always cumulative (as the OpenTelemetry SDKs do under a delta preference),
 *   starting at the series' first observation.
 * - Gauges: no start time.
 *
 * The series state lives in a {@link SeriesState} the caller keeps between snapshots.
 *
 * @module
 */

import { entityKey } from "../core/entity_key.ts";
import type { BaseSample, UnifiedMetrics } from "../core/model.ts";
import { VERSION } from "../version.ts";
import { OTEL_ATTRIBUTES, otelMetricFor, type OtelMetricMapping } from "./metric_catalog.ts";
import {
  type Attributes,
  attributesKey,
  entityResource,
  instanceResource,
  type ResourceOptions,
} from "./resource.ts";

/** Name of the instrumentation scope of every metric and log record. */
export const SCOPE_NAME = "pgquerylens";

/** The instrumentation scope. */
export interface Scope {
  /** Scope name ({@link SCOPE_NAME}). */
  name: string;
  /** Collector version. */
  version: string;
}

/** The scope of this collector's telemetry. */
export function scope(): Scope {
  return { name: SCOPE_NAME, version: VERSION };
}

/** Aggregation temporality of monotonic sums. */
export type Temporality = "cumulative" | "delta";

/** One number data point. */
export interface NumberPoint {
  /** Data-point attributes. */
  attributes: Attributes;
  /** Start of the point's interval (absent for gauges). */
  startTimeUnixNano?: bigint;
  /** Observation time. */
  timeUnixNano: bigint;
  /** The value: a `bigint` for int points, a `number` for double points. */
  value: bigint | number;
}

/** One metric with its data points. */
export interface MetricData {
  /** OTLP metric name. */
  name: string;
  /** Description. */
  description: string;
  /** UCUM unit. */
  unit: string;
  /** `sum` (with `monotonic` and `temporality`) or `gauge`. */
  type: "sum" | "gauge";
  /** Whether the sum is monotonic (sums only). */
  monotonic?: boolean;
  /** Temporality (sums only). */
  temporality?: Temporality;
  /** Data points. */
  points: NumberPoint[];
}

/** The metrics of one resource. */
export interface ResourceMetricsData {
  /** Resource attributes. */
  resource: Attributes;
  /** The scope and its metrics (one scope). */
  scopeMetrics: { scope: Scope; metrics: MetricData[] }[];
}

/** What {@link snapshotMetrics} returns. */
export interface MetricsResult {
  /** Resources with their metrics, in first-appearance order. */
  resourceMetrics: ResourceMetricsData[];
  /** Names of numeric NRI metrics that have no OTLP encoding (sorted, without repeats). */
  unmapped: string[];
}

interface SeriesEntry {
  startNs: bigint;
  value: number;
  timeNs: bigint;
}

/** Per-series state kept between snapshots (start times and previous values). */
export interface SeriesState {
  /** Series key → its start, last value and last observation time. */
  readonly series: Map<string, SeriesEntry>;
}

/** A new, empty {@link SeriesState}. */
export function createSeriesState(): SeriesState {
  return { series: new Map() };
}

/** `stats_reset` times known for the snapshot's instance. */
export interface StatsResets {
  /** `pg_stat_bgwriter.stats_reset`: start of the instance counters. */
  instance?: Date;
  /** `pg_stat_database.stats_reset` per database: start of its database, table and index counters. */
  databases?: ReadonlyMap<string, Date>;
}

/** Options of {@link snapshotMetrics}. */
export interface MetricsOptions extends ResourceOptions {
  /** Series state, kept by the caller between snapshots of the same instance. */
  state: SeriesState;
  /** Temporality of monotonic sums. */
  temporality: Temporality;
  /** Observation time; the snapshot's `collectedAt` when absent. */
  nowNs?: bigint;
  /** Known `stats_reset` times. */
  statsReset?: StatsResets;
}

/** Nanoseconds since the Unix epoch of `d`. */
export function dateToNs(d: Date): bigint {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new Error("invalid date: cannot convert to nanoseconds");
  return BigInt(ms) * 1_000_000n;
}

function databaseOf(sample: BaseSample): string | undefined {
  if (sample.entity.type === "pg-database") return sample.entity.name;
  return sample.entity.idAttributes.find((a) => a.key === "pg-database")?.value;
}

function resetOf(sample: BaseSample, opts: MetricsOptions, instanceLevel: boolean): bigint | undefined {
  const r = opts.statsReset;
  if (r === undefined) return undefined;
  let d: Date | undefined;
  if (sample.entity.type === "pg-instance") d = r.instance;
  else if (!instanceLevel && sample.entity.type !== "pgbouncer") {
    const db = databaseOf(sample);
    d = db === undefined ? undefined : r.databases?.get(db);
  }
  return d === undefined ? undefined : dateToNs(d);
}

function numeric(value: number | string): number | undefined {
  const n = typeof value === "number" ? value : value.trim() === "" ? NaN : Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function pointValue(m: OtelMetricMapping, v: number): bigint | number {
  return m.valueType === "int" ? BigInt(Math.round(v)) : v;
}

interface Builder {
  resource: Attributes;
  metrics: Map<string, MetricData>;
}

/**
 * The OTLP metrics of `snapshot`'s base samples, updating `opts.state`.
 *
 * @throws Error when an entity lacks what its resource needs (see `entityResource`).
 */
export function snapshotMetrics(snapshot: UnifiedMetrics, opts: MetricsOptions): MetricsResult {
  const now = opts.nowNs ?? dateToNs(snapshot.collectedAt);
  const builders = new Map<string, Builder>();
  const unmapped = new Set<string>();
  const instanceRes = instanceResource(snapshot.instance, opts);
  const emittedInstanceLevel = new Set<string>();

  const builderFor = (resource: Attributes): Builder => {
    const key = attributesKey(resource);
    let b = builders.get(key);
    if (b === undefined) {
      b = { resource, metrics: new Map() };
      builders.set(key, b);
    }
    return b;
  };

  for (const sample of snapshot.baseSamples) {
    const entityRes = entityResource(sample.entity, snapshot.instance, opts);
    const extra: Attributes = {};
    for (const m of sample.metrics) {
      if (m.sourceType === "attribute" && Object.hasOwn(OTEL_ATTRIBUTES, m.name)) {
        extra[OTEL_ATTRIBUTES[m.name]] = String(m.value);
      }
    }
    for (const m of sample.metrics) {
      if (m.sourceType === "attribute") continue;
      const mapping = otelMetricFor(m.name);
      if (mapping === undefined) {
        unmapped.add(m.name);
        continue;
      }
      const v = numeric(m.value);
      if (v === undefined) continue;
      const instanceLevel = mapping.level === "instance";
      if (instanceLevel) {
        if (emittedInstanceLevel.has(m.name)) continue;
        emittedInstanceLevel.add(m.name);
      }
      const resource = instanceLevel ? instanceRes : entityRes;
      const attributes: Attributes = { ...mapping.attributes, ...(instanceLevel ? {} : extra) };
      const seriesKey = `${instanceLevel ? "instance" : entityKey(sample.entity)}|${mapping.name}|${
        attributesKey(attributes)
      }`;
      const point = makePoint(
        mapping,
        v,
        attributes,
        seriesKey,
        now,
        resetOf(sample, opts, instanceLevel),
        opts,
      );
      if (point === undefined) continue;
      const b = builderFor(resource);
      let metric = b.metrics.get(mapping.name);
      if (metric === undefined) {
        metric = newMetric(mapping, opts.temporality);
        b.metrics.set(mapping.name, metric);
      }
      metric.points.push(point);
    }
  }

  const resourceMetrics = [...builders.values()]
    .filter((b) => b.metrics.size > 0)
    .map((b) => ({
      resource: b.resource,
      scopeMetrics: [{ scope: scope(), metrics: [...b.metrics.values()] }],
    }));
  return { resourceMetrics, unmapped: [...unmapped].sort() };
}

function newMetric(m: OtelMetricMapping, temporality: Temporality): MetricData {
  const base = { name: m.name, description: m.description, unit: m.unit, points: [] };
  if (m.kind === "gauge") return { ...base, type: "gauge" };
  if (m.kind === "updown") return { ...base, type: "sum", monotonic: false, temporality: "cumulative" };
  return { ...base, type: "sum", monotonic: true, temporality };
}

function makePoint(
  m: OtelMetricMapping,
  v: number,
  attributes: Attributes,
  key: string,
  now: bigint,
  reset: bigint | undefined,
  opts: MetricsOptions,
): NumberPoint | undefined {
  if (m.kind === "gauge") return { attributes, timeUnixNano: now, value: pointValue(m, v) };
  const prev = opts.state.series.get(key);
  if (m.kind === "updown") {
    const startNs = prev?.startNs ?? now;
    opts.state.series.set(key, { startNs, value: v, timeNs: now });
    return { attributes, startTimeUnixNano: startNs, timeUnixNano: now, value: pointValue(m, v) };
  }
  if (prev === undefined) {
    const startNs = reset !== undefined && reset <= now ? reset : now;
    opts.state.series.set(key, { startNs, value: v, timeNs: now });
    if (opts.temporality === "delta") return undefined;
    return { attributes, startTimeUnixNano: startNs, timeUnixNano: now, value: pointValue(m, v) };
  }
  const wasReset = v < prev.value || (reset !== undefined && reset > prev.timeNs && reset <= now);
  const restart = reset !== undefined && reset > prev.timeNs && reset <= now ? reset : prev.timeNs;
  const startNs = wasReset ? restart : prev.startNs;
  opts.state.series.set(key, { startNs, value: v, timeNs: now });
  if (opts.temporality === "cumulative") {
    return { attributes, startTimeUnixNano: startNs, timeUnixNano: now, value: pointValue(m, v) };
  }
  const delta = wasReset ? v : v - prev.value;
  return {
    attributes,
    startTimeUnixNano: wasReset ? restart : prev.timeNs,
    timeUnixNano: now,
    value: pointValue(m, delta),
  };
}
