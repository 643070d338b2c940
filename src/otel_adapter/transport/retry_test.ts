import assert from "node:assert/strict";
import {
  backoffDelay,
  classifyGrpc,
  classifyHttp,
  GrpcCode,
  parseRetryAfter,
  type RetryClock,
  type SendOutcome,
  sendWithRetry,
} from "./retry.ts";

const EMPTY = new Uint8Array();

Deno.test("HTTP: only 429/502/503/504 are retryable; 2xx is success", () => {
  for (let status = 200; status < 600; status++) {
    const kind = classifyHttp(status, null, 0, EMPTY).kind;
    const want = status < 300 ? "success" : [429, 502, 503, 504].includes(status) ? "retryable" : "permanent";
    assert.deepStrictEqual(kind, want, `status ${status}`);
  }
});

Deno.test("HTTP: Retry-After seconds or date on 429/503 only", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.deepStrictEqual(classifyHttp(503, "1", now, EMPTY), {
    kind: "retryable",
    reason: "HTTP 503",
    retryAfterMs: 1000,
  });
  assert.deepStrictEqual(classifyHttp(429, "Thu, 01 Jan 2026 00:00:07 GMT", now, EMPTY), {
    kind: "retryable",
    reason: "HTTP 429",
    retryAfterMs: 7000,
  });
  assert.deepStrictEqual(classifyHttp(502, "5", now, EMPTY), { kind: "retryable", reason: "HTTP 502" });
  assert.deepStrictEqual(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assert.deepStrictEqual(parseRetryAfter("soon", now), undefined);
  assert.deepStrictEqual(parseRetryAfter(null, now), undefined);
});

Deno.test("gRPC: the spec's retryable codes; RESOURCE_EXHAUSTED only with RetryInfo", () => {
  const retryable = ["CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS"];
  for (const [name, code] of Object.entries(GrpcCode)) {
    if (code === 0) continue;
    assert.deepStrictEqual(
      classifyGrpc(code, "m").kind,
      retryable.includes(name) ? "retryable" : "permanent",
      name,
    );
  }
  assert.deepStrictEqual(classifyGrpc(GrpcCode.RESOURCE_EXHAUSTED, "", 1500), {
    kind: "retryable",
    reason: "gRPC RESOURCE_EXHAUSTED",
    retryAfterMs: 1500,
  });
  assert.deepStrictEqual(classifyGrpc(GrpcCode.INVALID_ARGUMENT, "bad", 1500), {
    kind: "permanent",
    reason: "gRPC INVALID_ARGUMENT: bad",
  });
});

Deno.test("full jitter: delay in [0, min(max, initial*mult^n))", () => {
  const policy = { initialIntervalMs: 100, multiplier: 2, maxIntervalMs: 500, maxElapsedMs: 10_000 };
  const almostOne = () => 0.999999;
  assert.deepStrictEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, almostOne)), [
    99,
    199,
    399,
    499,
    499,
  ]);
  assert.deepStrictEqual(backoffDelay(3, policy, () => 0), 0);
  assert.deepStrictEqual(backoffDelay(1, policy, () => 0.5), 100);
});

/** A clock whose sleep advances virtual time at once and records the waits. */
function virtualClock(random = () => 0.5): RetryClock & { waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: (ms) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
    random,
  };
}

function script(outcomes: SendOutcome[]): { send: () => Promise<SendOutcome>; calls: () => number } {
  let i = 0;
  return { send: () => Promise.resolve(outcomes[Math.min(i++, outcomes.length - 1)]), calls: () => i };
}

Deno.test("retries until success, server delay replacing backoff", async () => {
  const clock = virtualClock();
  const s = script([
    { kind: "retryable", reason: "a" },
    { kind: "retryable", reason: "b", retryAfterMs: 3000 },
    { kind: "retryable", reason: "c" },
    { kind: "success", response: new Uint8Array([7]) },
  ]);
  const policy = { initialIntervalMs: 100, multiplier: 2, maxIntervalMs: 1000, maxElapsedMs: 60_000 };
  const r = await sendWithRetry(s.send, policy, clock);
  assert.deepStrictEqual(r, { outcome: { kind: "success", response: new Uint8Array([7]) }, attempts: 4 });
  assert.deepStrictEqual(clock.waits, [50, 3000, 200]);
});

Deno.test("permanent failure is not retried", async () => {
  const clock = virtualClock();
  const s = script([{ kind: "permanent", reason: "HTTP 400" }]);
  const r = await sendWithRetry(s.send, {
    initialIntervalMs: 1,
    multiplier: 2,
    maxIntervalMs: 1,
    maxElapsedMs: 1e6,
  }, clock);
  assert.deepStrictEqual([r.attempts, r.outcome.kind, s.calls(), clock.waits.length], [1, "permanent", 1, 0]);
});

Deno.test("gives up when the next wait would pass max elapsed time", async () => {
  const clock = virtualClock(() => 0.999);
  const s = script([{ kind: "retryable", reason: "down" }]);
  const policy = { initialIntervalMs: 1000, multiplier: 2, maxIntervalMs: 4000, maxElapsedMs: 10_000 };
  const r = await sendWithRetry(s.send, policy, clock);
  // waits 999, 1998, 3996 (total 6993); the next 3996 would pass 10 000.
  assert.deepStrictEqual(clock.waits, [999, 1998, 3996]);
  assert.deepStrictEqual([r.attempts, r.outcome.kind], [4, "retryable"]);
  assert.ok(clock.waits.reduce((a, b) => a + b) <= policy.maxElapsedMs);
});

Deno.test("an aborted signal stops retrying after the current attempt", async () => {
  const stop = new AbortController();
  const clock = virtualClock();
  let calls = 0;
  const send = () => {
    if (++calls === 2) stop.abort();
    return Promise.resolve<SendOutcome>({ kind: "retryable", reason: "down" });
  };
  const r = await sendWithRetry(
    send,
    { initialIntervalMs: 10, multiplier: 1, maxIntervalMs: 10, maxElapsedMs: 1e6 },
    clock,
    stop.signal,
  );
  assert.deepStrictEqual([r.attempts, calls], [2, 2]);
});
