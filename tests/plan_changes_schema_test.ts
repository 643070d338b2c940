/**
 * The PostgresPlanChanges schema agrees with the catalog, and the real encoder's documents (v3 and
 * v4, in every mode) validate against it while a wrong key, type or value is refused.
 */
import assert from "node:assert/strict";
import { assertSchemaDeclaresCatalog } from "./support/schema_catalog.ts";
import planChanges from "./schemas/plan-changes.schema.json" with { type: "json" };
import v4 from "./schemas/v4.schema.json" with { type: "json" };
import {
  assertValidDocuments,
  EXTENDED_SCHEMAS,
  QPM_SCHEMAS,
  V4_SCHEMA,
  validateDocument,
} from "./support/schema.ts";
import { emptySnapshot, type PlanChange } from "../src/core/model.ts";
import { PLAN_CHANGES } from "../src/core/plan_catalog.ts";
import { encodeQpmDocuments, type NriOptions } from "../src/nri_adapter/qpm.ts";

type Node = Record<string, unknown>;
const METRIC_SET = planChanges.definitions.metricSet as unknown as {
  required: string[];
  properties: Record<string, Node>;
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
const BARE: PlanChange = {
  queryId: "1",
  databaseName: "crm",
  planId: "2",
  previousPlanId: "3",
  executionsBefore: 0,
  executionsAfter: 0,
  isRegression: false,
  detectedAt: "2026-03-01T09:00:00.000Z",
  detectedAtUnixMs: 1_772_355_600_000,
};
const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 150010,
  majorVersion: 15,
  serverVersion: "15.10",
};
const OPTIONS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

function encoded(opts: Partial<NriOptions> = {}): Node {
  const snap = { ...emptySnapshot(INSTANCE, new Date("2026-03-01T10:00:30Z")), planChanges: [CHANGE, BARE] };
  const { documents, dropped } = encodeQpmDocuments(snap, { ...OPTIONS, ...opts });
  assert.deepEqual(dropped, []);
  assert.equal(documents.length, 1);
  return JSON.parse(documents[0]);
}

function sets(doc: Node): Node[] {
  const item = (doc.data as Node[])[0];
  return doc.protocol_version === "4"
    ? (item.events as { attributes: Node }[]).map((e) => e.attributes)
    : item.metrics as Node[];
}

/** The errors of `doc` once `change` is applied to a copy of its first set (v4's if/then line removed). */
function errorsWith(doc: Node, change: (set: Node) => void): string[] {
  const copy = structuredClone(doc);
  change(sets(copy)[0]);
  return validateDocument(copy).errors.filter((e) => e !== '/data/0/events/0 must match "then" schema');
}

Deno.test("plan-changes schema: registered as an extended type, and for v4 events", () => {
  assert.equal(EXTENDED_SCHEMAS.PostgresPlanChanges, "plan-changes.schema.json");
  assert.ok(!("PostgresPlanChanges" in QPM_SCHEMAS));
  const rules = (v4 as unknown as { definitions: { event: { allOf: Node[] } } }).definitions.event.allOf;
  const refs = rules.filter((r) => JSON.stringify(r).includes('"PostgresPlanChanges"')).map((r) =>
    JSON.stringify(r)
  );
  assert.equal(refs.length, 1);
  assert.match(refs[0], /plan-changes\.schema\.json#\/definitions\/metricSet/);
});

Deno.test("plan-changes schema: exactly the catalog's attributes, JSON types and required keys", () => {
  assertSchemaDeclaresCatalog(PLAN_CHANGES, planChanges);
});

Deno.test("plan-changes schema: the encoder's documents validate, v3 and v4, in every mode", () => {
  for (
    const variant of [{}, { compat: false }, { cluster: "prod", service: "shop" }, { protocol: 4 as const }]
  ) {
    const doc = encoded(variant);
    const schema = variant.protocol === 4 ? V4_SCHEMA : "plan-changes.schema.json";
    assert.deepEqual(validateDocument(doc), { schema, errors: [] }, JSON.stringify(variant));
    assert.equal(sets(doc).length, 2);
  }
  const pretty = encodeQpmDocuments(
    { ...emptySnapshot(INSTANCE), planChanges: [CHANGE] },
    { ...OPTIONS, pretty: true },
  ).documents.join("");
  assert.deepEqual(assertValidDocuments(pretty).map((d) => d.schema), ["plan-changes.schema.json"]);
});

Deno.test("plan-changes schema: unknown keys, missing keys, wrong types and values are refused", () => {
  for (const protocol of [3, 4] as const) {
    const doc = encoded({ protocol });
    const at = protocol === 4 ? "/data/0/events/0/attributes" : "/data/0/metrics/0";
    for (const key of ["detected_at_unix_ms", "query_text", "plan"]) {
      assert.deepEqual(errorsWith(doc, (s) => s[key] = 1), [
        `${at} must NOT have additional properties (${key})`,
      ]);
    }
    for (const key of METRIC_SET.required) {
      assert.deepEqual(
        errorsWith(doc, (s) => delete s[key]),
        [`${at} must have required property '${key}'`],
        key,
      );
    }
    const cases: [Node, string][] = [
      [{ is_regression: 2 }, `${at}/is_regression must be equal to one of the allowed values`],
      [{ executions_after: 1.5 }, `${at}/executions_after must be integer`],
      [{ avg_duration_after_ms: -1 }, `${at}/avg_duration_after_ms must be >= 0`],
      [{ previous_plan_id: "0x1" }, `${at}/previous_plan_id must match pattern "^-?[0-9]+$"`],
      [{ plan_id: 7 }, `${at}/plan_id must be string`],
      [{ detected_at: "yesterday" }, `${at}/detected_at must match format "date-time"`],
      [{ database_name: "" }, `${at}/database_name must NOT have fewer than 1 characters`],
    ];
    for (const [change, expected] of cases) {
      assert.ok(
        errorsWith(doc, (s) => Object.assign(s, change)).includes(expected),
        `v${protocol} ${expected}`,
      );
    }
  }
});
