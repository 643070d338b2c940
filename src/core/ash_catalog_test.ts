import assert from "node:assert/strict";
import schema from "../../tests/schemas/active-session-history.schema.json" with { type: "json" };
import envelope from "../../tests/schemas/qpm-envelope.schema.json" with { type: "json" };
import { ACTIVE_SESSION_HISTORY, ASH_EVENT_TYPES } from "./ash_catalog.ts";
import { EXTENDED_EVENT_TYPES, QPM_EVENT_TYPES } from "./catalog.ts";
import { QUERYLENS_EVENT_TYPES } from "./querylens_catalog.ts";

Deno.test("ash catalog: its own event type, apart from the QPM and pg_querylens types", () => {
  assert.deepEqual(ASH_EVENT_TYPES.map((t) => [t.eventType, t.source]), [
    ["PostgresActiveSessionHistory", "activeSessionHistory"],
  ]);
  const others = [...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES, ...QUERYLENS_EVENT_TYPES].map((t) =>
    t.eventType
  );
  assert.ok(!others.includes(ACTIVE_SESSION_HISTORY.eventType));
});

Deno.test("ash catalog: names are snake_case and unique, OTLP keys unique, identity = the group key", () => {
  const fields = ACTIVE_SESSION_HISTORY.fields;
  const nri = fields.map((f) => f.nri);
  assert.equal(new Set(nri).size, nri.length);
  for (const n of nri) assert.match(n, /^[a-z][a-z0-9_]*$/);
  const otel = fields.flatMap((f) => (f.otel ? [f.otel] : []));
  assert.equal(new Set(otel).size, otel.length);
  assert.deepEqual(fields.filter((f) => !f.otel).map((f) => f.nri), ["window_start", "window_end"]);
  assert.deepEqual(fields.filter((f) => f.identity).map((f) => [f.field, f.otel]), [
    ["databaseName", "db.namespace"],
    ["userName", "postgresql.rolname"],
    ["state", "postgresql.state"],
    ["waitEventType", "postgresql.wait_event_type"],
    ["waitEvent", "postgresql.wait_event"],
    ["queryId", "postgresql.queryid"],
  ]);
  assert.deepEqual(fields.filter((f) => !f.required).map((f) => f.nri).sort(), [
    "blocking_pids",
    "cpu_seconds",
    "query_id",
    "user_name",
    "wait_event",
    "wait_event_type",
  ]);
});

type Node = Record<string, unknown>;

/** The JSON type a schema property demands, following `$ref`s into this schema or the envelope's. */
function jsonType(node: Node): string {
  const ref = node.$ref as string | undefined;
  if (ref === undefined) return node.type as string;
  const [file, pointer] = ref.split("#");
  let at: unknown = file === "" ? schema : file === envelope.$id ? envelope : undefined;
  for (const part of pointer.split("/").filter((p) => p !== "")) at = (at as Node)?.[part];
  assert.ok(at, `unresolved ${ref}`);
  return jsonType(at as Node);
}

Deno.test("ash catalog: the schema declares exactly its attributes, types and required keys", () => {
  const set = schema.definitions.metricSet as unknown as {
    required: string[];
    properties: Record<string, Node>;
  };
  const fields = ACTIVE_SESSION_HISTORY.fields;
  assert.deepEqual(
    Object.keys(set.properties).sort(),
    ["event_type", "cluster_name", "service_name", ...fields.map((f) => f.nri)].sort(),
  );
  assert.deepEqual(
    [...set.required].sort(),
    ["event_type", ...fields.filter((f) => f.required).map((f) => f.nri)].sort(),
  );
  for (const f of fields) {
    const expected = f.type === "attribute" ? "string" : f.integer ? "integer" : "number";
    assert.equal(jsonType(set.properties[f.nri]), expected, f.nri);
  }
  assert.deepEqual(set.properties.event_type, { const: ACTIVE_SESSION_HISTORY.eventType });
});
