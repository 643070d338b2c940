import assert from "node:assert/strict";
import {
  databaseEntity,
  indexEntity,
  instanceEntity,
  namingAttributes,
  pgbouncerEntity,
  tableEntity,
} from "../core/entities.ts";
import {
  type BaseEntity,
  type BaseSample,
  emptySnapshot,
  type RawMetric,
  type UnifiedMetrics,
} from "../core/model.ts";
import { VERSION } from "../version.ts";
import {
  createSeriesState,
  dateToNs,
  type MetricData,
  type MetricsOptions,
  type MetricsResult,
  type NumberPoint,
  SCOPE_NAME,
  snapshotMetrics,
} from "./metrics.ts";
import { entityResource } from "./resource.ts";

const HOST = "db1.example.internal";
const INSTANCE = {
  host: HOST,
  port: "5432",
  serverVersionNum: 160004,
  majorVersion: 16,
  serverVersion: "16.4",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
const RESET = new Date("2026-02-27T08:15:00Z");

function sample(entity: BaseEntity, eventType: string, metrics: RawMetric[]): BaseSample {
  return { entity, eventType, metrics: [...namingAttributes(entity), ...metrics] };
}

function r(name: string, value: number | string): RawMetric {
  return { name, sourceType: "rate", value };
}

function g(name: string, value: number | string): RawMetric {
  return { name, sourceType: "gauge", value };
}

/** A snapshot as the collectors produce it, counters growing with `k`. */
function snapshot(at: Date, k: number): UnifiedMetrics {
  const s = emptySnapshot(INSTANCE, at);
  s.baseSamples = [
    sample(instanceEntity(HOST, 5432), "PostgresqlInstanceSample", [
      r("bgwriter.checkpointsScheduledPerSecond", 120 + k),
      r("bgwriter.checkpointsRequestedPerSecond", 7),
      r("bgwriter.checkpointWriteTimeInMillisecondsPerSecond", 93512 + 10 * k),
      r("bgwriter.buffersAllocatedPerSecond", 48213 + 100 * k),
    ]),
    sample(databaseEntity(HOST, 5432, "shop"), "PostgresqlDatabaseSample", [
      g("db.maxconnections", 100),
      g("db.connections", 12 + k),
      r("db.commitsPerSecond", 981234 + 50 * k),
      r("db.conflicts.locksPerSecond", 0),
    ]),
    sample(databaseEntity(HOST, 5432, "postgres"), "PostgresqlDatabaseSample", [
      g("db.maxconnections", 100),
      g("db.connections", 3),
      r("db.commitsPerSecond", 5521 + k),
    ]),
    sample(tableEntity(HOST, 5432, "shop", "sales", "orders"), "PostgresqlTableSample", [
      { name: "database", sourceType: "attribute", value: "shop" },
      { name: "schema", sourceType: "attribute", value: "sales" },
      g("table.bloatRatio", 12.5),
      g("table.liveRows", 250000),
      g("table.deadRows", 1800),
      r("table.indexBlocksReadPerSecond", 3311 + k),
    ]),
    sample(indexEntity(HOST, 5432, "shop", "sales", "orders", "orders_pkey"), "PostgresqlIndexSample", [
      g("index.sizeInBytes", 5644288),
    ]),
    sample(pgbouncerEntity("pool.example.internal", 6432, "shop"), "PgBouncerSample", [
      { name: "host", sourceType: "attribute", value: "pool.example.internal" },
      { name: "pgbouncer.pools.user", sourceType: "attribute", value: "app" },
      g("pgbouncer.pools.clientConnectionsActive", 4),
      g("pgbouncer.pools.clientConnectionsWaiting", 1),
    ]),
    sample(databaseEntity(HOST, 5432, "shop"), "PostgresqlCustomSample", [g("custom.queueDepth", 9)]),
  ];
  return s;
}

function opts(extra: Partial<MetricsOptions> = {}): MetricsOptions {
  return { state: createSeriesState(), temporality: "cumulative", ...extra };
}

function metricOf(res: MetricsResult, resource: Record<string, unknown>, name: string): MetricData {
  const rm = res.resourceMetrics.find((x) =>
    JSON.stringify(x.resource, big) === JSON.stringify(resource, big)
  );
  assert.ok(rm, `no resource ${JSON.stringify(resource, big)}`);
  const m = rm.scopeMetrics[0].metrics.find((x) => x.name === name);
  assert.ok(m, `no metric ${name}`);
  return m;
}

function big(_k: string, v: unknown) {
  return typeof v === "bigint" ? `${v}n` : v;
}

function point(m: MetricData, attributes: Record<string, unknown> = {}): NumberPoint {
  const p = m.points.find((x) => JSON.stringify(x.attributes) === JSON.stringify(attributes));
  assert.ok(p, `${m.name} has no point ${JSON.stringify(attributes)}`);
  return p;
}

const inst = entityResource(instanceEntity(HOST, 5432), INSTANCE);
const shop = entityResource(databaseEntity(HOST, 5432, "shop"), INSTANCE);
const postgres = entityResource(databaseEntity(HOST, 5432, "postgres"), INSTANCE);
const orders = entityResource(tableEntity(HOST, 5432, "shop", "sales", "orders"), INSTANCE);
const pkey = entityResource(indexEntity(HOST, 5432, "shop", "sales", "orders", "orders_pkey"), INSTANCE);
const pool = entityResource(pgbouncerEntity("pool.example.internal", 6432, "shop"), INSTANCE);

Deno.test("snapshotMetrics: resources, scope, names, units, kinds and attributes", () => {
  const res = snapshotMetrics(snapshot(T0, 0), opts());
  assert.equal(res.resourceMetrics.length, 6);
  for (const rm of res.resourceMetrics) {
    assert.deepEqual(rm.scopeMetrics.map((s) => s.scope), [{ name: SCOPE_NAME, version: VERSION }]);
  }
  const commits = metricOf(res, shop, "postgresql.commits");
  assert.deepEqual(
    { ...commits, points: undefined },
    {
      name: "postgresql.commits",
      description: "Transactions committed.",
      unit: "1",
      type: "sum",
      monotonic: true,
      temporality: "cumulative",
      points: undefined,
    },
  );
  assert.equal(point(commits).value, 981234n);
  assert.equal(point(metricOf(res, postgres, "postgresql.commits")).value, 5521n);

  const checkpoints = metricOf(res, inst, "postgresql.bgwriter.checkpoint.count");
  assert.equal(checkpoints.unit, "{checkpoints}");
  assert.equal(point(checkpoints, { type: "scheduled" }).value, 120n);
  assert.equal(point(checkpoints, { type: "requested" }).value, 7n);
  const duration = metricOf(res, inst, "postgresql.bgwriter.duration");
  assert.equal(point(duration, { type: "write" }).value, 93512);

  const backends = metricOf(res, shop, "postgresql.backends");
  assert.deepEqual([backends.type, backends.monotonic, backends.temporality], ["sum", false, "cumulative"]);
  assert.equal(
    point(metricOf(res, shop, "postgresql.query.conflicts"), { "postgresql.conflict.type": "lock" }).value,
    0n,
  );

  const rows = metricOf(res, orders, "postgresql.rows");
  assert.deepEqual(rows.points.map((p) => [p.attributes, p.value]), [[{ state: "live" }, 250000n], [
    { state: "dead" },
    1800n,
  ]]);
  assert.equal(point(metricOf(res, orders, "postgresql.blocks_read"), { source: "idx_read" }).value, 3311n);
  const ratio = metricOf(res, orders, "postgresql.table.bloat.ratio");
  assert.deepEqual([ratio.type, ratio.unit, point(ratio).value, point(ratio).startTimeUnixNano], [
    "gauge",
    "%",
    12.5,
    undefined,
  ]);
  assert.equal(point(metricOf(res, pkey, "postgresql.index.size")).value, 5644288n);

  const clients = metricOf(res, pool, "pgbouncer.client.connections");
  assert.deepEqual(clients.points.map((p) => [p.attributes, p.value]), [
    [{ state: "active", "user.name": "app" }, 4n],
    [{ state: "waiting", "user.name": "app" }, 1n],
  ]);
});

Deno.test("snapshotMetrics: a server-level metric read per database is emitted once, on the instance", () => {
  const res = snapshotMetrics(snapshot(T0, 0), opts());
  const max = metricOf(res, inst, "postgresql.connection.max");
  assert.deepEqual(max.points.map((p) => [p.attributes, p.value, p.startTimeUnixNano]), [[
    {},
    100n,
    undefined,
  ]]);
  for (const rm of res.resourceMetrics) {
    if (JSON.stringify(rm.resource, big) === JSON.stringify(inst, big)) continue;
    assert.ok(!rm.scopeMetrics[0].metrics.some((m) => m.name === "postgresql.connection.max"));
  }
});

Deno.test("snapshotMetrics: metrics without an encoding are listed, not emitted", () => {
  const res = snapshotMetrics(snapshot(T0, 0), opts());
  assert.deepEqual(res.unmapped, ["custom.queueDepth"]);
  const names = res.resourceMetrics.flatMap((rm) => rm.scopeMetrics[0].metrics.map((m) => m.name));
  assert.ok(!names.some((n) => n.includes("queueDepth")));
});

Deno.test("snapshotMetrics: cumulative sums start at stats_reset, else at the first observation", () => {
  const o = opts({ statsReset: { databases: new Map([["shop", RESET]]) } });
  const first = snapshotMetrics(snapshot(T0, 0), o);
  const second = snapshotMetrics(snapshot(T1, 3), o);
  const c0 = point(metricOf(first, shop, "postgresql.commits"));
  const c1 = point(metricOf(second, shop, "postgresql.commits"));
  assert.deepEqual([c0.startTimeUnixNano, c0.timeUnixNano, c0.value], [
    dateToNs(RESET),
    dateToNs(T0),
    981234n,
  ]);
  assert.deepEqual([c1.startTimeUnixNano, c1.timeUnixNano, c1.value], [
    dateToNs(RESET),
    dateToNs(T1),
    981384n,
  ]);
  // Table counters of database shop share its stats_reset.
  assert.equal(
    point(metricOf(second, orders, "postgresql.blocks_read"), { source: "idx_read" }).startTimeUnixNano,
    dateToNs(RESET),
  );
  // No stats_reset known for postgres and the instance: first observation.
  const p1 = point(metricOf(second, postgres, "postgresql.commits"));
  assert.deepEqual([p1.startTimeUnixNano, p1.value], [dateToNs(T0), 5524n]);
  const b1 = point(metricOf(second, inst, "postgresql.bgwriter.buffers.allocated"));
  assert.deepEqual([b1.startTimeUnixNano, b1.value], [dateToNs(T0), 48513n]);
  // Non-monotonic sums start at the first observation too.
  assert.equal(point(metricOf(second, shop, "postgresql.backends")).startTimeUnixNano, dateToNs(T0));
  assert.equal(point(metricOf(second, shop, "postgresql.backends")).value, 15n);
});

Deno.test("snapshotMetrics: a counter that goes down or a newer stats_reset restarts the series", () => {
  const state = createSeriesState();
  snapshotMetrics(snapshot(T0, 0), { state, temporality: "cumulative" });
  const down = snapshot(T1, 0);
  (down.baseSamples[2].metrics.find((m) => m.name === "db.commitsPerSecond")!).value = 40;
  const laterReset = new Date("2026-03-01T10:00:10Z");
  const res = snapshotMetrics(down, {
    state,
    temporality: "cumulative",
    statsReset: { databases: new Map([["shop", laterReset]]) },
  });
  const p = point(metricOf(res, postgres, "postgresql.commits"));
  assert.deepEqual([p.startTimeUnixNano, p.value], [dateToNs(T0), 40n]);
  const s = point(metricOf(res, shop, "postgresql.commits"));
  assert.deepEqual([s.startTimeUnixNano, s.value], [dateToNs(laterReset), 981234n]);
});

Deno.test("snapshotMetrics: delta temporality gives differences, nothing on first observation", () => {
  const state = createSeriesState();
  const first = snapshotMetrics(snapshot(T0, 0), { state, temporality: "delta" });
  const names = first.resourceMetrics.flatMap((rm) => rm.scopeMetrics[0].metrics.map((m) => m.name));
  assert.ok(!names.includes("postgresql.commits"));
  assert.ok(names.includes("postgresql.backends"), "non-monotonic sums stay cumulative");
  assert.ok(names.includes("postgresql.index.size"), "gauges are emitted");

  const second = snapshotMetrics(snapshot(T1, 3), { state, temporality: "delta" });
  const commits = metricOf(second, shop, "postgresql.commits");
  assert.equal(commits.temporality, "delta");
  const c = point(commits);
  assert.deepEqual([c.startTimeUnixNano, c.timeUnixNano, c.value], [dateToNs(T0), dateToNs(T1), 150n]);
  const d = point(metricOf(second, inst, "postgresql.bgwriter.duration"), { type: "write" });
  assert.equal(d.value, 30);
  const backends = metricOf(second, shop, "postgresql.backends");
  assert.deepEqual([backends.temporality, point(backends).value], ["cumulative", 15n]);

  const T2 = new Date("2026-03-01T10:01:00Z");
  const third = snapshot(T2, 3);
  (third.baseSamples[1].metrics.find((m) => m.name === "db.commitsPerSecond")!).value = 25;
  const after = point(
    metricOf(snapshotMetrics(third, { state, temporality: "delta" }), shop, "postgresql.commits"),
  );
  assert.deepEqual(
    [after.startTimeUnixNano, after.value],
    [dateToNs(T1), 25n],
    "after a reset: the new value",
  );
});

Deno.test("snapshotMetrics: nowNs overrides the collection time; non-numeric values are skipped", () => {
  const s = snapshot(T0, 0);
  (s.baseSamples[1].metrics.find((m) => m.name === "db.commitsPerSecond")!).value = "n/a";
  const res = snapshotMetrics(s, opts({ nowNs: 42n }));
  assert.equal(point(metricOf(res, shop, "postgresql.backends")).timeUnixNano, 42n);
  assert.equal(metricOf(res, postgres, "postgresql.commits").points.length, 1);
  const rm = res.resourceMetrics.find((x) => JSON.stringify(x.resource, big) === JSON.stringify(shop, big))!;
  assert.ok(!rm.scopeMetrics[0].metrics.some((m) => m.name === "postgresql.commits"));
});

Deno.test("snapshotMetrics: an empty snapshot gives no resources", () => {
  assert.deepEqual(snapshotMetrics(emptySnapshot(INSTANCE, T0), opts()), {
    resourceMetrics: [],
    unmapped: [],
  });
});
