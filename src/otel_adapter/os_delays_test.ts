import assert from "node:assert/strict";
import { type EbpfStats, emptySnapshot, type QueryOsDelay, type UnifiedMetrics } from "../core/model.ts";
import { createTopQueryState, snapshotLogs } from "./logs.ts";
import {
  createSeriesState,
  dateToNs,
  type SeriesState,
  snapshotMetrics,
  type Temporality,
} from "./metrics.ts";
import { OS_DELAY_EVENT_NAME, OS_DELAY_FAMILIES, osDelayLogRecords, osDelayPoints } from "./os_delays.ts";

const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 150020,
  majorVersion: 15,
  serverVersion: "15.20",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:15Z");
const startUs = (d: Date, plusMs: number) => (d.getTime() + plusMs) * 1000;

function query(over: Partial<QueryOsDelay> = {}): QueryOsDelay {
  const us = startUs(T0, -2000);
  return {
    pid: 4242,
    databaseName: "shop",
    userName: "app",
    protocol: "simple",
    aborted: false,
    startTime: new Date(us / 1000).toISOString(),
    startUnixUs: us,
    durationMs: 1500,
    onCpuMs: 250,
    runQueueMs: 50,
    ioWaitMs: 1000,
    sleepMs: 200,
    switches: 40,
    queryText: "SELECT * FROM t WHERE id = ?",
    queryId: "-42",
    planId: "7",
    execSeq: 3,
    ...over,
  };
}

function stats(over: Partial<EbpfStats> = {}): EbpfStats {
  return {
    sinceUnixMs: T0.getTime() - 60_000,
    probeHits: 1000,
    queriesClosed: 300,
    eventsEmitted: 20,
    belowThreshold: 280,
    ringFull: 0,
    orphaned: 1,
    unsampled: 0,
    inflightFull: 0,
    cycleEvents: 20,
    eventOverflow: 0,
    ...over,
  };
}

const snap = (at: Date, rows: QueryOsDelay[], s?: EbpfStats): UnifiedMetrics => ({
  ...emptySnapshot(INSTANCE, at),
  queryOsDelays: rows,
  ...(s ? { ebpfStats: s } : {}),
});

const points = (s: UnifiedMetrics, state: SeriesState, temporality: Temporality = "cumulative") =>
  osDelayPoints(s, { state, temporality, nowNs: dateToNs(s.collectedAt) });

Deno.test("os delay OTLP: time by state and query counts are summed per database from the first query", () => {
  const state = createSeriesState();
  const first = points(snap(T0, [query(), query({ onCpuMs: 750, databaseName: undefined })]), state);
  const start = dateToNs(T0) - 2_000_000_000n;
  assert.deepEqual(
    first.map((p) => [p.family.name, p.point.attributes, p.point.value, p.point.startTimeUnixNano]),
    [
      [
        "pgquerylens.os.query.time",
        { "db.namespace": "shop", "pgquerylens.os.state": "on_cpu" },
        0.25,
        start,
      ],
      [
        "pgquerylens.os.query.time",
        { "db.namespace": "shop", "pgquerylens.os.state": "run_queue" },
        0.05,
        start,
      ],
      ["pgquerylens.os.query.time", { "db.namespace": "shop", "pgquerylens.os.state": "io_wait" }, 1, start],
      ["pgquerylens.os.query.time", { "db.namespace": "shop", "pgquerylens.os.state": "sleep" }, 0.2, start],
      ["pgquerylens.os.queries", { "db.namespace": "shop" }, 1n, start],
      ["pgquerylens.os.query.time", { "pgquerylens.os.state": "on_cpu" }, 0.75, start],
      ["pgquerylens.os.query.time", { "pgquerylens.os.state": "run_queue" }, 0.05, start],
      ["pgquerylens.os.query.time", { "pgquerylens.os.state": "io_wait" }, 1, start],
      ["pgquerylens.os.query.time", { "pgquerylens.os.state": "sleep" }, 0.2, start],
      ["pgquerylens.os.queries", {}, 1n, start],
    ],
  );
  const second = points(snap(T1, [query({ startUnixUs: startUs(T1, -1000), ioWaitMs: 500 })]), state);
  const io = second.find((p) => p.point.attributes["pgquerylens.os.state"] === "io_wait")!;
  assert.equal(io.point.value, 1.5);
  assert.equal(io.point.startTimeUnixNano, start);
  assert.equal(second.find((p) => p.family === OS_DELAY_FAMILIES.queries)!.point.value, 2n);
});

Deno.test("os delay OTLP: with delta temporality each sum point is the cycle's own", () => {
  const state = createSeriesState();
  points(snap(T0, [query()]), state, "delta");
  const second = points(snap(T1, [query({ sleepMs: 3000 })]), state, "delta");
  const sleep = second.find((p) => p.point.attributes["pgquerylens.os.state"] === "sleep")!;
  assert.equal(sleep.point.value, 3);
  assert.equal(sleep.point.startTimeUnixNano, dateToNs(T0));
});

Deno.test("os delay OTLP: probe hits and outcomes are sums from the program's load", () => {
  const state = createSeriesState();
  const first = points(snap(T0, [], stats()), state);
  const since = dateToNs(T0) - 60_000_000_000n;
  assert.deepEqual(
    first.map((p) => [p.family.name, p.point.attributes, p.point.value, p.point.startTimeUnixNano]),
    [
      ["pgquerylens.ebpf.probe.hits", {}, 1000n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "emitted" }, 20n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "below_threshold" }, 280n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "ring_full" }, 0n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "orphaned" }, 1n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "unsampled" }, 0n, since],
      ["pgquerylens.ebpf.queries", { "pgquerylens.outcome": "inflight_full" }, 0n, since],
    ],
  );
  const delta = points(snap(T1, [], stats({ probeHits: 1500 })), state, "delta");
  assert.equal(delta[0].point.value, 500n);
  assert.equal(delta[0].point.startTimeUnixNano, dateToNs(T0));
  const restarted = points(
    snap(T1, [], stats({ sinceUnixMs: T1.getTime() - 1000, probeHits: 4 })),
    state,
    "delta",
  );
  assert.equal(restarted[0].point.value, 4n, "a new start restarts the counter");
});

Deno.test("os delay OTLP: one log record per query at its start, typed as the catalog says", () => {
  const records = osDelayLogRecords(snap(T0, [query(), query({ aborted: true, queryId: undefined })]));
  assert.equal(records.length, 2);
  assert.deepEqual(records[0], {
    eventName: OS_DELAY_EVENT_NAME,
    timeUnixNano: dateToNs(T0) - 2_000_000_000n,
    attributes: {
      "db.system.name": "postgresql",
      "postgresql.pid": 4242n,
      "db.namespace": "shop",
      "postgresql.rolname": "app",
      "pgquerylens.protocol": "simple",
      "pgquerylens.aborted": false,
      "pgquerylens.duration": 1500,
      "pgquerylens.os.on_cpu": 250,
      "pgquerylens.os.run_queue": 50,
      "pgquerylens.os.io_wait": 1000,
      "pgquerylens.os.sleep": 200,
      "pgquerylens.os.switches": 40n,
      "db.query.text": "SELECT * FROM t WHERE id = ?",
      "postgresql.queryid": "-42",
      "pgquerylens.planid": "7",
      "pgquerylens.exec_seq": 3n,
    },
  });
  assert.equal(records[1].attributes["pgquerylens.aborted"], true);
  assert.ok(!("postgresql.queryid" in records[1].attributes));
});

Deno.test("os delay OTLP: snapshotMetrics and snapshotLogs carry it on the instance resource", () => {
  const s = snap(T0, [query()], stats());
  const metrics = snapshotMetrics(s, { state: createSeriesState(), temporality: "cumulative" });
  const names = metrics.resourceMetrics.flatMap((r) =>
    r.scopeMetrics[0].metrics.map((m) => [m.name, m.type])
  );
  assert.deepEqual(names, [
    ["pgquerylens.os.query.time", "sum"],
    ["pgquerylens.os.queries", "sum"],
    ["pgquerylens.ebpf.probe.hits", "sum"],
    ["pgquerylens.ebpf.queries", "sum"],
  ]);
  const [logs] = snapshotLogs(s, { state: createTopQueryState() });
  assert.deepEqual(logs.scopeLogs[0].logRecords.map((r) => r.eventName), [OS_DELAY_EVENT_NAME]);
  assert.deepEqual(points(emptySnapshot(INSTANCE, T0), createSeriesState()), []);
  assert.deepEqual(osDelayLogRecords(emptySnapshot(INSTANCE, T0)), []);
});
