import assert from "node:assert/strict";
import type { ServerProcess } from "./activity.ts";
import { backendRow, isReported, measureProcesses, processDelta, roundMs, usedAnything } from "./deltas.ts";
import type { ProcessSample, ProcIo } from "./procfs.ts";
import type { OsReading } from "./sampler.ts";

interface Counters {
  utime?: number;
  stime?: number;
  blkio?: number;
  start?: number;
  onCpuNs?: number;
  runQueueNs?: number;
  slices?: number;
  vcs?: number;
  nvcs?: number;
  io?: ProcIo | "denied" | "absent";
}

function sample(pid: number, c: Counters = {}): ProcessSample {
  return {
    stat: {
      pid,
      comm: "postgres",
      state: "S",
      ppid: 1,
      utimeTicks: c.utime ?? 0,
      stimeTicks: c.stime ?? 0,
      startTicks: c.start ?? 100,
      blkioTicks: c.blkio ?? 0,
    },
    schedstat: { onCpuNs: c.onCpuNs ?? 0, runQueueNs: c.runQueueNs ?? 0, timeslices: c.slices ?? 0 },
    status: { voluntaryCtxSwitches: c.vcs ?? 0, involuntaryCtxSwitches: c.nvcs ?? 0 },
    io: c.io ?? { readChars: 0, writeChars: 0, readBytes: 0, writeBytes: 0 },
  };
}

const io = (readBytes: number, writeBytes: number, readChars = 0, writeChars = 0): ProcIo => ({
  readBytes,
  writeBytes,
  readChars,
  writeChars,
});

Deno.test("processDelta: ticks to ms, ns to ms, off-CPU is the rest of the interval", () => {
  const before = sample(7, {
    utime: 10,
    stime: 2,
    blkio: 1,
    onCpuNs: 5e6,
    runQueueNs: 1e6,
    slices: 3,
    vcs: 4,
  });
  const after = sample(7, {
    utime: 60,
    stime: 12,
    blkio: 31,
    onCpuNs: 605_123_456,
    runQueueNs: 101_000_000,
    slices: 40,
    vcs: 14,
    nvcs: 6,
    io: io(8192, 4096, 100, 50),
  });
  const d = processDelta(before, after, 1000, true);
  assert.deepEqual(d, {
    intervalMs: 1000,
    cpuUserMs: 500,
    cpuSysMs: 100,
    onCpuMs: 600.123,
    runQueueMs: 100,
    offCpuMs: 299.877,
    timeslices: 37,
    blkioDelayMs: 300,
    readBytes: 8192,
    writeBytes: 4096,
    readChars: 100,
    writeChars: 50,
    voluntaryCtxSwitches: 10,
    involuntaryCtxSwitches: 6,
  });
});

Deno.test("processDelta: no block-I/O delay without accounting, no bytes when an io file was refused", () => {
  const before = sample(7, { blkio: 5, io: "denied" });
  const after = sample(7, { blkio: 9, io: io(1, 1) });
  const d = processDelta(before, after, 200, false);
  assert.equal(d.blkioDelayMs, undefined);
  assert.equal(d.readBytes, undefined);
  assert.equal(d.writeChars, undefined);
  assert.equal(processDelta(sample(7), sample(7, { io: "denied" }), 200, true).readBytes, undefined);
  assert.equal(processDelta(sample(7, { io: "absent" }), sample(7), 200, true).writeBytes, undefined);
});

Deno.test("processDelta: off-CPU time is never negative; a process from its start counts from zero", () => {
  const busy = processDelta(sample(1), sample(1, { onCpuNs: 150e6, runQueueNs: 80e6 }), 200, false);
  assert.equal(busy.offCpuMs, 0, "sampling jitter can make on-CPU plus run queue exceed the interval");
  const fresh = processDelta(undefined, sample(2, { utime: 3, onCpuNs: 30e6, io: io(4096, 0) }), 50, true);
  assert.deepEqual([fresh.cpuUserMs, fresh.onCpuMs, fresh.offCpuMs, fresh.readBytes, fresh.blkioDelayMs], [
    30,
    30,
    20,
    4096,
    0,
  ]);
});

Deno.test("usedAnything: any CPU, switch or byte counts; nothing at all does not", () => {
  const zero = processDelta(sample(1), sample(1), 200, true);
  assert.equal(usedAnything(zero), false);
  assert.equal(usedAnything({ ...zero, voluntaryCtxSwitches: 1 }), true);
  assert.equal(usedAnything({ ...zero, onCpuMs: 0.001 }), true);
  assert.equal(usedAnything({ ...zero, readChars: 1 }), true);
});

function reading(
  atMs: number,
  entries: [ServerProcess, ProcessSample][],
  delayAccounting = false,
): OsReading {
  return {
    atMs,
    processes: new Map(entries.map(([process, s]) => [process.pid, { process, sample: s }])),
    unverified: 0,
    pressure: {},
    delayAccounting,
  };
}

const client = (pid: number, over: Partial<ServerProcess> = {}): ServerProcess => ({
  pid,
  backendType: "client backend",
  databaseName: "shop",
  state: "active",
  ...over,
});

Deno.test("measureProcesses: the same process, a process started within the interval, a reused pid", () => {
  const bootMs = 1_000_000;
  // Start ticks 100 → started at 1_001_000; the readings are at 2_000_000 and 2_001_000.
  const before = reading(2_000_000, [
    [client(1), sample(1, { onCpuNs: 1e6 })],
    [client(3), sample(3, { start: 100 })],
    [client(4), sample(4)],
  ], true);
  const after = reading(2_001_000, [
    [client(1), sample(1, { onCpuNs: 301e6 })],
    // Started at 2_000_400 (after the earlier reading): measured from its start.
    [
      client(2, { backendType: "parallel worker", leaderPid: 1 }),
      sample(2, { start: 100_040, onCpuNs: 500e6 }),
    ],
    // Pid 3 again, but another process (started at 2_000_900).
    [client(3), sample(3, { start: 100_090, onCpuNs: 40e6 })],
    // Started before the earlier reading yet absent from it (not visible then): not measured.
    [client(5), sample(5, { start: 100, onCpuNs: 9e6 })],
  ], true);
  const measured = measureProcesses(before, after, bootMs);
  assert.deepEqual(measured.map((m) => [m.pid, m.seenBefore, m.delta.intervalMs, m.delta.onCpuMs]), [
    [1, true, 1000, 300],
    [2, false, 600, 500],
    [3, false, 100, 40],
  ]);
  assert.equal(measured[0].delta.blkioDelayMs, 0, "delay accounting on at both readings");
  assert.deepEqual(
    measureProcesses(before, after, undefined).map((m) => m.pid),
    [1],
    "without the boot time a new process cannot be placed",
  );
  const offLater = { ...after, delayAccounting: false };
  assert.equal(measureProcesses(before, offLater, bootMs)[0].delta.blkioDelayMs, undefined);
});

Deno.test("backendRow: pg_stat_activity fields of the later reading; a worker takes its leader's query id", () => {
  const before = reading(0, [[client(1), sample(1)], [client(2), sample(2)]]);
  const after = reading(500, [
    [
      client(1, { queryId: "-77", userName: "app", waitEventType: "IO", waitEvent: "DataFileRead" }),
      sample(1, { onCpuNs: 100e6 }),
    ],
    [client(2, { backendType: "parallel worker", leaderPid: 1 }), sample(2, { onCpuNs: 200e6 })],
  ]);
  const [leader, worker] = measureProcesses(before, after, undefined).map((m) => backendRow(m, after));
  assert.deepEqual(
    [leader.pid, leader.userName, leader.waitEventType, leader.waitEvent, leader.queryId, leader.tier],
    [1, "app", "IO", "DataFileRead", "-77", "procfs"],
  );
  assert.equal(leader.leaderPid, undefined);
  assert.deepEqual([worker.leaderPid, worker.backendType, worker.queryId, worker.onCpuMs], [
    1,
    "parallel worker",
    "-77",
    200,
  ]);
});

Deno.test("isReported: busy or running a statement; an idle connection that did nothing is left out", () => {
  const before = reading(0, [
    [client(1, { state: "idle" }), sample(1)],
    [client(2), sample(2)],
    [client(3, { state: "idle" }), sample(3)],
  ]);
  const after = reading(200, [
    [client(1, { state: "idle" }), sample(1)],
    [client(2, { state: "active" }), sample(2)],
    [client(3, { state: "idle" }), sample(3, { vcs: 1 })],
  ]);
  const reported = measureProcesses(before, after, undefined).filter((m) => isReported(m, after));
  assert.deepEqual(reported.map((m) => m.pid), [2, 3]);
});

Deno.test("roundMs: microsecond precision", () => {
  assert.equal(roundMs(1.23456), 1.235);
  assert.equal(roundMs(0.0004), 0);
});
