import assert from "node:assert/strict";
import type { SlowQueryRow } from "../qpm/slow_queries.ts";
import {
  commandOf,
  durationMsOf,
  individualFromRing,
  type NameResolvers,
  queryExecutions,
  rfc3339Micros,
  toQueryExecution,
  waitSamplesOf,
} from "./executions.ts";
import { qlRecord, QUERY_ID, T0_US } from "./testing.ts";

const NAMES: NameResolvers = {
  databases: new Map([[16384, "shop"]]),
  users: new Map([[10, "app"]]),
  waitEventName: (info) => (info === 0x0A000003 ? "Lock:transactionid" : undefined),
};

Deno.test("toQueryExecution: every field of a failed execution with I/O and CPU times", () => {
  const r = qlRecord({
    type: "error",
    sqlstate: "40P01",
    pid: 901,
    execSeq: 77n,
    cmdType: 2,
    toplevel: false,
    nestingLevel: 2,
    planId: -12n,
    parentQueryId: 555n,
    startUs: T0_US + 123_456,
    durationNs: 12_345_678,
    rows: 3,
    sharedBlksHit: 10,
    sharedBlksRead: 2,
    sharedBlksDirtied: 1,
    sharedBlksWritten: 4,
    localBlksHit: 5,
    localBlksRead: 6,
    localBlksDirtied: 7,
    localBlksWritten: 8,
    tempBlksRead: 2,
    tempBlksWritten: 3,
    walBytes: 4096,
    walRecords: 9,
    walFpi: 1,
    io: {
      sharedReadUs: 1500,
      sharedWriteUs: 20,
      localReadUs: 0,
      localWriteUs: 1,
      tempReadUs: 250,
      tempWriteUs: 999,
    },
    cpu: { userUs: 8000, sysUs: 1234 },
    waitSamples: [3, 1, 2, 0, 4, 0, 0, 1],
    waitEventLast: 0x0A000003,
  });
  assert.deepEqual(toQueryExecution(r, "error", { ...NAMES, blockSize: 16384 }), {
    queryId: "-6482174329745523713",
    planId: "-12",
    parentQueryId: "555",
    dbid: 16384,
    databaseName: "shop",
    userid: 10,
    userName: "app",
    pid: 901,
    execSeq: 77,
    startTime: "2026-03-01T10:00:00.123456Z",
    startUnixUs: T0_US + 123_456,
    durationMs: 12.346,
    rows: 3,
    sharedBlksHit: 10,
    sharedBlksRead: 2,
    sharedBlksDirtied: 1,
    sharedBlksWritten: 4,
    localBlksHit: 5,
    localBlksRead: 6,
    localBlksDirtied: 7,
    localBlksWritten: 8,
    tempBytesRead: 2 * 16384,
    tempBytesWritten: 3 * 16384,
    walBytes: 4096,
    walRecords: 9,
    walFpi: 1,
    sharedReadTimeMs: 1.5,
    sharedWriteTimeMs: 0.02,
    localReadTimeMs: 0,
    localWriteTimeMs: 0.001,
    tempReadTimeMs: 0.25,
    tempWriteTimeMs: 0.999,
    cpuUserTimeMs: 8,
    cpuSysTimeMs: 1.234,
    waitCpuSamples: 3,
    waitLwlockSamples: 1,
    waitLockSamples: 2,
    waitBufferpinSamples: 0,
    waitIoSamples: 4,
    waitIpcSamples: 0,
    waitTimeoutSamples: 0,
    waitOtherSamples: 1,
    waitEventLast: "Lock:transactionid",
    failed: true,
    sqlstate: "40P01",
    toplevel: false,
    nestingLevel: 2,
    command: "UPDATE",
    sampleReason: "error",
  });
});

Deno.test("toQueryExecution: what was not measured or not resolved is absent", () => {
  const row = toQueryExecution(
    qlRecord({ dbid: 1, userid: 2, waitEventLast: 0x05000001, tempBlksWritten: 1 }),
    "default",
    NAMES,
  );
  for (
    const key of [
      "databaseName",
      "userName",
      "sharedReadTimeMs",
      "tempWriteTimeMs",
      "cpuUserTimeMs",
      "cpuSysTimeMs",
      "waitEventLast",
      "sqlstate",
    ]
  ) {
    assert.ok(!(key in row), key);
  }
  assert.equal(row.failed, false);
  assert.equal(row.tempBytesWritten, 8192, "the default block size");
  assert.equal(row.command, "SELECT");
  const noResolver = toQueryExecution(qlRecord({ waitEventLast: 0x0A000003 }), "slow", {
    databases: new Map(),
    users: new Map(),
  });
  assert.ok(!("waitEventLast" in noResolver));
});

Deno.test("queryExecutions keeps the order and the reasons", () => {
  const rows = queryExecutions([
    { record: qlRecord({ execSeq: 5n }), reason: "rule:hot" },
    { record: qlRecord({ execSeq: 2n }), reason: "default" },
  ], NAMES);
  assert.deepEqual(rows.map((r) => [r.execSeq, r.sampleReason]), [[5, "rule:hot"], [2, "default"]]);
});

Deno.test("commandOf maps the executor's command types", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(commandOf), [
    "OTHER",
    "SELECT",
    "UPDATE",
    "INSERT",
    "DELETE",
    "OTHER",
    "OTHER",
    "OTHER",
  ]);
});

Deno.test("rfc3339Micros keeps microseconds, durationMsOf rounds to them, waitSamplesOf names classes", () => {
  assert.equal(rfc3339Micros(T0_US), "2026-03-01T10:00:00.000000Z");
  assert.equal(rfc3339Micros(T0_US + 999_999), "2026-03-01T10:00:00.999999Z");
  assert.equal(rfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
  assert.throws(() => rfc3339Micros(NaN), RangeError);
  assert.equal(durationMsOf(qlRecord({ durationNs: 1_234_567 })), 1.235);
  assert.deepEqual(waitSamplesOf(qlRecord({ waitSamples: [1, 2, 3, 4, 5, 6, 7, 8] })), {
    waitCpuSamples: 1,
    waitLwlockSamples: 2,
    waitLockSamples: 3,
    waitBufferpinSamples: 4,
    waitIoSamples: 5,
    waitIpcSamples: 6,
    waitTimeoutSamples: 7,
    waitOtherSamples: 8,
  });
});

function slowRow(over: Partial<SlowQueryRow> = {}): SlowQueryRow {
  return {
    queryId: QUERY_ID.toString(),
    dbid: "16384",
    queryText: "SELECT * FROM orders WHERE id = $1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: 100,
    avgElapsedTimeMs: 4.5,
    avgDiskReads: 0,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2026-03-01T10:00:00Z",
    ...over,
  };
}

Deno.test("individualFromRing: executions over the threshold of each slow query, longest first", () => {
  const ms = (n: number) => n * 1_000_000;
  const records = [
    qlRecord({ execSeq: 1n, durationNs: ms(3), planId: 11n }),
    qlRecord({ execSeq: 2n, durationNs: ms(9), planId: 22n, cpu: { userUs: 4000, sysUs: 500 } }),
    qlRecord({ execSeq: 3n, durationNs: ms(2) }), // at the threshold: not over it
    qlRecord({ execSeq: 4n, durationNs: ms(50), type: "error" }), // failed
    qlRecord({ execSeq: 5n, durationNs: ms(40), dbid: 16385 }), // other database
    qlRecord({ execSeq: 6n, durationNs: ms(30), queryId: 99n }), // other query
    qlRecord({ execSeq: 7n, durationNs: ms(6), planId: 33n }),
  ];
  const rows = individualFromRing([slowRow()], records, { countThreshold: 20, responseTimeThresholdMs: 2 });
  assert.deepEqual(rows, [
    {
      queryText: "SELECT * FROM orders WHERE id = $1",
      queryId: "-6482174329745523713",
      databaseName: "shop",
      planId: "22",
      execTimeMs: 9,
      avgExecTimeMs: 4.5,
      source: "pg_querylens",
      cpuTimeMs: 4.5,
    },
    {
      queryText: "SELECT * FROM orders WHERE id = $1",
      queryId: "-6482174329745523713",
      databaseName: "shop",
      planId: "33",
      execTimeMs: 6,
      avgExecTimeMs: 4.5,
      source: "pg_querylens",
    },
    {
      queryText: "SELECT * FROM orders WHERE id = $1",
      queryId: "-6482174329745523713",
      databaseName: "shop",
      planId: "11",
      execTimeMs: 3,
      avgExecTimeMs: 4.5,
      source: "pg_querylens",
    },
  ]);
});

Deno.test("individualFromRing: at most min(N, 10) per slow query, each slow query once", () => {
  const records = Array.from(
    { length: 15 },
    (_, i) => qlRecord({ execSeq: BigInt(i), durationNs: (i + 10) * 1e6 }),
  );
  const ctx = { countThreshold: 20, responseTimeThresholdMs: 1 };
  const ten = individualFromRing([slowRow()], records, ctx);
  assert.equal(ten.length, 10);
  assert.deepEqual(ten.map((r) => r.execTimeMs), [24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
  assert.equal(individualFromRing([slowRow()], records, { ...ctx, countThreshold: 3 }).length, 3);
  assert.equal(individualFromRing([slowRow(), slowRow()], records, { ...ctx, countThreshold: 3 }).length, 3);
  assert.deepEqual(individualFromRing([slowRow()], records, { ...ctx, countThreshold: 0 }), []);
  assert.deepEqual(individualFromRing([], records, ctx), []);
  const other = slowRow({ queryId: "99", queryText: "SELECT 2" });
  const both = individualFromRing(
    [slowRow(), other],
    [...records, qlRecord({ queryId: 99n, durationNs: 5e6 })],
    { ...ctx, countThreshold: 2 },
  );
  assert.deepEqual(both.map((r) => [r.queryId, r.execTimeMs]), [
    [QUERY_ID.toString(), 24],
    [QUERY_ID.toString(), 23],
    ["99", 5],
  ]);
});
