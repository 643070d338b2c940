import { deepStrictEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import { MAX_SLOW_CANDIDATES, QueryLensFeed } from "./feed.ts";
import type { QueryLensBatch, QueryLensSource } from "./source.ts";
import { qlRecord, qlRecords } from "./testing.ts";
import { finishAggregates } from "./aggregate.ts";

/** A source handing out queued batches (the feed's logic is independent of where records come from). */
function queuedSource(batches: QueryLensBatch[]): QueryLensSource & { closed: boolean } {
  return {
    kind: "ffi",
    closed: false,
    poll() {
      const b = batches.shift();
      if (!b) return Promise.reject(new Error("no more batches"));
      return Promise.resolve(b);
    },
    close() {
      this.closed = true;
    },
  };
}

const settings = { slowMs: 100, rules: [], ratePerSecond: 1, burst: 2, maxPerCycle: 1000 };
const scope = { databases: new Map([[16384, "app"]]), ownPids: new Set([999]) };

Deno.test("feed: own sessions and other databases are left out and counted", async () => {
  const source = queuedSource([{
    records: [
      ...qlRecords(3),
      qlRecord({ pid: 999 }),
      qlRecord({ dbid: 1 }),
      qlRecord({ dbid: 1, pid: 999 }),
    ],
    lost: 7,
    generationChanged: false,
  }]);
  const feed = new QueryLensFeed(source, settings, 10, () => 1_000);
  feed.setScope(scope);
  await feed.poll();
  const c = feed.takeCycle();
  assertEquals(c.cycle.read, 6);
  assertEquals(c.cycle.lost, 7);
  assertEquals(c.cycle.own, 2);
  assertEquals(c.cycle.outOfScope, 1);
  const agg = finishAggregates(c.aggregator, { databases: scope.databases });
  assertEquals(agg.aggregates.map((a) => a.calls), [3]);
  assertEquals(feed.total.read, 6);
});

Deno.test("feed: the rate limit samples fast executions, slow and failed ones are always kept", async () => {
  const slow = qlRecord({ durationNs: 150e6, execSeq: 100n });
  const failed = qlRecord({ type: "error", sqlstate: "22012", execSeq: 101n });
  const source = queuedSource([{
    records: [...qlRecords(10), slow, failed],
    lost: 0,
    generationChanged: false,
  }]);
  const feed = new QueryLensFeed(source, settings, 10, () => 1_000);
  feed.setScope(scope);
  await feed.poll();
  const c = feed.takeCycle();
  const reasons = c.sampled.map((s) => s.reason).sort();
  assertEquals(reasons, ["default", "default", "error", "slow"]);
  assertEquals(c.cycleSampled.sampledOut, { rate_limit: 8 });
  assertEquals(c.slow.map((r) => r.execSeq), [100n]);
});

Deno.test("feed: slow candidates are bounded and the overflow is counted", () => {
  const feed = new QueryLensFeed(queuedSource([]), settings, 10, () => 1_000);
  feed.setScope(scope);
  feed.ingest(qlRecords(MAX_SLOW_CANDIDATES + 5, { durationNs: 20e6 }));
  const c = feed.takeCycle();
  assertEquals(c.slow.length, MAX_SLOW_CANDIDATES);
  assertEquals(c.cycle.slowOverflow, 5);
  assertEquals(feed.takeCycle().slow.length, 0);
});

Deno.test("feed: a failing source rejects poll, generation changes are counted, close closes", async () => {
  const source = queuedSource([{ records: [], lost: 0, generationChanged: true }]);
  const feed = new QueryLensFeed(source, settings, 10);
  await feed.poll();
  await assertRejects(() => feed.poll(), /no more batches/);
  assertEquals(feed.takeCycle().cycle.generationChanges, 1);
  feed.close();
  assertEquals(source.closed, true);
});
