import assert from "node:assert/strict";
import { assertSchemaDeclaresCatalog } from "../../tests/support/schema_catalog.ts";
import schema from "../../tests/schemas/query-os-delays.schema.json" with { type: "json" };
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

Deno.test("os delay catalog: the schema declares exactly its attributes, types and required keys", () => {
  assertSchemaDeclaresCatalog(QUERY_OS_DELAYS, schema);
});
