import assert from "node:assert/strict";
import { createDictionary, type PlanDictionary, planKey, queryKey } from "./dictionary.ts";
import { dictionaryFromJson, dictionaryToJson } from "./dictionary_json.ts";
import { applyCycle, type QueryCycle, type VerdictSettings } from "./detection.ts";

const S: VerdictSettings = { ratio: 1.5, minExecutions: 5, verdictTimeoutMs: 60_000 };
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

/** A cycle of query "7" in "shop" running `plan` `n` times at `ms` each, captured at `cost`. */
function run(plan: string, n: number, ms: number, cost = 10): QueryCycle {
  return {
    databaseName: "shop",
    queryId: "7",
    currentPlanId: plan,
    identity: "shape",
    captured: { planId: plan, totalCost: cost, startupCost: cost / 10, nodeCount: 2 },
    executions: n > 0 ? [{ planId: plan, executions: n, totalMs: n * ms }] : [],
  };
}

function restart(d: PlanDictionary): PlanDictionary {
  return dictionaryFromJson(JSON.parse(JSON.stringify(dictionaryToJson(d))), d.maxPlans);
}

Deno.test("a query seen for the first time has a plan but no change", () => {
  const d = createDictionary(100);
  const r = applyCycle(d, [run("1", 20, 0.5)], S, T0);
  assert.deepEqual(r.changes, []);
  assert.deepEqual(r.entries, [{
    databaseName: "shop",
    queryId: "7",
    planId: "1",
    current: true,
    firstSeen: "2026-03-01T10:00:00.000Z",
    lastSeen: "2026-03-01T10:00:00.000Z",
    executionCount: 20,
    avgDurationMs: 0.5,
    cycleExecutions: 20,
    totalCost: 10,
    startupCost: 1,
    nodeCount: 2,
  }]);
  assert.equal(d.queries.get(queryKey("shop", "7"))?.currentPlanId, "1");
});

Deno.test("a slower new plan with enough executions is one regression, exported once", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 20, 0.5, 8.3)], S, T0);
  const r = applyCycle(d, [run("2", 6, 12, 1693)], S, T0 + 15_000);
  assert.deepEqual(r.changes, [{
    queryId: "7",
    databaseName: "shop",
    planId: "2",
    previousPlanId: "1",
    previousTotalCost: 8.3,
    totalCost: 1693,
    avgDurationBeforeMs: 0.5,
    avgDurationAfterMs: 12,
    executionsBefore: 20,
    executionsAfter: 6,
    isRegression: true,
    detectedAt: "2026-03-01T10:00:15.000Z",
    detectedAtUnixMs: T0 + 15_000,
  }]);
  assert.deepEqual(r.entries.map((e) => [e.planId, e.current]), [["2", true]]);
  assert.equal(d.queries.get(queryKey("shop", "7"))?.pending, undefined);
  const later = applyCycle(d, [run("2", 10, 12, 1693)], S, T0 + 30_000);
  assert.deepEqual(later.changes, [], "the same plan again: no further event");
  assert.equal(d.plans.get(planKey("shop", "7", "1"))?.executionCount, 20, "both plans are still known");
  assert.equal(d.plans.get(planKey("shop", "7", "2"))?.executionCount, 16);
});

Deno.test("the verdict waits for enough executions of the new plan, across a restart", () => {
  let d = createDictionary(100);
  applyCycle(d, [run("1", 10, 2)], S, T0);
  assert.deepEqual(applyCycle(d, [run("2", 2, 2.8)], S, T0 + 1000).changes, []);
  const pending = d.queries.get(queryKey("shop", "7"))?.pending;
  assert.deepEqual(pending && [pending.previousPlanId, pending.planId, pending.executionsAfter], [
    "1",
    "2",
    2,
  ]);
  d = restart(d);
  assert.deepEqual(applyCycle(d, [run("2", 2, 3.2)], S, T0 + 2000).changes, []);
  d = restart(d);
  const r = applyCycle(d, [run("2", 1, 3)], S, T0 + 3000);
  assert.equal(r.changes.length, 1);
  const c = r.changes[0];
  assert.equal(c.detectedAt, "2026-03-01T10:00:01.000Z", "detected when the plan changed");
  assert.equal(c.executionsAfter, 5);
  assert.ok(Math.abs(c.avgDurationAfterMs! - (2 * 2.8 + 2 * 3.2 + 3) / 5) < 1e-9);
  assert.equal(c.avgDurationBeforeMs, 2);
  assert.equal(c.isRegression, true, "3.0 / 2 = 1.5 reaches the ratio");
  assert.deepEqual(applyCycle(restart(d), [run("2", 5, 3)], S, T0 + 4000).changes, [], "never twice");
});

Deno.test("not a regression: faster, below the ratio, or too few executions before", () => {
  const cases: [number, number, number, boolean][] = [
    // before count, before ms, after ms, regression
    [20, 10, 2, false],
    [20, 10, 14.9, false],
    [20, 10, 15, true],
    [4, 10, 100, false],
  ];
  for (const [beforeN, beforeMs, afterMs, expected] of cases) {
    const d = createDictionary(10);
    applyCycle(d, [run("1", beforeN, beforeMs)], S, T0);
    const r = applyCycle(d, [run("2", 5, afterMs)], S, T0 + 1);
    assert.equal(r.changes.length, 1);
    assert.equal(r.changes[0].isRegression, expected, `${beforeN} × ${beforeMs} ms, then ${afterMs} ms`);
  }
});

Deno.test("a plan that changes again before its verdict is judged with what is known", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 10, 1)], S, T0);
  applyCycle(d, [run("2", 2, 5)], S, T0 + 1000);
  const r = applyCycle(d, [run("3", 1, 1)], S, T0 + 2000);
  assert.equal(r.changes.length, 1);
  assert.deepEqual(
    [
      r.changes[0].previousPlanId,
      r.changes[0].planId,
      r.changes[0].executionsAfter,
      r.changes[0].isRegression,
    ],
    ["1", "2", 2, false],
  );
  const p = d.queries.get(queryKey("shop", "7"))?.pending;
  assert.deepEqual(p && [p.previousPlanId, p.planId, p.executionsBefore, p.avgDurationBeforeMs], [
    "2",
    "3",
    2,
    5,
  ]);
});

Deno.test("a change still pending after the verdict timeout is exported, not a regression", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 10, 1)], S, T0);
  applyCycle(d, [run("2", 1, 50)], S, T0 + 1000);
  assert.deepEqual(applyCycle(d, [], S, T0 + 1000 + S.verdictTimeoutMs - 1).changes, []);
  const r = applyCycle(d, [], S, T0 + 1000 + S.verdictTimeoutMs);
  assert.deepEqual(
    r.changes.map((c) => [c.planId, c.executionsAfter, c.avgDurationAfterMs, c.isRegression]),
    [
      ["2", 1, 50, false],
    ],
  );
});

Deno.test("executions of both plans in one cycle: before counts the old plan's, after the new one's", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 10, 1)], S, T0);
  const mixed: QueryCycle = {
    databaseName: "shop",
    queryId: "7",
    currentPlanId: "2",
    identity: "shape",
    executions: [
      { planId: "1", executions: 5, totalMs: 5 },
      { planId: "2", executions: 6, totalMs: 60 },
    ],
  };
  const r = applyCycle(d, [mixed], S, T0 + 1);
  assert.deepEqual(
    r.changes.map((c) => [c.executionsBefore, c.avgDurationBeforeMs, c.executionsAfter, c.isRegression]),
    [[15, 1, 6, true]],
  );
  assert.equal(r.changes[0].totalCost, undefined, "never captured: no cost");
  assert.equal(r.changes[0].previousTotalCost, 10);
  assert.deepEqual(r.entries.map((e) => [e.planId, e.cycleExecutions, e.current]), [["1", 5, false], [
    "2",
    6,
    true,
  ]]);
});

Deno.test("without a current plan nothing is compared; queries of other databases are apart", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 10, 1)], S, T0);
  const unknown: QueryCycle = { ...run("9", 10, 100, 1), currentPlanId: undefined };
  assert.deepEqual(applyCycle(d, [unknown], S, T0 + 1).changes, []);
  assert.equal(d.queries.get(queryKey("shop", "7"))?.currentPlanId, "1");
  const other: QueryCycle = { ...run("2", 10, 100), databaseName: "crm" };
  assert.deepEqual(applyCycle(d, [other], S, T0 + 2).changes, [], "first sight in crm");
});

Deno.test("the dictionary stays bounded while plans come and go", () => {
  const d = createDictionary(3);
  for (let i = 0; i < 10; i++) {
    applyCycle(d, [{ ...run(String(i), 1, 1), queryId: String(100 + i) }], S, T0 + i);
  }
  assert.equal(d.plans.size, 3);
  assert.deepEqual([...d.plans.values()].map((p) => p.planId), ["7", "8", "9"]);
  assert.equal(d.queries.size, 3);
});

Deno.test("ids of another kind (pg_querylens came) start the query over: no change, the pending one judged", () => {
  const d = createDictionary(100);
  applyCycle(d, [run("1", 10, 1)], S, T0);
  applyCycle(d, [run("2", 2, 9)], S, T0 + 1000);
  const linked: QueryCycle = { ...run("-77", 10, 9), identity: "pg_querylens" };
  const r = applyCycle(d, [linked], S, T0 + 2000);
  assert.deepEqual(r.changes.map((c) => [c.previousPlanId, c.planId, c.executionsAfter, c.isRegression]), [
    ["1", "2", 2, false],
  ]);
  const state = d.queries.get(queryKey("shop", "7"));
  assert.deepEqual([state?.currentPlanId, state?.identity, state?.pending], [
    "-77",
    "pg_querylens",
    undefined,
  ]);
  assert.deepEqual(applyCycle(d, [{ ...linked, executions: [] }], S, T0 + 3000).changes, []);
  const back = applyCycle(d, [run("2", 6, 9)], S, T0 + 4000);
  assert.deepEqual(back.changes, [], "and back to shape hashes: no change either");
  assert.equal(d.queries.get(queryKey("shop", "7"))?.identity, "shape");
});
