import assert from "node:assert/strict";
import { createExportQueue } from "./queue.ts";
import type { OtlpSender, RetryClock, SendOutcome } from "./retry.ts";

const instantClock: RetryClock = { now: Date.now, random: () => 0, sleep: () => Promise.resolve() };
const BACKOFF = { initialIntervalMs: 1, multiplier: 1, maxIntervalMs: 1, maxElapsedMs: 1000 };

/** A sender whose attempts wait until released one by one; records each body's first byte. */
function gatedSender(outcome: (body: Uint8Array) => SendOutcome) {
  const seen: number[] = [];
  const releases: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;
  const sender: OtlpSender = {
    async send(body) {
      seen.push(body[0]);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise<void>((resolve) => releases.push(resolve));
      inFlight--;
      return outcome(body);
    },
    close: () => closed = true,
  };
  const waitForAttempt = async (n: number) => {
    while (seen.length < n) await new Promise((r) => setTimeout(r, 1));
  };
  return {
    sender,
    seen,
    waitForAttempt,
    releaseNext: () => releases.shift()!(),
    maxInFlight: () => maxInFlight,
    closed: () => closed,
  };
}

const body = (id: number, size: number) => new Uint8Array(size).fill(id, 0, 1);
const ok: SendOutcome = { kind: "success", response: new Uint8Array() };

Deno.test("when full, the oldest waiting bodies are dropped and counted; one sender drains in order", async () => {
  const g = gatedSender(() => ok);
  const q = createExportQueue({ sender: g.sender, maxBytes: 100, backoff: BACKOFF, clock: instantClock });
  assert.equal(q.enqueue(body(1, 60)), true); // taken by the sender at once
  await g.waitForAttempt(1);
  assert.equal(q.enqueue(body(2, 40)), true);
  assert.equal(q.enqueue(body(3, 40)), true);
  assert.deepStrictEqual([q.counters().queued, q.counters().bytesQueued], [2, 80]);
  assert.equal(q.enqueue(body(4, 50)), true); // 80+50 > 100: drops 2 → 90
  assert.equal(q.enqueue(body(5, 30)), true); // 90+30 > 100: drops 3 → 80
  assert.equal(q.enqueue(body(6, 101)), false); // alone over the bound
  assert.deepStrictEqual(q.counters(), {
    sent: 0,
    partialSuccesses: 0,
    rejectedItems: 0,
    retried: 0,
    dropped: 3,
    failed: 0,
    queued: 2,
    inFlight: 1,
    bytesQueued: 80,
  });
  for (let n = 1; n <= 3; n++) {
    await g.waitForAttempt(n);
    g.releaseNext();
  }
  await q.flush();
  assert.deepStrictEqual(g.seen, [1, 4, 5]);
  assert.equal(g.maxInFlight(), 1);
  assert.deepStrictEqual([q.counters().sent, q.counters().dropped, q.counters().bytesQueued], [3, 3, 0]);
  await q.close();
  assert.equal(g.closed(), true);
  assert.equal(q.enqueue(body(7, 1)), false);
  assert.equal(q.counters().dropped, 4);
});

Deno.test("failures are counted; retries exhausted count as failed; a throwing sender does not stop the queue", async () => {
  const reasons: string[] = [];
  const reports = new Map<number, number>([[3, 4]]);
  let call = 0;
  const sender: OtlpSender = {
    send(b) {
      call++;
      if (b[0] === 1) return Promise.resolve({ kind: "permanent", reason: "HTTP 401" });
      if (b[0] === 2) return Promise.resolve({ kind: "retryable", reason: "HTTP 503", retryAfterMs: 400 });
      if (b[0] === 4) return Promise.reject(new Error("encoder bug"));
      return Promise.resolve({ kind: "success", response: new Uint8Array([b[0]]) });
    },
    close() {},
  };
  const q = createExportQueue({
    sender,
    maxBytes: 1000,
    backoff: BACKOFF,
    clock: (() => {
      let t = 0;
      return { now: () => t, random: () => 0, sleep: (ms: number) => Promise.resolve(void (t += ms)) };
    })(),
    onResponse: (r) => ({ rejected: reports.get(r[0]) ?? 0 }),
    onFailure: (reason) => reasons.push(reason),
  });
  for (const id of [1, 2, 3, 4, 5]) q.enqueue(body(id, 10));
  await q.flush();
  // Body 2: attempts at t=0, 400, 800; the next wait would end at 1200 > 1000.
  assert.deepStrictEqual(reasons, ["HTTP 401", "HTTP 503", "encoder bug"]);
  assert.equal(call, 1 + 3 + 1 + 1 + 1);
  assert.deepStrictEqual(q.counters(), {
    sent: 2,
    partialSuccesses: 1,
    rejectedItems: 4,
    retried: 2,
    dropped: 0,
    failed: 3,
    queued: 0,
    inFlight: 0,
    bytesQueued: 0,
  });
});

Deno.test("close stops retrying: each waiting body gets one last attempt", async () => {
  let attempts = 0;
  const sender: OtlpSender = {
    send: () => {
      attempts++;
      return Promise.resolve({ kind: "retryable", reason: "down" });
    },
    close() {},
  };
  const sleeps: number[] = [];
  const q = createExportQueue({
    sender,
    maxBytes: 1000,
    clock: {
      now: Date.now,
      random: () => 0.5,
      sleep: (ms, signal) =>
        new Promise((resolve) => {
          sleeps.push(ms);
          signal?.addEventListener("abort", () => resolve(), { once: true });
        }),
    },
  });
  q.enqueue(body(1, 10));
  q.enqueue(body(2, 10));
  while (sleeps.length === 0) await new Promise((r) => setTimeout(r, 1));
  await q.close();
  assert.equal(attempts, 2);
  assert.deepStrictEqual([q.counters().failed, q.counters().retried, q.counters().sent], [2, 0, 0]);
});

Deno.test("maxBytes must be a positive integer", () => {
  const sender: OtlpSender = { send: () => Promise.resolve(ok), close() {} };
  for (const maxBytes of [0, -5, 1.5, NaN]) {
    assert.throws(() => createExportQueue({ sender, maxBytes }), /maxBytes must be a positive integer/);
  }
});

Deno.test("retries are counted while a body is still retrying; the body is in flight meanwhile", async () => {
  let attempts = 0;
  const g = gatedSender(() => {
    attempts++;
    return attempts < 3 ? { kind: "retryable", reason: "503" } : ok;
  });
  const q = createExportQueue({ sender: g.sender, maxBytes: 100, backoff: BACKOFF, clock: instantClock });
  q.enqueue(body(1, 10));
  await g.waitForAttempt(1);
  assert.deepStrictEqual([q.counters().retried, q.counters().inFlight, q.counters().queued], [0, 1, 0]);
  g.releaseNext();
  await g.waitForAttempt(2);
  assert.deepStrictEqual([q.counters().retried, q.counters().inFlight, q.counters().sent], [1, 1, 0]);
  g.releaseNext();
  await g.waitForAttempt(3);
  g.releaseNext();
  await q.flush();
  assert.deepStrictEqual([q.counters().retried, q.counters().inFlight, q.counters().sent], [2, 0, 1]);
});
