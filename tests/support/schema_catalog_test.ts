import assert from "node:assert/strict";
import schema from "../schemas/active-session-history.schema.json" with { type: "json" };
import { ACTIVE_SESSION_HISTORY } from "../../src/core/ash_catalog.ts";
import { assertSchemaDeclaresCatalog, schemaJsonType } from "./schema_catalog.ts";

const copy = () => structuredClone(schema) as unknown as Record<string, never>;

Deno.test("assertSchemaDeclaresCatalog: passes on the real schema, fails on each kind of mismatch", () => {
  assertSchemaDeclaresCatalog(ACTIVE_SESSION_HISTORY, schema);
  const field = ACTIVE_SESSION_HISTORY.fields[0].nri;
  // deno-lint-ignore no-explicit-any
  const cases: [string, (s: Record<string, any>) => void][] = [
    ["a removed property", (s) => delete s.definitions.metricSet.properties[field]],
    ["an extra property", (s) => s.definitions.metricSet.properties.extra = { type: "string" }],
    ["a required flag dropped", (s) => s.definitions.metricSet.required.pop()],
    ["another type", (s) => s.definitions.metricSet.properties[field] = { type: "boolean" }],
    ["another event type", (s) => s.definitions.metricSet.properties.event_type = { const: "X" }],
  ];
  for (const [what, mutate] of cases) {
    const s = copy();
    mutate(s);
    assert.throws(() => assertSchemaDeclaresCatalog(ACTIVE_SESSION_HISTORY, s), assert.AssertionError, what);
  }
});

Deno.test("schemaJsonType: follows references into the schema and the envelope", () => {
  assert.equal(schemaJsonType(schema, { type: "integer" }), "integer");
  assert.equal(schemaJsonType(schema, { const: "x" }), "string");
  assert.throws(() => schemaJsonType(schema, { $ref: "#/definitions/none" }), /unresolved/);
});
