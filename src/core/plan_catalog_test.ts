import assert from "node:assert/strict";
import { EXTENDED_EVENT_TYPES, QPM_EVENT_TYPES } from "./catalog.ts";
import { PLAN_CHANGES, PLAN_EVENT_TYPES } from "./plan_catalog.ts";
import { QUERYLENS_EVENT_TYPES } from "./querylens_catalog.ts";

Deno.test("plan catalog: PostgresPlanChanges from the snapshot's planChanges, apart from the QPM and pg_querylens types", () => {
  assert.deepEqual(PLAN_EVENT_TYPES.map((t) => [t.eventType, t.source]), [[
    "PostgresPlanChanges",
    "planChanges",
  ]]);
  const others = [...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES, ...QUERYLENS_EVENT_TYPES];
  assert.ok(!others.some((t) => t.eventType === PLAN_CHANGES.eventType));
});

Deno.test("plan catalog: the fields of the issue, with their wire names, types and OTLP keys", () => {
  const fields = PLAN_CHANGES.fields.map((
    f,
  ) => [f.field, f.nri, f.type, f.integer ?? false, f.required, f.otel]);
  assert.deepEqual(fields, [
    ["queryId", "query_id", "attribute", false, true, "postgresql.queryid"],
    ["databaseName", "database_name", "attribute", false, true, "db.namespace"],
    ["planId", "plan_id", "attribute", false, true, "pgquerylens.planid"],
    ["previousPlanId", "previous_plan_id", "attribute", false, true, "pgquerylens.previous_planid"],
    [
      "previousTotalCost",
      "previous_total_cost",
      "gauge",
      false,
      false,
      "pgquerylens.plan.previous_total_cost",
    ],
    ["totalCost", "total_cost", "gauge", false, false, "pgquerylens.plan.total_cost"],
    [
      "avgDurationBeforeMs",
      "avg_duration_before_ms",
      "gauge",
      false,
      false,
      "pgquerylens.plan.avg_duration_before",
    ],
    [
      "avgDurationAfterMs",
      "avg_duration_after_ms",
      "gauge",
      false,
      false,
      "pgquerylens.plan.avg_duration_after",
    ],
    ["executionsBefore", "executions_before", "gauge", true, true, "pgquerylens.plan.executions_before"],
    ["executionsAfter", "executions_after", "gauge", true, true, "pgquerylens.plan.executions_after"],
    ["isRegression", "is_regression", "gauge", true, true, "pgquerylens.plan.is_regression"],
    ["detectedAt", "detected_at", "attribute", false, true, undefined],
  ]);
  for (const f of PLAN_CHANGES.fields) {
    assert.match(f.nri, /^[a-z][a-z0-9_]*$/);
    assert.ok(f.description.length > 5, f.nri);
  }
  const ms = PLAN_CHANGES.fields.filter((f) => f.unit === "ms").map((f) => f.nri);
  assert.deepEqual(ms, ["avg_duration_before_ms", "avg_duration_after_ms"]);
});
