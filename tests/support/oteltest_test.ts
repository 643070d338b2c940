import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { encodeLogsRequest, encodeMetricsRequest } from "../../src/otel_adapter/otlp_proto.ts";
import { parseReceived, startReceiver } from "./oteltest.ts";

const PROTOBUF = { "content-type": "application/x-protobuf" };
const T = 1_760_000_000_123_456_789n;

// deno-lint-ignore no-explicit-any
type Json = any;

async function post(url: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: PROTOBUF, body });
  await res.body?.cancel();
  strictEqual(res.status, 200, `POST ${url}`);
}

Deno.test("the receiver gets exactly the metrics and log events posted over OTLP/HTTP protobuf", async () => {
  await using receiver = await startReceiver();
  strictEqual(receiver.httpEndpoint, `http://127.0.0.1:${receiver.httpPort}`);
  strictEqual(receiver.grpcEndpoint, `127.0.0.1:${receiver.grpcPort}`);
  deepStrictEqual(await receiver.received(), { metrics: [], logs: [] });

  await post(
    `${receiver.httpEndpoint}/v1/metrics`,
    encodeMetricsRequest({
      resourceMetrics: [{
        resource: { attributes: [{ key: "service.name", value: "pgquerylens-test" }] },
        scopeMetrics: [{
          scope: { name: "pgquerylens", version: "0.1.0" },
          metrics: [
            {
              kind: "sum",
              name: "postgresql.commits",
              unit: "1",
              temporality: "cumulative",
              isMonotonic: true,
              dataPoints: [{
                attributes: [{ key: "postgresql.database.name", value: "shop" }, {
                  key: "big",
                  value: 1n << 62n,
                }],
                startTimeUnixNano: T,
                timeUnixNano: T + 1n,
                value: 42n,
              }],
            },
            { kind: "gauge", name: "postgresql.backends", dataPoints: [{ timeUnixNano: T, value: 2.5 }] },
          ],
        }],
      }],
    }),
  );
  await post(
    `${receiver.httpEndpoint}/v1/logs`,
    encodeLogsRequest({
      resourceLogs: [{
        resource: { attributes: [{ key: "service.name", value: "pgquerylens-test" }] },
        scopeLogs: [{
          scope: { name: "pgquerylens" },
          logRecords: [
            { timeUnixNano: T, eventName: "db.server.query_sample", severityNumber: 9, body: "SELECT 1" },
            {
              timeUnixNano: T,
              eventName: "db.server.top_query",
              attributes: [{ key: "db.query.text", value: "q" }],
            },
          ],
        }],
      }],
    }),
  );

  const { metrics, logs } = await receiver.received();
  strictEqual(metrics.length, 1);
  strictEqual(logs.length, 1);
  strictEqual(metrics[0].transport, "http");
  strictEqual(
    metrics[0].headers["content-type"] ?? metrics[0].headers["Content-Type"],
    "application/x-protobuf",
  );

  const rm: Json = (metrics[0].request as Json).resourceMetrics[0];
  deepStrictEqual(rm.resource.attributes, [{
    key: "service.name",
    value: { stringValue: "pgquerylens-test" },
  }]);
  deepStrictEqual(rm.scopeMetrics[0].scope, { name: "pgquerylens", version: "0.1.0" });
  const [commits, backends] = rm.scopeMetrics[0].metrics;
  deepStrictEqual(commits, {
    name: "postgresql.commits",
    unit: "1",
    sum: {
      dataPoints: [{
        attributes: [
          { key: "postgresql.database.name", value: { stringValue: "shop" } },
          { key: "big", value: { intValue: "4611686018427387904" } },
        ],
        startTimeUnixNano: "1760000000123456789",
        timeUnixNano: "1760000000123456790",
        asInt: "42",
      }],
      aggregationTemporality: 2,
      isMonotonic: true,
    },
  });
  deepStrictEqual(backends, {
    name: "postgresql.backends",
    gauge: { dataPoints: [{ timeUnixNano: "1760000000123456789", asDouble: 2.5 }] },
  });

  const records: Json[] = (logs[0].request as Json).resourceLogs[0].scopeLogs[0].logRecords;
  deepStrictEqual(records.map((r) => r.eventName), ["db.server.query_sample", "db.server.top_query"]);
  deepStrictEqual(records[0].body, { stringValue: "SELECT 1" });
  strictEqual(records[0].severityNumber, 9);
  deepStrictEqual(records[1].attributes, [{ key: "db.query.text", value: { stringValue: "q" } }]);
});

Deno.test("the gRPC port listens on loopback while the receiver runs, and not after stop", async () => {
  const receiver = await startReceiver();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.grpcPort });
  conn.close();
  await receiver.stop();
  await receiver.stop();
  await rejects(
    Deno.connect({ hostname: "127.0.0.1", port: receiver.grpcPort }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("two receivers run side by side on distinct ports", async () => {
  await using a = await startReceiver();
  await using b = await startReceiver();
  strictEqual(new Set([a.grpcPort, a.httpPort, b.grpcPort, b.httpPort]).size, 4);
});

Deno.test("parseReceived splits the record by signal and names a corrupt line", () => {
  const line = (signal: string) => JSON.stringify({ signal, transport: "grpc", headers: {}, request: {} });
  const parsed = parseReceived(
    `${line("metrics")}\n${line("traces")}\n${line("logs")}\n${line("metrics")}\n`,
  );
  strictEqual(parsed.metrics.length, 2);
  strictEqual(parsed.logs.length, 1);
  let error: Error | undefined;
  try {
    parseReceived(`${line("logs")}\n{oops\n`);
  } catch (e) {
    error = e as Error;
  }
  strictEqual(error?.message, "received.jsonl line 2 is not JSON: {oops");
});
