import assert from "node:assert/strict";
import { startReceiver } from "../../tests/support/oteltest.ts";
import { waitUntil } from "../../tests/support/workload.ts";
import { createLogger } from "../core/log.ts";
import type { UnifiedMetrics } from "../core/model.ts";
import { createOtelExporter } from "./exporter.ts";
import type { Metric } from "./otlp_proto.ts";
import { MIN_QUEUE_BYTES } from "./settings.ts";
import {
  fixtureSnapshot,
  partialSuccessBody,
  startOtlpServer,
  testSettings,
  unreachableEndpoint,
} from "./testing.ts";

const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
/** Retries every 20 ms or less, giving a request up after 100 ms. */
const FAST_RETRY = { initialIntervalMs: 20, multiplier: 1, maxIntervalMs: 20, maxElapsedMs: 100 };

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger("debug", (l) => lines.push(l)) };
}

/** The value of `name`'s point with `attrs` in a decoded metrics request's metrics. */
function selfValue(metrics: Metric[], name: string, attrs: Record<string, string> = {}): bigint | number {
  const m = metrics.find((x) => x.name === name);
  assert.ok(m && m.kind !== "histogram", `no ${name}`);
  const p = m.dataPoints.find((d) =>
    JSON.stringify(Object.fromEntries((d.attributes ?? []).map((kv) => [kv.key, kv.value]))) ===
      JSON.stringify(attrs)
  );
  assert.ok(p, `${name} has no point ${JSON.stringify(attrs)}`);
  return p.value;
}

Deno.test("exportSnapshot never waits for the network: the queues fill, stay bounded, and retry in the background", async () => {
  const { lines, logger } = capture();
  const endpoint = unreachableEndpoint();
  const exporter = await createOtelExporter({
    settings: testSettings(endpoint, { queueBytes: MIN_QUEUE_BYTES }),
    logger,
    backoff: FAST_RETRY,
  });
  let ticked = false;
  queueMicrotask(() => ticked = true);
  const t0 = performance.now();
  const result: unknown = exporter.exportSnapshot(fixtureSnapshot(T0, 0), 12);
  exporter.exportSnapshot(fixtureSnapshot(T1, 1), 12);
  const after = exporter.counters();
  const elapsed = performance.now() - t0;
  // Returned before any promise job ran: nothing was awaited, and the requests are already queued
  // (the first of each signal is with the sender, the second waits).
  assert.equal(result, undefined);
  assert.equal(ticked, false);
  assert.ok(elapsed < 1000, `${elapsed} ms`);
  for (const signal of ["metrics", "logs"] as const) {
    assert.equal(after.queues[signal].queued, 1, signal);
    assert.ok(after.queues[signal].bytesQueued > 0, signal);
    assert.equal(after.queues[signal].sent, 0, signal);
  }

  // Many more cycles: the oldest requests are dropped so the queue stays within its bound.
  for (let i = 2; i < 200; i++) {
    exporter.exportSnapshot(fixtureSnapshot(new Date(T0.getTime() + i * 1000), i), 12);
  }
  const full = exporter.counters().queues;
  for (const signal of ["metrics", "logs"] as const) {
    assert.ok(full[signal].bytesQueued <= MIN_QUEUE_BYTES, `${signal}: ${full[signal].bytesQueued}`);
  }
  assert.ok(full.metrics.dropped > 0, JSON.stringify(full.metrics));
  assert.equal(
    full.metrics.dropped + full.metrics.queued + 1,
    200,
    "every request is in flight, waiting or dropped",
  );

  // The oldest request is retried, then given up on; the next one is tried.
  await waitUntil("retries", () => {
    const m = exporter.counters().queues.metrics;
    return Promise.resolve(m.retried >= 2 && m.failed >= 1);
  });
  const t1 = performance.now();
  await exporter.close(2000);
  assert.ok(performance.now() - t1 < 2500);
  await exporter.flush(5000);
  const closed = exporter.counters().queues;
  assert.equal(closed.metrics.sent, 0);
  assert.equal(closed.metrics.failed, 200 - closed.metrics.dropped);
  assert.equal(closed.metrics.queued, 0);
  // Failures are warned about once per reason, however many requests failed.
  const warnings = lines.filter((l) => l.startsWith("[WARN]"));
  assert.equal(
    warnings.filter((l) =>
      l.startsWith(`[WARN] OTLP metrics export to ${endpoint}/v1/metrics failed: connection failed`)
    )
      .length,
    1,
    warnings.join("\n"),
  );
  assert.equal(warnings.filter((l) => l.includes(" OTLP logs export ")).length, 1, warnings.join("\n"));
});

Deno.test("a partial success counts the rejected items and logs the server's message once", async () => {
  const messages = { metrics: "bad points", logs: "bad records" };
  const rejected = { metrics: 3, logs: 2 };
  await using srv = startOtlpServer((signal) => ({
    status: 200,
    body: partialSuccessBody(signal, rejected[signal], messages[signal]),
  }));
  const { lines, logger } = capture();
  const settings = testSettings(srv.endpoint);
  const exporter = await createOtelExporter({ settings, logger });
  const withCustom = (s: UnifiedMetrics) => {
    s.baseSamples[1].metrics.push({ name: "custom.queueDepth", sourceType: "gauge", value: 9 });
    return s;
  };
  exporter.exportSnapshot(withCustom(fixtureSnapshot(T0, 0)), 40);
  assert.equal(await exporter.flush(5000), true);
  exporter.exportSnapshot(withCustom(fixtureSnapshot(T1, 4)), 60);
  assert.equal(await exporter.flush(5000), true);
  await exporter.close(1000);

  const q = exporter.counters().queues;
  assert.deepEqual(
    [q.metrics.sent, q.metrics.partialSuccesses, q.metrics.rejectedItems, q.metrics.failed],
    [2, 2, 6, 0],
  );
  assert.deepEqual([q.logs.sent, q.logs.partialSuccesses, q.logs.rejectedItems, q.logs.failed], [2, 2, 4, 0]);
  const warnings = lines.filter((l) => l.startsWith("[WARN]"));
  assert.deepEqual(warnings, [
    `[WARN] OTLP metrics export to ${settings.transports.metrics.endpoint}: partial success: bad points`,
    `[WARN] OTLP logs export to ${settings.transports.logs.endpoint}: partial success: bad records`,
  ]);
  assert.deepEqual(lines.filter((l) => l.includes("without an OTLP mapping")), [
    "[DEBUG] OTLP: metrics without an OTLP mapping: custom.queueDepth",
  ]);
  assert.equal(lines.filter((l) => l.startsWith("[DEBUG] otlp: cycle ")).length, 2);

  // The second cycle's self telemetry shows the first cycle's outcome.
  const [first, second] = srv.metrics();
  assert.equal(srv.metrics().length, 2);
  const own = (req: typeof first) => req.resourceMetrics[0].scopeMetrics[0].metrics;
  assert.equal(
    selfValue(own(first), "pgquerylens.exporter.rejected", { "pgquerylens.signal": "metrics" }),
    0n,
  );
  assert.equal(
    selfValue(own(second), "pgquerylens.exporter.rejected", { "pgquerylens.signal": "metrics" }),
    3n,
  );
  assert.equal(selfValue(own(second), "pgquerylens.exporter.rejected", { "pgquerylens.signal": "logs" }), 2n);
  assert.equal(
    selfValue(own(second), "pgquerylens.exporter.requests", {
      "pgquerylens.signal": "metrics",
      "pgquerylens.outcome": "sent",
    }),
    1n,
  );
  assert.equal(selfValue(own(second), "pgquerylens.collector.cycle.duration"), 0.06);
  // The state carried to the next run holds what was observed.
  assert.equal(exporter.state().topQueries.previous.size, 1);
  assert.ok(exporter.state().series.series.size >= 4);
  // The second cycle's logs carry the top query (seen in the first).
  const events = srv.logs()[1].resourceLogs[0].scopeLogs[0].logRecords.map((r) => r.eventName);
  assert.deepEqual(events.sort(), ["db.server.top_query", "pgquerylens.wait_event"]);
});

Deno.test("a snapshot whose resources cannot be built: counted, logged, logs and self telemetry still exported", async () => {
  await using rx = await startReceiver();
  const { lines, logger } = capture();
  const exporter = await createOtelExporter({ settings: testSettings(rx.httpEndpoint), logger });
  const snap = fixtureSnapshot(T0, 0);
  snap.baseSamples.push({
    entity: {
      name: "orphan",
      type: "pg-table",
      idAttributes: [{ key: "host", value: "db1.example.internal" }, { key: "pg-schema", value: "public" }],
    },
    eventType: "PostgresqlTableSample",
    metrics: [{ name: "table.liveRows", sourceType: "gauge", value: 1 }],
  });
  exporter.exportSnapshot(snap, 5);
  assert.equal(exporter.counters().encodeFailures, 1);
  assert.equal(await exporter.flush(10_000), true);
  await exporter.close(1000);
  assert.deepEqual(lines.filter((l) => l.startsWith("[ERROR]")), [
    '[ERROR] OTLP metrics of this cycle not exported: pg-table entity "orphan" has no "pg-database" identity attribute',
  ]);

  const { metrics, logs } = await rx.received();
  assert.equal(metrics.length, 1);
  // deno-lint-ignore no-explicit-any
  const resources = (metrics[0].request as any).resourceMetrics;
  assert.equal(resources.length, 1);
  // deno-lint-ignore no-explicit-any
  const names: string[] = resources[0].scopeMetrics[0].metrics.map((m: any) => m.name);
  assert.ok(names.length > 0 && names.every((n) => n.startsWith("pgquerylens.")), names.join(", "));
  // deno-lint-ignore no-explicit-any
  const failures = resources[0].scopeMetrics[0].metrics.find((m: any) =>
    m.name === "pgquerylens.exporter.encode.failures"
  );
  assert.equal(failures.sum.dataPoints[0].asInt, "1");
  assert.equal(logs.length, 1);
  // deno-lint-ignore no-explicit-any
  const records = (logs[0].request as any).resourceLogs[0].scopeLogs[0].logRecords;
  // deno-lint-ignore no-explicit-any
  assert.deepEqual(records.map((r: any) => r.eventName), ["pgquerylens.wait_event"]);
});

Deno.test("flush gives up at its timeout against a server that never answers; close is bounded", async () => {
  await using srv = startOtlpServer(() => "hang");
  const { logger } = capture();
  const exporter = await createOtelExporter({
    settings: testSettings(srv.endpoint, { timeoutMs: 20_000 }),
    logger,
  });
  exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
  await waitUntil("both requests to arrive", () => Promise.resolve(srv.received.length === 2));
  const t0 = performance.now();
  assert.equal(await exporter.flush(300), false);
  const waited = performance.now() - t0;
  assert.ok(waited >= 290 && waited < 2000, `flush took ${waited} ms`);

  const t1 = performance.now();
  await exporter.close(300);
  const closing = performance.now() - t1;
  assert.ok(closing >= 290 && closing < 2000, `close took ${closing} ms`);
  assert.equal(exporter.counters().queues.metrics.sent, 0);

  // Once the server answers, the requests in flight complete.
  srv.release();
  assert.equal(await exporter.flush(5000), true);
  assert.deepEqual([exporter.counters().queues.metrics.sent, exporter.counters().queues.logs.sent], [1, 1]);
});

Deno.test("flush resolves true as soon as everything is delivered", async () => {
  await using srv = startOtlpServer();
  const { lines, logger } = capture();
  const exporter = await createOtelExporter({ settings: testSettings(srv.endpoint), logger });
  assert.equal(await exporter.flush(0), true);
  exporter.exportSnapshot(fixtureSnapshot(T0, 0), 5);
  const t0 = performance.now();
  assert.equal(await exporter.flush(10_000), true);
  assert.ok(performance.now() - t0 < 5000);
  await exporter.close(1000);
  assert.deepEqual(srv.received.map((r) => r.signal).sort(), ["logs", "metrics"]);
  assert.deepEqual(lines.filter((l) => !l.startsWith("[DEBUG]")), []);
  const commits = srv.metrics()[0].resourceMetrics.flatMap((rm) => rm.scopeMetrics[0].metrics).find((m) =>
    m.name === "postgresql.commits"
  );
  assert.ok(commits?.kind === "sum");
  assert.equal(commits.dataPoints[0].value, 981234n);
});
