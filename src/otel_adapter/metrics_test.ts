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
  type SlowQuery,
  type StatsResetTimes,
  type UnifiedMetrics,
} from "../core/model.ts";
import { VERSION } from "../version.ts";
import {
  createSeriesState,
  dateToNs,
  DEFAULT_MAX_SERIES,
  DEFAULT_SERIES_TTL_NS,
  type MetricData,
  type MetricsOptions,
  type MetricsResult,
  type NumberPoint,
  pruneSeries,
  SCOPE_NAME,
  seriesStateFromJson,
  seriesStateToJson,
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

// ---- Query-level metrics -------------------------------------------------------------------------

const QID = "4119127562843231981";

function slowQuery(calls: number, totalMs: number): SlowQuery {
  return {
    queryId: QID,
    queryText: "SELECT * FROM orders WHERE id = $1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: calls,
    avgElapsedTimeMs: Math.round(totalMs / calls * 1000) / 1000,
    avgDiskReads: 2,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2026-03-01T10:00:00Z",
    totalExecTimeMs: totalMs,
    rows: calls,
  };
}

/** A snapshot with only query-level rows. */
function querySnapshot(at: Date, calls: number, totalMs: number): UnifiedMetrics {
  const s = emptySnapshot(INSTANCE, at);
  s.slowQueries = [slowQuery(calls, totalMs)];
  s.waitEvents = [
    {
      waitEventName: "Lock:transactionid",
      waitCategory: "Locks",
      totalWaitTimeMs: 250,
      collectionTimestamp: "2026-03-01T10:00:00Z",
      queryId: QID,
      queryText: "SELECT * FROM orders WHERE id = $1",
      databaseName: "shop",
    },
  ];
  s.blockingSessions = [{
    blockedPid: 4242,
    blockedQuery: "UPDATE orders SET note = $1 WHERE id = $2",
    blockedQueryStart: "2026-03-01T09:59:58.000000Z",
    databaseName: "shop",
    blockingPid: 4343,
    blockingQuery: "SELECT pg_sleep($1)",
    blockingQueryStart: "2026-03-01T09:59:50.000000Z",
  }];
  return s;
}

const QUERY_ATTRS = { "db.namespace": "shop", "postgresql.queryid": QID, "db.operation.name": "SELECT" };

Deno.test("snapshotMetrics: query-level metrics on the instance resource, sums from first observation", () => {
  // shop's stats_reset is known but does not apply to pg_stat_statements counters.
  const o = opts({ statsReset: { databases: new Map([["shop", RESET]]) } });
  const first = snapshotMetrics(querySnapshot(T0, 400, 1000), o);
  assert.deepEqual(first.resourceMetrics.map((rm) => rm.resource), [inst], "only the instance resource");
  const calls = metricOf(first, inst, "pgquerylens.query.calls");
  assert.deepEqual(
    { ...calls, points: undefined },
    {
      name: "pgquerylens.query.calls",
      description: "Executions of the statement.",
      unit: "{call}",
      type: "sum",
      monotonic: true,
      temporality: "cumulative",
      points: undefined,
    },
  );
  const c0 = point(calls, QUERY_ATTRS);
  assert.deepEqual([c0.startTimeUnixNano, c0.timeUnixNano, c0.value], [dateToNs(T0), dateToNs(T0), 400n]);
  const time = metricOf(first, inst, "pgquerylens.query.time");
  assert.deepEqual([time.unit, point(time, QUERY_ATTRS).value], ["s", 1]);
  assert.equal(point(metricOf(first, inst, "pgquerylens.query.rows"), QUERY_ATTRS).value, 400n);
  const mean = metricOf(first, inst, "pgquerylens.query.mean_time");
  assert.deepEqual([mean.type, point(mean, QUERY_ATTRS).value, point(mean, QUERY_ATTRS).startTimeUnixNano], [
    "gauge",
    0.0025,
    undefined,
  ]);
  assert.equal(point(metricOf(first, inst, "pgquerylens.query.blocks.read.mean"), QUERY_ATTRS).value, 2);
  const waitTime = metricOf(first, inst, "pgquerylens.wait_event.time");
  assert.deepEqual(waitTime.points.map((p) => [p.attributes, p.value]), [[{
    "db.namespace": "shop",
    "postgresql.queryid": QID,
    "postgresql.wait_event_type": "Lock",
    "postgresql.wait_event": "transactionid",
  }, 0.25]]);
  const blockedSessions = metricOf(first, inst, "pgquerylens.blocked_sessions");
  assert.deepEqual(blockedSessions.points.map((p) => [p.attributes, p.value]), [[
    { "db.namespace": "shop" },
    1n,
  ]]);

  const second = snapshotMetrics(querySnapshot(T1, 1000, 2600), o);
  const c1 = point(metricOf(second, inst, "pgquerylens.query.calls"), QUERY_ATTRS);
  assert.deepEqual([c1.startTimeUnixNano, c1.timeUnixNano, c1.value], [dateToNs(T0), dateToNs(T1), 1000n]);
  assert.equal(point(metricOf(second, inst, "pgquerylens.query.time"), QUERY_ATTRS).value, 2.6);
});

Deno.test("snapshotMetrics: query sums in delta temporality; pg_stat_statements_reset restarts them", () => {
  const state = createSeriesState();
  const first = snapshotMetrics(querySnapshot(T0, 400, 1000), { state, temporality: "delta" });
  const names = first.resourceMetrics.flatMap((rm) => rm.scopeMetrics[0].metrics.map((m) => m.name));
  assert.ok(!names.includes("pgquerylens.query.calls"), "no delta on first observation");
  assert.ok(names.includes("pgquerylens.query.mean_time"), "gauges are emitted");

  const second = snapshotMetrics(querySnapshot(T1, 1000, 2600), { state, temporality: "delta" });
  const c = point(metricOf(second, inst, "pgquerylens.query.calls"), QUERY_ATTRS);
  assert.deepEqual([c.startTimeUnixNano, c.timeUnixNano, c.value], [dateToNs(T0), dateToNs(T1), 600n]);
  const t = point(metricOf(second, inst, "pgquerylens.query.time"), QUERY_ATTRS);
  assert.ok(Math.abs((t.value as number) - 1.6) < 1e-9, `time delta ${t.value}`);

  const T2 = new Date("2026-03-01T10:01:00Z");
  const third = snapshotMetrics(querySnapshot(T2, 5, 12), { state, temporality: "delta" });
  const r = point(metricOf(third, inst, "pgquerylens.query.calls"), QUERY_ATTRS);
  assert.deepEqual([r.startTimeUnixNano, r.value], [dateToNs(T1), 5n], "after a reset: the new value");
});

Deno.test("snapshotMetrics: rows of one series in one snapshot give one point", () => {
  const s = querySnapshot(T0, 400, 1000);
  s.slowQueries.push(slowQuery(100, 500));
  s.waitEvents.push({ ...s.waitEvents[0], totalWaitTimeMs: 750 });
  s.blockingSessions.push({ ...s.blockingSessions[0], blockingPid: 4444 });
  const res = snapshotMetrics(s, opts());
  for (const rm of res.resourceMetrics) {
    for (const m of rm.scopeMetrics[0].metrics) {
      const keys = m.points.map((p) => JSON.stringify(p.attributes));
      assert.equal(new Set(keys).size, keys.length, `${m.name} has duplicate series`);
    }
  }
  assert.equal(point(metricOf(res, inst, "pgquerylens.query.calls"), QUERY_ATTRS).value, 500n);
  assert.equal(point(metricOf(res, inst, "pgquerylens.query.time"), QUERY_ATTRS).value, 1.5);
  assert.equal(metricOf(res, inst, "pgquerylens.wait_event.time").points[0].value, 1);
  assert.equal(metricOf(res, inst, "pgquerylens.blocked_sessions").points[0].value, 1n);
});

// ---- stats_reset from the snapshot -------------------------------------------------------------

Deno.test("snapshotMetrics: the snapshot's stats_reset times apply when the options give none", () => {
  const withResets = (at: Date, k: number) => {
    const s = snapshot(at, k);
    s.statsResets = { instance: RESET, databases: new Map([["shop", RESET]]) };
    return s;
  };
  const res = snapshotMetrics(withResets(T0, 0), opts());
  assert.equal(point(metricOf(res, shop, "postgresql.commits")).startTimeUnixNano, dateToNs(RESET));
  assert.equal(
    point(metricOf(res, inst, "postgresql.bgwriter.buffers.allocated")).startTimeUnixNano,
    dateToNs(RESET),
  );
  assert.equal(point(metricOf(res, postgres, "postgresql.commits")).startTimeUnixNano, dateToNs(T0));
  // Options win over the snapshot.
  const other = new Date("2026-02-28T00:00:00Z");
  const over = snapshotMetrics(
    withResets(T0, 0),
    opts({ statsReset: { databases: new Map([["shop", other]]) } }),
  );
  assert.equal(point(metricOf(over, shop, "postgresql.commits")).startTimeUnixNano, dateToNs(other));
  assert.equal(
    point(metricOf(over, inst, "postgresql.bgwriter.buffers.allocated")).startTimeUnixNano,
    dateToNs(T0),
  );
});

Deno.test("snapshotMetrics: on 17+, checkpointer and io counters start at their own view's reset", () => {
  const s = emptySnapshot({ ...INSTANCE, majorVersion: 17, serverVersionNum: 170002 }, T0);
  s.baseSamples = [
    sample(instanceEntity(HOST, 5432), "PostgresqlInstanceSample", [
      r("bgwriter.buffersAllocatedPerSecond", 900),
      r("checkpointer.checkpointsScheduledPerSecond", 12),
      r("io.buffersWrittenByBackendPerSecond", 77),
    ]),
  ];
  const bgwriter = new Date("2026-02-01T00:00:00Z");
  const checkpointer = new Date("2026-02-02T00:00:00Z");
  const io = new Date("2026-02-03T00:00:00Z");
  const resets: StatsResetTimes = { instance: bgwriter, checkpointer, io, databases: new Map() };
  const res = snapshotMetrics(s, opts({ statsReset: resets }));
  const start = (name: string, attributes: Record<string, unknown> = {}) =>
    point(metricOf(res, inst, name), attributes).startTimeUnixNano;
  assert.equal(start("postgresql.bgwriter.buffers.allocated"), dateToNs(bgwriter));
  assert.equal(start("postgresql.bgwriter.checkpoint.count", { type: "scheduled" }), dateToNs(checkpointer));
  assert.equal(start("postgresql.io.writes"), dateToNs(io));
  // Without the checkpointer's time, its counters start at the first observation.
  const partial = snapshotMetrics(s, opts({ statsReset: { instance: bgwriter } }));
  assert.equal(
    point(metricOf(partial, inst, "postgresql.bgwriter.checkpoint.count"), { type: "scheduled" })
      .startTimeUnixNano,
    dateToNs(T0),
  );
});

// ---- Series pruning ----------------------------------------------------------------------------

Deno.test("snapshotMetrics: series not observed for longer than the TTL are forgotten", () => {
  const state = createSeriesState();
  const hour = 3_600_000_000_000n;
  snapshotMetrics(snapshot(T0, 0), { state, temporality: "cumulative" });
  const all = state.series.size;
  assert.ok(all > 10);
  // The orders table is dropped: its series are no longer observed.
  const withoutOrders = (at: Date, k: number) => {
    const s = snapshot(at, k);
    s.baseSamples = s.baseSamples.filter((b) => b.entity.type !== "pg-table");
    return s;
  };
  const ordersKeys = [...state.series.keys()].filter((k) => k.includes("orders"));
  assert.ok(ordersKeys.length > 0);
  const T30 = new Date(T0.getTime() + 30 * 60_000);
  snapshotMetrics(withoutOrders(T30, 1), { state, temporality: "cumulative" });
  assert.equal(state.series.size, all, "still within the TTL");
  const T61 = new Date(T0.getTime() + 61 * 60_000);
  snapshotMetrics(withoutOrders(T61, 2), { state, temporality: "cumulative", seriesTtlNs: hour });
  assert.deepEqual([...state.series.keys()].filter((k) => k.includes("orders")), []);
  assert.equal(state.series.size, all - ordersKeys.length);

  // The table comes back: its counters start again at this observation.
  const T62 = new Date(T0.getTime() + 62 * 60_000);
  const back = snapshotMetrics(snapshot(T62, 3), { state, temporality: "cumulative" });
  assert.equal(
    point(metricOf(back, orders, "postgresql.blocks_read"), { source: "idx_read" }).startTimeUnixNano,
    dateToNs(T62),
  );
  assert.equal(point(metricOf(back, shop, "postgresql.commits")).startTimeUnixNano, dateToNs(T0));
});

Deno.test("snapshotMetrics: beyond maxSeries the least recently observed series are forgotten", () => {
  const state = createSeriesState();
  const s0 = querySnapshot(T0, 10, 10);
  s0.slowQueries = ["1", "2", "3"].map((id) => ({ ...slowQuery(10, 10), queryId: id }));
  snapshotMetrics(s0, { state, temporality: "cumulative" });
  const s1 = querySnapshot(T1, 20, 20);
  s1.slowQueries = [{ ...slowQuery(20, 20), queryId: "4" }];
  // Query 4 gives 3 sum series (calls, time, rows): the 3 oldest go, those of query 1.
  snapshotMetrics(s1, { state, temporality: "cumulative", maxSeries: 9 });
  const ids = [...state.series.keys()].map((k) => /"postgresql\.queryid","(\d+)"/.exec(k)![1]);
  assert.deepEqual(ids, ["2", "2", "2", "3", "3", "3", "4", "4", "4"]);
});

Deno.test("pruneSeries: an observed series moves to the end; limits are checked", () => {
  const state = createSeriesState();
  const T2 = new Date("2026-03-01T10:01:00Z");
  const at = (d: Date, ids: string[]) => {
    const s = emptySnapshot(INSTANCE, d);
    s.slowQueries = ids.map((id) => ({ ...slowQuery(10, 10), queryId: id, rows: undefined }));
    return s;
  };
  snapshotMetrics(at(T0, ["1", "2"]), { state, temporality: "cumulative" });
  snapshotMetrics(at(T1, ["1"]), { state, temporality: "cumulative" });
  // Series of query 2 were observed least recently (at T0), those of query 1 at T1.
  assert.equal(pruneSeries(state, dateToNs(T1), DEFAULT_SERIES_TTL_NS, 2), 2);
  assert.deepEqual([...state.series.values()].map((e) => e.timeNs), [dateToNs(T1), dateToNs(T1)]);
  assert.equal(pruneSeries(state, dateToNs(T2), 30_000_000_000n), 0, "30 s: just within the TTL");
  assert.equal(pruneSeries(state, dateToNs(T2) + 1n, 30_000_000_000n), 2);
  assert.equal(state.series.size, 0);
  assert.throws(() => pruneSeries(state, 0n, 0n), /seriesTtlNs must be a positive/);
  assert.throws(() => pruneSeries(state, 0n, 1n, 0), /maxSeries must be a positive integer/);
  assert.throws(
    () => snapshotMetrics(snapshot(T0, 0), opts({ maxSeries: 1.5 })),
    /maxSeries must be a positive integer, got 1.5/,
  );
  assert.equal(DEFAULT_MAX_SERIES, 200_000);
  assert.equal(DEFAULT_SERIES_TTL_NS, 3_600_000_000_000n);
});

// ---- State serialization -----------------------------------------------------------------------

Deno.test("seriesStateToJson / seriesStateFromJson: a saved state continues the series", () => {
  const live = createSeriesState();
  snapshotMetrics(snapshot(T0, 0), { state: live, temporality: "delta" });
  snapshotMetrics(querySnapshot(T0, 400, 1000), { state: live, temporality: "delta" });
  const text = JSON.stringify(seriesStateToJson(live));
  const restored = seriesStateFromJson(JSON.parse(text));
  assert.deepEqual([...restored.series], [...live.series]);
  assert.equal(JSON.stringify(seriesStateToJson(restored)), text);

  const T2 = new Date("2026-03-01T10:01:00Z");
  for (const make of [() => snapshot(T1, 3), () => querySnapshot(T2, 1000, 2600)]) {
    const a = snapshotMetrics(make(), { state: live, temporality: "delta" });
    const b = snapshotMetrics(make(), { state: restored, temporality: "delta" });
    assert.deepEqual(b, a);
  }
  const c = point(
    metricOf(
      snapshotMetrics(querySnapshot(new Date("2026-03-01T10:02:00Z"), 1100, 2700), {
        state: restored,
        temporality: "delta",
      }),
      inst,
      "pgquerylens.query.calls",
    ),
    QUERY_ATTRS,
  );
  assert.deepEqual([c.startTimeUnixNano, c.value], [dateToNs(T2), 100n]);
  assert.deepEqual(seriesStateToJson(createSeriesState()), { version: 1, series: [] });
  assert.equal(
    (seriesStateToJson(live) as { series: unknown[][] }).series.every((e) =>
      typeof e[1] === "string" && typeof e[3] === "string"
    ),
    true,
    "times are decimal strings",
  );
});

Deno.test("seriesStateFromJson: malformed input is refused with the problem named", () => {
  const ok = ["k", "1", 2, "3"];
  const cases: [unknown, RegExp][] = [
    [null, /expected an object with version and series/],
    [[ok], /expected an object/],
    [{ series: [] }, /unsupported version undefined/],
    [{ version: 2, series: [] }, /unsupported version 2 \(expected 1\)/],
    [{ version: 1 }, /series must be an array/],
    [{ version: 1, series: [ok, ["k", "1", 2]] }, /entry 1 must be \[key, start, value, time\]/],
    [{ version: 1, series: [["", "1", 2, "3"]] }, /entry 0 key must be a non-empty string/],
    [
      { version: 1, series: [["k", 1, 2, "3"]] },
      /entry 0 start must be a decimal string of nanoseconds, got 1/,
    ],
    [{ version: 1, series: [["k", "1", 2, "3.5"]] }, /entry 0 time must be a decimal string.*"3\.5"/],
    [{ version: 1, series: [["k", "1", "2", "3"]] }, /entry 0 value must be a finite number, got "2"/],
    [{ version: 1, series: [["k", "1", null, "3"]] }, /entry 0 value must be a finite number/],
    [{ version: 1, series: [ok, ok] }, /entry 1 repeats series "k"/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => seriesStateFromJson(input), message, JSON.stringify(input));
  }
  assert.deepEqual(
    [...seriesStateFromJson({ version: 1, series: [ok] }).series],
    [["k", { startNs: 1n, value: 2, timeNs: 3n }]],
  );
});
