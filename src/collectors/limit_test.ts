import assert from "node:assert/strict";
import { forEachLimited } from "./limit.ts";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `n` items of `ms` each through forEachLimited and records running counts and start order. */
async function run(n: number, limit: number, ms = 5) {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const finished: number[] = [];
  await forEachLimited(Array.from({ length: n }, (_, i) => i * 10), limit, async (item, index) => {
    assert.equal(item, index * 10, "the item and its index are passed together");
    started.push(index);
    running++;
    peak = Math.max(peak, running);
    await tick(ms);
    running--;
    finished.push(index);
  });
  return { peak, started, finished, running };
}

Deno.test("forEachLimited: never more than the limit at once, and the limit is reached", async () => {
  const r = await run(25, 10);
  assert.equal(r.peak, 10);
  assert.equal(r.running, 0, "everything settled before it resolved");
  assert.deepEqual(r.started, Array.from({ length: 25 }, (_, i) => i), "started in list order");
  assert.equal(r.finished.length, 25);
});

Deno.test("forEachLimited: fewer items than the limit all run at once", async () => {
  const r = await run(3, 10);
  assert.equal(r.peak, 3);
});

Deno.test("forEachLimited: limit 1 runs one after the other", async () => {
  const r = await run(5, 1, 1);
  assert.equal(r.peak, 1);
  assert.deepEqual(r.finished, [0, 1, 2, 3, 4]);
});

Deno.test("forEachLimited: an empty list resolves without calls", async () => {
  let calls = 0;
  await forEachLimited([], 10, () => {
    calls++;
    return Promise.resolve();
  });
  assert.equal(calls, 0);
});

Deno.test("forEachLimited: a rejection is passed on after the other items have run", async () => {
  const done: number[] = [];
  await assert.rejects(
    forEachLimited([0, 1, 2, 3, 4, 5], 2, async (i) => {
      await tick(2);
      if (i === 1) throw new Error("item 1 failed");
      done.push(i);
    }),
    /item 1 failed/,
  );
  assert.deepEqual(done.sort(), [0, 2, 3, 4, 5]);
});

Deno.test("forEachLimited: a limit that is not a positive integer is refused", async () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    await assert.rejects(forEachLimited([1], bad, () => Promise.resolve()), RangeError);
  }
});
