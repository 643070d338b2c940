/**
 * The check that an extended event type's schema (tests/schemas/) declares exactly what its catalog
 * declares: the same attribute names, required keys and JSON types, and its event type as a
 * constant. Catalog tests of every such type call it, so a new attribute without a schema update
 * fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import envelope from "../schemas/qpm-envelope.schema.json" with { type: "json" };
import type { EventTypeSpec } from "../../src/core/catalog.ts";

type Node = Record<string, unknown>;

/** Keys every extended metric set may carry besides its catalog's attributes. */
export const ENVELOPE_KEYS = ["event_type", "cluster_name", "service_name"] as const;

/** The JSON type a schema property demands, following `$ref`s into `schema` or the envelope. */
export function schemaJsonType(schema: Node, node: Node): string {
  const ref = node.$ref as string | undefined;
  if (ref === undefined) return String(node.type ?? (typeof node.const === "string" ? "string" : "?"));
  const [file, pointer] = ref.split("#");
  let at: unknown = file === "" || file === schema.$id
    ? schema
    : file === envelope.$id
    ? envelope
    : undefined;
  for (const part of pointer.split("/").filter((p) => p !== "")) at = (at as Node)?.[part];
  assert.ok(at, `unresolved ${ref}`);
  return schemaJsonType(schema, at as Node);
}

/**
 * Asserts that `schema`'s `definitions.metricSet` declares exactly `spec`'s attributes (plus
 * {@link ENVELOPE_KEYS}), requires exactly `event_type` and the required ones, gives each the JSON
 * type its catalog type calls for, and fixes `event_type` to the spec's event type.
 */
// deno-lint-ignore no-explicit-any
export function assertSchemaDeclaresCatalog(spec: EventTypeSpec<any>, schema: Node): void {
  const set = (schema.definitions as Node).metricSet as {
    required: string[];
    properties: Record<string, Node>;
  };
  const fields = spec.fields;
  assert.deepEqual(
    Object.keys(set.properties).sort(),
    [...ENVELOPE_KEYS, ...fields.map((f) => f.nri)].sort(),
  );
  assert.deepEqual(
    [...set.required].sort(),
    ["event_type", ...fields.filter((f) => f.required).map((f) => f.nri)].sort(),
  );
  for (const f of fields) {
    const expected = f.type === "attribute" ? "string" : f.integer ? "integer" : "number";
    assert.equal(schemaJsonType(schema, set.properties[f.nri]), expected, f.nri);
  }
  assert.deepEqual(set.properties.event_type, { const: spec.eventType });
}
