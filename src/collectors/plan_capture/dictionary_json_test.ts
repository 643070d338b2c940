import assert from "node:assert/strict";
import {
  addExecutions,
  createDictionary,
  type PlanDictionary,
  queryKey,
  statementDelta,
  touchPlan,
  touchQuery,
} from "./dictionary.ts";
import { dictionaryFromJson, dictionaryToJson, PLAN_DICTIONARY_VERSION } from "./dictionary_json.ts";

function sample(): PlanDictionary {
  const d = createDictionary(10);
  const a = touchPlan(d, "shop", "-42", "1001", 1_000);
  addExecutions(a, 8, 4);
  a.totalCost = 8.3;
  a.startupCost = 0.29;
  a.nodeCount = 1;
  touchPlan(d, "shop", "-42", "-2002", 2_000);
  touchQuery(d, {
    databaseName: "shop",
    queryId: "-42",
    currentPlanId: "-2002",
    identity: "pg_querylens",
    lastSeenMs: 2_000,
    pending: {
      previousPlanId: "1001",
      planId: "-2002",
      detectedAtMs: 2_000,
      executionsBefore: 8,
      avgDurationBeforeMs: 0.5,
      previousTotalCost: 8.3,
      executionsAfter: 2,
      totalMsAfter: 30,
    },
  }, 2_000);
  touchQuery(
    d,
    { databaseName: "crm", queryId: "5", currentPlanId: "6", identity: "shape", lastSeenMs: 500 },
    500,
  );
  statementDelta(d, "shop", "-42", 10, 34, 2_000);
  statementDelta(d, "crm", "5", 1, 2, 1_500);
  return d;
}

Deno.test("the dictionary survives a JSON round trip, order included", () => {
  const d = sample();
  const text = JSON.stringify(dictionaryToJson(d));
  const back = dictionaryFromJson(JSON.parse(text), 10);
  assert.deepEqual([...back.plans], [...d.plans]);
  assert.deepEqual([...back.queries.entries()].map(([k]) => k), [
    queryKey("crm", "5"),
    queryKey("shop", "-42"),
  ]);
  assert.deepEqual(back.queries.get(queryKey("shop", "-42")), d.queries.get(queryKey("shop", "-42")));
  assert.deepEqual([...back.counters.keys()], [queryKey("crm", "5"), queryKey("shop", "-42")]);
  assert.deepEqual(back.counters.get(queryKey("shop", "-42")), { calls: 10, totalMs: 34, seenMs: 2_000 });
  assert.equal((dictionaryToJson(d) as { version: number }).version, PLAN_DICTIONARY_VERSION);
});

Deno.test("reading keeps the most recently seen plans when the bound is smaller", () => {
  const json = dictionaryToJson(sample());
  const back = dictionaryFromJson(json, 1);
  assert.deepEqual([...back.plans.values()].map((p) => p.planId), ["-2002"]);
  assert.equal(back.queries.size, 1);
  assert.ok(back.queries.has(queryKey("shop", "-42")));
});

Deno.test("reading names the first field that is wrong", () => {
  const good = () => JSON.parse(JSON.stringify(dictionaryToJson(sample())));
  const cases: [(doc: Record<string, unknown>) => unknown, RegExp][] = [
    [() => null, /the document is not an object/],
    [(d) => ({ ...d, version: 2 }), /version is 2, not 1/],
    [(d) => ({ ...d, plans: {} }), /plans is not an array/],
    [(d) => {
      (d.plans as Record<string, unknown>[])[1].planId = "abc";
      return d;
    }, /plans\[1\]\.planId is not a decimal id/],
    [(d) => {
      (d.plans as Record<string, unknown>[])[0].executionCount = -1;
      return d;
    }, /plans\[0\]\.executionCount is not a finite number >= 0/],
    [(d) => {
      (d.plans as Record<string, unknown>[])[0].totalCost = "8";
      return d;
    }, /plans\[0\]\.totalCost is not a finite number >= 0/],
    [(d) => {
      (d.queries as Record<string, unknown>[])[1].databaseName = "";
      return d;
    }, /queries\[1\]\.databaseName is not a non-empty string/],
    [(d) => {
      ((d.queries as Record<string, unknown>[])[0].pending as Record<string, unknown>).totalMsAfter = null;
      return d;
    }, /queries\[0\]\.pending\.totalMsAfter is not a finite number >= 0/],
    [(d) => {
      (d.queries as Record<string, unknown>[])[1].identity = "hash";
      return d;
    }, /queries\[1\]\.identity is not "pg_querylens" or "shape"/],
    [(d) => {
      (d.counters as unknown[][])[0] = ["crm", "5", 1];
      return d;
    }, /counters\[0\] is not \[database, queryId, calls, totalMs, seenMs\]/],
    [(d) => {
      (d.counters as unknown[][])[1][2] = "10";
      return d;
    }, /counters\[1\]\.calls is not a finite number >= 0/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => dictionaryFromJson(change(good()), 10), message);
  }
});
