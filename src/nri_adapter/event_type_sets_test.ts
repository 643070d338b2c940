import assert from "node:assert/strict";
import { emptySnapshot } from "../core/model.ts";
import { QUERYLENS_EVENT_TYPES } from "../core/querylens_catalog.ts";
import { PLAN_EVENT_TYPES } from "../core/plan_catalog.ts";
import { eventTypeMetricSets } from "./event_type_sets.ts";

const instance = {
  host: "h",
  port: "5432",
  serverVersionNum: 150000,
  majorVersion: 15,
  serverVersion: "15.0",
};

Deno.test("eventTypeMetricSets: absent rows leave a type out, empty rows keep it, in spec order", () => {
  const snap = emptySnapshot(instance);
  assert.deepEqual(eventTypeMetricSets(QUERYLENS_EVENT_TYPES, snap).types, []);
  snap.queryLensAggregates = [];
  snap.queryExecutions = [];
  assert.deepEqual(
    eventTypeMetricSets(QUERYLENS_EVENT_TYPES, snap).types.map((t) => [t.eventType, t.sets.length]),
    [["PostgresQueryExecutions", 0], ["PostgresQueryPlanAggregates", 0]],
  );
  assert.deepEqual(eventTypeMetricSets(PLAN_EVENT_TYPES, snap), { types: [], dropped: [] });
});
