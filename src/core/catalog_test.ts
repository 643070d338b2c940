import assert from "node:assert/strict";
import {
  EXTENDED_EVENT_TYPES,
  nriPublishOrder,
  QPM_EVENT_TYPES,
  qpmPublishOrder,
  SLOW_QUERIES,
} from "./catalog.ts";

Deno.test("the five QPM types carry exactly nri-postgresql's attribute names", () => {
  const names = Object.fromEntries(
    QPM_EVENT_TYPES.map((t) => [t.eventType, t.fields.map((f) => f.nri).sort()]),
  );
  assert.deepEqual(names, {
    PostgresWaitEvents: [
      "collection_timestamp",
      "database_name",
      "query_id",
      "query_text",
      "total_wait_time_ms",
      "wait_category",
      "wait_event_name",
    ],
    PostgresBlockingSessions: [
      "blocked_pid",
      "blocked_query",
      "blocked_query_id",
      "blocked_query_start",
      "blocking_pid",
      "blocking_query",
      "blocking_query_id",
      "blocking_query_start",
      "database_name",
    ],
    PostgresSlowQueries: [
      "avg_disk_reads",
      "avg_disk_writes",
      "avg_elapsed_time_ms",
      "collection_timestamp",
      "database_name",
      "execution_count",
      "query_id",
      "query_text",
      "schema_name",
      "statement_type",
    ],
    PostgresIndividualQueries: [
      "avg_exec_time_ms",
      "cpu_time_ms",
      "database_name",
      "exec_time_ms",
      "plan_id",
      "query_id",
      "query_text",
    ],
    PostgresExecutionPlanMetrics: [
      "alias",
      "async_capable",
      "database_name",
      "index_name",
      "level_id",
      "node_type",
      "parallel_aware",
      "plan_id",
      "plan_rows",
      "plan_width",
      "query_id",
      "relation_name",
      "rows_removed_by_filter",
      "scan_direction",
      "startup_cost",
      "total_cost",
    ],
  });
});

Deno.test("no wire name is declared twice within a type", () => {
  for (const t of [...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES]) {
    const names = t.fields.map((f) => f.nri);
    assert.equal(new Set(names).size, names.length, t.eventType);
  }
});

Deno.test("publish orders of both pipelines, with and without compatibility mode", () => {
  assert.deepEqual(qpmPublishOrder(true).map((t) => t.eventType), [
    "PostgresSlowQueries",
    "PostgresIndividualQueries",
    "PostgresExecutionPlanMetrics",
    "PostgresWaitEvents",
    "PostgresBlockingSessions",
  ]);
  const compat = nriPublishOrder(false, true).map((t) => t.eventType);
  assert.deepEqual(compat.slice(0, 5), QPM_EVENT_TYPES.map((t) => t.eventType));
  assert.ok(compat.length > 5);
  const open = nriPublishOrder(false, false);
  assert.equal(open.length, 5);
  const slow = open.find((t) => t.eventType === SLOW_QUERIES.eventType)!;
  assert.ok(slow.fields.length > SLOW_QUERIES.fields.length);
});
