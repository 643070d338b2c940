/**
 * The collector's own telemetry, exported with the rest on the instance resource and logged at
 * `-verbose`:
 *
 * | Metric | Kind | Unit | Attributes |
 * | --- | --- | --- | --- |
 * | `pgquerylens.collector.cycle.duration` | gauge | s | |
 * | `pgquerylens.collector.errors` | monotonic sum | {error} | `pgquerylens.component`, `pgquerylens.severity` (warning, error) |
 * | `pgquerylens.exporter.queue.size` | gauge | By | `pgquerylens.signal` |
 * | `pgquerylens.exporter.requests` | monotonic sum | {request} | `pgquerylens.signal`, `pgquerylens.outcome` (sent, dropped, failed) |
 * | `pgquerylens.exporter.retries` | monotonic sum | {retry} | `pgquerylens.signal` |
 * | `pgquerylens.exporter.rejected` | monotonic sum | {item} | `pgquerylens.signal` (partial successes) |
 * | `pgquerylens.exporter.encode.failures` | monotonic sum | {failure} | |
 *
 * The sums count from the start of the process, which is their start time; with delta
 * temporality each point holds the growth since the previous export. Queue counters describe the
 * state at the end of the cycle, so an export's own outcome shows in the next cycle's values.
 *
 * @module
 */

import type { CollectionIssue } from "../core/model.ts";
import type { MetricData, Temporality } from "./metrics.ts";
import type { Attributes } from "./resource.ts";
import type { QueueCounters } from "./transport/queue.ts";
import type { OtlpSignal } from "./transport/endpoint.ts";

/** Counters of the export side, read when the telemetry is built. */
export interface ExportCounters {
  /** Queue counters per signal. */
  readonly queues: Readonly<Record<OtlpSignal, QueueCounters>>;
  /** Snapshots (or parts) that could not be turned into requests. */
  readonly encodeFailures: number;
}

interface SumSpec {
  name: string;
  unit: string;
  description: string;
  attributes: Attributes;
  value: number;
}

/** Accumulates the collector's own counters and turns them into metrics. */
export class SelfTelemetry {
  readonly #startNs: bigint;
  readonly #temporality: Temporality;
  readonly #errors = new Map<string, { component: string; severity: string; count: number }>();
  readonly #previous = new Map<string, { value: number; timeNs: bigint }>();
  #lastDurationMs: number | undefined;

  /**
   * @param startNs start of the process (start time of every sum)
   * @param temporality temporality of the sums
   */
  constructor(startNs: bigint, temporality: Temporality) {
    this.#startNs = startNs;
    this.#temporality = temporality;
  }

  /** Records one finished cycle: its duration and the warnings and errors it reported. */
  recordCycle(durationMs: number, issues: readonly CollectionIssue[]): void {
    this.#lastDurationMs = durationMs;
    for (const issue of issues) {
      if (issue.severity === "debug") continue;
      const key = `${issue.component}\u0000${issue.severity}`;
      const entry = this.#errors.get(key) ??
        { component: issue.component, severity: issue.severity, count: 0 };
      entry.count++;
      this.#errors.set(key, entry);
    }
  }

  /** The metrics at `nowNs`, with `counters` of the export side. */
  metrics(nowNs: bigint, counters: ExportCounters): MetricData[] {
    const out: MetricData[] = [];
    if (this.#lastDurationMs !== undefined) {
      out.push({
        name: "pgquerylens.collector.cycle.duration",
        description: "Duration of the last collection cycle.",
        unit: "s",
        type: "gauge",
        points: [{ attributes: {}, timeUnixNano: nowNs, value: this.#lastDurationMs / 1000 }],
      });
    }
    out.push({
      name: "pgquerylens.exporter.queue.size",
      description: "Encoded requests waiting in the export queue.",
      unit: "By",
      type: "gauge",
      points: signals(counters).map(([signal, q]) => ({
        attributes: { "pgquerylens.signal": signal },
        timeUnixNano: nowNs,
        value: BigInt(q.bytesQueued),
      })),
    });
    const sums: SumSpec[] = [];
    for (const e of this.#errors.values()) {
      sums.push({
        name: "pgquerylens.collector.errors",
        unit: "{error}",
        description: "Warnings and errors reported by the collectors, by component.",
        attributes: { "pgquerylens.component": e.component, "pgquerylens.severity": e.severity },
        value: e.count,
      });
    }
    for (const [signal, q] of signals(counters)) {
      const outcomes: [string, number][] = [["sent", q.sent], ["dropped", q.dropped], ["failed", q.failed]];
      for (const [outcome, value] of outcomes) {
        sums.push({
          name: "pgquerylens.exporter.requests",
          unit: "{request}",
          description: "Export requests by outcome: sent, dropped when the queue was full, failed.",
          attributes: { "pgquerylens.signal": signal, "pgquerylens.outcome": outcome },
          value,
        });
      }
      sums.push({
        name: "pgquerylens.exporter.retries",
        unit: "{retry}",
        description: "Export attempts repeated after a retryable failure.",
        attributes: { "pgquerylens.signal": signal },
        value: q.retried,
      }, {
        name: "pgquerylens.exporter.rejected",
        unit: "{item}",
        description: "Data points or log records the receiver rejected in partial successes.",
        attributes: { "pgquerylens.signal": signal },
        value: q.rejectedItems,
      });
    }
    sums.push({
      name: "pgquerylens.exporter.encode.failures",
      unit: "{failure}",
      description: "Snapshots or parts of snapshots that could not be encoded for export.",
      attributes: {},
      value: counters.encodeFailures,
    });
    out.push(...this.#sumMetrics(sums, nowNs));
    return out;
  }

  /** One log line summarizing the export counters. */
  summary(counters: ExportCounters): string {
    const parts = signals(counters).map(([signal, q]) =>
      `${signal}: ${q.sent} sent, ${q.queued} queued (${q.bytesQueued} bytes), ${q.dropped} dropped, ` +
      `${q.failed} failed, ${q.retried} retries, ${q.rejectedItems} rejected`
    );
    const duration = this.#lastDurationMs === undefined
      ? ""
      : `cycle ${Math.round(this.#lastDurationMs)} ms; `;
    return `otlp: ${duration}${parts.join("; ")}; ${counters.encodeFailures} encode failures`;
  }

  #sumMetrics(specs: readonly SumSpec[], nowNs: bigint): MetricData[] {
    const byName = new Map<string, MetricData>();
    for (const s of specs) {
      let m = byName.get(s.name);
      if (m === undefined) {
        m = {
          name: s.name,
          description: s.description,
          unit: s.unit,
          type: "sum",
          monotonic: true,
          temporality: this.#temporality,
          points: [],
        };
        byName.set(s.name, m);
      }
      const key = `${s.name}\u0000${JSON.stringify(Object.entries(s.attributes))}`;
      const prev = this.#previous.get(key) ?? { value: 0, timeNs: this.#startNs };
      this.#previous.set(key, { value: s.value, timeNs: nowNs });
      const delta = this.#temporality === "delta";
      m.points.push({
        attributes: s.attributes,
        startTimeUnixNano: delta ? prev.timeNs : this.#startNs,
        timeUnixNano: nowNs,
        value: BigInt(delta ? s.value - prev.value : s.value),
      });
    }
    return [...byName.values()];
  }
}

function signals(counters: ExportCounters): [OtlpSignal, QueueCounters][] {
  return (["metrics", "logs"] as const).map((s) => [s, counters.queues[s]]);
}
