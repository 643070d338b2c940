import assert from "node:assert/strict";
import { EXTENDED_EVENT_TYPES, QPM_EVENT_TYPES } from "./catalog.ts";
import { WAIT_CLASSES } from "../extensions/querylens_record.ts";
import {
  QUERY_EXECUTIONS,
  QUERY_PLAN_AGGREGATES,
  QUERYLENS_EVENT_TYPES,
  WAIT_CLASS_FIELDS,
} from "./querylens_catalog.ts";

Deno.test("querylens catalog: wait classes follow the extension's order", () => {
  assert.deepEqual(WAIT_CLASS_FIELDS.map((w) => w.className), [...WAIT_CLASSES]);
  assert.deepEqual(WAIT_CLASS_FIELDS.map((w) => w.nri), [
    "wait_cpu_samples",
    "wait_lwlock_samples",
    "wait_lock_samples",
    "wait_bufferpin_samples",
    "wait_io_samples",
    "wait_ipc_samples",
    "wait_timeout_samples",
    "wait_other_samples",
  ]);
  assert.equal(WAIT_CLASS_FIELDS[1].otel, "pgquerylens.wait_samples.lwlock");
  assert.equal(WAIT_CLASS_FIELDS[4].field, "waitIoSamples");
});

Deno.test("querylens catalog: the two event types, published after and apart from the QPM types", () => {
  assert.deepEqual(QUERYLENS_EVENT_TYPES.map((t) => [t.eventType, t.source]), [
    ["PostgresQueryExecutions", "queryExecutions"],
    ["PostgresQueryPlanAggregates", "queryLensAggregates"],
  ]);
  const others = new Set([...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES].map((t) => t.eventType));
  for (const t of QUERYLENS_EVENT_TYPES) assert.ok(!others.has(t.eventType), t.eventType);
});

Deno.test("querylens catalog: names are snake_case and unique; OTLP keys unique where given", () => {
  for (const t of QUERYLENS_EVENT_TYPES) {
    const nri = t.fields.map((f) => f.nri);
    assert.equal(new Set(nri).size, nri.length, t.eventType);
    for (const n of nri) assert.match(n, /^[a-z][a-z0-9_]*$/, n);
    const fields = t.fields.map((f) => f.field);
    assert.equal(new Set(fields).size, fields.length, t.eventType);
  }
  const otel = QUERY_EXECUTIONS.fields.flatMap((f) => (f.otel === undefined ? [] : [f.otel]));
  assert.equal(new Set(otel).size, otel.length);
  assert.equal(otel.length, QUERY_EXECUTIONS.fields.length - 1, "only the start time has no key");
  assert.ok(!QUERY_EXECUTIONS.fields.find((f) => f.field === "startTime")?.otel);
});

Deno.test("querylens catalog: the execution and aggregate fields, with the standard keys where they exist", () => {
  const exec = Object.fromEntries(QUERY_EXECUTIONS.fields.map((f) => [f.field, [f.nri, f.otel, f.type]]));
  assert.deepEqual(exec.queryId, ["query_id", "postgresql.queryid", "attribute"]);
  assert.deepEqual(exec.planId, ["plan_id", "pgquerylens.planid", "attribute"]);
  assert.deepEqual(exec.databaseName, ["database_name", "db.namespace", "attribute"]);
  assert.deepEqual(exec.durationMs, ["duration_ms", "pgquerylens.duration", "gauge"]);
  assert.deepEqual(exec.sqlstate, ["sqlstate", "error.type", "attribute"]);
  assert.deepEqual(exec.command, ["command", "db.operation.name", "attribute"]);
  assert.deepEqual(exec.waitCpuSamples, ["wait_cpu_samples", "pgquerylens.wait_samples.cpu", "gauge"]);
  const optional = QUERY_EXECUTIONS.fields.filter((f) => !f.required).map((f) => f.nri).sort();
  assert.deepEqual(optional, [
    "cpu_sys_time_ms",
    "cpu_user_time_ms",
    "database_name",
    "local_read_time_ms",
    "local_write_time_ms",
    "shared_read_time_ms",
    "shared_write_time_ms",
    "sqlstate",
    "temp_read_time_ms",
    "temp_write_time_ms",
    "user_name",
    "wait_event_last",
  ]);
  assert.deepEqual(QUERY_PLAN_AGGREGATES.fields.map((f) => f.nri), [
    "query_id",
    "plan_id",
    "database_name",
    "calls",
    "errors",
    "total_duration_ms",
    "min_duration_ms",
    "max_duration_ms",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "temp_blks_read",
    "temp_blks_written",
    "wal_bytes",
    "cpu_measured_calls",
    "cpu_user_time_ms",
    "cpu_sys_time_ms",
    ...WAIT_CLASS_FIELDS.map((w) => w.nri),
    "wait_event_last",
    "first_seen",
    "last_seen",
  ]);
});
