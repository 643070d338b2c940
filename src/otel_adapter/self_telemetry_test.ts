import assert from "node:assert/strict";
import type { CollectionIssue } from "../core/model.ts";
import type { MetricData } from "./metrics.ts";
import { type ExportCounters, SelfTelemetry } from "./self_telemetry.ts";
import type { QueueCounters } from "./transport/queue.ts";

const START = 1_772_359_000_000_000_000n;
const T1 = START + 30_000_000_000n;
const T2 = START + 60_000_000_000n;

function queue(over: Partial<QueueCounters> = {}): QueueCounters {
  return {
    sent: 0,
    partialSuccesses: 0,
    rejectedItems: 0,
    retried: 0,
    dropped: 0,
    failed: 0,
    queued: 0,
    inFlight: 0,
    bytesQueued: 0,
    ...over,
  };
}

function counters(
  metrics: Partial<QueueCounters>,
  logs: Partial<QueueCounters>,
  encodeFailures = 0,
): ExportCounters {
  return { queues: { metrics: queue(metrics), logs: queue(logs) }, encodeFailures };
}

function issue(component: string, severity: CollectionIssue["severity"], cause = "c"): CollectionIssue {
  return { component, cause, message: `${component} ${cause}`, severity };
}

function find(ms: MetricData[], name: string): MetricData {
  const m = ms.find((x) => x.name === name);
  assert.ok(m, `no metric ${name} in ${ms.map((x) => x.name).join(", ")}`);
  return m;
}

/** The points of `m` as `attributes → [start, time, value]`. */
function points(m: MetricData): Record<string, [bigint | undefined, bigint, bigint | number]> {
  return Object.fromEntries(
    m.points.map((p) => [JSON.stringify(p.attributes), [p.startTimeUnixNano, p.timeUnixNano, p.value]]),
  );
}

const sig = (signal: string) => JSON.stringify({ "pgquerylens.signal": signal });
const out = (signal: string, outcome: string) =>
  JSON.stringify({ "pgquerylens.signal": signal, "pgquerylens.outcome": outcome });
const err = (component: string, severity: string) =>
  JSON.stringify({ "pgquerylens.component": component, "pgquerylens.severity": severity });

Deno.test("cumulative: sums start at the process start and grow; errors per component and severity", () => {
  const t = new SelfTelemetry(START, "cumulative");
  const before = t.metrics(START + 1n, counters({}, {}));
  assert.equal(before.some((m) => m.name === "pgquerylens.collector.cycle.duration"), false);
  assert.equal(before.some((m) => m.name === "pgquerylens.collector.errors"), false);

  t.recordCycle(1250, [
    issue("qpm.slow_queries", "warning"),
    issue("qpm.slow_queries", "warning", "other"),
    issue("base.database", "error"),
    issue("qpm.slow_queries", "debug"),
  ]);
  const first = t.metrics(
    T1,
    counters({ sent: 2, retried: 1, rejectedItems: 3 }, { sent: 1, dropped: 4 }, 1),
  );
  const duration = find(first, "pgquerylens.collector.cycle.duration");
  assert.deepEqual([duration.type, duration.unit], ["gauge", "s"]);
  assert.deepEqual(points(duration), { "{}": [undefined, T1, 1.25] });

  const errors = find(first, "pgquerylens.collector.errors");
  assert.deepEqual([errors.type, errors.monotonic, errors.temporality, errors.unit], [
    "sum",
    true,
    "cumulative",
    "{error}",
  ]);
  assert.deepEqual(points(errors), {
    [err("qpm.slow_queries", "warning")]: [START, T1, 2n],
    [err("base.database", "error")]: [START, T1, 1n],
  });
  assert.deepEqual(points(find(first, "pgquerylens.exporter.requests")), {
    [out("metrics", "sent")]: [START, T1, 2n],
    [out("metrics", "dropped")]: [START, T1, 0n],
    [out("metrics", "failed")]: [START, T1, 0n],
    [out("logs", "sent")]: [START, T1, 1n],
    [out("logs", "dropped")]: [START, T1, 4n],
    [out("logs", "failed")]: [START, T1, 0n],
  });
  assert.deepEqual(points(find(first, "pgquerylens.exporter.retries")), {
    [sig("metrics")]: [START, T1, 1n],
    [sig("logs")]: [START, T1, 0n],
  });
  assert.deepEqual(points(find(first, "pgquerylens.exporter.rejected")), {
    [sig("metrics")]: [START, T1, 3n],
    [sig("logs")]: [START, T1, 0n],
  });
  assert.deepEqual(points(find(first, "pgquerylens.exporter.encode.failures")), { "{}": [START, T1, 1n] });

  t.recordCycle(800, [issue("qpm.slow_queries", "warning"), issue("os", "warning")]);
  const second = t.metrics(
    T2,
    counters({ sent: 5, retried: 1, rejectedItems: 3 }, { sent: 3, dropped: 4 }, 1),
  );
  assert.deepEqual(points(find(second, "pgquerylens.collector.cycle.duration")), {
    "{}": [undefined, T2, 0.8],
  });
  assert.deepEqual(points(find(second, "pgquerylens.collector.errors")), {
    [err("qpm.slow_queries", "warning")]: [START, T2, 3n],
    [err("base.database", "error")]: [START, T2, 1n],
    [err("os", "warning")]: [START, T2, 1n],
  });
  const requests = points(find(second, "pgquerylens.exporter.requests"));
  assert.deepEqual(requests[out("metrics", "sent")], [START, T2, 5n]);
  assert.deepEqual(requests[out("logs", "sent")], [START, T2, 3n]);
  assert.deepEqual(requests[out("logs", "dropped")], [START, T2, 4n]);
});

Deno.test("delta: each point holds the growth since the previous call, starting at its time", () => {
  const t = new SelfTelemetry(START, "delta");
  t.recordCycle(10, [issue("qpm", "warning"), issue("qpm", "warning")]);
  const first = t.metrics(T1, counters({ sent: 2 }, { retried: 3 }));
  const errors = find(first, "pgquerylens.collector.errors");
  assert.equal(errors.temporality, "delta");
  assert.deepEqual(points(errors), { [err("qpm", "warning")]: [START, T1, 2n] });
  assert.deepEqual(points(find(first, "pgquerylens.exporter.retries"))[sig("logs")], [START, T1, 3n]);

  t.recordCycle(10, [issue("qpm", "warning")]);
  const second = t.metrics(T2, counters({ sent: 7 }, { retried: 3 }));
  assert.deepEqual(points(find(second, "pgquerylens.collector.errors")), {
    [err("qpm", "warning")]: [T1, T2, 1n],
  });
  const requests = points(find(second, "pgquerylens.exporter.requests"));
  assert.deepEqual(requests[out("metrics", "sent")], [T1, T2, 5n]);
  assert.deepEqual(requests[out("metrics", "failed")], [T1, T2, 0n]);
  assert.deepEqual(points(find(second, "pgquerylens.exporter.retries"))[sig("logs")], [T1, T2, 0n]);
});

Deno.test("queue size is a gauge in bytes per signal", () => {
  const t = new SelfTelemetry(START, "cumulative");
  const ms = t.metrics(T1, counters({ queued: 2, bytesQueued: 4096 }, { queued: 1, bytesQueued: 512 }));
  const size = find(ms, "pgquerylens.exporter.queue.size");
  assert.deepEqual([size.type, size.unit], ["gauge", "By"]);
  assert.deepEqual(points(size), {
    [sig("metrics")]: [undefined, T1, 4096n],
    [sig("logs")]: [undefined, T1, 512n],
  });
});

Deno.test("summary names the cycle time and, per signal, sent, dropped, retries and more", () => {
  const t = new SelfTelemetry(START, "cumulative");
  const c = counters(
    { sent: 4, queued: 1, bytesQueued: 300, dropped: 2, failed: 1, retried: 6, rejectedItems: 9 },
    { sent: 3 },
    2,
  );
  assert.equal(
    t.summary(c),
    "otlp: metrics: 4 sent, 1 queued (300 bytes), 2 dropped, 1 failed, 6 retries, 9 rejected; " +
      "logs: 3 sent, 0 queued (0 bytes), 0 dropped, 0 failed, 0 retries, 0 rejected; 2 encode failures",
  );
  t.recordCycle(1234.4, []);
  assert.match(t.summary(c), /^otlp: cycle 1234 ms; metrics: 4 sent, /);
});
