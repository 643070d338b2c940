import assert from "node:assert/strict";
import {
  emptySnapshot,
  type QueryExecution,
  type QueryLensAggregate,
  type QueryLensStats,
  type SlowQuery,
  type UnifiedMetrics,
} from "../core/model.ts";
import { createTopQueryState, snapshotLogs } from "./logs.ts";
import {
  createSeriesState,
  dateToNs,
  type NumberPoint,
  type SeriesState,
  snapshotMetrics,
  type Temporality,
} from "./metrics.ts";
import {
  EXECUTION_EVENT_NAME,
  executionAttributes,
  executionLogRecords,
  QUERYLENS_FAMILIES,
  type QueryLensPoint,
  queryLensPoints,
} from "./querylens.ts";

const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 170002,
  majorVersion: 17,
  serverVersion: "17.2",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
const T0_US = T0.getTime() * 1000;
const QID = "-6482174329745523713";

const NO_WAITS = {
  waitCpuSamples: 0,
  waitLwlockSamples: 0,
  waitLockSamples: 0,
  waitBufferpinSamples: 0,
  waitIoSamples: 0,
  waitIpcSamples: 0,
  waitTimeoutSamples: 0,
  waitOtherSamples: 0,
};

function execution(over: Partial<QueryExecution> = {}): QueryExecution {
  return {
    queryId: QID,
    planId: "7310227119438526021",
    parentQueryId: QID,
    dbid: 16384,
    databaseName: "shop",
    userid: 10,
    userName: "app",
    pid: 4242,
    execSeq: 17,
    startTime: "2026-03-01T09:59:59.500001Z",
    startUnixUs: T0_US - 499_999,
    durationMs: 812.5,
    rows: 1,
    sharedBlksHit: 40,
    sharedBlksRead: 3,
    sharedBlksDirtied: 1,
    sharedBlksWritten: 0,
    localBlksHit: 0,
    localBlksRead: 0,
    localBlksDirtied: 0,
    localBlksWritten: 0,
    tempBytesRead: 0,
    tempBytesWritten: 8192,
    walBytes: 210,
    walRecords: 2,
    walFpi: 0,
    ...NO_WAITS,
    waitLockSamples: 2,
    failed: false,
    toplevel: true,
    nestingLevel: 0,
    command: "UPDATE",
    sampleReason: "slow",
    ...over,
  };
}

function aggregate(over: Partial<QueryLensAggregate> = {}): QueryLensAggregate {
  return {
    dbid: 16384,
    databaseName: "shop",
    queryId: QID,
    planId: "11",
    calls: 10,
    errors: 1,
    totalDurationMs: 2500,
    minDurationMs: 1,
    maxDurationMs: 900,
    rows: 10,
    sharedBlksHit: 0,
    sharedBlksRead: 0,
    tempBlksRead: 0,
    tempBlksWritten: 0,
    walBytes: 0,
    cpuMeasuredCalls: 0,
    ...NO_WAITS,
    waitCpuSamples: 4,
    waitIoSamples: 2,
    firstSeen: "2026-03-01T09:59:50.000000Z",
    firstSeenUnixUs: T0_US - 10_000_000,
    lastSeen: "2026-03-01T09:59:59.000000Z",
    lastSeenUnixUs: T0_US - 1_000_000,
    ...over,
  };
}

function stats(over: Partial<QueryLensStats> = {}): QueryLensStats {
  return {
    source: "ffi",
    sinceUnixMs: T0.getTime() - 60_000,
    sampled: { kept: { slow: 3, "rule:hot": 2 }, sampledOut: { rate_limit: 40 } },
    cycleSampled: { kept: { slow: 1 }, sampledOut: { rate_limit: 10 } },
    recordsRead: 45,
    recordsLost: 7,
    cycleRecordsRead: 11,
    cycleRecordsLost: 2,
    aggregateOverflow: 0,
    ...over,
  };
}

Deno.test("querylens OTLP: the attributes of an execution record, typed", () => {
  assert.deepEqual(executionAttributes(execution({ failed: true, sqlstate: "57014", cpuUserTimeMs: 0.75 })), {
    "db.system.name": "postgresql",
    "postgresql.queryid": QID,
    "pgquerylens.planid": "7310227119438526021",
    "pgquerylens.parent_queryid": QID,
    "db.namespace": "shop",
    "postgresql.rolname": "app",
    "postgresql.pid": 4242n,
    "pgquerylens.exec_seq": 17n,
    "pgquerylens.duration": 812.5,
    "postgresql.rows": 1n,
    "postgresql.shared_blks_hit": 40n,
    "postgresql.shared_blks_read": 3n,
    "postgresql.shared_blks_dirtied": 1n,
    "postgresql.shared_blks_written": 0n,
    "postgresql.local_blks_hit": 0n,
    "postgresql.local_blks_read": 0n,
    "postgresql.local_blks_dirtied": 0n,
    "postgresql.local_blks_written": 0n,
    "pgquerylens.temp_bytes_read": 0n,
    "pgquerylens.temp_bytes_written": 8192n,
    "pgquerylens.wal_bytes": 210n,
    "pgquerylens.wal_records": 2n,
    "pgquerylens.wal_fpi": 0n,
    "pgquerylens.cpu_user_time": 0.75,
    "pgquerylens.wait_samples.cpu": 0n,
    "pgquerylens.wait_samples.lwlock": 0n,
    "pgquerylens.wait_samples.lock": 2n,
    "pgquerylens.wait_samples.bufferpin": 0n,
    "pgquerylens.wait_samples.io": 0n,
    "pgquerylens.wait_samples.ipc": 0n,
    "pgquerylens.wait_samples.timeout": 0n,
    "pgquerylens.wait_samples.other": 0n,
    "pgquerylens.failed": true,
    "error.type": "57014",
    "pgquerylens.toplevel": true,
    "pgquerylens.nesting_level": 0n,
    "db.operation.name": "UPDATE",
    "pgquerylens.sample_reason": "slow",
  });
});

Deno.test("querylens OTLP: one record per execution at its start, with the slow query's text when known", () => {
  const slow = {
    queryId: QID,
    databaseName: "shop",
    queryText: "UPDATE orders SET note = $1 WHERE id = $2",
  } as SlowQuery;
  const records = executionLogRecords({
    queryExecutions: [
      execution(),
      execution({ execSeq: 18, databaseName: undefined }),
      execution({ queryId: "5" }),
    ],
    slowQueries: [slow],
  });
  assert.deepEqual(records.map((r) => r.eventName), [
    EXECUTION_EVENT_NAME,
    EXECUTION_EVENT_NAME,
    EXECUTION_EVENT_NAME,
  ]);
  assert.equal(records[0].timeUnixNano, dateToNs(T0) - 499_999_000n);
  assert.equal(records[0].attributes["db.query.text"], slow.queryText);
  assert.ok(!("db.query.text" in records[1].attributes) && !("db.namespace" in records[1].attributes));
  assert.ok(!("db.query.text" in records[2].attributes));
  assert.deepEqual(executionLogRecords({ slowQueries: [slow] }), []);
});

Deno.test("querylens OTLP: snapshotLogs carries the execution records after the others", () => {
  const snap: UnifiedMetrics = { ...emptySnapshot(INSTANCE, T0), queryExecutions: [execution()] };
  const [res] = snapshotLogs(snap, { state: createTopQueryState() });
  assert.deepEqual(res.scopeLogs[0].logRecords.map((r) => r.eventName), [EXECUTION_EVENT_NAME]);
  assert.deepEqual(snapshotLogs(emptySnapshot(INSTANCE, T0), { state: createTopQueryState() }), []);
});

function points(out: QueryLensPoint[], name: string, extra: Record<string, string> = {}): NumberPoint[] {
  return out.filter((p) =>
    p.family.name === name && Object.entries(extra).every(([k, v]) => p.point.attributes[k] === v)
  ).map((p) => p.point);
}

function cycle(state: SeriesState, temporality: Temporality, at: Date, snap: Partial<UnifiedMetrics>) {
  return queryLensPoints(snap, { state, temporality, nowNs: dateToNs(at) });
}

Deno.test("querylens OTLP: plan sums accumulate across cycles from the first execution counted", () => {
  const state = createSeriesState();
  const first = cycle(state, "cumulative", T0, { queryLensAggregates: [aggregate()] });
  const plan = { "db.namespace": "shop", "postgresql.queryid": QID, "pgquerylens.planid": "11" };
  const start = dateToNs(T0) - 10_000_000_000n;
  assert.deepEqual(points(first, "pgquerylens.plan.calls"), [
    { attributes: plan, startTimeUnixNano: start, timeUnixNano: dateToNs(T0), value: 10n },
  ]);
  assert.deepEqual(points(first, "pgquerylens.plan.duration")[0].value, 2.5);
  assert.deepEqual(points(first, "pgquerylens.plan.errors")[0].value, 1n);
  const waits = points(first, "pgquerylens.plan.wait.samples");
  assert.deepEqual(waits.map((p) => [p.attributes["pgquerylens.wait.class"], p.value]), [
    ["CPU", 4n],
    ["IO", 2n],
  ]);
  const second = cycle(state, "cumulative", T1, {
    queryLensAggregates: [
      aggregate({ calls: 5, errors: 0, totalDurationMs: 500, firstSeenUnixUs: T0_US + 1, waitIoSamples: 0 }),
    ],
  });
  assert.deepEqual(points(second, "pgquerylens.plan.calls"), [
    { attributes: plan, startTimeUnixNano: start, timeUnixNano: dateToNs(T1), value: 15n },
  ]);
  assert.equal(points(second, "pgquerylens.plan.duration")[0].value, 3);
  assert.equal(points(second, "pgquerylens.plan.errors")[0].value, 1n);
  assert.deepEqual(
    points(second, "pgquerylens.plan.wait.samples").map((
      p,
    ) => [p.attributes["pgquerylens.wait.class"], p.value]),
    [["CPU", 8n]],
    "a class without samples this cycle gets no point",
  );
});

Deno.test("querylens OTLP: with delta temporality each point is the cycle's own sum", () => {
  const state = createSeriesState();
  const first = cycle(state, "delta", T0, { queryLensAggregates: [aggregate()] });
  assert.deepEqual(
    points(first, "pgquerylens.plan.calls").map((p) => [p.startTimeUnixNano, p.value]),
    [[dateToNs(T0) - 10_000_000_000n, 10n]],
    "the first cycle is not lost",
  );
  const second = cycle(state, "delta", T1, { queryLensAggregates: [aggregate({ calls: 5 })] });
  assert.deepEqual(points(second, "pgquerylens.plan.calls").map((p) => [p.startTimeUnixNano, p.value]), [
    [dateToNs(T0), 5n],
  ]);
});

Deno.test("querylens OTLP: plans are told apart by plan id and database; an unknown database by its oid", () => {
  const state = createSeriesState();
  const out = cycle(state, "cumulative", T0, {
    queryLensAggregates: [
      aggregate({ planId: "11", calls: 1 }),
      aggregate({ planId: "12", calls: 2 }),
      aggregate({ databaseName: undefined, dbid: 99, calls: 3 }),
    ],
  });
  assert.deepEqual(points(out, "pgquerylens.plan.calls").map((p) => [p.attributes, p.value]), [
    [{ "db.namespace": "shop", "postgresql.queryid": QID, "pgquerylens.planid": "11" }, 1n],
    [{ "db.namespace": "shop", "postgresql.queryid": QID, "pgquerylens.planid": "12" }, 2n],
    [{ "pgquerylens.dbid": 99n, "postgresql.queryid": QID, "pgquerylens.planid": "11" }, 3n],
  ]);
});

Deno.test("querylens OTLP: a first execution later than the collection time starts the series at that time", () => {
  const state = createSeriesState();
  const out = cycle(state, "cumulative", T0, {
    queryLensAggregates: [aggregate({ firstSeenUnixUs: T0_US + 5 })],
  });
  assert.equal(points(out, "pgquerylens.plan.calls")[0].startTimeUnixNano, dateToNs(T0));
});

Deno.test("querylens OTLP: sampler and reader counters are sums from their start, restarted with it", () => {
  const since = dateToNs(T0) - 60_000_000_000n;
  const state = createSeriesState();
  const first = cycle(state, "cumulative", T0, { queryLensStats: stats() });
  assert.deepEqual(
    points(first, "pgquerylens.querylens.sampled").map((p) => [
      p.attributes["pgquerylens.decision"],
      p.attributes["pgquerylens.reason"],
      p.value,
      p.startTimeUnixNano,
    ]),
    [["kept", "slow", 3n, since], ["kept", "rule:hot", 2n, since], ["sampled_out", "rate_limit", 40n, since]],
  );
  assert.deepEqual(points(first, "pgquerylens.querylens.lost"), [
    {
      attributes: { "pgquerylens.source": "ffi" },
      startTimeUnixNano: since,
      timeUnixNano: dateToNs(T0),
      value: 7n,
    },
  ]);

  const deltaState = createSeriesState();
  cycle(deltaState, "delta", T0, { queryLensStats: stats() });
  const more = stats({ sampled: { kept: { slow: 5 }, sampledOut: {} }, recordsLost: 9 });
  const second = cycle(deltaState, "delta", T1, { queryLensStats: more });
  assert.deepEqual(
    points(second, "pgquerylens.querylens.sampled").map((p) => [p.value, p.startTimeUnixNano]),
    [
      [2n, dateToNs(T0)],
    ],
  );
  assert.equal(points(second, "pgquerylens.querylens.lost")[0].value, 2n);
  // A new process: counters start again from a later start.
  const restarted = stats({ sinceUnixMs: T1.getTime() - 1000, recordsLost: 1 });
  const third = cycle(deltaState, "delta", T1, { queryLensStats: restarted });
  assert.deepEqual(points(third, "pgquerylens.querylens.lost").map((p) => [p.value, p.startTimeUnixNano]), [
    [1n, dateToNs(T1) - 1_000_000_000n],
  ]);
});

Deno.test("querylens OTLP: snapshotMetrics emits the plan sums on the instance resource", () => {
  const snap: UnifiedMetrics = {
    ...emptySnapshot(INSTANCE, T0),
    queryLensAggregates: [aggregate()],
    queryLensStats: stats(),
  };
  const res = snapshotMetrics(snap, { state: createSeriesState(), temporality: "cumulative" });
  assert.equal(res.resourceMetrics.length, 1);
  const metrics = res.resourceMetrics[0].scopeMetrics[0].metrics;
  const byName = new Map(metrics.map((m) => [m.name, m]));
  for (const f of Object.values(QUERYLENS_FAMILIES)) {
    const m = byName.get(f.name);
    assert.ok(m, f.name);
    assert.equal(m.type, "sum");
    assert.equal(m.monotonic, true);
    assert.equal(m.unit, f.unit);
  }
  assert.equal(byName.get("pgquerylens.plan.calls")!.points[0].value, 10n);
  assert.deepEqual(
    snapshotMetrics(emptySnapshot(INSTANCE, T0), { state: createSeriesState(), temporality: "cumulative" })
      .resourceMetrics,
    [],
  );
});
