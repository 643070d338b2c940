import assert from "node:assert/strict";
import { decodeExportResponse, encodeLogsRequest, encodeMetricsRequest } from "./otlp_proto.ts";
import {
  FIXTURE_INSTANCE,
  fixtureSnapshot,
  partialSuccessBody,
  startOtlpServer,
  testSettings,
  unreachableEndpoint,
} from "./testing.ts";

const value = (s: ReturnType<typeof fixtureSnapshot>, name: string) =>
  s.baseSamples.flatMap((b) => b.metrics).find((m) => m.name === name)?.value;

Deno.test("fixtureSnapshot: counters grow with `grow`, gauges do not; one slow query and one wait event", () => {
  const at = new Date("2026-03-01T10:00:00Z");
  const a = fixtureSnapshot(at, 0);
  const b = fixtureSnapshot(at, 3);
  assert.equal(a.instance, FIXTURE_INSTANCE);
  assert.equal(a.collectedAt, at);
  assert.equal(Number(value(b, "db.commitsPerSecond")) - Number(value(a, "db.commitsPerSecond")), 30);
  assert.equal(
    Number(value(b, "table.indexBlocksReadPerSecond")) - Number(value(a, "table.indexBlocksReadPerSecond")),
    3,
  );
  assert.equal(value(b, "table.liveRows"), value(a, "table.liveRows"));
  assert.equal(b.slowQueries[0].executionCount - a.slowQueries[0].executionCount, 3);
  assert.equal(a.waitEvents.length, 1);
  const other = { ...FIXTURE_INSTANCE, host: "other.example.internal" };
  assert.equal(fixtureSnapshot(at, 0, other).baseSamples[0].entity.name, "other.example.internal:5432");
});

Deno.test("testSettings: HTTP/protobuf to <endpoint>/v1/<signal>, overrides applied", () => {
  const s = testSettings("http://127.0.0.1:9", { timeoutMs: 250, temporality: "delta" });
  assert.equal(s.transports.metrics.endpoint, "http://127.0.0.1:9/v1/metrics");
  assert.equal(s.transports.logs.endpoint, "http://127.0.0.1:9/v1/logs");
  assert.equal(s.transports.logs.protocol, "http/protobuf");
  assert.equal(s.transports.metrics.timeoutMs, 250);
  assert.equal(s.temporality, "delta");
});

Deno.test("partialSuccessBody decodes to the given partial success of each signal", () => {
  assert.deepEqual(decodeExportResponse("metrics", partialSuccessBody("metrics", 7, "bad points")), {
    rejected: 7,
    errorMessage: "bad points",
  });
  assert.deepEqual(decodeExportResponse("logs", partialSuccessBody("logs", 2, "bad records")), {
    rejected: 2,
    errorMessage: "bad records",
  });
});

Deno.test("startOtlpServer: scripted replies per signal, requests recorded and decoded, held replies released", async () => {
  await using srv = startOtlpServer((signal, n) =>
    signal === "logs" ? "hang" : n === 0 ? { status: 503, headers: { "retry-after": "7" } } : { status: 200 }
  );
  const post = (path: string, body: Uint8Array) =>
    fetch(`${srv.endpoint}${path}`, { method: "POST", body: body as Uint8Array<ArrayBuffer> });
  const metricsBody = encodeMetricsRequest({ resourceMetrics: [] });
  const first = await post("/v1/metrics", metricsBody);
  assert.deepEqual([first.status, first.headers.get("retry-after")], [503, "7"]);
  await first.body?.cancel();
  const second = await post("/v1/metrics", metricsBody);
  assert.equal(second.status, 200);
  await second.body?.cancel();
  const unknown = await post("/v1/traces", new Uint8Array());
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();

  let answered = false;
  const held = post("/v1/logs", encodeLogsRequest({ resourceLogs: [] })).then((r) => {
    answered = true;
    return r;
  });
  while (srv.received.length < 3) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false);
  srv.release();
  const r = await held;
  assert.equal(r.status, 200);
  await r.body?.cancel();
  assert.deepEqual(srv.received.map((x) => x.signal), ["metrics", "metrics", "logs"]);
  assert.deepEqual(srv.metrics().map((m) => m.resourceMetrics), [[], []]);
  assert.deepEqual(srv.logs().map((m) => m.resourceLogs), [[]]);
});

Deno.test("unreachableEndpoint: connections are refused", async () => {
  await assert.rejects(fetch(unreachableEndpoint(), { method: "POST" }));
});
