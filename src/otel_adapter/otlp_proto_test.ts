import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  type AttributeValue,
  decodeExportResponse,
  decodeLogsRequest,
  decodeMetricsRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  type LogsRequest,
  type MetricsRequest,
} from "./otlp_proto.ts";

const PROTO_DIR = new URL("./proto/", import.meta.url).pathname;

// 2^53 + 1 cannot be held by a double; 1_760_000_000_123_456_789 ns is a 2025 timestamp.
const BEYOND_DOUBLE = 9_007_199_254_740_993n;
const T0 = 1_760_000_000_123_456_789n;
const T1 = 1_760_000_060_987_654_321n;

function metricsRequest(): MetricsRequest {
  return {
    resourceMetrics: [{
      resource: {
        attributes: [
          { key: "service.name", value: "pgquerylens" },
          { key: "server.port", value: 5432n },
          { key: "ratio", value: 0.25 },
          { key: "primary", value: true },
        ],
      },
      schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
      scopeMetrics: [{
        scope: { name: "pgquerylens", version: "0.1.0", attributes: [{ key: "scope.k", value: "v" }] },
        schemaUrl: "",
        metrics: [
          {
            kind: "gauge",
            name: "postgresql.backends",
            description: "Backends",
            unit: "{connection}",
            dataPoints: [{
              attributes: [{ key: "postgresql.database.name", value: "app" }],
              startTimeUnixNano: 0n,
              timeUnixNano: T1,
              value: 3.5,
            }],
          },
          {
            kind: "sum",
            name: "postgresql.commits",
            description: "",
            unit: "1",
            temporality: "cumulative",
            isMonotonic: true,
            dataPoints: [{
              attributes: [{ key: "big", value: BEYOND_DOUBLE }],
              startTimeUnixNano: T0,
              timeUnixNano: T1,
              value: 9_223_372_036_854_775_807n,
            }],
          },
          {
            kind: "sum",
            name: "postgresql.delta",
            description: "",
            unit: "",
            temporality: "delta",
            isMonotonic: false,
            dataPoints: [{ attributes: [], startTimeUnixNano: T0, timeUnixNano: T1, value: -4n }],
          },
          {
            kind: "histogram",
            name: "db.client.operation.duration",
            description: "",
            unit: "s",
            temporality: "delta",
            dataPoints: [{
              attributes: [],
              startTimeUnixNano: T0,
              timeUnixNano: T1,
              count: 7n,
              sum: 0,
              bucketCounts: [1n, 2n, BEYOND_DOUBLE],
              explicitBounds: [0.1, 1],
              min: 0,
              max: 4.5,
            }],
          },
        ],
      }],
    }],
  };
}

function logsRequest(): LogsRequest {
  return {
    resourceLogs: [{
      resource: { attributes: [{ key: "service.name", value: "pgquerylens" }] },
      schemaUrl: "",
      scopeLogs: [{
        scope: { name: "pgquerylens", version: "", attributes: [] },
        schemaUrl: "",
        logRecords: [
          {
            timeUnixNano: T0,
            observedTimeUnixNano: T1,
            severityNumber: 9,
            severityText: "INFO",
            body: "SELECT 1",
            attributes: [
              { key: "db.query.text", value: "SELECT 1" },
              { key: "postgresql.calls", value: -9_223_372_036_854_775_808n },
            ],
            eventName: "db.server.query_sample",
          },
          {
            timeUnixNano: 0n,
            observedTimeUnixNano: (1n << 64n) - 1n,
            severityNumber: 0,
            severityText: "",
            attributes: [],
            eventName: "",
          },
        ],
      }],
    }],
  };
}

Deno.test("metrics request round trip keeps every field, kind and value type", () => {
  const req = metricsRequest();
  deepStrictEqual(decodeMetricsRequest(encodeMetricsRequest(req)), req);
});

Deno.test("logs request round trip keeps event names, bodies, severities and timestamps", () => {
  const req = logsRequest();
  deepStrictEqual(decodeLogsRequest(encodeLogsRequest(req)), req);
});

Deno.test("array and map bodies (a plan's node list) round trip, order and value types kept", () => {
  const body: AttributeValue[] = [
    { "Node Type": "Seq Scan", "Level": 0n, "Parallel Aware": false, "Total Cost": 12.5 },
    { "Node Type": "Index Scan", "Level": 1n, "Nested": [1n, "two", [3.5]] },
  ];
  const req: LogsRequest = {
    resourceLogs: [{
      resource: { attributes: [] },
      scopeLogs: [{ scope: { name: "s" }, logRecords: [{ eventName: "pgquerylens.plan", body }] }],
    }],
  };
  const decoded = decodeLogsRequest(encodeLogsRequest(req)).resourceLogs[0].scopeLogs[0].logRecords[0];
  deepStrictEqual(decoded.body, body);
  deepStrictEqual(Object.keys((decoded.body as Record<string, unknown>[])[0]), Object.keys(body[0]));
  throws(
    () =>
      encodeLogsRequest({
        ...req,
        resourceLogs: [{
          ...req.resourceLogs[0],
          scopeLogs: [{
            scope: { name: "s" },
            logRecords: [{ body: [new Date(0)] as never }],
          }],
        }],
      }),
    /body\[0\]: .* is not an attribute value/,
  );
});

Deno.test("fixed64 nanosecond timestamps beyond 2^53 survive exactly, from bigint or decimal string", () => {
  const times = [BEYOND_DOUBLE, T0, (1n << 64n) - 1n];
  for (const t of times) {
    for (const input of [t, t.toString()]) {
      const bytes = encodeMetricsRequest({
        resourceMetrics: [{
          resource: { attributes: [] },
          scopeMetrics: [{
            scope: { name: "s" },
            metrics: [{ kind: "gauge", name: "g", dataPoints: [{ timeUnixNano: input, value: 1 }] }],
          }],
        }],
      });
      const metric = decodeMetricsRequest(bytes).resourceMetrics[0].scopeMetrics[0].metrics[0];
      deepStrictEqual(metric.dataPoints[0].timeUnixNano, t);
      deepStrictEqual(typeof metric.dataPoints[0].timeUnixNano, "bigint");
    }
  }
});

Deno.test("int64 attribute values keep their sign and all 64 bits; bigint is an int, number a double", () => {
  const values = [-(1n << 63n), (1n << 63n) - 1n, -1n, 0n, BEYOND_DOUBLE];
  const req: LogsRequest = {
    resourceLogs: [{
      resource: { attributes: values.map((value, i) => ({ key: `k${i}`, value })) },
      scopeLogs: [{ scope: { name: "s" }, logRecords: [{ attributes: [{ key: "d", value: 2 }] }] }],
    }],
  };
  const decoded = decodeLogsRequest(encodeLogsRequest(req)).resourceLogs[0];
  deepStrictEqual(decoded.resource.attributes.map((kv) => kv.value), values);
  deepStrictEqual(decoded.scopeLogs[0].logRecords[0].attributes, [{ key: "d", value: 2 }]);
  throws(
    () =>
      encodeLogsRequest({
        resourceLogs: [{ resource: { attributes: [{ key: "x", value: 1n << 63n }] }, scopeLogs: [] }],
      }),
    /resourceLogs\[0\]\.resource\.attributes\[0\]\.value: 9223372036854775808 is outside the signed 64-bit range/,
  );
});

Deno.test("a tiny logs request encodes to the hand-computed canonical bytes", () => {
  const bytes = encodeLogsRequest({
    resourceLogs: [{
      resource: { attributes: [] },
      scopeLogs: [{
        scope: { name: "s" },
        logRecords: [{ timeUnixNano: 1n, eventName: "e", severityText: "" }],
      }],
    }],
  });
  // LogRecord: time_unix_nano (1, fixed64) = 09 + 8 LE bytes; event_name (12, len) = 62 01 'e'.
  const record = [0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0x62, 0x01, 0x65];
  // ScopeLogs: scope (1) = 0a 03 { name (1) = 0a 01 's' }, log_records (2) = 12 0c <record>.
  const scopeLogs = [0x0a, 0x03, 0x0a, 0x01, 0x73, 0x12, record.length, ...record];
  // ResourceLogs: resource (1) = 0a 00 (present, empty), scope_logs (2) = 12 <len> <scopeLogs>.
  const resourceLogs = [0x0a, 0x00, 0x12, scopeLogs.length, ...scopeLogs];
  // ExportLogsServiceRequest: resource_logs (1).
  deepStrictEqual([...bytes], [0x0a, resourceLogs.length, ...resourceLogs]);
});

Deno.test("a metrics request encodes byte for byte as protoc --encode does from the vendored definitions", async () => {
  const textFormat = `
    resource_metrics {
      resource { attributes { key: "service.name" value { string_value: "pgquerylens" } }
                 attributes { key: "server.port" value { int_value: -5432 } } }
      scope_metrics {
        scope { name: "pgquerylens" version: "0.1.0" }
        metrics {
          name: "postgresql.commits" unit: "1"
          sum {
            data_points { attributes { key: "ratio" value { double_value: 0.5 } }
                          attributes { key: "up" value { bool_value: false } }
                          start_time_unix_nano: 1760000000123456789 time_unix_nano: 18446744073709551615
                          as_int: -9223372036854775808 }
            aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE
            is_monotonic: true
          }
        }
        metrics { name: "g" gauge { data_points { time_unix_nano: 9007199254740993 as_double: 0 } } }
        metrics {
          name: "h"
          histogram {
            data_points { time_unix_nano: 5 count: 3 sum: 0 bucket_counts: 1 bucket_counts: 2
                          explicit_bounds: 1.5 max: 2 }
            aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA
          }
        }
      }
    }`;
  const ours = encodeMetricsRequest({
    resourceMetrics: [{
      resource: {
        attributes: [{ key: "service.name", value: "pgquerylens" }, { key: "server.port", value: -5432n }],
      },
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
              attributes: [{ key: "ratio", value: 0.5 }, { key: "up", value: false }],
              startTimeUnixNano: "1760000000123456789",
              timeUnixNano: (1n << 64n) - 1n,
              value: -(1n << 63n),
            }],
          },
          { kind: "gauge", name: "g", dataPoints: [{ timeUnixNano: BEYOND_DOUBLE, value: 0 }] },
          {
            kind: "histogram",
            name: "h",
            temporality: "delta",
            dataPoints: [{
              timeUnixNano: 5,
              count: 3,
              sum: 0,
              bucketCounts: [1n, 2],
              explicitBounds: [1.5],
              max: 2,
            }],
          },
        ],
      }],
    }],
  });
  const protoc = new Deno.Command("protoc", {
    args: [
      `-I${PROTO_DIR}`,
      "--encode=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
      "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = protoc.stdin.getWriter();
  await writer.write(new TextEncoder().encode(textFormat));
  await writer.close();
  const out = await protoc.output();
  strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
  deepStrictEqual([...ours], [...out.stdout]);
});

Deno.test("decodeExportResponse reads partial_success of metrics and logs responses", () => {
  // partial_success (1) = { rejected_* (1) = 3, error_message (2) = "x" }
  const partial = new Uint8Array([0x0a, 0x05, 0x08, 0x03, 0x12, 0x01, 0x78]);
  deepStrictEqual(decodeExportResponse("metrics", partial), { rejected: 3, errorMessage: "x" });
  deepStrictEqual(decodeExportResponse("logs", partial), { rejected: 3, errorMessage: "x" });
  // rejected 0 with a message: a warning.
  const warning = new Uint8Array([0x0a, 0x06, 0x12, 0x04, ...new TextEncoder().encode("warn")]);
  deepStrictEqual(decodeExportResponse("logs", warning), { rejected: 0, errorMessage: "warn" });
  deepStrictEqual(decodeExportResponse("metrics", new Uint8Array()), null);
  throws(
    () => decodeExportResponse("metrics", new Uint8Array([0x0a, 0x09, 0x08])),
    /not a valid protobuf/,
  );
  throws(
    () => decodeExportResponse("traces" as "logs", partial),
    /kind "traces" is not "metrics" or "logs"/,
  );
});

Deno.test("bad input is rejected with the path of the offending field", () => {
  const withPoint = (point: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ({
      resourceMetrics: [{
        resource: { attributes: [] },
        scopeMetrics: [{
          scope: { name: "s" },
          metrics: [{ kind: "gauge", name: "m", dataPoints: [point], ...extra }],
        }],
      }],
    }) as unknown as MetricsRequest;
  const at = "resourceMetrics\\[0\\]\\.scopeMetrics\\[0\\]\\.metrics\\[0\\]";
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: "12a", value: 1 })),
    new RegExp(`${at}\\.dataPoints\\[0\\]\\.timeUnixNano: "12a" is not an unsigned 64-bit integer`),
  );
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: -1n, value: 1 })),
    /timeUnixNano: -1n is not an unsigned 64-bit integer/,
  );
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: 1.5, value: 1 })),
    /timeUnixNano: 1.5 is not an unsigned 64-bit integer/,
  );
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: 1n, value: "3" })),
    /dataPoints\[0\]\.value: "3" is neither a number nor a bigint/,
  );
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: 1n, value: 1 }, { kind: "summary" })),
    new RegExp(`${at}\\.kind: "summary" is not "gauge", "sum" or "histogram"`),
  );
  throws(
    () => encodeMetricsRequest(withPoint({ timeUnixNano: 1n, value: 1 }, { kind: "sum", isMonotonic: true })),
    new RegExp(`${at}\\.temporality: undefined is not "delta" or "cumulative"`),
  );
  throws(
    () =>
      encodeMetricsRequest(
        withPoint({ timeUnixNano: 1n, count: 1n, bucketCounts: [1n], explicitBounds: [1] }, {
          kind: "histogram",
          temporality: "delta",
        }),
      ),
    /1 bucket counts for 1 bounds \(expected 2\)/,
  );
  throws(
    () =>
      encodeMetricsRequest(
        withPoint({ timeUnixNano: 1n, value: 1, attributes: [{ key: "k", value: null }] }),
      ),
    /attributes\[0\]\.value: null is not an attribute value/,
  );
  throws(
    () =>
      encodeLogsRequest({
        resourceLogs: [{
          resource: { attributes: [] },
          scopeLogs: [{ scope: { name: "s" }, logRecords: [{ severityNumber: 25 }] }],
        }],
      }),
    /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.severityNumber: 25 is not an integer from 0 to 24/,
  );
});
