import assert from "node:assert/strict";
import { addRecords, type AggregateNames, createAggregator, finishAggregates } from "./aggregate.ts";
import { qlRecord, T0_US } from "./testing.ts";

const NAMES: AggregateNames = {
  databases: new Map([[16384, "shop"]]),
  waitEventName: (info) => ({ 0x0A000003: "Lock:transactionid", 0x06000000: "IO:DataFileRead" })[info],
};
const ms = (n: number) => n * 1_000_000;

Deno.test("aggregate: every sum of one plan", () => {
  const agg = createAggregator();
  addRecords(agg, [
    qlRecord({
      execSeq: 1n,
      startUs: T0_US,
      durationNs: ms(4),
      rows: 2,
      sharedBlksHit: 10,
      sharedBlksRead: 1,
      tempBlksRead: 3,
      tempBlksWritten: 4,
      walBytes: 100,
      cpu: { userUs: 1500, sysUs: 250 },
      waitSamples: [1, 0, 2, 0, 0, 0, 0, 0],
      waitEventLast: 0x0A000003,
    }),
    qlRecord({
      execSeq: 2n,
      type: "error",
      sqlstate: "57014",
      startUs: T0_US + 1_000,
      durationNs: ms(10),
      rows: 0,
      sharedBlksHit: 5,
      sharedBlksRead: 2,
      walBytes: 50,
      waitSamples: [0, 1, 0, 0, 3, 0, 0, 1],
      waitEventLast: 0x06000000,
    }),
  ]);
  addRecords(agg, [
    qlRecord({
      execSeq: 3n,
      startUs: T0_US + 2_000,
      durationNs: ms(1),
      rows: 1,
      sharedBlksHit: 1,
      sharedBlksRead: 0,
      cpu: { userUs: 500, sysUs: 0 },
    }),
  ]);
  const { aggregates, overflow } = finishAggregates(agg, NAMES);
  assert.equal(overflow, 0);
  assert.deepEqual(aggregates, [{
    dbid: 16384,
    databaseName: "shop",
    queryId: "-6482174329745523713",
    planId: "7310227119438526021",
    calls: 3,
    errors: 1,
    totalDurationMs: 15,
    minDurationMs: 1,
    maxDurationMs: 10,
    rows: 3,
    sharedBlksHit: 16,
    sharedBlksRead: 3,
    tempBlksRead: 3,
    tempBlksWritten: 4,
    walBytes: 150,
    cpuMeasuredCalls: 2,
    cpuUserTimeMs: 2,
    cpuSysTimeMs: 0.25,
    waitCpuSamples: 1,
    waitLwlockSamples: 1,
    waitLockSamples: 2,
    waitBufferpinSamples: 0,
    waitIoSamples: 3,
    waitIpcSamples: 0,
    waitTimeoutSamples: 0,
    waitOtherSamples: 1,
    // The second execution ended last (at +11 ms) of those with a wait event.
    waitEventLast: "IO:DataFileRead",
    firstSeen: "2026-03-01T10:00:00.000000Z",
    firstSeenUnixUs: T0_US,
    lastSeen: "2026-03-01T10:00:00.011000Z",
    lastSeenUnixUs: T0_US + 11_000,
  }]);
});

Deno.test("aggregate: the last wait event is that of the execution that ended last, not the last added", () => {
  const agg = createAggregator();
  addRecords(agg, [
    qlRecord({ execSeq: 2n, startUs: T0_US, durationNs: ms(50), waitEventLast: 0x0A000003 }),
    qlRecord({ execSeq: 1n, startUs: T0_US, durationNs: ms(5), waitEventLast: 0x06000000 }),
    qlRecord({ execSeq: 3n, startUs: T0_US, durationNs: ms(90), waitEventLast: 0 }),
  ]);
  const [row] = finishAggregates(agg, NAMES).aggregates;
  assert.equal(row.waitEventLast, "Lock:transactionid");
  assert.equal(row.lastSeenUnixUs, T0_US + 90_000);
});

Deno.test("aggregate: keys are database, query id and plan id; largest total time first", () => {
  const agg = createAggregator();
  addRecords(agg, [
    qlRecord({ planId: 1n, durationNs: ms(1) }),
    qlRecord({ planId: 2n, durationNs: ms(3) }),
    qlRecord({ planId: 1n, durationNs: ms(1) }),
    qlRecord({ planId: 1n, dbid: 99, durationNs: ms(7) }),
    qlRecord({ planId: 1n, queryId: 5n, durationNs: ms(3) }),
  ]);
  const rows = finishAggregates(agg, NAMES).aggregates;
  assert.deepEqual(
    rows.map((r) => [r.dbid, r.databaseName, r.queryId, r.planId, r.calls, r.totalDurationMs]),
    [
      [99, undefined, "-6482174329745523713", "1", 1, 7],
      [16384, "shop", "-6482174329745523713", "2", 1, 3],
      [16384, "shop", "5", "1", 1, 3],
      [16384, "shop", "-6482174329745523713", "1", 2, 2],
    ],
  );
  assert.ok(!("databaseName" in rows[0]), "an unknown database oid leaves the name out");
});

Deno.test("aggregate: without CPU measurements or a resolvable wait event those fields are absent", () => {
  const agg = createAggregator();
  addRecords(agg, [qlRecord({ waitEventLast: 0x0B000001 })]);
  const [row] = finishAggregates(agg, NAMES).aggregates;
  assert.equal(row.cpuMeasuredCalls, 0);
  assert.ok(!("cpuUserTimeMs" in row) && !("cpuSysTimeMs" in row) && !("waitEventLast" in row));
});

Deno.test("aggregate: beyond the key limit new keys overflow, known keys still add up", () => {
  const agg = createAggregator(2);
  addRecords(agg, [
    qlRecord({ planId: 1n }),
    qlRecord({ planId: 2n }),
    qlRecord({ planId: 3n }),
    qlRecord({ planId: 3n }),
    qlRecord({ planId: 1n }),
  ]);
  const first = finishAggregates(agg, NAMES);
  assert.equal(first.overflow, 2);
  assert.deepEqual(first.aggregates.map((r) => [r.planId, r.calls]), [["1", 2], ["2", 1]]);
  // finishing starts the next cycle empty
  addRecords(agg, [qlRecord({ planId: 3n })]);
  const second = finishAggregates(agg, NAMES);
  assert.equal(second.overflow, 0);
  assert.deepEqual(second.aggregates.map((r) => [r.planId, r.calls]), [["3", 1]]);
  assert.deepEqual(finishAggregates(agg, NAMES), { aggregates: [], overflow: 0 });
});

Deno.test("createAggregator refuses a key limit that is not a positive integer", () => {
  assert.throws(() => createAggregator(0), /maxKeys/);
  assert.throws(() => createAggregator(2.5), /maxKeys/);
});
