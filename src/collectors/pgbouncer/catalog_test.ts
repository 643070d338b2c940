import assert from "node:assert/strict";
import {
  PGBOUNCER_COMMANDS,
  PGBOUNCER_METRICS,
  PGBOUNCER_QUERIES,
  PGBOUNCER_SAMPLE,
  pgbouncerMetricsFor,
} from "./catalog.ts";

/**
 * PgBouncerSample as nri-postgresql emits it (compat spec §3.3 and checklist §8 G): name → source
 * type, in the spec's order.
 */
const SPEC_STATS: [string, string][] = [
  ["pgbouncer.stats.transactionsPerSecond", "rate"],
  ["pgbouncer.stats.queriesPerSecond", "rate"],
  ["pgbouncer.stats.totalServerAssignmentCount", "gauge"],
  ["pgbouncer.stats.bytesInPerSecond", "rate"],
  ["pgbouncer.stats.bytesOutPerSecond", "rate"],
  ["pgbouncer.stats.totalTransactionDurationInMillisecondsPerSecond", "rate"],
  ["pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond", "rate"],
  ["pgbouncer.stats.requestsPerSecond", "rate"],
  ["pgbouncer.stats.avgTransactionCount", "gauge"],
  ["pgbouncer.stats.avgTransactionDurationInMilliseconds", "gauge"],
  ["pgbouncer.stats.avgQueryCount", "gauge"],
  ["pgbouncer.stats.avgServerAssignmentCount", "gauge"],
  ["pgbouncer.stats.avgBytesIn", "gauge"],
  ["pgbouncer.stats.avgBytesOut", "gauge"],
  ["pgbouncer.stats.avgRequestsPerSecond", "gauge"],
  ["pgbouncer.stats.avgQueryDurationInMilliseconds", "gauge"],
];
const SPEC_POOLS: [string, string][] = [
  ["pgbouncer.pools.user", "attribute"],
  ["pgbouncer.pools.clientConnectionsCancelReq", "gauge"],
  ["pgbouncer.pools.clientConnectionsActive", "gauge"],
  ["pgbouncer.pools.clientConnectionsWaiting", "gauge"],
  ["pgbouncer.pools.clientConnectionsWaitingCancelReq", "gauge"],
  ["pgbouncer.pools.clientConnectionsActiveCancelReq", "gauge"],
  ["pgbouncer.pools.serverConnectionsActiveCancel", "gauge"],
  ["pgbouncer.pools.serverConnectionsBeingCancel", "gauge"],
  ["pgbouncer.pools.serverConnectionsActive", "gauge"],
  ["pgbouncer.pools.serverConnectionsIdle", "gauge"],
  ["pgbouncer.pools.serverConnectionsUsed", "gauge"],
  ["pgbouncer.pools.serverConnectionsTested", "gauge"],
  ["pgbouncer.pools.serverConnectionsLogin", "gauge"],
  ["pgbouncer.pools.maxwaitInMilliseconds", "gauge"],
];

Deno.test("catalog: every PgBouncerSample metric of the spec, with its source type, in order", () => {
  assert.equal(PGBOUNCER_SAMPLE, "PgBouncerSample");
  const pairs = (q: "stats" | "pools") => pgbouncerMetricsFor(q).map((m) => [m.name, m.sourceType]);
  assert.deepEqual(pairs("stats"), SPEC_STATS);
  assert.deepEqual(pairs("pools"), SPEC_POOLS);
  assert.equal(PGBOUNCER_METRICS.length, SPEC_STATS.length + SPEC_POOLS.length);
});

Deno.test("catalog: each metric reads the spec's column(s)", () => {
  const columns = Object.fromEntries(PGBOUNCER_METRICS.map((m) => [m.name, m.columns]));
  assert.deepEqual(columns["pgbouncer.stats.avgQueryDurationInMilliseconds"], [
    "avg_query_time",
    "avg_query",
  ]);
  assert.deepEqual(columns["pgbouncer.stats.requestsPerSecond"], ["total_requests"]);
  assert.deepEqual(columns["pgbouncer.stats.avgRequestsPerSecond"], ["avg_req"]);
  assert.deepEqual(columns["pgbouncer.stats.totalServerAssignmentCount"], ["total_server_assignment_count"]);
  assert.deepEqual(columns["pgbouncer.pools.clientConnectionsCancelReq"], ["cl_cancel_req"]);
  assert.deepEqual(columns["pgbouncer.pools.serverConnectionsBeingCancel"], ["sv_being_canceled"]);
  assert.deepEqual(columns["pgbouncer.pools.maxwaitInMilliseconds"], ["maxwait"]);
  assert.deepEqual(columns["pgbouncer.pools.user"], ["user"]);
});

Deno.test("catalog: columns are lower-case names, each read by one metric of its query", () => {
  for (const q of PGBOUNCER_QUERIES) {
    const cols = pgbouncerMetricsFor(q).flatMap((m) => m.columns);
    assert.equal(new Set(cols).size, cols.length, `a ${q} column is read twice`);
    for (const c of cols) assert.match(c, /^[a-z_]+$/);
    assert.ok(!cols.includes("database"), "the database column names the entity, it is no metric");
  }
  // Columns nri-postgresql scans but does not emit stay out.
  const all = PGBOUNCER_METRICS.flatMap((m) => m.columns);
  for (const c of ["total_wait_time", "avg_wait_time", "maxwait_us", "pool_mode"]) {
    assert.ok(!all.includes(c), c);
  }
});

Deno.test("catalog: descriptions and units are given; times keep PgBouncer's units", () => {
  for (const m of PGBOUNCER_METRICS) {
    assert.ok(m.description.length > 10, `${m.name} has a description`);
    assert.ok(m.unit.length > 0, `${m.name} has a unit`);
  }
  const unit = (name: string) => PGBOUNCER_METRICS.find((m) => m.name === name)?.unit;
  assert.equal(unit("pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond"), "us");
  assert.equal(unit("pgbouncer.stats.avgQueryDurationInMilliseconds"), "us");
  assert.equal(unit("pgbouncer.pools.maxwaitInMilliseconds"), "s");
});

Deno.test("catalog: the admin console commands", () => {
  assert.deepEqual(PGBOUNCER_QUERIES, ["stats", "pools"]);
  assert.deepEqual(PGBOUNCER_COMMANDS, { stats: "SHOW STATS", pools: "SHOW POOLS" });
});
