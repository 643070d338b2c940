import assert from "node:assert/strict";
import { SampleRing, samplesForRetention } from "./ring.ts";
import type { AshSample, AshSession } from "./sampler.ts";

function session(pid: number): AshSession {
  return { pid, databaseName: "shop", state: "active", backendType: "client backend" };
}

function sample(atMs: number, sessions: number): AshSample {
  return { atMs, sessions: Array.from({ length: sessions }, (_, i) => session(1000 + i)) };
}

Deno.test("samplesForRetention: an hour at 1 s is 3600 samples; a partial interval rounds up; at least 1", () => {
  assert.equal(samplesForRetention(3600, 1000), 3600);
  assert.equal(samplesForRetention(10, 300), 34);
  assert.equal(samplesForRetention(1, 5000), 1);
});

Deno.test("SampleRing: keeps the newest samples within the sample bound and counts what it dropped", () => {
  const ring = new SampleRing({ maxSamples: 3, maxSessionSamples: 1000 });
  for (let i = 1; i <= 5; i++) ring.push(sample(i * 1000, 2));
  assert.equal(ring.size, 3);
  assert.equal(ring.sessionSamples, 6);
  assert.deepEqual(ring.samples().map((s) => [s.seq, s.atMs]), [[3, 3000], [4, 4000], [5, 5000]]);
  assert.deepEqual(ring.evicted, { samples: 2, sessionSamples: 4, unread: 2 });
  assert.equal(ring.lastSeq, 5);
});

Deno.test("SampleRing: the session-sample bound drops the oldest samples first", () => {
  const ring = new SampleRing({ maxSamples: 100, maxSessionSamples: 10 });
  ring.push(sample(1, 4));
  ring.push(sample(2, 4));
  assert.equal(ring.size, 2);
  ring.push(sample(3, 4)); // 12 > 10: the first goes
  assert.deepEqual(ring.samples().map((s) => s.atMs), [2, 3]);
  assert.equal(ring.sessionSamples, 8);
  ring.push(sample(4, 9)); // 17, then 13: both older ones go
  assert.deepEqual(ring.samples().map((s) => s.atMs), [4]);
  assert.deepEqual(ring.evicted, { samples: 3, sessionSamples: 12, unread: 3 });
});

Deno.test("SampleRing: a sample larger than the session bound is cut to it, and the cut is counted", () => {
  const ring = new SampleRing({ maxSamples: 10, maxSessionSamples: 3 });
  ring.push(sample(1, 2));
  const stored = ring.push(sample(2, 5));
  assert.deepEqual(stored.sessions.map((s) => s.pid), [1000, 1001, 1002]);
  assert.deepEqual(ring.samples().map((s) => s.atMs), [2]);
  assert.deepEqual(ring.evicted, { samples: 1, sessionSamples: 2 + 2, unread: 1 });
});

Deno.test("SampleRing: takeNew hands each sample over once; dropped ones it never saw count as unread", () => {
  const ring = new SampleRing({ maxSamples: 2, maxSessionSamples: 100 });
  assert.deepEqual(ring.takeNew(), []);
  ring.push(sample(1, 1));
  ring.push(sample(2, 1));
  assert.deepEqual(ring.takeNew().map((s) => s.seq), [1, 2]);
  assert.deepEqual(ring.takeNew(), []);
  ring.push(sample(3, 1)); // drops seq 1, already taken
  assert.equal(ring.evicted.unread, 0);
  ring.push(sample(4, 1));
  ring.push(sample(5, 1)); // drops 2 (taken) and 3 (never taken)
  assert.deepEqual(ring.evicted, { samples: 3, sessionSamples: 3, unread: 1 });
  assert.deepEqual(ring.takeNew().map((s) => s.seq), [4, 5]);
  assert.deepEqual(
    ring.samples().map((s) => s.seq),
    [4, 5],
    "taking does not remove samples from the history",
  );
});

Deno.test("SampleRing: stays bounded and in order over many pushes", () => {
  const ring = new SampleRing({ maxSamples: 50, maxSessionSamples: 1_000_000 });
  for (let i = 1; i <= 5000; i++) ring.push(sample(i, 1));
  assert.equal(ring.size, 50);
  const seqs = ring.samples().map((s) => s.seq);
  assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => 4951 + i));
  assert.equal(ring.evicted.samples, 4950);
});

Deno.test("SampleRing: bounds must be positive integers", () => {
  assert.throws(
    () => new SampleRing({ maxSamples: 0, maxSessionSamples: 1 }),
    /maxSamples must be a positive integer, got 0/,
  );
  assert.throws(
    () => new SampleRing({ maxSamples: 1, maxSessionSamples: 1.5 }),
    /maxSessionSamples must be a positive integer, got 1.5/,
  );
});
