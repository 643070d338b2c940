import assert from "node:assert/strict";
import {
  addExecutions,
  createDictionary,
  enforceBounds,
  maxCounters,
  MIN_COUNTERS,
  planKey,
  queryKey,
  statementDelta,
  touchPlan,
  touchQuery,
} from "./dictionary.ts";

Deno.test("createDictionary refuses a bound that is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => createDictionary(bad), /maxPlans must be a positive integer, got/);
  }
  assert.equal(createDictionary(3).maxPlans, 3);
});

Deno.test("touchPlan creates a record once and keeps its first sight", () => {
  const d = createDictionary(10);
  const a = touchPlan(d, "shop", "7", "-3", 1000);
  assert.deepEqual(a, {
    databaseName: "shop",
    queryId: "7",
    planId: "-3",
    firstSeenMs: 1000,
    lastSeenMs: 1000,
    executionCount: 0,
    avgDurationMs: 0,
  });
  const again = touchPlan(d, "shop", "7", "-3", 5000);
  assert.equal(again, a);
  assert.equal(a.firstSeenMs, 1000);
  assert.equal(a.lastSeenMs, 5000);
  assert.equal(d.plans.get(planKey("shop", "7", "-3")), a);
  assert.notEqual(touchPlan(d, "crm", "7", "-3", 5000), a, "another database, another plan record");
});

Deno.test("addExecutions keeps a running mean over every execution", () => {
  const r = touchPlan(createDictionary(10), "shop", "1", "2", 0);
  addExecutions(r, 4, 40); // 4 × 10 ms
  assert.equal(r.executionCount, 4);
  assert.equal(r.avgDurationMs, 10);
  addExecutions(r, 1, 60);
  assert.equal(r.executionCount, 5);
  assert.equal(r.avgDurationMs, 20, "(40 + 60) / 5");
  addExecutions(r, 0, 1000);
  assert.equal(r.avgDurationMs, 20, "no executions, no change");
});

Deno.test("statementDelta: everything at first sight and after a reset, the difference otherwise", () => {
  const d = createDictionary(10);
  assert.deepEqual(statementDelta(d, "shop", "9", 10, 100, 1), { calls: 10, totalMs: 100, firstSeen: true });
  assert.deepEqual(statementDelta(d, "shop", "9", 15, 160, 2), { calls: 5, totalMs: 60, firstSeen: false });
  assert.deepEqual(statementDelta(d, "shop", "9", 15, 160, 3), { calls: 0, totalMs: 0, firstSeen: false });
  assert.deepEqual(statementDelta(d, "shop", "9", 3, 20, 4), { calls: 3, totalMs: 20, firstSeen: true });
  assert.deepEqual(d.counters.get(queryKey("shop", "9")), { calls: 3, totalMs: 20, seenMs: 4 });
});

Deno.test("enforceBounds drops the least recently seen plans, queries and counters", () => {
  const d = createDictionary(2);
  touchPlan(d, "db", "1", "a", 1);
  touchPlan(d, "db", "1", "b", 2);
  touchPlan(d, "db", "1", "c", 3);
  touchPlan(d, "db", "1", "a", 4); // a is seen again: b is now the oldest
  for (const q of ["1", "2", "3"]) {
    touchQuery(
      d,
      { databaseName: "db", queryId: q, currentPlanId: "5", identity: "shape", lastSeenMs: 0 },
      Number(q),
    );
  }
  assert.equal(enforceBounds(d), 1);
  assert.deepEqual([...d.plans.values()].map((p) => p.planId), ["c", "a"]);
  assert.deepEqual([...d.queries.values()].map((q) => q.queryId), ["2", "3"]);
  assert.equal(enforceBounds(d), 0);
});

Deno.test("statement counters are bounded by max(maxPlans, MIN_COUNTERS)", () => {
  const small = createDictionary(5);
  assert.equal(maxCounters(small), MIN_COUNTERS);
  for (let i = 0; i < MIN_COUNTERS + 3; i++) statementDelta(small, "db", String(i), 1, 1, i);
  enforceBounds(small);
  assert.equal(small.counters.size, MIN_COUNTERS);
  assert.ok(!small.counters.has(queryKey("db", "2")), "the oldest went first");
  assert.ok(small.counters.has(queryKey("db", "3")));
  assert.equal(maxCounters(createDictionary(MIN_COUNTERS * 2)), MIN_COUNTERS * 2);
});
