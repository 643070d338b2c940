import assert from "node:assert/strict";
import type { ProcessDelta } from "./deltas.ts";
import { createQueryTotals } from "./query_totals.ts";

function delta(intervalMs: number, onCpuMs: number, runQueueMs: number, blkioDelayMs?: number): ProcessDelta {
  return {
    intervalMs,
    cpuUserMs: 0,
    cpuSysMs: 0,
    onCpuMs,
    runQueueMs,
    offCpuMs: Math.max(0, intervalMs - onCpuMs - runQueueMs),
    timeslices: 0,
    ...(blkioDelayMs === undefined ? {} : { blkioDelayMs }),
    voluntaryCtxSwitches: 0,
    involuntaryCtxSwitches: 0,
  };
}

Deno.test("query totals: a statement seen at consecutive readings adds up its intervals", () => {
  const t = createQueryTotals();
  // Started at 500; readings at 1000 and 2000 and 3000.
  const first = t.add(7, 500, delta(1000, 400, 100, 50), 1000);
  assert.deepEqual(first, {
    queryElapsedMs: 500,
    queryObservedMs: 500,
    queryOnCpuMs: 400,
    queryRunQueueMs: 100,
    queryOffCpuMs: 0,
    queryBlkioDelayMs: 50,
  });
  t.endReading();
  const second = t.add(7, 500, delta(1000, 300, 100, 200), 2000);
  t.endReading();
  assert.deepEqual(second, {
    queryElapsedMs: 1500,
    queryObservedMs: 1500,
    queryOnCpuMs: 700,
    queryRunQueueMs: 200,
    queryOffCpuMs: 600,
    queryBlkioDelayMs: 250,
  });
});

Deno.test("query totals: a statement already running when first seen covers only the interval", () => {
  const t = createQueryTotals();
  const seen = t.add(7, 0, delta(200, 150, 50), 10_000);
  assert.equal(seen.queryElapsedMs, 10_000);
  assert.equal(seen.queryObservedMs, 200);
  assert.equal(seen.queryBlkioDelayMs, undefined, "no delay accounting, no delay total");
});

Deno.test("query totals: a new statement of the same backend starts over; a gap forgets the old one", () => {
  const t = createQueryTotals();
  t.add(7, 0, delta(1000, 900, 0), 1000);
  t.endReading();
  const next = t.add(7, 1500, delta(1000, 100, 0), 2000);
  assert.equal(next.queryOnCpuMs, 100);
  assert.equal(next.queryObservedMs, 500);
  t.endReading();
  t.endReading(); // a reading without pid 7 (its statement ended)
  const again = t.add(7, 1500, delta(1000, 10, 0), 4000);
  assert.equal(again.queryOnCpuMs, 10, "the statement was not followed through the gap");
});

Deno.test("query totals: delay accounting switched off midway leaves the delay total out", () => {
  const t = createQueryTotals();
  t.add(7, 0, delta(1000, 0, 0, 300), 1000);
  t.endReading();
  const off = t.add(7, 0, delta(1000, 0, 0), 2000);
  assert.equal(off.queryBlkioDelayMs, undefined);
  assert.equal(off.queryOffCpuMs, 2000);
});
