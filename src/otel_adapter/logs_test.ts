import assert from "node:assert/strict";
import { emptySnapshot, type PlanNode, type SlowQuery, type UnifiedMetrics } from "../core/model.ts";
import { VERSION } from "../version.ts";
import {
  createTopQueryState,
  EVENT_NAMES,
  type LogRecordData,
  querySummary,
  snapshotLogs,
  TOP_QUERY_STATE_LIMIT,
} from "./logs.ts";
import { dateToNs } from "./metrics.ts";
import { instanceResource } from "./resource.ts";

const INSTANCE = {
  host: "db1.example.internal",
  port: "5432",
  serverVersionNum: 160004,
  majorVersion: 16,
  serverVersion: "16.4",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
const JOIN_TEXT =
  "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1";

function slow(over: Partial<SlowQuery>): SlowQuery {
  return {
    queryId: "-6482174329745523713",
    queryText: JOIN_TEXT,
    databaseName: "shop",
    schemaName: "public",
    executionCount: 1000,
    avgElapsedTimeMs: 2.5,
    avgDiskReads: 3,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2026-03-01T10:00:00Z",
    totalExecTimeMs: 2500,
    rows: 1000,
    ...over,
  };
}

function node(
  levelId: number,
  nodeType: string,
  relationName: string,
  over: Partial<PlanNode> = {},
): PlanNode {
  return {
    nodeType,
    parallelAware: 0,
    asyncCapable: 0,
    scanDirection: relationName === "" ? "" : "Forward",
    indexName: "",
    relationName,
    alias: relationName === "" ? "" : relationName[0],
    startupCost: 0.29,
    totalCost: 16.34,
    planRows: 1,
    planWidth: 40,
    rowsRemovedByFilter: 0,
    databaseName: "shop",
    queryId: "-6482174329745523713",
    planId: "812734",
    levelId,
    ...over,
  };
}

/** A snapshot of one cycle; `grow` executions of each slow query happened since the previous. */
function snapshot(at: Date, grow: number): UnifiedMetrics {
  const s = emptySnapshot(INSTANCE, at);
  s.slowQueries = [
    slow({ executionCount: 1000 + grow, totalExecTimeMs: 2500 + 2.5 * grow, rows: 1000 + grow }),
    // Same query id in another database: must not join the shop plan.
    slow({
      databaseName: "archive",
      executionCount: 10 + grow,
      totalExecTimeMs: 400 + grow,
      rows: undefined,
    }),
    slow({
      queryId: "55123",
      queryText: "VACUUM ANALYZE orders",
      statementType: "OTHER",
      executionCount: 4,
      totalExecTimeMs: 812.25,
      rows: 0,
    }),
  ];
  s.executionPlans = [
    node(0, "Nested Loop", ""),
    node(1, "Index Scan", "orders", { indexName: "orders_pkey" }),
    node(2, "Index Scan", "customers", { indexName: "customers_pkey" }),
  ];
  s.individualQueries = [{
    queryText: JOIN_TEXT,
    queryId: "-6482174329745523713",
    databaseName: "shop",
    planId: "812734",
    execTimeMs: 3.75,
    cpuTimeMs: 1.5,
    avgExecTimeMs: 2.5,
    source: "pg_stat_activity",
    rawText: "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = 42",
  }];
  s.waitEvents = [{
    waitEventName: "Lock:transactionid",
    waitCategory: "Locks",
    totalWaitTimeMs: 1520,
    collectionTimestamp: "2026-03-01T10:00:00Z",
    queryId: "918273",
    queryText: "UPDATE orders SET status = $1 WHERE id = $2",
    databaseName: "shop",
  }];
  s.blockingSessions = [{
    blockedPid: 4242,
    blockedQuery: "UPDATE orders SET status = $1 WHERE id = $2",
    blockedQueryId: "918273",
    blockedQueryStart: "2026-03-01T09:59:58Z",
    databaseName: "shop",
    blockingPid: 4100,
    blockingQuery: "DELETE FROM orders WHERE id = $1",
    blockingQueryStart: "2026-03-01T09:59:40Z",
  }];
  return s;
}

function records(s: UnifiedMetrics, state = createTopQueryState()): LogRecordData[] {
  const out = snapshotLogs(s, { state });
  return out.flatMap((r) => r.scopeLogs.flatMap((sl) => sl.logRecords));
}

function ofEvent(recs: LogRecordData[], name: string): LogRecordData[] {
  return recs.filter((r) => r.eventName === name);
}

Deno.test("snapshotLogs: one instance resource and the pgquerylens scope", () => {
  const out = snapshotLogs(snapshot(T0, 0), { state: createTopQueryState(), serviceName: "orders-db" });
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].resource, instanceResource(INSTANCE, { serviceName: "orders-db" }));
  assert.deepEqual(out[0].scopeLogs.map((s) => s.scope), [{ name: "pgquerylens", version: VERSION }]);
  assert.deepEqual(snapshotLogs(emptySnapshot(INSTANCE, T0), { state: createTopQueryState() }), []);
});

Deno.test("snapshotLogs: top_query carries contrib's keys with deltas; none on first sight", () => {
  const state = createTopQueryState();
  assert.deepEqual(ofEvent(records(snapshot(T0, 0), state), EVENT_NAMES.topQuery), []);
  const top = ofEvent(records(snapshot(T1, 40), state), EVENT_NAMES.topQuery);
  // The VACUUM statement did not run again: no record.
  assert.equal(top.length, 2);
  assert.deepEqual(top[0], {
    eventName: "db.server.top_query",
    timeUnixNano: dateToNs(T1),
    attributes: {
      "db.system.name": "postgresql",
      "db.namespace": "shop",
      "db.query.text": JOIN_TEXT,
      "postgresql.queryid": "-6482174329745523713",
      "postgresql.calls": 40n,
      "postgresql.total_exec_time": 100,
      "postgresql.rows": 40n,
      "db.operation.name": "SELECT",
      "db.query.summary": "SELECT orders customers",
    },
  });
  assert.deepEqual(top[1].attributes["db.namespace"], "archive");
  assert.equal(top[1].attributes["postgresql.total_exec_time"], 40);
  assert.equal(top[1].attributes["postgresql.rows"], undefined, "rows unknown: key absent");
  assert.equal(top[1].attributes["db.query.summary"], "SELECT", "no plan captured in archive");
});

Deno.test("snapshotLogs: a counter reset gives zero deltas, not negative ones", () => {
  const state = createTopQueryState();
  records(snapshot(T0, 0), state);
  const s = snapshot(T1, 0);
  s.slowQueries[0] = slow({ executionCount: 5, totalExecTimeMs: 9000, rows: 2 });
  const top = ofEvent(records(s, state), EVENT_NAMES.topQuery);
  assert.equal(top.length, 1);
  assert.equal(top[0].attributes["postgresql.calls"], 0n);
  assert.equal(top[0].attributes["postgresql.rows"], 0n);
  assert.equal(top[0].attributes["postgresql.total_exec_time"], 6500);
});

Deno.test("snapshotLogs: a plan record joins its top_query by query id and db.namespace", () => {
  const state = createTopQueryState();
  records(snapshot(T0, 0), state);
  const recs = records(snapshot(T1, 40), state);
  const plans = ofEvent(recs, EVENT_NAMES.plan);
  assert.equal(plans.length, 1);
  const plan = plans[0];
  const joined = ofEvent(recs, EVENT_NAMES.topQuery).filter((t) =>
    t.attributes["postgresql.queryid"] === plan.attributes["postgresql.queryid"] &&
    t.attributes["db.namespace"] === plan.attributes["db.namespace"]
  );
  assert.equal(joined.length, 1, "exactly the shop record, not the archive one with the same query id");
  assert.equal(joined[0].attributes["db.query.text"], JOIN_TEXT);
  assert.equal(joined[0].attributes["postgresql.calls"], 40n);

  assert.deepEqual(plan.attributes, {
    "db.system.name": "postgresql",
    "db.namespace": "shop",
    "postgresql.queryid": "-6482174329745523713",
    "postgresql.plan_id": "812734",
    "postgresql.plan.node_count": 3n,
    "postgresql.plan.total_cost": 16.34,
    "db.query.summary": "SELECT orders customers",
  });
  assert.ok(Array.isArray(plan.body));
  assert.deepEqual((plan.body as Record<string, unknown>[]).map((n) => [n["Level"], n["Node Type"]]), [
    [0n, "Nested Loop"],
    [1n, "Index Scan"],
    [2n, "Index Scan"],
  ]);
  assert.equal((plan.body as Record<string, unknown>[])[1]["Index Name"], "orders_pkey");
  // The sample of an execution with that plan shares its plan id.
  const sample = ofEvent(recs, EVENT_NAMES.querySample)[0];
  assert.equal(sample.attributes["postgresql.plan_id"], plan.attributes["postgresql.plan_id"]);
});

Deno.test("snapshotLogs: plan nodes arriving out of order are put in pre-order", () => {
  const s = snapshot(T0, 0);
  s.executionPlans.reverse();
  const plan = ofEvent(records(s), EVENT_NAMES.plan)[0];
  assert.deepEqual((plan.body as Record<string, unknown>[]).map((n) => n["Level"]), [0n, 1n, 2n]);
  assert.equal(plan.attributes["postgresql.plan.total_cost"], 16.34);
});

Deno.test("snapshotLogs: query_sample from individual queries, without the raw text", () => {
  const [sample] = ofEvent(records(snapshot(T0, 0)), EVENT_NAMES.querySample);
  assert.deepEqual(sample, {
    eventName: "db.server.query_sample",
    timeUnixNano: dateToNs(T0),
    attributes: {
      "db.system.name": "postgresql",
      "db.namespace": "shop",
      "db.query.text": JOIN_TEXT,
      "postgresql.query_id": "-6482174329745523713",
      "postgresql.plan_id": "812734",
      "pgquerylens.source": "pg_stat_activity",
      "postgresql.total_exec_time": 3.75,
      "postgresql.cpu_time": 1.5,
      "postgresql.avg_exec_time": 2.5,
      "db.query.summary": "SELECT orders customers",
    },
  });
  assert.ok(!JSON.stringify(sample, (_k, v) => typeof v === "bigint" ? `${v}` : v).includes("= 42"));
});

Deno.test("snapshotLogs: wait event and blocking session records", () => {
  const recs = records(snapshot(T0, 0));
  assert.deepEqual(ofEvent(recs, EVENT_NAMES.waitEvent).map((r) => r.attributes), [{
    "db.system.name": "postgresql",
    "db.namespace": "shop",
    "db.query.text": "UPDATE orders SET status = $1 WHERE id = $2",
    "postgresql.queryid": "918273",
    "postgresql.wait_event_type": "Lock",
    "postgresql.wait_event": "transactionid",
    "pgquerylens.wait_category": "Locks",
    "pgquerylens.wait_time": 1520,
    "db.query.summary": "UPDATE",
  }]);
  assert.deepEqual(ofEvent(recs, EVENT_NAMES.blockingSession).map((r) => r.attributes), [{
    "db.system.name": "postgresql",
    "db.namespace": "shop",
    "db.query.text": "UPDATE orders SET status = $1 WHERE id = $2",
    "postgresql.pid": 4242n,
    "postgresql.query_start": "2026-03-01T09:59:58Z",
    "postgresql.blocking.pids": "[4100]",
    "postgresql.blocking.pid": 4100n,
    "postgresql.blocking.query.text": "DELETE FROM orders WHERE id = $1",
    "postgresql.blocking.query_start": "2026-03-01T09:59:40Z",
    "postgresql.query_id": "918273",
    "db.query.summary": "UPDATE",
  }]);
  assert.equal(ofEvent(recs, EVENT_NAMES.plan).length, 1);
  assert.equal(recs.length, 4, "plan, sample, wait, blocking; no top_query on first sight");
});

Deno.test("querySummary: statement type, else first keyword, then plan relations; 255 characters", () => {
  assert.equal(
    querySummary("SELECT", "select 1", ["orders", "", "orders", "customers"]),
    "SELECT orders customers",
  );
  assert.equal(querySummary("OTHER", "  /* app=web */ vacuum analyze orders"), "VACUUM");
  assert.equal(querySummary(undefined, "WITH x AS (SELECT 1) SELECT * FROM x"), "WITH");
  assert.equal(querySummary("OTHER", "$1"), undefined);
  assert.equal(querySummary("", ""), undefined);
  const long = querySummary("SELECT", "", Array.from({ length: 60 }, (_, i) => `relation_${i}`))!;
  assert.equal(long.length <= 255, true);
  assert.ok(long.startsWith("SELECT relation_0 relation_1 "));
});

Deno.test("snapshotLogs: the top-query state forgets the least recently seen queries beyond its limit", () => {
  const state = createTopQueryState();
  const s = emptySnapshot(INSTANCE, T0);
  s.slowQueries = Array.from({ length: TOP_QUERY_STATE_LIMIT + 1 }, (_, i) => slow({ queryId: String(i) }));
  snapshotLogs(s, { state });
  assert.equal(state.previous.size, TOP_QUERY_STATE_LIMIT);
  assert.equal(state.previous.has("shop\u00000"), false);
  assert.equal(state.previous.has(`shop\u0000${TOP_QUERY_STATE_LIMIT}`), true);
});
