import assert from "node:assert/strict";
import type { QueryExecution } from "../../core/model.ts";
import type { OsDelayEvent } from "../../extensions/bpf_event.ts";
import { epochMicros, JOIN_SLACK_US, joinExecution, osDelayRow, type RowContext } from "./ebpf_rows.ts";

const OFFSET_NS = 1_772_359_000_000_000_000n; // realtime − monotonic: monotonic 0 is this epoch time
const T_US = 1_772_359_000_000_000; // the epoch µs of monotonic 0

function exec(over: Partial<QueryExecution>): QueryExecution {
  return {
    queryId: "11",
    planId: "21",
    parentQueryId: "11",
    dbid: 5,
    databaseName: "shop",
    userid: 10,
    userName: "app",
    pid: 4242,
    execSeq: 1,
    startTime: "",
    startUnixUs: T_US + 1_000_000,
    durationMs: 100,
    rows: 1,
    sharedBlksHit: 0,
    sharedBlksRead: 0,
    sharedBlksDirtied: 0,
    sharedBlksWritten: 0,
    localBlksHit: 0,
    localBlksRead: 0,
    localBlksDirtied: 0,
    localBlksWritten: 0,
    tempBytesRead: 0,
    tempBytesWritten: 0,
    walBytes: 0,
    walRecords: 0,
    walFpi: 0,
    failed: false,
    toplevel: true,
    nestingLevel: 0,
    command: "SELECT",
    sampleReason: "slow",
    waitCpuSamples: 0,
    waitLwlockSamples: 0,
    waitLockSamples: 0,
    waitBufferpinSamples: 0,
    waitIoSamples: 0,
    waitIpcSamples: 0,
    waitTimeoutSamples: 0,
    waitOtherSamples: 0,
    ...over,
  };
}

/** A query traced from 1 s to 1.5 s after monotonic 0. */
function event(over: Partial<OsDelayEvent> = {}): OsDelayEvent {
  return {
    pid: 4242,
    protocol: "simple",
    aborted: false,
    startNs: 1_000_000_000n,
    endNs: 1_500_000_000n,
    onCpuNs: 100_000_000,
    runQueueNs: 50_000_000,
    ioWaitNs: 300_000_000,
    sleepNs: 50_000_000,
    switches: 12,
    text: "SELECT * FROM t WHERE id = 42",
    ...over,
  };
}

function context(over: Partial<RowContext> = {}): RowContext {
  return {
    clockOffsetNs: OFFSET_NS,
    backends: new Map([[4242, { databaseName: "shop", userName: "app" }]]),
    executions: [],
    obfuscate: (t) => t.replaceAll(/\b\d+\b/g, "?"),
    ...over,
  };
}

Deno.test("epochMicros shifts a monotonic time by the clock offset, in whole microseconds", () => {
  assert.equal(epochMicros(1_000_000_999n, OFFSET_NS), T_US + 1_000_000);
  assert.equal(epochMicros(0n, OFFSET_NS), T_US);
});

Deno.test("joinExecution takes the longest top-level execution of the pid inside the window", () => {
  const start = T_US + 1_000_000;
  const end = T_US + 1_500_000;
  const inside = exec({ execSeq: 1, startUnixUs: start + 10, durationMs: 200 });
  const longer = exec({ execSeq: 2, startUnixUs: start + 250_000, durationMs: 240 });
  const nested = exec({
    execSeq: 3,
    startUnixUs: start + 20,
    durationMs: 450,
    toplevel: false,
    nestingLevel: 1,
  });
  const otherPid = exec({ execSeq: 4, pid: 1, startUnixUs: start + 10, durationMs: 480 });
  const after = exec({ execSeq: 5, startUnixUs: end + JOIN_SLACK_US + 1, durationMs: 1 });
  const all = [inside, longer, nested, otherPid, after];
  assert.equal(joinExecution(4242, start, end, all), longer);
  assert.equal(joinExecution(4242, start, end, [inside, nested]), inside);
  assert.equal(joinExecution(4242, start, end, [nested, otherPid, after]), undefined);
});

Deno.test("joinExecution allows the slack of the two clocks at both ends, and no more", () => {
  const start = T_US;
  const end = T_US + 100_000;
  const early = exec({ startUnixUs: start - JOIN_SLACK_US, durationMs: 100 + JOIN_SLACK_US / 1000 * 2 });
  assert.equal(joinExecution(4242, start, end, [early]), early);
  const tooEarly = exec({ startUnixUs: start - JOIN_SLACK_US - 1, durationMs: 50 });
  const tooLate = exec({ startUnixUs: start, durationMs: 100 + JOIN_SLACK_US / 1000 + 0.01 });
  assert.equal(joinExecution(4242, start, end, [tooEarly, tooLate]), undefined);
});

Deno.test("osDelayRow: times in ms at the epoch, names of the backend, text without literals, the join", () => {
  const joined = exec({
    execSeq: 9,
    queryId: "-77",
    planId: "88",
    startUnixUs: T_US + 1_000_050,
    durationMs: 499,
  });
  assert.deepEqual(osDelayRow(event(), context({ executions: [joined] })), {
    pid: 4242,
    databaseName: "shop",
    userName: "app",
    protocol: "simple",
    aborted: false,
    startTime: "2026-03-01T09:56:41.000000Z",
    startUnixUs: T_US + 1_000_000,
    durationMs: 500,
    onCpuMs: 100,
    runQueueMs: 50,
    ioWaitMs: 300,
    sleepMs: 50,
    switches: 12,
    queryText: "SELECT * FROM t WHERE id = ?",
    queryId: "-77",
    planId: "88",
    execSeq: 9,
  });
});

Deno.test("osDelayRow: a backend gone before the lookup takes its names from the joined execution", () => {
  const joined = exec({ databaseName: "shop", userName: "batch", startUnixUs: T_US + 1_100_000 });
  const row = osDelayRow(
    event({ aborted: true, text: undefined }),
    context({ backends: new Map(), executions: [joined] }),
  );
  assert.equal(row.databaseName, "shop");
  assert.equal(row.userName, "batch");
  assert.equal(row.aborted, true);
  assert.ok(!("queryText" in row));
  const alone = osDelayRow(event({ text: "   " }), context({ backends: new Map() }));
  assert.ok(
    !("databaseName" in alone) && !("userName" in alone) && !("queryText" in alone) && !("queryId" in alone),
  );
});
