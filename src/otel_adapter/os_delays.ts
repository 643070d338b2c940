/**
 * The eBPF tier as OTLP: one log record per traced query, time sums by scheduler state, and the
 * program's own counters.
 *
 * | Metric | Kind | Unit | Attributes |
 * | --- | --- | --- | --- |
 * | `pgquerylens.os.query.time` | monotonic sum, double | `s` | `db.namespace`, `pgquerylens.os.state` (on_cpu, run_queue, io_wait, sleep) |
 * | `pgquerylens.os.queries` | monotonic sum, int | `{query}` | `db.namespace` |
 * | `pgquerylens.ebpf.probe.hits` | monotonic sum, int | `{hit}` | — |
 * | `pgquerylens.ebpf.queries` | monotonic sum, int | `{query}` | `pgquerylens.outcome` (emitted, below_threshold, ring_full, orphaned, unsampled, inflight_full) |
 *
 * `db.namespace` is left out for queries whose backend was gone before the cycle could name its
 * database. The time and query sums cover the exported queries (those at or above the threshold):
 * each cycle's are accumulated in the exporter's series state (which a one-shot run saves); a series
 * starts at the start of the first query it counted, and with delta temporality each point is the
 * cycle's own sum. The program's counters are cumulative since `ebpfStats.sinceUnixMs`, their start
 * time; a new start (a new process) restarts them.
 *
 * Log records, event name `pgquerylens.query.os_delay`, timed at the query's start: the keys of
 * `src/core/os_delay_catalog.ts` plus `db.system.name` = `postgresql`; `pgquerylens.aborted` is a
 * bool attribute, other integers int attributes, times in ms as doubles; absent values are left out.
 *
 * @module
 */

import { QUERY_OS_DELAYS } from "../core/os_delay_catalog.ts";
import type { QueryOsDelay, UnifiedMetrics } from "../core/model.ts";
import type { LogRecordData } from "./logs.ts";
import {
  accumulatedPoint,
  counterPoint,
  type FamilyPoint,
  msToNs,
  type SeriesPointOptions,
} from "./series_points.ts";
import type { OtelFamily } from "./metric_catalog.ts";
import type { Attributes } from "./resource.ts";

/** Event name of the per-query log records. */
export const OS_DELAY_EVENT_NAME = "pgquerylens.query.os_delay";

function sum(name: string, unit: string, valueType: "int" | "double", description: string): OtelFamily {
  return { name, unit, kind: "sum", valueType, description, contrib: false };
}

/** Every eBPF tier OTLP metric, declared once. */
export const OS_DELAY_FAMILIES = {
  queryTime: sum(
    "pgquerylens.os.query.time",
    "s",
    "double",
    "Time of the traced queries by scheduler state (on CPU, run queue, I/O wait, sleep).",
  ),
  queries: sum("pgquerylens.os.queries", "{query}", "int", "Queries the eBPF tier traced and exported."),
  probeHits: sum(
    "pgquerylens.ebpf.probe.hits",
    "{hit}",
    "int",
    "Hits of the eBPF tier's query probes (each one traps into the kernel).",
  ),
  outcomes: sum(
    "pgquerylens.ebpf.queries",
    "{query}",
    "int",
    "Queries the eBPF program saw, by outcome (emitted, below the threshold, or lost).",
  ),
} as const satisfies Readonly<Record<string, OtelFamily>>;

/** The scheduler states of `pgquerylens.os.state` and the fields holding their times. */
export const OS_STATES: readonly {
  state: string;
  field: "onCpuMs" | "runQueueMs" | "ioWaitMs" | "sleepMs";
}[] = [
  { state: "on_cpu", field: "onCpuMs" },
  { state: "run_queue", field: "runQueueMs" },
  { state: "io_wait", field: "ioWaitMs" },
  { state: "sleep", field: "sleepMs" },
];

/** One data point of an eBPF tier metric. */
export type OsDelayPoint = FamilyPoint;

/** How {@link osDelayPoints} keeps and times its series. */
export type OsDelayPointOptions = SeriesPointOptions;

const usToNs = (us: number) => BigInt(Math.round(us)) * 1_000n;

interface DatabaseSums {
  attrs: Attributes;
  firstUs: number;
  queries: number;
  ms: Record<(typeof OS_STATES)[number]["field"], number>;
}

function byDatabase(rows: readonly QueryOsDelay[]): DatabaseSums[] {
  const groups = new Map<string, DatabaseSums>();
  for (const r of rows) {
    const key = r.databaseName ?? "\0";
    let g = groups.get(key);
    if (!g) {
      g = {
        attrs: r.databaseName === undefined ? {} : { "db.namespace": r.databaseName },
        firstUs: r.startUnixUs,
        queries: 0,
        ms: { onCpuMs: 0, runQueueMs: 0, ioWaitMs: 0, sleepMs: 0 },
      };
      groups.set(key, g);
    }
    g.firstUs = Math.min(g.firstUs, r.startUnixUs);
    g.queries++;
    for (const { field } of OS_STATES) g.ms[field] += r[field];
  }
  return [...groups.values()];
}

/**
 * The eBPF tier's metric points of `snapshot` (per-database sums, then the program's counters),
 * updating `o.state`. Empty when the snapshot holds nothing of the tier.
 */
export function osDelayPoints(
  snapshot: Pick<UnifiedMetrics, "queryOsDelays" | "ebpfStats">,
  o: OsDelayPointOptions,
): OsDelayPoint[] {
  const out: OsDelayPoint[] = [];
  const F = OS_DELAY_FAMILIES;
  for (const g of byDatabase(snapshot.queryOsDelays ?? [])) {
    const first = usToNs(g.firstUs);
    for (const { state, field } of OS_STATES) {
      const attrs = { ...g.attrs, "pgquerylens.os.state": state };
      out.push(accumulatedPoint("ebpf", F.queryTime, attrs, g.ms[field] / 1000, first, o));
    }
    out.push(accumulatedPoint("ebpf", F.queries, g.attrs, g.queries, first, o));
  }
  const stats = snapshot.ebpfStats;
  if (stats !== undefined) {
    const since = msToNs(stats.sinceUnixMs);
    out.push(counterPoint("ebpf", F.probeHits, {}, stats.probeHits, since, o));
    const outcomes: [string, number][] = [
      ["emitted", stats.eventsEmitted],
      ["below_threshold", stats.belowThreshold],
      ["ring_full", stats.ringFull],
      ["orphaned", stats.orphaned],
      ["unsampled", stats.unsampled],
      ["inflight_full", stats.inflightFull],
    ];
    for (const [outcome, n] of outcomes) {
      out.push(counterPoint("ebpf", F.outcomes, { "pgquerylens.outcome": outcome }, n, since, o));
    }
  }
  return out;
}

/** The `pgquerylens.query.os_delay` log records of `snapshot`'s traced queries, in order. */
export function osDelayLogRecords(snapshot: Pick<UnifiedMetrics, "queryOsDelays">): LogRecordData[] {
  return (snapshot.queryOsDelays ?? []).map((r) => {
    const attributes: Attributes = { "db.system.name": "postgresql" };
    for (const f of QUERY_OS_DELAYS.fields) {
      if (f.otel === undefined) continue;
      const v = r[f.field];
      if (v === undefined) continue;
      attributes[f.otel] = typeof v === "boolean"
        ? v
        : f.type === "attribute"
        ? String(v)
        : f.integer
        ? BigInt(Math.round(Number(v)))
        : Number(v);
    }
    return { eventName: OS_DELAY_EVENT_NAME, timeUnixNano: usToNs(r.startUnixUs), attributes };
  });
}
