import assert from "node:assert/strict";
import schema from "../../tests/schemas/query-os-delays.schema.json" with { type: "json" };
import envelope from "../../tests/schemas/qpm-envelope.schema.json" with { type: "json" };
import { ASH_EVENT_TYPES } from "./ash_catalog.ts";
import { EXTENDED_EVENT_TYPES, QPM_EVENT_TYPES } from "./catalog.ts";
import { OS_DELAY_EVENT_TYPES, QUERY_OS_DELAYS } from "./os_delay_catalog.ts";
import { QUERYLENS_EVENT_TYPES } from "./querylens_catalog.ts";

Deno.test("os delay catalog: its own event type, apart from the QPM, pg_querylens and ASH types", () => {
  assert.deepEqual(OS_DELAY_EVENT_TYPES.map((t) => [t.eventType, t.source]), [
    ["PostgresQueryOsDelays", "queryOsDelays"],
  ]);
  const others = [...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES, ...QUERYLENS_EVENT_TYPES, ...ASH_EVENT_TYPES]
    .map((t) => t.eventType);
  assert.ok(!others.includes(QUERY_OS_DELAYS.eventType));
});

Deno.test("os delay catalog: names are snake_case and unique, OTLP keys unique, times in ms", () => {
  const fields = QUERY_OS_DELAYS.fields;
  const nri = fields.map((f) => f.nri);
  assert.equal(new Set(nri).size, nri.length);
  for (const n of nri) assert.match(n, /^[a-z][a-z0-9_]*$/);
  const otel = fields.flatMap((f) => (f.otel ? [f.otel] : []));
  assert.equal(new Set(otel).size, otel.length);
  assert.deepEqual(fields.filter((f) => !f.otel).map((f) => f.nri), ["start_time"]);
  assert.deepEqual(fields.filter((f) => f.unit === "ms").map((f) => f.nri), [
    "duration_ms",
    "on_cpu_ms",
    "run_queue_ms",
    "io_wait_ms",
    "sleep_ms",
  ]);
  assert.deepEqual(fields.filter((f) => !f.required).map((f) => f.nri).sort(), [
    "database_name",
    "exec_seq",
    "plan_id",
    "query_id",
    "query_text",
    "user_name",
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

Deno.test("os delay catalog: the schema declares exactly its attributes, types and required keys", () => {
  const set = schema.definitions.metricSet as unknown as {
    required: string[];
    properties: Record<string, Node>;
  };
  const fields = QUERY_OS_DELAYS.fields;
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
  assert.deepEqual(set.properties.event_type, { const: QUERY_OS_DELAYS.eventType });
});
