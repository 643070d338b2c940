/**
 * Active session history as OTLP: metrics per group of the cycle, the sampler's own counters, and
 * one log record per group.
 *
 * | Metric | Kind | Unit | Attributes |
 * | --- | --- | --- | --- |
 * | `pgquerylens.ash.active_sessions` | gauge, double | `{session}` | group |
 * | `pgquerylens.ash.samples` | monotonic sum, int | `{sample}` | group |
 * | `pgquerylens.ash.cpu.time` | monotonic sum, double | `s` | group (when CPU was measured) |
 * | `pgquerylens.ash.sampler.samples` | monotonic sum, int | `{sample}` | `pgquerylens.outcome` (taken, failed, skipped) |
 * | `pgquerylens.ash.evicted` | monotonic sum, int | `{sample}` | — |
 *
 * "group" is the identity of an aggregate: `db.namespace`, `postgresql.rolname`, `postgresql.state`,
 * `postgresql.wait_event_type`, `postgresql.wait_event` and `postgresql.queryid` (each left out when
 * the aggregate has none). The gauge is the group's average active sessions over the cycle's window;
 * a group without sessions in a cycle gets no point.
 *
 * An aggregate holds one cycle's samples, so the group sums are accumulated across snapshots in the
 * exporter's series state (which a one-shot run saves): a series starts at the first sample it
 * counted; with delta temporality each point is the cycle's own sum since the previous point. A
 * series the state forgot (not seen for its time to live) starts over. The sampler counters are
 * cumulative since `ashStats.sinceUnixMs`, their start time; a new start (a new process) restarts
 * them.
 *
 * Log records, event name `pgquerylens.ash.aggregate`, timed at the window's last sample: the keys of
 * `src/core/ash_catalog.ts` plus `db.system.name` = `postgresql`; integer fields are int
 * attributes, absent values are left out.
 *
 * @module
 */

import { ACTIVE_SESSION_HISTORY } from "../core/ash_catalog.ts";
import type { AshAggregate, UnifiedMetrics } from "../core/model.ts";
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

/** Event name of the per-group log records. */
export const ASH_EVENT_NAME = "pgquerylens.ash.aggregate";

function family(
  name: string,
  kind: "sum" | "gauge",
  unit: string,
  valueType: "int" | "double",
  description: string,
): OtelFamily {
  return { name, unit, kind, valueType, description, contrib: false };
}

/** Every active session history OTLP metric, declared once. */
export const ASH_FAMILIES = {
  activeSessions: family(
    "pgquerylens.ash.active_sessions",
    "gauge",
    "{session}",
    "double",
    "Average active sessions of the group over the cycle (sampled from pg_stat_activity).",
  ),
  samples: family("pgquerylens.ash.samples", "sum", "{sample}", "int", "Session-samples of the group."),
  cpuTime: family(
    "pgquerylens.ash.cpu.time",
    "sum",
    "s",
    "double",
    "CPU time of the group's backends between consecutive samples (server on this host only).",
  ),
  sampler: family(
    "pgquerylens.ash.sampler.samples",
    "sum",
    "{sample}",
    "int",
    "Samples the active session sampler took, failed or skipped, by outcome.",
  ),
  evicted: family(
    "pgquerylens.ash.evicted",
    "sum",
    "{sample}",
    "int",
    "Samples the in-memory ring dropped to stay within its bounds.",
  ),
} as const satisfies Readonly<Record<string, OtelFamily>>;

/** One data point of an active session history metric. */
export type AshPoint = FamilyPoint;

/** How {@link ashPoints} keeps and times its series. */
export type AshPointOptions = SeriesPointOptions;

/** The identity attributes of a group (its metric points' attributes). */
export function groupAttributes(a: AshAggregate): Attributes {
  const attrs: Attributes = {};
  for (const f of ACTIVE_SESSION_HISTORY.fields) {
    if (!f.identity || f.otel === undefined) continue;
    const v = a[f.field];
    if (v !== undefined) attrs[f.otel] = String(v);
  }
  return attrs;
}

/**
 * The active session history metric points of `snapshot` (group gauges and sums, then the sampler
 * counters), updating `o.state`. Empty when the snapshot holds no active session history.
 */
export function ashPoints(
  snapshot: Pick<UnifiedMetrics, "activeSessionHistory" | "ashStats">,
  o: AshPointOptions,
): AshPoint[] {
  const out: AshPoint[] = [];
  const F = ASH_FAMILIES;
  for (const a of snapshot.activeSessionHistory ?? []) {
    const attrs = groupAttributes(a);
    const windowStart = msToNs(a.windowStartUnixMs);
    out.push(
      {
        family: F.activeSessions,
        point: { attributes: attrs, timeUnixNano: o.nowNs, value: a.averageActiveSessions },
      },
      accumulatedPoint("ash", F.samples, attrs, a.samples, windowStart, o),
    );
    if (a.cpuSeconds !== undefined) {
      out.push(accumulatedPoint("ash", F.cpuTime, attrs, a.cpuSeconds, windowStart, o));
    }
  }
  const stats = snapshot.ashStats;
  if (stats !== undefined) {
    const since = msToNs(stats.sinceUnixMs);
    const outcomes: [string, number][] = [
      ["taken", stats.samplesTaken],
      ["failed", stats.sampleFailures],
      ["skipped", stats.samplesSkipped],
    ];
    for (const [outcome, n] of outcomes) {
      out.push(counterPoint("ash", F.sampler, { "pgquerylens.outcome": outcome }, n, since, o));
    }
    out.push(counterPoint("ash", F.evicted, {}, stats.evictedSamples, since, o));
  }
  return out;
}

/** The `pgquerylens.ash.aggregate` log records of `snapshot`'s groups, in order. */
export function ashLogRecords(snapshot: Pick<UnifiedMetrics, "activeSessionHistory">): LogRecordData[] {
  return (snapshot.activeSessionHistory ?? []).map((a) => {
    const attributes: Attributes = { "db.system.name": "postgresql" };
    for (const f of ACTIVE_SESSION_HISTORY.fields) {
      if (f.otel === undefined) continue;
      const v = a[f.field];
      if (v === undefined) continue;
      attributes[f.otel] = f.type === "attribute"
        ? String(v)
        : f.integer
        ? BigInt(Math.round(Number(v)))
        : Number(v);
    }
    return { eventName: ASH_EVENT_NAME, timeUnixNano: msToNs(a.windowEndUnixMs), attributes };
  });
}
