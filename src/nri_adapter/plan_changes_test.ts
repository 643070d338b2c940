import assert from "node:assert/strict";
import { join } from "node:path";
import type { PlanChange, UnifiedMetrics } from "../core/model.ts";
import { QPM_EVENT_TYPES } from "../core/catalog.ts";
import { PLAN_CHANGES } from "../core/plan_catalog.ts";
import { planMetricSets } from "./plan_changes.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";

const FIXTURES = join(import.meta.dirname!, "..", "..", "tests", "fixtures", "nri");

function fixtureSnapshot(): UnifiedMetrics {
  const raw = JSON.parse(Deno.readTextFileSync(join(FIXTURES, "snapshot.json")));
  return { ...raw, collectedAt: new Date(raw.collectedAt) };
}

const DEFAULTS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

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
  detectedAtUnixMs: 1_772_359_205_000,
};

/** A change never captured before or after, nor executed after: only the required keys. */
const BARE: PlanChange = {
  queryId: "12",
  databaseName: "crm",
  planId: "3",
  previousPlanId: "4",
  executionsBefore: 0,
  executionsAfter: 0,
  isRegression: false,
  detectedAt: "2026-03-01T09:00:00.000Z",
  detectedAtUnixMs: 1_772_355_600_000,
};

const withChanges = (changes: PlanChange[]): UnifiedMetrics => ({
  ...fixtureSnapshot(),
  planChanges: changes,
});

Deno.test("plan NRI: the plan-change metric set, exactly, and a bare one with the required keys", () => {
  const doc = encodeQpmDocuments(withChanges([CHANGE, BARE]), DEFAULTS).documents.at(-1)!;
  assert.equal(
    doc,
    '{"name":"com.newrelic.postgresql","protocol_version":"3","integration_version":"0.1.0","data":[' +
      '{"entity":{"name":"db1.example.net:5432","type":"pg-instance","id_attributes":[]},"metrics":[{' +
      '"avg_duration_after_ms":11.75,"avg_duration_before_ms":0.042,"database_name":"shop",' +
      '"detected_at":"2026-03-01T10:00:05.000Z","event_type":"PostgresPlanChanges","executions_after":8,' +
      '"executions_before":30,"is_regression":1,"plan_id":"-5061377153094811102",' +
      '"previous_plan_id":"7310227119438526021","previous_total_cost":8.3,' +
      '"query_id":"-6482174329745523713","total_cost":5406.5},{' +
      '"database_name":"crm","detected_at":"2026-03-01T09:00:00.000Z","event_type":"PostgresPlanChanges",' +
      '"executions_after":0,"executions_before":0,"is_regression":0,"plan_id":"3","previous_plan_id":"4",' +
      '"query_id":"12"}],"inventory":{},"events":[]}]}\n',
  );
});

Deno.test("plan NRI: the other documents stay byte for byte what they are without plan changes", () => {
  for (
    const variant of [{}, { isRds: true }, { compat: false }, { protocol: 4 as const }, { pretty: true }]
  ) {
    const opts = { ...DEFAULTS, ...variant };
    const plain = encodeQpmDocuments(fixtureSnapshot(), opts).documents;
    const docs = encodeQpmDocuments(withChanges([CHANGE]), opts).documents;
    assert.deepEqual(docs.slice(0, plain.length), plain, JSON.stringify(variant));
    assert.equal(docs.length, plain.length + 1, JSON.stringify(variant));
  }
});

Deno.test("plan NRI: published last in both modes, and as events in protocol 4", () => {
  const qpmNames = QPM_EVENT_TYPES.map((t) => t.eventType);
  for (const compat of [true, false]) {
    const types = qpmMetricSets(withChanges([CHANGE]), { isRds: false, compat }).types.map((t) =>
      t.eventType
    );
    assert.equal(types.at(-1), "PostgresPlanChanges");
    assert.ok(qpmNames.every((n) => types.indexOf(n) < types.length - 1));
  }
  const events = JSON.parse(
    encodeQpmDocuments(withChanges([CHANGE]), { ...DEFAULTS, protocol: 4 }).documents.at(-1)!,
  ).data[0].events;
  assert.equal(events[0].category, "PostgresPlanChanges");
  assert.equal(events[0].attributes.is_regression, 1);
  assert.equal(events[0].attributes.previous_plan_id, "7310227119438526021");
});

Deno.test("plan NRI: absent changes publish no type; an empty list no document; only catalog keys", () => {
  assert.deepEqual(planMetricSets(fixtureSnapshot()), { types: [], dropped: [] });
  assert.deepEqual(planMetricSets(withChanges([])).types, [{ eventType: "PostgresPlanChanges", sets: [] }]);
  assert.deepEqual(
    encodeQpmDocuments(withChanges([]), DEFAULTS).documents,
    encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents,
  );
  const set = planMetricSets(withChanges([CHANGE]), { cluster: "c" }).types[0].sets[0];
  const allowed = new Set([...PLAN_CHANGES.fields.map((f) => f.nri), "event_type", "cluster_name"]);
  assert.deepEqual([...set.keys()].filter((k) => !allowed.has(k)), [], "detectedAtUnixMs is not exported");
  assert.equal(set.get("cluster_name"), "c");
});

Deno.test("plan NRI: a cost that is not a finite number is dropped and reported, the change kept", () => {
  const { types, dropped } = planMetricSets(withChanges([{ ...CHANGE, totalCost: Infinity }]));
  assert.deepEqual(dropped, [{
    eventType: "PostgresPlanChanges",
    key: "total_cost",
    reason: "not a finite number: Infinity",
  }]);
  assert.equal(types[0].sets[0].get("is_regression"), 1);
  assert.ok(!types[0].sets[0].has("total_cost"));
});
