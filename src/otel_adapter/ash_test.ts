import assert from "node:assert/strict";
import { type AshAggregate, type AshStats, emptySnapshot, type UnifiedMetrics } from "../core/model.ts";
import { ASH_EVENT_NAME, ASH_FAMILIES, ashLogRecords, ashPoints, groupAttributes } from "./ash.ts";
import { createTopQueryState, snapshotLogs } from "./logs.ts";
import {
  createSeriesState,
  dateToNs,
  type SeriesState,
  snapshotMetrics,
  type Temporality,
} from "./metrics.ts";

const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 170002,
  majorVersion: 17,
  serverVersion: "17.2",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:15Z");
const ms = (d: Date, plus = 0) => d.getTime() + plus;

function group(over: Partial<AshAggregate> = {}, at: Date = T0): AshAggregate {
  return {
    databaseName: "shop",
    userName: "app",
    state: "active",
    waitEventType: "Lock",
    waitEvent: "transactionid",
    queryId: "-42",
    samples: 30,
    sessions: 2,
    averageActiveSessions: 2,
    cpuSeconds: 0.25,
    cpuSamples: 28,
    blockedSamples: 30,
    blockingPids: "4242",
    windowSamples: 15,
    sampleIntervalMs: 1000,
    windowStart: new Date(ms(at, -14_000)).toISOString(),
    windowStartUnixMs: ms(at, -14_000),
    windowEnd: at.toISOString(),
    windowEndUnixMs: ms(at),
    ...over,
  };
}

function stats(over: Partial<AshStats> = {}): AshStats {
  return {
    sinceUnixMs: ms(T0, -60_000),
    intervalMs: 1000,
    samplesTaken: 60,
    sampleFailures: 1,
    samplesSkipped: 0,
    cycleSamples: 15,
    cycleFailures: 0,
    evictedSamples: 0,
    evictedSessionSamples: 0,
    unexportedSamples: 0,
    ringSamples: 60,
    ringSessionSamples: 240,
    cpuMeasured: true,
    aggregateOverflow: 0,
    ...over,
  };
}

const snap = (at: Date, rows: AshAggregate[], s?: AshStats): UnifiedMetrics => ({
  ...emptySnapshot(INSTANCE, at),
  activeSessionHistory: rows,
  ...(s ? { ashStats: s } : {}),
});

const points = (s: UnifiedMetrics, state: SeriesState, temporality: Temporality = "cumulative") =>
  ashPoints(s, { state, temporality, nowNs: dateToNs(s.collectedAt) });

const GROUP = {
  "db.namespace": "shop",
  "postgresql.rolname": "app",
  "postgresql.state": "active",
  "postgresql.wait_event_type": "Lock",
  "postgresql.wait_event": "transactionid",
  "postgresql.queryid": "-42",
};

Deno.test("ash OTLP: a group is identified by its database, role, state, wait event and query id", () => {
  assert.deepEqual(groupAttributes(group()), GROUP);
  const onCpu = group({
    userName: undefined,
    waitEventType: undefined,
    waitEvent: undefined,
    queryId: undefined,
  });
  assert.deepEqual(groupAttributes(onCpu), { "db.namespace": "shop", "postgresql.state": "active" });
});

Deno.test("ash OTLP: the gauge is the cycle's average; sample and CPU sums accumulate from the first sample", () => {
  const state = createSeriesState();
  const first = points(snap(T0, [group()]), state);
  assert.deepEqual(first.map((p) => [p.family.name, p.point.value, p.point.startTimeUnixNano]), [
    ["pgquerylens.ash.active_sessions", 2, undefined],
    ["pgquerylens.ash.samples", 30n, dateToNs(T0) - 14_000_000_000n],
    ["pgquerylens.ash.cpu.time", 0.25, dateToNs(T0) - 14_000_000_000n],
  ]);
  for (const p of first) assert.deepEqual(p.point.attributes, GROUP);
  const second = points(
    snap(T1, [group({ samples: 10, averageActiveSessions: 0.6667, cpuSeconds: undefined }, T1)]),
    state,
  );
  assert.deepEqual(second.map((p) => [p.family.name, p.point.value, p.point.startTimeUnixNano]), [
    ["pgquerylens.ash.active_sessions", 0.6667, undefined],
    ["pgquerylens.ash.samples", 40n, dateToNs(T0) - 14_000_000_000n],
  ], "no CPU point when CPU was not measured");
});

Deno.test("ash OTLP: with delta temporality each sum point is the cycle's own", () => {
  const state = createSeriesState();
  points(snap(T0, [group()]), state, "delta");
  const second = points(snap(T1, [group({ samples: 10 }, T1)]), state, "delta");
  const samples = second.find((p) => p.family === ASH_FAMILIES.samples)!;
  assert.equal(samples.point.value, 10n);
  assert.equal(samples.point.startTimeUnixNano, dateToNs(T0));
});

Deno.test("ash OTLP: sampler outcomes and evictions are sums from the sampler's start", () => {
  const state = createSeriesState();
  const first = points(snap(T0, [], stats()), state);
  const since = dateToNs(T0) - 60_000_000_000n;
  assert.deepEqual(
    first.map((p) => [p.family.name, p.point.attributes, p.point.value, p.point.startTimeUnixNano]),
    [
      ["pgquerylens.ash.sampler.samples", { "pgquerylens.outcome": "taken" }, 60n, since],
      ["pgquerylens.ash.sampler.samples", { "pgquerylens.outcome": "failed" }, 1n, since],
      ["pgquerylens.ash.sampler.samples", { "pgquerylens.outcome": "skipped" }, 0n, since],
      ["pgquerylens.ash.evicted", {}, 0n, since],
    ],
  );
  const delta = points(snap(T1, [], stats({ samplesTaken: 75 })), state, "delta");
  assert.equal(delta[0].point.value, 15n);
  assert.equal(delta[0].point.startTimeUnixNano, dateToNs(T0));
});

Deno.test("ash OTLP: one log record per group at the window's end, typed as the catalog says", () => {
  const records = ashLogRecords(
    snap(T0, [group(), group({ cpuSeconds: undefined, blockingPids: undefined })]),
  );
  assert.equal(records.length, 2);
  assert.deepEqual(records[0], {
    eventName: ASH_EVENT_NAME,
    timeUnixNano: dateToNs(T0),
    attributes: {
      "db.system.name": "postgresql",
      ...GROUP,
      "pgquerylens.ash.samples": 30n,
      "pgquerylens.ash.sessions": 2n,
      "pgquerylens.ash.active_sessions": 2,
      "pgquerylens.ash.cpu_time": 0.25,
      "pgquerylens.ash.cpu_samples": 28n,
      "pgquerylens.ash.blocked_samples": 30n,
      "pgquerylens.ash.blocking_pids": "4242",
      "pgquerylens.ash.window_samples": 15n,
      "pgquerylens.ash.sample_interval": 1000n,
    },
  });
  assert.ok(!("pgquerylens.ash.cpu_time" in records[1].attributes));
  assert.ok(!("pgquerylens.ash.blocking_pids" in records[1].attributes));
});

Deno.test("ash OTLP: snapshotMetrics and snapshotLogs carry it on the instance resource", () => {
  const s = snap(T0, [group()], stats());
  const metrics = snapshotMetrics(s, { state: createSeriesState(), temporality: "cumulative" });
  const names = metrics.resourceMetrics.flatMap((r) =>
    r.scopeMetrics[0].metrics.map((m) => [m.name, m.type])
  );
  assert.deepEqual(names, [
    ["pgquerylens.ash.active_sessions", "gauge"],
    ["pgquerylens.ash.samples", "sum"],
    ["pgquerylens.ash.cpu.time", "sum"],
    ["pgquerylens.ash.sampler.samples", "sum"],
    ["pgquerylens.ash.evicted", "sum"],
  ]);
  const [logs] = snapshotLogs(s, { state: createTopQueryState() });
  assert.deepEqual(logs.scopeLogs[0].logRecords.map((r) => r.eventName), [ASH_EVENT_NAME]);
  assert.deepEqual(points(emptySnapshot(INSTANCE, T0), createSeriesState()), []);
  assert.deepEqual(ashLogRecords(emptySnapshot(INSTANCE, T0)), []);
});
