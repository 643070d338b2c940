import assert from "node:assert/strict";
import type { QueryLensAggregate } from "../../core/model.ts";
import type { PlanResult } from "./capture.ts";
import { addExecutions, createDictionary, queryKey, type QueryRecord, touchPlan } from "./dictionary.ts";
import { aggregatesByQuery, capturedPlan, latestAggregate, looksChanged, queryCycle } from "./observation.ts";
import type { RankedStatement } from "./top_queries.ts";

/** EXPLAIN output of a count over a bitmap scan: three nodes. */
const ROOT = {
  "Node Type": "Aggregate",
  "Startup Cost": 9.52,
  "Total Cost": 9.53,
  Plans: [{
    "Node Type": "Bitmap Heap Scan",
    "Total Cost": 9.5,
    Plans: [{ "Node Type": "Bitmap Index Scan", "Index Name": "items_x_idx" }],
  }],
};
const LINKED: PlanResult = { ok: true, root: ROOT, planId: "-901", shapeId: "55", linked: true };
const SHAPE: PlanResult = { ok: true, root: ROOT, planId: "55", shapeId: "55", linked: false };
const FAILED: PlanResult = { ok: false, reason: "EXPLAIN budget for this cycle spent" };

function ranked(calls: number, totalMs: number, firstSeen = false): RankedStatement {
  return {
    dbid: "16384",
    databaseName: "shop",
    queryId: "7",
    calls: 100,
    totalMs: 100,
    delta: { calls, totalMs, firstSeen },
  };
}

function agg(planId: string, calls: number, totalMs: number, lastSeenUnixUs: number, databaseName = "shop") {
  return {
    databaseName,
    queryId: "7",
    planId,
    calls,
    totalDurationMs: totalMs,
    lastSeenUnixUs,
  } as QueryLensAggregate;
}

const STATE: QueryRecord = {
  databaseName: "shop",
  queryId: "7",
  currentPlanId: "55",
  identity: "shape",
  lastSeenMs: 0,
};

Deno.test("capturedPlan: root costs and the number of nodes; nothing for a failure", () => {
  assert.deepEqual(capturedPlan(LINKED), {
    planId: "-901",
    totalCost: 9.53,
    startupCost: 9.52,
    nodeCount: 3,
  });
  assert.equal(capturedPlan(FAILED), undefined);
});

Deno.test("aggregatesByQuery groups by database and query id; latestAggregate picks the last to end", () => {
  assert.equal(aggregatesByQuery(undefined), undefined);
  const unnamed = { ...agg("1", 1, 1, 1), databaseName: undefined };
  const grouped = aggregatesByQuery([
    agg("1", 2, 2, 10),
    agg("2", 3, 3, 30),
    agg("1", 1, 1, 5, "crm"),
    unnamed,
  ]);
  assert.deepEqual([...grouped!.keys()], [queryKey("shop", "7"), queryKey("crm", "7")]);
  assert.equal(latestAggregate(grouped!.get(queryKey("shop", "7"))!)?.planId, "2");
  assert.equal(latestAggregate([]), undefined);
});

Deno.test("queryCycle without pg_querylens: the delta goes to the captured plan, else to the current one", () => {
  assert.deepEqual(queryCycle(ranked(6, 60), SHAPE, STATE, undefined), {
    databaseName: "shop",
    queryId: "7",
    identity: "shape",
    captured: { planId: "55", totalCost: 9.53, startupCost: 9.52, nodeCount: 3 },
    currentPlanId: "55",
    executions: [{ planId: "55", executions: 6, totalMs: 60 }],
  });
  const failed = queryCycle(ranked(6, 60), FAILED, { ...STATE, currentPlanId: "44" }, undefined);
  assert.deepEqual([failed.captured, failed.currentPlanId, failed.identity], [undefined, "44", "shape"]);
  assert.deepEqual(failed.executions, [{ planId: "44", executions: 6, totalMs: 60 }]);
  const nothing = queryCycle(ranked(6, 60), FAILED, undefined, undefined);
  assert.deepEqual([nothing.currentPlanId, nothing.executions], [undefined, []], "first sight, no plan");
  assert.equal(queryCycle(ranked(6, 60), LINKED, undefined, undefined).identity, "pg_querylens");
});

Deno.test("queryCycle with pg_querylens: executions by plan, the last one current, linked captures only", () => {
  const aggs = [agg("-901", 4, 2, 100), agg("-902", 6, 60, 200)];
  assert.deepEqual(queryCycle(ranked(10, 62), LINKED, STATE, aggs), {
    databaseName: "shop",
    queryId: "7",
    identity: "pg_querylens",
    captured: { planId: "-901", totalCost: 9.53, startupCost: 9.52, nodeCount: 3 },
    currentPlanId: "-902",
    executions: [
      { planId: "-901", executions: 4, totalMs: 2 },
      { planId: "-902", executions: 6, totalMs: 60 },
    ],
  });
  const unlinked = queryCycle(ranked(10, 62), SHAPE, STATE, aggs);
  assert.equal(unlinked.captured, undefined, "a shape hash never joins the extension's planids");
  const idle = queryCycle(ranked(10, 62), LINKED, STATE, []);
  assert.deepEqual([idle.currentPlanId, idle.executions], [undefined, []], "no executions: no current plan");
});

Deno.test("looksChanged: another plan executed, or the mean moved by the ratio either way", () => {
  const dict = createDictionary(10);
  const settings = { ratio: 2, minExecutions: 5 };
  assert.equal(looksChanged(dict, undefined, ranked(10, 1000), undefined, settings), false, "first sight");
  assert.equal(looksChanged(dict, STATE, ranked(10, 1000), [agg("55", 1, 1, 1)], settings), false);
  assert.equal(looksChanged(dict, STATE, ranked(10, 1000), [agg("56", 1, 1, 1)], settings), true);
  assert.equal(looksChanged(dict, STATE, ranked(10, 1000), [], settings), false);
  assert.equal(looksChanged(dict, STATE, ranked(10, 1000), undefined, settings), false, "no plan record yet");
  addExecutions(touchPlan(dict, "shop", "7", "55", 0), 10, 100); // 10 ms on average
  assert.equal(
    looksChanged(dict, STATE, ranked(10, 150), undefined, settings),
    false,
    "15 ms: within the ratio",
  );
  assert.equal(looksChanged(dict, STATE, ranked(10, 200), undefined, settings), true, "20 ms: twice as slow");
  assert.equal(looksChanged(dict, STATE, ranked(10, 50), undefined, settings), true, "5 ms: twice as fast");
  assert.equal(looksChanged(dict, STATE, ranked(4, 400), undefined, settings), false, "too few executions");
  assert.equal(looksChanged(dict, STATE, ranked(10, 900, true), undefined, settings), false, "a whole count");
});
