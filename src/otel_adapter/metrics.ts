/**
 * The snapshot's base samples and query-level rows as OTLP metrics, in a plain structure independent
 * of any protocol library: resources → one scope (`pgquerylens`) → metrics → number data points.
 *
 * Each base sample's entity is a resource (`resource.ts`); each NRI metric becomes the OTLP metric
 * and data-point attributes of `metric_catalog.ts`, and NRI attributes listed in its
 * `OTEL_ATTRIBUTES` become data-point attributes. Metrics without an OTLP encoding (custom-query
 * metrics) are returned by name in `unmapped`; other NRI attributes (entity names) are dropped, as
 * the resource carries them. The query-level metrics of `query_metrics.ts` (slow queries, wait
 * events, blocked sessions) and the pg_querylens metrics of `querylens.ts` (plan sums, sampler and
 * reader counters, which keep their own series rules), the active session history metrics of
 * `ash.ts` (group gauges and sums, sampler counters), the OS metrics of `kernel_metrics.ts`
 * (per-process sums, host pressure) and the eBPF tier's of `os_delays.ts` (time by scheduler state,
 * probe counters) are emitted on the instance resource.
 *
 * Times: a data point's time is `nowNs` (the snapshot's `collectedAt` when absent).
 * - Monotonic sums, cumulative temporality: the raw counter with the series' start time: the
 *   `stats_reset` of its database, or for instance metrics that of the view it comes from
 *   (`pg_stat_bgwriter`; on 17+ `pg_stat_checkpointer` for `checkpointer.*` and `pg_stat_io` for
 *   `io.*`), when known (from the options, else from the snapshot), else the time the series was
 *   first observed (always so for the pg_stat_statements counters, which a database reset does not
 *   touch). A counter that went down, or a `stats_reset` later than the previous observation, is a
 *   reset: the series restarts at the reset time (or, unknown, at the previous observation's time).
 * - Monotonic sums, delta temporality: the difference to the previous observation of the series,
 *   from the previous observation's time; the first observation gives no point, and after a reset
 *   the point is the new value, from the reset (or previous observation) time.
 * - Non-monotonic sums: always cumulative (as the OpenTelemetry SDKs do under a delta preference),
 *   starting at the series' first observation.
 * - Gauges: no start time.
 *
 * The series state lives in a {@link SeriesState} the caller keeps between snapshots (and may save
 * between runs with {@link seriesStateToJson} / {@link seriesStateFromJson}). It is bounded: a series
 * not observed for longer than a time to live (1 h by default) is forgotten, and beyond a number
 * of series (200,000 by default) the least recently observed are forgotten first. A forgotten
 * series that reappears starts again as on its first observation.
 *
 * @module
 */

import { entityKey } from "../core/entity_key.ts";
import type { BaseSample, UnifiedMetrics } from "../core/model.ts";
import { VERSION } from "../version.ts";
import { OTEL_ATTRIBUTES, type OtelFamily, otelMetricFor } from "./metric_catalog.ts";
import { queryObservations } from "./query_metrics.ts";
import { queryLensPoints } from "./querylens.ts";
import { ashPoints } from "./ash.ts";
import { kernelPoints } from "./kernel_metrics.ts";
import { osDelayPoints } from "./os_delays.ts";
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

/** What a {@link SeriesState} keeps of one series. */
export interface SeriesEntry {
  /** Start time of the series' current interval. */
  startNs: bigint;
  /** Last observed value. */
  value: number;
  /** Time of the last observation. */
  timeNs: bigint;
}

/** Per-series state kept between snapshots (start times and previous values). */
export interface SeriesState {
  /** Series key → its start, last value and last observation time, least recently observed first. */
  readonly series: Map<string, SeriesEntry>;
}

/** A new, empty {@link SeriesState}. */
export function createSeriesState(): SeriesState {
  return { series: new Map() };
}

/** Time after which a series that was not observed is forgotten, by default: one hour. */
export const DEFAULT_SERIES_TTL_NS = 3_600_000_000_000n;

/** Most series a {@link SeriesState} keeps, by default. */
export const DEFAULT_MAX_SERIES = 200_000;

/**
 * `stats_reset` times known for the snapshot's instance (a `StatsResetTimes` of the model, as
 * `readStatsResets` returns, is one).
 */
export interface StatsResets {
  /** `pg_stat_bgwriter.stats_reset`: start of the instance counters (before 17, all of them). */
  instance?: Date;
  /** `pg_stat_checkpointer.stats_reset` (17+): start of the `checkpointer.*` counters. */
  checkpointer?: Date;
  /** `pg_stat_io.stats_reset` (17+): start of the `io.*` counters. */
  io?: Date;
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
  /** Known `stats_reset` times; the snapshot's `statsResets` when absent. */
  statsReset?: StatsResets;
  /** Time after which an unobserved series is forgotten; {@link DEFAULT_SERIES_TTL_NS} when absent. */
  seriesTtlNs?: bigint;
  /** Most series kept in `state`; {@link DEFAULT_MAX_SERIES} when absent. */
  maxSeries?: number;
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

/** The reset time of instance metric `nriName`: that of the view it is read from. */
function instanceReset(nriName: string, r: StatsResets): Date | undefined {
  if (nriName.startsWith("checkpointer.")) return r.checkpointer;
  if (nriName.startsWith("io.")) return r.io;
  return r.instance;
}

function resetOf(
  sample: BaseSample,
  nriName: string,
  r: StatsResets | undefined,
  instanceLevel: boolean,
): bigint | undefined {
  if (r === undefined) return undefined;
  let d: Date | undefined;
  if (sample.entity.type === "pg-instance") d = instanceReset(nriName, r);
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

function pointValue(m: OtelFamily, v: number): bigint | number {
  return m.valueType === "int" ? BigInt(Math.round(v)) : v;
}

interface Builder {
  resource: Attributes;
  metrics: Map<string, MetricData>;
}

/**
 * The OTLP metrics of `snapshot`'s base samples and query-level rows, updating `opts.state` (and
 * pruning it, see {@link pruneSeries}).
 *
 * @throws Error when an entity lacks what its resource needs (see `entityResource`), or when
 * `seriesTtlNs` or `maxSeries` is invalid.
 */
export function snapshotMetrics(snapshot: UnifiedMetrics, opts: MetricsOptions): MetricsResult {
  const now = opts.nowNs ?? dateToNs(snapshot.collectedAt);
  const ttl = opts.seriesTtlNs ?? DEFAULT_SERIES_TTL_NS;
  const maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
  checkLimits(ttl, maxSeries);
  const resets = opts.statsReset ?? snapshot.statsResets;
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
  const emit = (resource: Attributes, family: OtelFamily, point: NumberPoint) => {
    const b = builderFor(resource);
    let metric = b.metrics.get(family.name);
    if (metric === undefined) {
      metric = newMetric(family, opts.temporality);
      b.metrics.set(family.name, metric);
    }
    metric.points.push(point);
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
        resetOf(sample, m.name, resets, instanceLevel),
        opts,
      );
      if (point !== undefined) emit(resource, mapping, point);
    }
  }

  for (const o of queryObservations(snapshot)) {
    const seriesKey = `query|${o.family.name}|${attributesKey(o.attributes)}`;
    const point = makePoint(o.family, o.value, o.attributes, seriesKey, now, undefined, opts);
    if (point !== undefined) emit(instanceRes, o.family, point);
  }
  for (
    const q of queryLensPoints(snapshot, { state: opts.state, temporality: opts.temporality, nowNs: now })
  ) {
    emit(instanceRes, q.family, q.point);
  }
  for (const a of ashPoints(snapshot, { state: opts.state, temporality: opts.temporality, nowNs: now })) {
    emit(instanceRes, a.family, a.point);
  }
  for (const k of kernelPoints(snapshot, { state: opts.state, temporality: opts.temporality, nowNs: now })) {
    emit(instanceRes, k.family, k.point);
  }
  for (const d of osDelayPoints(snapshot, { state: opts.state, temporality: opts.temporality, nowNs: now })) {
    emit(instanceRes, d.family, d.point);
  }
  pruneSeries(opts.state, now, ttl, maxSeries);

  const resourceMetrics = [...builders.values()]
    .filter((b) => b.metrics.size > 0)
    .map((b) => ({
      resource: b.resource,
      scopeMetrics: [{ scope: scope(), metrics: [...b.metrics.values()] }],
    }));
  return { resourceMetrics, unmapped: [...unmapped].sort() };
}

function newMetric(m: OtelFamily, temporality: Temporality): MetricData {
  const base = { name: m.name, description: m.description, unit: m.unit, points: [] };
  if (m.kind === "gauge") return { ...base, type: "gauge" };
  if (m.kind === "updown") return { ...base, type: "sum", monotonic: false, temporality: "cumulative" };
  return { ...base, type: "sum", monotonic: true, temporality };
}

function checkLimits(ttlNs: bigint, maxSeries: number): void {
  if (typeof ttlNs !== "bigint" || ttlNs <= 0n) {
    throw new Error(`seriesTtlNs must be a positive bigint of nanoseconds, got ${String(ttlNs)}`);
  }
  if (!Number.isSafeInteger(maxSeries) || maxSeries < 1) {
    throw new Error(`maxSeries must be a positive integer, got ${String(maxSeries)}`);
  }
}

/**
 * Forgets the series of `state` last observed more than `ttlNs` before `nowNs`, then, while more
 * than `maxSeries` remain, the least recently observed. Returns how many were forgotten.
 *
 * @throws Error when `ttlNs` is not positive or `maxSeries` is not a positive integer.
 */
export function pruneSeries(
  state: SeriesState,
  nowNs: bigint,
  ttlNs: bigint = DEFAULT_SERIES_TTL_NS,
  maxSeries: number = DEFAULT_MAX_SERIES,
): number {
  checkLimits(ttlNs, maxSeries);
  const before = state.series.size;
  for (const [key, e] of state.series) {
    if (nowNs - e.timeNs > ttlNs) state.series.delete(key);
  }
  const excess = state.series.size - maxSeries;
  if (excess > 0) {
    let n = 0;
    for (const key of state.series.keys()) {
      if (n++ >= excess) break;
      state.series.delete(key);
    }
  }
  return before - state.series.size;
}

/** Format version of {@link seriesStateToJson}. */
export const SERIES_STATE_FORMAT = 1;

/**
 * `state` as a JSON-compatible value, to save between runs: `{ "version": 1, "series": [[key,
 * start, value, time], …] }` with the times as decimal strings of nanoseconds, least recently
 * observed series first.
 */
export function seriesStateToJson(state: SeriesState): unknown {
  return {
    version: SERIES_STATE_FORMAT,
    series: [...state.series].map(([key, e]) => [key, e.startNs.toString(), e.value, e.timeNs.toString()]),
  };
}

const NS_PATTERN = /^-?\d{1,30}$/;

function nsOf(v: unknown, where: string): bigint {
  if (typeof v !== "string" || !NS_PATTERN.test(v)) {
    throw new Error(
      `series state: ${where} must be a decimal string of nanoseconds, got ${JSON.stringify(v)}`,
    );
  }
  return BigInt(v);
}

/**
 * The {@link SeriesState} saved by {@link seriesStateToJson}.
 *
 * @throws Error naming the problem when `json` is not such a value (wrong version, an entry that is
 * not `[key, start, value, time]`, a time that is not a decimal string, a value that is not a finite
 * number, a key given twice).
 */
export function seriesStateFromJson(json: unknown): SeriesState {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error("series state: expected an object with version and series");
  }
  const { version, series } = json as Record<string, unknown>;
  if (version !== SERIES_STATE_FORMAT) {
    throw new Error(
      `series state: unsupported version ${JSON.stringify(version)} (expected ${SERIES_STATE_FORMAT})`,
    );
  }
  if (!Array.isArray(series)) throw new Error("series state: series must be an array");
  const state = createSeriesState();
  series.forEach((item: unknown, i) => {
    const where = `entry ${i}`;
    if (!Array.isArray(item) || item.length !== 4) {
      throw new Error(`series state: ${where} must be [key, start, value, time]`);
    }
    const [key, start, value, time] = item;
    if (typeof key !== "string" || key === "") {
      throw new Error(`series state: ${where} key must be a non-empty string`);
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`series state: ${where} value must be a finite number, got ${JSON.stringify(value)}`);
    }
    if (state.series.has(key)) {
      throw new Error(`series state: ${where} repeats series ${JSON.stringify(key)}`);
    }
    state.series.set(key, {
      startNs: nsOf(start, `${where} start`),
      value,
      timeNs: nsOf(time, `${where} time`),
    });
  });
  return state;
}

/** Records an observation, moving the series to the end (most recently observed). */
function observe(state: SeriesState, key: string, entry: SeriesEntry): void {
  state.series.delete(key);
  state.series.set(key, entry);
}

function makePoint(
  m: OtelFamily,
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
    observe(opts.state, key, { startNs, value: v, timeNs: now });
    return { attributes, startTimeUnixNano: startNs, timeUnixNano: now, value: pointValue(m, v) };
  }
  if (prev === undefined) {
    const startNs = reset !== undefined && reset <= now ? reset : now;
    observe(opts.state, key, { startNs, value: v, timeNs: now });
    if (opts.temporality === "delta") return undefined;
    return { attributes, startTimeUnixNano: startNs, timeUnixNano: now, value: pointValue(m, v) };
  }
  const wasReset = v < prev.value || (reset !== undefined && reset > prev.timeNs && reset <= now);
  const restart = reset !== undefined && reset > prev.timeNs && reset <= now ? reset : prev.timeNs;
  const startNs = wasReset ? restart : prev.startNs;
  observe(opts.state, key, { startNs, value: v, timeNs: now });
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
