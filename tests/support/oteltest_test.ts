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

Deno.test("the receiver decompresses an HTTP body sent with Content-Encoding: gzip", async () => {
  await using receiver = await startReceiver();
  const plain = encodeMetricsRequest({
    resourceMetrics: [{
      resource: { attributes: [{ key: "service.name", value: "gzip-test" }] },
      scopeMetrics: [{
        scope: { name: "pgquerylens" },
        metrics: [{
          kind: "gauge",
          name: "postgresql.backends",
          dataPoints: [{ timeUnixNano: T, value: 3n }],
        }],
      }],
    }],
  });
  const compressed = new Uint8Array(
    await new Response(new Blob([plain]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  const res = await fetch(`${receiver.httpEndpoint}/v1/metrics`, {
    method: "POST",
    headers: { ...PROTOBUF, "content-encoding": "gzip" },
    body: compressed,
  });
  await res.body?.cancel();
  strictEqual(res.status, 200);
  const { metrics } = await receiver.received();
  strictEqual(metrics.length, 1);
  strictEqual(metrics[0].headers["content-encoding"], "gzip");
  const rm: Json = (metrics[0].request as Json).resourceMetrics[0];
  deepStrictEqual(rm.resource.attributes, [{ key: "service.name", value: { stringValue: "gzip-test" } }]);
  deepStrictEqual(rm.scopeMetrics[0].metrics[0].gauge.dataPoints, [{
    timeUnixNano: "1760000000123456789",
    asInt: "3",
  }]);
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

Deno.test("a receiver stopped and started again on the same ports gets what is sent afterwards", async () => {
  const first = await startReceiver();
  const ports = { grpcPort: first.grpcPort, httpPort: first.httpPort };
  const body = (name: string) =>
    encodeMetricsRequest({
      resourceMetrics: [{
        resource: { attributes: [{ key: "service.name", value: name }] },
        scopeMetrics: [{
          scope: { name: "pgquerylens" },
          metrics: [{
            kind: "gauge",
            name: "postgresql.backends",
            dataPoints: [{ timeUnixNano: T, value: 1n }],
          }],
        }],
      }],
    });
  const serviceNames = async (receiver: { received(): Promise<{ metrics: { request: Json }[] }> }) =>
    (await receiver.received()).metrics.map((m) => m.request.resourceMetrics[0].resource.attributes[0].value);
  // The receiver closes each HTTP connection first, which leaves it in TIME_WAIT on the receiver's
  // port: the new instance has to bind over it.
  await post(`${first.httpEndpoint}/v1/metrics`, body("before"));
  deepStrictEqual(await serviceNames(first), [{ stringValue: "before" }]);
  await first.stop();
  deepStrictEqual(await serviceNames(first), [{ stringValue: "before" }], "the record outlives the receiver");
  await rejects(fetch(`${first.httpEndpoint}/v1/metrics`, { method: "POST", body: body("lost") }), TypeError);

  await using second = await startReceiver(ports);
  strictEqual(second.httpPort, ports.httpPort);
  strictEqual(second.grpcPort, ports.grpcPort);
  strictEqual(second.httpEndpoint, first.httpEndpoint);
  await post(`${second.httpEndpoint}/v1/metrics`, body("after"));
  deepStrictEqual(await serviceNames(second), [{ stringValue: "after" }]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: second.grpcPort });
  conn.close();
});

Deno.test("a receiver asked for a port that stays taken fails naming the ports", async () => {
  using taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const grpcPort = (taken.addr as Deno.NetAddr).port;
  const free = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const httpPort = (free.addr as Deno.NetAddr).port;
  free.close();
  const started = Date.now();
  await rejects(startReceiver({ grpcPort, httpPort, portWaitMs: 600 }), (e: Error) => {
    const expected = `OTLP receiver: cannot bind gRPC port ${grpcPort} and HTTP port ${httpPort}, ` +
      `still taken after 600 ms (port ${grpcPort} is in use)`;
    strictEqual(e.message, expected);
    return true;
  });
  strictEqual(Date.now() - started >= 600, true, "it kept retrying for portWaitMs");
});

Deno.test("startReceiver rejects ports it cannot use before starting anything", async () => {
  await rejects(startReceiver({ grpcPort: 4317 }), {
    name: "RangeError",
    message: "startReceiver: give both grpcPort and httpPort, or neither",
  });
  await rejects(startReceiver({ grpcPort: 0, httpPort: 4318 }), {
    message: "startReceiver: grpcPort must be an integer in 1..65535, got 0",
  });
  await rejects(startReceiver({ grpcPort: 4317, httpPort: 70000 }), {
    message: "startReceiver: httpPort must be an integer in 1..65535, got 70000",
  });
  await rejects(startReceiver({ grpcPort: 4317, httpPort: 4317 }), {
    message: "startReceiver: grpcPort and httpPort are both 4317",
  });
  await rejects(startReceiver({ grpcPort: 4317, httpPort: 4318, portWaitMs: -1 }), {
    message: "startReceiver: portWaitMs must be a non-negative number, got -1",
  });
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
