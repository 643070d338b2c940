import assert from "node:assert/strict";
import type { ResourceLogsData } from "./logs.ts";
import type { ResourceMetricsData } from "./metrics.ts";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  type LogsRequest,
  type MetricsRequest,
} from "./otlp_proto.ts";
import {
  encodeInParts,
  encodeLogsBodies,
  encodeMetricsBodies,
  keyValues,
  logsRequest,
  metricsRequest,
} from "./to_proto.ts";

const T = 1_772_359_230_123_456_789n;
const START = 1_772_359_200_000_000_001n;
const SCOPE = { name: "pgquerylens", version: "1.2.3" };

Deno.test("keyValues keeps insertion order and value types", () => {
  assert.deepEqual(keyValues({ b: "x", a: 5n, c: 0.5, d: false }), [
    { key: "b", value: "x" },
    { key: "a", value: 5n },
    { key: "c", value: 0.5 },
    { key: "d", value: false },
  ]);
});

Deno.test("metricsRequest maps every field: resources, scope, kinds, temporality, monotonicity, points", () => {
  const resources: ResourceMetricsData[] = [
    {
      resource: { "service.name": "pgquerylens", "server.port": 5432n, "ratio": 0.25, "primary": true },
      scopeMetrics: [{
        scope: SCOPE,
        metrics: [
          {
            name: "postgresql.table.bloat.ratio",
            description: "Bloat.",
            unit: "%",
            type: "gauge",
            points: [{ attributes: { state: "live" }, timeUnixNano: T, value: 12.5 }],
          },
          {
            name: "postgresql.commits",
            description: "Commits.",
            unit: "1",
            type: "sum",
            monotonic: true,
            temporality: "cumulative",
            points: [
              { attributes: {}, startTimeUnixNano: START, timeUnixNano: T, value: 981234n },
              { attributes: { type: "x", n: 2n }, startTimeUnixNano: START, timeUnixNano: T, value: 1.5 },
            ],
          },
          {
            name: "pgquerylens.exporter.retries",
            description: "Retries.",
            unit: "{retry}",
            type: "sum",
            monotonic: true,
            temporality: "delta",
            points: [{
              attributes: { "pgquerylens.signal": "logs" },
              startTimeUnixNano: START,
              timeUnixNano: T,
              value: 4n,
            }],
          },
          {
            name: "postgresql.backends",
            description: "Backends.",
            unit: "{connection}",
            type: "sum",
            monotonic: false,
            temporality: "cumulative",
            points: [{ attributes: {}, startTimeUnixNano: START, timeUnixNano: T, value: -3n }],
          },
          // A sum without monotonic/temporality: non-monotonic and cumulative.
          {
            name: "bare",
            description: "",
            unit: "",
            type: "sum",
            points: [{ attributes: {}, timeUnixNano: T, value: 1n }],
          },
        ],
      }],
    },
    {
      resource: { "service.name": "pgquerylens", "postgresql.database.name": "shop" },
      scopeMetrics: [{ scope: SCOPE, metrics: [] }],
    },
  ];
  const req = metricsRequest(resources);
  const decoded = decodeMetricsRequest(encodeMetricsRequest(req));
  const kv = (key: string, value: string | bigint | number | boolean) => ({ key, value });
  const scope = { ...SCOPE, attributes: [] };
  const expected: MetricsRequest = {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            kv("service.name", "pgquerylens"),
            kv("server.port", 5432n),
            kv("ratio", 0.25),
            kv("primary", true),
          ],
        },
        schemaUrl: "",
        scopeMetrics: [{
          scope,
          schemaUrl: "",
          metrics: [
            {
              name: "postgresql.table.bloat.ratio",
              description: "Bloat.",
              unit: "%",
              kind: "gauge",
              dataPoints: [{
                attributes: [kv("state", "live")],
                startTimeUnixNano: 0n,
                timeUnixNano: T,
                value: 12.5,
              }],
            },
            {
              name: "postgresql.commits",
              description: "Commits.",
              unit: "1",
              kind: "sum",
              temporality: "cumulative",
              isMonotonic: true,
              dataPoints: [
                { attributes: [], startTimeUnixNano: START, timeUnixNano: T, value: 981234n },
                {
                  attributes: [kv("type", "x"), kv("n", 2n)],
                  startTimeUnixNano: START,
                  timeUnixNano: T,
                  value: 1.5,
                },
              ],
            },
            {
              name: "pgquerylens.exporter.retries",
              description: "Retries.",
              unit: "{retry}",
              kind: "sum",
              temporality: "delta",
              isMonotonic: true,
              dataPoints: [{
                attributes: [kv("pgquerylens.signal", "logs")],
                startTimeUnixNano: START,
                timeUnixNano: T,
                value: 4n,
              }],
            },
            {
              name: "postgresql.backends",
              description: "Backends.",
              unit: "{connection}",
              kind: "sum",
              temporality: "cumulative",
              isMonotonic: false,
              dataPoints: [{ attributes: [], startTimeUnixNano: START, timeUnixNano: T, value: -3n }],
            },
            {
              name: "bare",
              description: "",
              unit: "",
              kind: "sum",
              temporality: "cumulative",
              isMonotonic: false,
              dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: T, value: 1n }],
            },
          ],
        }],
      },
      {
        resource: { attributes: [kv("service.name", "pgquerylens"), kv("postgresql.database.name", "shop")] },
        schemaUrl: "",
        scopeMetrics: [{ scope, schemaUrl: "", metrics: [] }],
      },
    ],
  };
  assert.deepStrictEqual(decoded, expected);
});

Deno.test("logsRequest maps every field: event name, times, INFO severity, attributes, optional body", () => {
  const resources: ResourceLogsData[] = [{
    resource: { "service.name": "pgquerylens", "server.port": 5432n },
    scopeLogs: [{
      scope: SCOPE,
      logRecords: [
        {
          eventName: "db.server.top_query",
          timeUnixNano: T,
          attributes: { "db.namespace": "shop", "postgresql.calls": 7n, "postgresql.total_exec_time": 12.25 },
        },
        {
          eventName: "pgquerylens.plan",
          timeUnixNano: START,
          attributes: { "postgresql.plan_id": "812734" },
          body: [{ "Node Type": "Index Scan", "Level": 1n, "Parallel Aware": false, "Total Cost": 16.34 }, [
            "a",
            2n,
          ]],
        },
      ],
    }],
  }];
  const decoded = decodeLogsRequest(encodeLogsRequest(logsRequest(resources)));
  const expected: LogsRequest = {
    resourceLogs: [{
      resource: {
        attributes: [{ key: "service.name", value: "pgquerylens" }, { key: "server.port", value: 5432n }],
      },
      schemaUrl: "",
      scopeLogs: [{
        scope: { ...SCOPE, attributes: [] },
        schemaUrl: "",
        logRecords: [
          {
            eventName: "db.server.top_query",
            timeUnixNano: T,
            observedTimeUnixNano: T,
            severityNumber: 9,
            severityText: "INFO",
            attributes: [
              { key: "db.namespace", value: "shop" },
              { key: "postgresql.calls", value: 7n },
              { key: "postgresql.total_exec_time", value: 12.25 },
            ],
          },
          {
            eventName: "pgquerylens.plan",
            timeUnixNano: START,
            observedTimeUnixNano: START,
            severityNumber: 9,
            severityText: "INFO",
            attributes: [{ key: "postgresql.plan_id", value: "812734" }],
            body: [{ "Node Type": "Index Scan", "Level": 1n, "Parallel Aware": false, "Total Cost": 16.34 }, [
              "a",
              2n,
            ]],
          },
        ],
      }],
    }],
  };
  assert.deepStrictEqual(decoded, expected);
  assert.equal("body" in decoded.resourceLogs[0].scopeLogs[0].logRecords[0], false);
});

/** Items of `size` bytes each, encoded as `size` copies of their id. */
interface Sized {
  id: number;
  size: number;
}
const encodeSized = (part: readonly Sized[]) => new Uint8Array(part.flatMap((x) => Array(x.size).fill(x.id)));
const idsOf = (body: Uint8Array) => [...new Set(body)];
const sized = (sizes: number[]) => sizes.map((size, i) => ({ id: i + 1, size }));

Deno.test("encodeInParts: the whole list when it fits, else halves recursively, order kept", () => {
  assert.deepEqual(encodeInParts([], 10, encodeSized), []);
  const six = sized([10, 10, 10, 10, 10, 10]);
  assert.deepEqual(encodeInParts(six, 60, encodeSized).map(idsOf), [[1, 2, 3, 4, 5, 6]]);
  // Halves, not greedy packing: 50 bytes would take five items, halving gives three and three.
  assert.deepEqual(encodeInParts(six, 50, encodeSized).map(idsOf), [[1, 2, 3], [4, 5, 6]]);
  // Odd counts: the first half takes the extra item.
  assert.deepEqual(encodeInParts(sized([10, 10, 10, 10, 10]), 30, encodeSized).map(idsOf), [[1, 2, 3], [
    4,
    5,
  ]]);
  assert.deepEqual(encodeInParts(six, 25, encodeSized).map(idsOf), [[1, 2], [3], [4, 5], [6]]);
  for (const bound of [10, 25, 35, 59]) {
    const parts = encodeInParts(six, bound, encodeSized);
    assert.ok(parts.every((p) => p.length <= bound), `bound ${bound}`);
    assert.deepEqual(parts.flatMap(idsOf), [1, 2, 3, 4, 5, 6]);
  }
});

Deno.test("encodeInParts: an item larger than the bound goes alone, the others still fit", () => {
  const items = sized([10, 100, 10, 10]);
  const parts = encodeInParts(items, 50, encodeSized);
  assert.deepEqual(parts.map(idsOf), [[1], [2], [3, 4]]);
  assert.deepEqual(parts.map((p) => p.length), [10, 100, 20]);
  assert.deepEqual(encodeInParts(sized([100]), 50, encodeSized).map((p) => p.length), [100]);
});

function manyResources(n: number, points: number): ResourceMetricsData[] {
  return Array.from({ length: n }, (_, r) => ({
    resource: { "service.name": "pgquerylens", "postgresql.database.name": `db_${r}` },
    scopeMetrics: [{
      scope: SCOPE,
      metrics: [{
        name: "postgresql.commits",
        description: "Commits.",
        unit: "1",
        type: "sum" as const,
        monotonic: true,
        temporality: "cumulative" as const,
        points: Array.from({ length: points }, (_, i) => ({
          attributes: { i: BigInt(i) },
          startTimeUnixNano: START,
          timeUnixNano: T,
          value: BigInt(r * 1000 + i),
        })),
      }],
    }],
  }));
}

Deno.test("encodeMetricsBodies: parts within the bound whose union is the whole request, in order", () => {
  const resources = manyResources(30, 5);
  const whole = encodeMetricsRequest(metricsRequest(resources));
  assert.deepEqual(encodeMetricsBodies(resources, whole.length), [whole]);
  const bound = Math.floor(whole.length / 3);
  const parts = encodeMetricsBodies(resources, bound);
  assert.ok(parts.length >= 3, `${parts.length} parts`);
  assert.ok(parts.every((p) => p.length <= bound), parts.map((p) => p.length).join(","));
  const decoded = parts.flatMap((p) => decodeMetricsRequest(p).resourceMetrics);
  assert.deepStrictEqual(decoded, decodeMetricsRequest(whole).resourceMetrics);
  const points = decoded.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.dataPoints.length))
  );
  assert.equal(points.reduce((a, b) => a + b, 0), 150);

  // One resource bigger than the bound is sent alone, between its neighbours.
  const big = [
    ...manyResources(2, 2),
    ...manyResources(1, 2000).map((r) => ({ ...r, resource: { big: true } })),
  ];
  const bigParts = encodeMetricsBodies(big, 1024);
  assert.equal(bigParts.length, 2);
  assert.ok(bigParts[0].length <= 1024);
  assert.ok(bigParts[1].length > 1024);
  assert.deepEqual(decodeMetricsRequest(bigParts[1]).resourceMetrics[0].resource.attributes, [{
    key: "big",
    value: true,
  }]);
});

Deno.test("encodeLogsBodies: split by records within the bound, each part with its resource and scope", () => {
  const record = (i: number) => ({
    eventName: "pgquerylens.wait_event",
    timeUnixNano: T,
    attributes: { i: BigInt(i), "db.query.text": "SELECT * FROM orders WHERE id = $1" },
  });
  const resources: ResourceLogsData[] = [
    {
      resource: { r: "a" },
      scopeLogs: [{ scope: SCOPE, logRecords: Array.from({ length: 200 }, (_, i) => record(i)) }],
    },
    { resource: { r: "b" }, scopeLogs: [{ scope: SCOPE, logRecords: [record(200)] }] },
  ];
  const wholeA = encodeLogsRequest(logsRequest([resources[0]]));
  const bound = Math.floor(wholeA.length / 4);
  const parts = encodeLogsBodies(resources, bound);
  assert.ok(parts.length >= 5, `${parts.length} parts`);
  assert.ok(parts.every((p) => p.length <= bound));
  const decoded = parts.map((p) => decodeLogsRequest(p).resourceLogs);
  assert.ok(decoded.every((rl) => rl.length === 1 && rl[0].scopeLogs.length === 1));
  assert.ok(decoded.every((rl) => rl[0].scopeLogs[0].scope.name === SCOPE.name));
  const order = decoded.flatMap((rl) =>
    rl[0].scopeLogs[0].logRecords.map((lr) => [rl[0].resource.attributes[0].value, lr.attributes![0].value])
  );
  assert.deepEqual(order, [...Array.from({ length: 200 }, (_, i) => ["a", BigInt(i)]), ["b", 200n]]);
  assert.deepEqual(encodeLogsBodies([], 100), []);
});
