import assert from "node:assert/strict";
import type { KernelBackendRow } from "../../core/model.ts";
import { hostPressure, perQueryRows } from "./aggregate.ts";
import { parsePressure } from "./procfs.ts";

function row(pid: number, over: Partial<KernelBackendRow> = {}): KernelBackendRow {
  return {
    pid,
    backendType: "client backend",
    databaseName: "shop",
    queryId: "11",
    intervalMs: 1000,
    cpuUserMs: 100,
    cpuSysMs: 10,
    onCpuMs: 110.5,
    runQueueMs: 20,
    offCpuMs: 869.5,
    timeslices: 5,
    blkioDelayMs: 3,
    readBytes: 4096,
    writeBytes: 0,
    voluntaryCtxSwitches: 2,
    involuntaryCtxSwitches: 1,
    tier: "procfs",
    ...over,
  };
}

Deno.test("perQueryRows: sums by database and query id, counting parallel workers", () => {
  const rows = [
    row(1),
    row(2, { backendType: "parallel worker", leaderPid: 1, onCpuMs: 900, intervalMs: 600 }),
    row(3, { queryId: "22", onCpuMs: 5 }),
    row(4, { databaseName: "crm" }),
  ];
  const q = perQueryRows(rows);
  assert.deepEqual(q.map((r) => [r.databaseName, r.queryId, r.backends, r.parallelWorkers]), [
    ["crm", "11", 1, 0],
    ["shop", "11", 2, 1],
    ["shop", "22", 1, 0],
  ]);
  const shop11 = q[1];
  assert.deepEqual(shop11, {
    databaseName: "shop",
    queryId: "11",
    backends: 2,
    parallelWorkers: 1,
    intervalMs: 1000,
    cpuUserMs: 200,
    cpuSysMs: 20,
    onCpuMs: 1010.5,
    runQueueMs: 40,
    offCpuMs: 1739,
    blkioDelayMs: 6,
    readBytes: 8192,
    writeBytes: 0,
    voluntaryCtxSwitches: 4,
    involuntaryCtxSwitches: 2,
    tier: "procfs",
  });
});

Deno.test("perQueryRows: a sum leaves out what some of its rows lack; rows without a query are in none", () => {
  const q = perQueryRows([
    row(1),
    row(2, { blkioDelayMs: undefined, readBytes: undefined, writeBytes: undefined }),
    row(3, { queryId: undefined }),
    row(4, { databaseName: undefined, backendType: "checkpointer" }),
  ]);
  assert.equal(q.length, 1);
  assert.equal(q[0].backends, 2);
  assert.equal(q[0].blkioDelayMs, undefined);
  assert.equal(q[0].readBytes, undefined);
  assert.equal(q[0].cpuUserMs, 200);
  assert.deepEqual(perQueryRows([]), []);
});

Deno.test("perQueryRows: within a database the busiest query comes first", () => {
  const q = perQueryRows([row(1, { queryId: "5", onCpuMs: 1 }), row(2, { queryId: "6", onCpuMs: 50 })]);
  assert.deepEqual(q.map((r) => r.queryId), ["6", "5"]);
});

Deno.test("hostPressure: averages of the later reading, stall time between the readings", () => {
  const before = {
    cpu: parsePressure(
      "some avg10=1.00 avg60=2.00 avg300=3.00 total=1000000\nfull avg10=0 avg60=0 avg300=0 total=0\n",
    ),
    io: parsePressure("some avg10=0 avg60=0 avg300=0 total=500\nfull avg10=0 avg60=0 avg300=0 total=100\n"),
  };
  const after = {
    cpu: parsePressure(
      "some avg10=40.50 avg60=12.00 avg300=4.00 total=1250000\nfull avg10=0 avg60=0 avg300=0 total=0\n",
    ),
    io: parsePressure(
      "some avg10=1 avg60=0 avg300=0 total=20500\nfull avg10=0 avg60=0 avg300=0 total=10100\n",
    ),
    memory: parsePressure("some avg10=0 avg60=0 avg300=0 total=7\n"),
  };
  assert.deepEqual(hostPressure(before, after), {
    cpu: {
      some: { avg10Pct: 40.5, avg60Pct: 12, avg300Pct: 4, stallMs: 250, totalUs: 1250000 },
      full: { avg10Pct: 0, avg60Pct: 0, avg300Pct: 0, stallMs: 0, totalUs: 0 },
    },
    io: {
      some: { avg10Pct: 1, avg60Pct: 0, avg300Pct: 0, stallMs: 20, totalUs: 20500 },
      full: { avg10Pct: 0, avg60Pct: 0, avg300Pct: 0, stallMs: 10, totalUs: 10100 },
    },
    memory: { some: { avg10Pct: 0, avg60Pct: 0, avg300Pct: 0, stallMs: 0, totalUs: 7 } },
  });
  assert.equal(hostPressure(before, {}), undefined);
});
