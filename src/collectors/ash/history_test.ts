import assert from "node:assert/strict";
import { AshHistory } from "./history.ts";
import type { AshSample } from "./sampler.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sampler that records when it was called, takes `ms`, and fails on the calls listed. */
function recordingSampler(opts: { ms?: number; failOn?: number[] } = {}) {
  const calls: number[] = [];
  const take = async (): Promise<AshSample> => {
    const n = calls.push(performance.now());
    if (opts.ms) await sleep(opts.ms);
    if (opts.failOn?.includes(n)) throw new Error(`sample ${n} failed`);
    return {
      atMs: Date.now(),
      sessions: [{ pid: n, databaseName: "shop", state: "active", backendType: "b" }],
    };
  };
  return { calls, take };
}

const bounds = { maxSamples: 100, maxSessionSamples: 1000 };

Deno.test("AshHistory: the timer samples every interval until stopped; windows hand out what is new", async () => {
  const s = recordingSampler();
  const h = new AshHistory({ take: s.take, intervalMs: 40, ring: bounds });
  h.start();
  assert.ok(h.running);
  await sleep(430);
  const first = h.takeWindow();
  assert.ok(
    first.samples.length >= 7 && first.samples.length <= 11,
    `${first.samples.length} samples in 430 ms`,
  );
  assert.deepEqual(first.counts, { taken: first.samples.length, failed: 0, skipped: 0 });
  await sleep(200);
  await h.close();
  assert.ok(!h.running);
  const second = h.takeWindow();
  assert.ok(second.samples.length >= 3, `${second.samples.length} more`);
  assert.equal(second.samples[0].seq, first.samples.at(-1)!.seq + 1, "no sample is lost or repeated");
  const taken = s.calls.length;
  await sleep(150);
  assert.equal(s.calls.length, taken, "no sample after close");
  assert.deepEqual(h.total, { taken, failed: 0, skipped: 0 });
  assert.equal(h.takeWindow().samples.length, 0);
});

Deno.test("AshHistory: a tick while a sample runs is skipped; failures are counted and kept", async () => {
  const s = recordingSampler({ ms: 60, failOn: [2] });
  const h = new AshHistory({ take: s.take, intervalMs: 1000, ring: bounds });
  const first = h.tick();
  await h.tick(); // the first is in flight: skipped, resolves with it
  await first;
  await h.tick(); // fails
  await h.tick();
  const w = h.takeWindow();
  assert.deepEqual(w.counts, { taken: 2, failed: 1, skipped: 1 });
  assert.equal(w.lastError?.message, "sample 2 failed");
  assert.deepEqual(w.samples.map((x) => x.sessions[0].pid), [1, 3]);
  assert.equal(h.takeWindow().lastError, undefined, "an error belongs to its window");
});

Deno.test("AshHistory: a burst takes its samples an interval apart, start to start", async () => {
  const s = recordingSampler({ ms: 20 });
  const h = new AshHistory({ take: s.take, intervalMs: 100, ring: bounds });
  const t0 = performance.now();
  await h.burst(3);
  const gaps = s.calls.map((t) => t - t0);
  assert.equal(gaps.length, 3);
  assert.ok(gaps[0] < 30 && gaps[1] >= 95 && gaps[1] < 160 && gaps[2] >= 195 && gaps[2] < 260, `${gaps}`);
  assert.equal(h.takeWindow().samples.length, 3);
});

Deno.test("AshHistory: the ring bounds what is kept, however long sampling runs", async () => {
  const s = recordingSampler();
  const h = new AshHistory({
    take: s.take,
    intervalMs: 100,
    ring: { maxSamples: 4, maxSessionSamples: 1000 },
  });
  for (let i = 0; i < 10; i++) await h.tick();
  assert.equal(h.ring.size, 4);
  assert.deepEqual(h.ring.evicted, { samples: 6, sessionSamples: 6, unread: 6 });
  assert.deepEqual(h.takeWindow().samples.map((x) => x.sessions[0].pid), [7, 8, 9, 10]);
});
