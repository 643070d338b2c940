import assert from "node:assert/strict";
import { emptySnapshot, type PlanChange, type UnifiedMetrics } from "../core/model.ts";
import { createTopQueryState, snapshotLogs } from "./logs.ts";
import { decodeLogsRequest } from "./otlp_proto.ts";
import { PLAN_CHANGE_EVENT_NAME, planChangeAttributes, planChangeLogRecords } from "./plan_changes.ts";
import { encodeLogsBodies } from "./to_proto.ts";

const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 150010,
  majorVersion: 15,
  serverVersion: "15.10",
};
const T0 = new Date("2026-03-01T10:00:30Z");

const CHANGE: PlanChange = {
  queryId: "-6482174329745523713",
  databaseName: "shop",
  planId: "-5061377153094811102",
  previousPlanId: "7310227119438526021",
  previousTotalCost: 8.3,
  totalCost: 5406.5,
  avgDurationBeforeMs: 0.042,
  avgDurationAfterMs: 11.75,
  executionsBefore: 30,
  executionsAfter: 8,
  isRegression: true,
  detectedAt: "2026-03-01T10:00:05.000Z",
  detectedAtUnixMs: Date.parse("2026-03-01T10:00:05.000Z"),
};

Deno.test("plan OTLP: one record per change, timed at its detection, typed attributes", () => {
  const records = planChangeLogRecords({ planChanges: [CHANGE] });
  assert.deepEqual(records, [{
    eventName: "pgquerylens.plan.change",
    timeUnixNano: BigInt(Date.parse("2026-03-01T10:00:05.000Z")) * 1_000_000n,
    attributes: {
      "db.system.name": "postgresql",
      "postgresql.queryid": "-6482174329745523713",
      "db.namespace": "shop",
      "pgquerylens.planid": "-5061377153094811102",
      "pgquerylens.previous_planid": "7310227119438526021",
      "pgquerylens.plan.previous_total_cost": 8.3,
      "pgquerylens.plan.total_cost": 5406.5,
      "pgquerylens.plan.avg_duration_before": 0.042,
      "pgquerylens.plan.avg_duration_after": 11.75,
      "pgquerylens.plan.executions_before": 30n,
      "pgquerylens.plan.executions_after": 8n,
      "pgquerylens.plan.is_regression": true,
    },
  }]);
  assert.equal(PLAN_CHANGE_EVENT_NAME, "pgquerylens.plan.change");
});

Deno.test("plan OTLP: absent values are left out; no changes, no records", () => {
  const bare: PlanChange = {
    ...CHANGE,
    isRegression: false,
    previousTotalCost: undefined,
    totalCost: undefined,
    avgDurationBeforeMs: undefined,
    avgDurationAfterMs: undefined,
    executionsAfter: 0,
  };
  const attrs = planChangeAttributes(bare);
  for (const key of ["total_cost", "previous_total_cost", "avg_duration_before", "avg_duration_after"]) {
    assert.ok(!(`pgquerylens.plan.${key}` in attrs), key);
  }
  assert.equal(attrs["pgquerylens.plan.is_regression"], false);
  assert.equal(attrs["pgquerylens.plan.executions_after"], 0n);
  assert.deepEqual(planChangeLogRecords({}), []);
  assert.deepEqual(planChangeLogRecords({ planChanges: [] }), []);
});

Deno.test("plan OTLP: snapshotLogs carries the change records, and they survive encoding", () => {
  const snap: UnifiedMetrics = { ...emptySnapshot(INSTANCE, T0), planChanges: [CHANGE] };
  const resources = snapshotLogs(snap, { state: createTopQueryState() });
  assert.deepEqual(resources[0].scopeLogs[0].logRecords.map((r) => r.eventName), [PLAN_CHANGE_EVENT_NAME]);
  const [body] = encodeLogsBodies(resources, 1 << 20);
  const record = decodeLogsRequest(body).resourceLogs[0].scopeLogs[0].logRecords[0];
  assert.equal(record.eventName, "pgquerylens.plan.change");
  const byKey = new Map((record.attributes ?? []).map((kv) => [kv.key, kv.value]));
  assert.equal(byKey.get("pgquerylens.plan.is_regression"), true);
  assert.equal(byKey.get("pgquerylens.plan.executions_before"), 30n);
  assert.equal(byKey.get("pgquerylens.previous_planid"), "7310227119438526021");
  assert.deepEqual(
    snapshotLogs({ ...emptySnapshot(INSTANCE, T0), planChanges: [] }, { state: createTopQueryState() }),
    [],
  );
});
