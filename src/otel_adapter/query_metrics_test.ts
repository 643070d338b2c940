import assert from "node:assert/strict";
import type { BlockingSession, SlowQuery, WaitEvent } from "../core/model.ts";
import { OTEL_FAMILIES } from "./metric_catalog.ts";
import {
  operationName,
  QUERY_FAMILIES,
  type QueryObservation,
  queryObservations,
  splitWaitEventName,
} from "./query_metrics.ts";

const QID = "-6482174329745523713";

function slow(over: Partial<SlowQuery> = {}): SlowQuery {
  return {
    queryId: QID,
    queryText: "SELECT * FROM orders WHERE id = $1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: 400,
    avgElapsedTimeMs: 2.5,
    avgDiskReads: 3,
    avgDiskWrites: 1,
    statementType: "SELECT",
    collectionTimestamp: "2026-03-01T10:00:00Z",
    totalExecTimeMs: 1000,
    rows: 400,
    ...over,
  };
}

function wait(over: Partial<WaitEvent> = {}): WaitEvent {
  return {
    waitEventName: "Lock:transactionid",
    waitCategory: "Locks",
    totalWaitTimeMs: 1500,
    collectionTimestamp: "2026-03-01T10:00:00Z",
    queryId: QID,
    queryText: "UPDATE orders SET note = $1 WHERE id = $2",
    databaseName: "shop",
    ...over,
  };
}

function blocked(blockedPid: number, blockingPid: number, databaseName = "shop"): BlockingSession {
  return {
    blockedPid,
    blockedQuery: "UPDATE orders SET note = $1 WHERE id = $2",
    blockedQueryStart: "2026-03-01T09:59:58.123456Z",
    databaseName,
    blockingPid,
    blockingQuery: "SELECT pg_sleep($1)",
    blockingQueryStart: "2026-03-01T09:59:50.000001Z",
  };
}

function observe(over: {
  slowQueries?: SlowQuery[];
  waitEvents?: WaitEvent[];
  blockingSessions?: BlockingSession[];
}): QueryObservation[] {
  return queryObservations({ slowQueries: [], waitEvents: [], blockingSessions: [], ...over });
}

/** name → [attributes, value] of each observation. */
function table(obs: QueryObservation[]): [string, Record<string, unknown>, number][] {
  return obs.map((o) => [o.family.name, o.attributes, o.value]);
}

Deno.test("QUERY_FAMILIES: every family has a unit, a description, its own name and a kind", () => {
  const families = Object.values(QUERY_FAMILIES);
  assert.equal(families.length, 8);
  for (const f of families) {
    assert.match(f.name, /^pgquerylens(\.[a-z][a-z0-9_]*)+$/, f.name);
    assert.ok(f.unit.length > 0, `unit of ${f.name}`);
    assert.ok(f.description.length > 10 && f.description.endsWith("."), `description of ${f.name}`);
    assert.equal(f.contrib, false);
    assert.equal(OTEL_FAMILIES[f.name], undefined, `${f.name} is also a base family`);
    assert.ok(["sum", "gauge"].includes(f.kind), f.name);
    if (f.unit === "s") assert.equal(f.valueType, "double", `${f.name}: durations are doubles`);
  }
  assert.equal(new Set(families.map((f) => f.name)).size, families.length, "names are unique");
  assert.deepEqual(
    [QUERY_FAMILIES.calls.kind, QUERY_FAMILIES.time.kind, QUERY_FAMILIES.rows.kind],
    ["sum", "sum", "sum"],
  );
  assert.deepEqual([QUERY_FAMILIES.calls.unit, QUERY_FAMILIES.calls.valueType], ["{call}", "int"]);
  assert.deepEqual([QUERY_FAMILIES.blockedSessions.unit, QUERY_FAMILIES.blockedSessions.valueType], [
    "{session}",
    "int",
  ]);
});

Deno.test("queryObservations: a slow query gives its counters in seconds and per-call means", () => {
  const attrs = { "db.namespace": "shop", "postgresql.queryid": QID, "db.operation.name": "SELECT" };
  assert.deepEqual(table(observe({ slowQueries: [slow()] })), [
    ["pgquerylens.query.calls", attrs, 400],
    ["pgquerylens.query.time", attrs, 1],
    ["pgquerylens.query.rows", attrs, 400],
    ["pgquerylens.query.mean_time", attrs, 0.0025],
    ["pgquerylens.query.blocks.read.mean", attrs, 3],
    ["pgquerylens.query.blocks.written.mean", attrs, 1],
  ]);
});

Deno.test("queryObservations: without a total time, mean × calls; without rows, no rows metric", () => {
  const obs = observe({
    slowQueries: [slow({ totalExecTimeMs: undefined, rows: undefined, statementType: "OTHER" })],
  });
  const attrs = { "db.namespace": "shop", "postgresql.queryid": QID };
  assert.deepEqual(table(obs).slice(0, 3), [
    ["pgquerylens.query.calls", attrs, 400],
    ["pgquerylens.query.time", attrs, 1],
    ["pgquerylens.query.mean_time", attrs, 0.0025],
  ]);
  assert.ok(!obs.some((o) => o.family.name === "pgquerylens.query.rows"));
  for (const o of obs) {
    assert.ok(!Object.values(o.attributes).includes(slow().queryText), "no query text on metrics");
  }
});

Deno.test("queryObservations: rows of one database and query id are one series", () => {
  const obs = observe({
    slowQueries: [
      slow({ executionCount: 100, totalExecTimeMs: 100, rows: 10, avgDiskReads: 4, avgDiskWrites: 0 }),
      slow({ executionCount: 300, totalExecTimeMs: 900, rows: 30, avgDiskReads: 0, avgDiskWrites: 2 }),
      slow({ databaseName: "postgres", executionCount: 7, totalExecTimeMs: 70, rows: 7 }),
    ],
  });
  const of = (db: string, name: string) =>
    obs.filter((o) => o.attributes["db.namespace"] === db && o.family.name === name).map((o) => o.value);
  assert.deepEqual(of("shop", "pgquerylens.query.calls"), [400]);
  assert.deepEqual(of("shop", "pgquerylens.query.time"), [1]);
  assert.deepEqual(of("shop", "pgquerylens.query.rows"), [40]);
  assert.deepEqual(of("shop", "pgquerylens.query.mean_time"), [0.0025]);
  assert.deepEqual(of("shop", "pgquerylens.query.blocks.read.mean"), [1]);
  assert.deepEqual(of("shop", "pgquerylens.query.blocks.written.mean"), [1.5]);
  assert.deepEqual(of("postgres", "pgquerylens.query.calls"), [7]);
  // One row without rows makes the merged rows unknown.
  const partial = observe({ slowQueries: [slow(), slow({ rows: undefined })] });
  assert.ok(!partial.some((o) => o.family.name === "pgquerylens.query.rows"));
});

Deno.test("queryObservations: wait times in seconds, split by type and event, summed per series", () => {
  const obs = observe({
    waitEvents: [
      wait(),
      wait({ totalWaitTimeMs: 500 }),
      wait({ waitEventName: "IO:DataFileRead", waitCategory: "Disk IO", totalWaitTimeMs: 20 }),
      wait({ databaseName: "postgres", totalWaitTimeMs: 10 }),
      wait({ waitEventName: "Client:ClientRead", totalWaitTimeMs: undefined }),
    ],
  });
  const attrs = (db: string, type: string, event: string) => ({
    "db.namespace": db,
    "postgresql.queryid": QID,
    "postgresql.wait_event_type": type,
    "postgresql.wait_event": event,
  });
  assert.deepEqual(table(obs), [
    ["pgquerylens.wait_event.time", attrs("shop", "Lock", "transactionid"), 2],
    ["pgquerylens.wait_event.time", attrs("shop", "IO", "DataFileRead"), 0.02],
    ["pgquerylens.wait_event.time", attrs("postgres", "Lock", "transactionid"), 0.01],
  ]);
});

Deno.test("queryObservations: blocked sessions count distinct waiting backends per database", () => {
  const obs = observe({
    blockingSessions: [
      blocked(101, 200),
      blocked(101, 201),
      blocked(102, 200),
      blocked(300, 301, "postgres"),
    ],
  });
  assert.deepEqual(table(obs), [
    ["pgquerylens.blocked_sessions", { "db.namespace": "shop" }, 2],
    ["pgquerylens.blocked_sessions", { "db.namespace": "postgres" }, 1],
  ]);
  assert.deepEqual(observe({}), []);
});

Deno.test("queryObservations: values that are not finite are left out", () => {
  const obs = observe({ slowQueries: [slow({ totalExecTimeMs: Number.NaN })] });
  assert.ok(!obs.some((o) => o.family.name === "pgquerylens.query.time"));
  assert.ok(!obs.some((o) => o.family.name === "pgquerylens.query.mean_time"));
  assert.ok(obs.some((o) => o.family.name === "pgquerylens.query.calls"));
});

Deno.test("operationName and splitWaitEventName", () => {
  assert.equal(operationName(" select "), "SELECT");
  assert.equal(operationName("OTHER"), undefined);
  assert.equal(operationName(""), undefined);
  assert.deepEqual(splitWaitEventName("Lock:transactionid"), { type: "Lock", event: "transactionid" });
  assert.deepEqual(splitWaitEventName("Extension:a:b"), { type: "Extension", event: "a:b" });
  assert.deepEqual(splitWaitEventName("CPU"), { type: "", event: "CPU" });
});
