import assert from "node:assert/strict";
import { assertSchemaDeclaresCatalog } from "../../tests/support/schema_catalog.ts";
import schema from "../../tests/schemas/active-session-history.schema.json" with { type: "json" };
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

Deno.test("ash catalog: the schema declares exactly its attributes, types and required keys", () => {
  assertSchemaDeclaresCatalog(ACTIVE_SESSION_HISTORY, schema);
});
