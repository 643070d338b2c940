/**
 * The mapping of admin console rows, fed with rows shaped as each PgBouncer version returns them.
 *
 * Only PgBouncer 1.18 is installed for the integration tests (tests/pgbouncer_test.ts), so the other
 * column sets are shown here: each row has exactly the columns, in the order, that PgBouncer's
 * `SHOW STATS` / `SHOW POOLS` declare in that version's source, with values typed as the driver
 * returns them (int8 columns as strings, int4 as numbers).
 */
import assert from "node:assert/strict";
import type { RawMetric } from "../../core/model.ts";
import { type ConsoleRow, pgbouncerRowMetrics, pgbouncerSamples } from "./samples.ts";

/** Builds a row from column names and values in order. */
function row(columns: string[], values: unknown[]): ConsoleRow {
  assert.equal(columns.length, values.length, "fixture has one value per column");
  return Object.fromEntries(columns.map((c, i) => [c, values[i]]));
}

const STATS_1_7 =
  "database total_requests total_received total_sent total_query_time avg_req avg_recv avg_sent avg_query"
    .split(" ");
const STATS_1_8 = ("database total_xact_count total_query_count total_received total_sent total_xact_time " +
  "total_query_time total_wait_time avg_xact_count avg_query_count avg_recv avg_sent avg_xact_time " +
  "avg_query_time avg_wait_time").split(" ");
const STATS_1_23 =
  ("database total_server_assignment_count total_xact_count total_query_count total_received " +
    "total_sent total_xact_time total_query_time total_wait_time avg_server_assignment_count avg_xact_count " +
    "avg_query_count avg_recv avg_sent avg_xact_time avg_query_time avg_wait_time").split(" ");
const STATS_1_24 =
  ("database total_server_assignment_count total_xact_count total_query_count total_received " +
    "total_sent total_xact_time total_query_time total_wait_time total_client_parse_count " +
    "total_server_parse_count total_bind_count avg_server_assignment_count avg_xact_count avg_query_count " +
    "avg_recv avg_sent avg_xact_time avg_query_time avg_wait_time avg_client_parse_count " +
    "avg_server_parse_count avg_bind_count").split(" ");

const POOLS_1_7 =
  "database user cl_active cl_waiting sv_active sv_idle sv_used sv_tested sv_login maxwait pool_mode"
    .split(" ");
const POOLS_1_17 = ("database user cl_active cl_waiting cl_cancel_req sv_active sv_idle sv_used sv_tested " +
  "sv_login maxwait maxwait_us pool_mode").split(" ");
const POOLS_1_18 =
  ("database user cl_active cl_waiting cl_active_cancel_req cl_waiting_cancel_req sv_active " +
    "sv_active_cancel sv_being_canceled sv_idle sv_used sv_tested sv_login maxwait maxwait_us pool_mode")
    .split(" ");
const POOLS_1_24 = [...POOLS_1_18, "load_balance_hosts"];

const byName = (metrics: RawMetric[]) => Object.fromEntries(metrics.map((m) => [m.name, m.value]));

Deno.test("stats before PgBouncer 1.8: requests and avg_query map; newer metrics are absent", () => {
  const m = byName(
    pgbouncerRowMetrics(
      "stats",
      row(STATS_1_7, ["shop", "120", "5000", "9000", "340000", "4", "166", "300", "2833"]),
    ),
  );
  assert.deepEqual(m, {
    "pgbouncer.stats.bytesInPerSecond": 5000,
    "pgbouncer.stats.bytesOutPerSecond": 9000,
    "pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond": 340000,
    "pgbouncer.stats.requestsPerSecond": 120,
    "pgbouncer.stats.avgBytesIn": 166,
    "pgbouncer.stats.avgBytesOut": 300,
    "pgbouncer.stats.avgRequestsPerSecond": 4,
    "pgbouncer.stats.avgQueryDurationInMilliseconds": 2833,
  });
});

Deno.test("stats of PgBouncer 1.8-1.22: no assignment counts, avg_query_time gives the average", () => {
  const values = [
    "shop",
    "10",
    "25",
    "1100",
    "4400",
    "7000",
    "6500",
    "900",
    "1",
    "2",
    "36",
    "146",
    "700",
    "260",
    "90",
  ];
  const metrics = pgbouncerRowMetrics("stats", row(STATS_1_8, values));
  assert.deepEqual(metrics.map((x) => [x.name, x.sourceType, x.value]), [
    ["pgbouncer.stats.transactionsPerSecond", "rate", 10],
    ["pgbouncer.stats.queriesPerSecond", "rate", 25],
    ["pgbouncer.stats.bytesInPerSecond", "rate", 1100],
    ["pgbouncer.stats.bytesOutPerSecond", "rate", 4400],
    ["pgbouncer.stats.totalTransactionDurationInMillisecondsPerSecond", "rate", 7000],
    ["pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond", "rate", 6500],
    ["pgbouncer.stats.avgTransactionCount", "gauge", 1],
    ["pgbouncer.stats.avgTransactionDurationInMilliseconds", "gauge", 700],
    ["pgbouncer.stats.avgQueryCount", "gauge", 2],
    ["pgbouncer.stats.avgBytesIn", "gauge", 36],
    ["pgbouncer.stats.avgBytesOut", "gauge", 146],
    ["pgbouncer.stats.avgQueryDurationInMilliseconds", "gauge", 260],
  ]);
});

Deno.test("stats of PgBouncer 1.23 and 1.24: assignment counts map, later unknown columns are ignored", () => {
  const v23 = [
    "shop",
    "8",
    "10",
    "25",
    "1100",
    "4400",
    "7000",
    "6500",
    "900",
    "1",
    "1",
    "2",
    "36",
    "146",
    "700",
    "260",
    "90",
  ];
  const m23 = byName(pgbouncerRowMetrics("stats", row(STATS_1_23, v23)));
  assert.equal(m23["pgbouncer.stats.totalServerAssignmentCount"], 8);
  assert.equal(m23["pgbouncer.stats.avgServerAssignmentCount"], 1);
  assert.equal(m23["pgbouncer.stats.transactionsPerSecond"], 10);
  assert.equal(m23["pgbouncer.stats.avgQueryDurationInMilliseconds"], 260);
  assert.equal(Object.keys(m23).length, 14);
  const v24 = [...v23.slice(0, 9), "3", "3", "3", ...v23.slice(9), "0", "0", "0"];
  const m24 = byName(pgbouncerRowMetrics("stats", row(STATS_1_24, v24)));
  assert.deepEqual(m24, m23, "the parse/bind columns of 1.24 change nothing");
});

Deno.test("pools of PgBouncer 1.17 (cl_cancel_req) and before (no cancel columns)", () => {
  const m17 = pgbouncerRowMetrics(
    "pools",
    row(POOLS_1_17, ["shop", "app", 3, 1, 2, 1, 4, 0, 0, 0, 7, 12, "transaction"]),
  );
  assert.deepEqual(m17.map((x) => [x.name, x.sourceType, x.value]), [
    ["pgbouncer.pools.user", "attribute", "app"],
    ["pgbouncer.pools.clientConnectionsCancelReq", "gauge", 2],
    ["pgbouncer.pools.clientConnectionsActive", "gauge", 3],
    ["pgbouncer.pools.clientConnectionsWaiting", "gauge", 1],
    ["pgbouncer.pools.serverConnectionsActive", "gauge", 1],
    ["pgbouncer.pools.serverConnectionsIdle", "gauge", 4],
    ["pgbouncer.pools.serverConnectionsUsed", "gauge", 0],
    ["pgbouncer.pools.serverConnectionsTested", "gauge", 0],
    ["pgbouncer.pools.serverConnectionsLogin", "gauge", 0],
    ["pgbouncer.pools.maxwaitInMilliseconds", "gauge", 7],
  ]);
  const m7 = byName(
    pgbouncerRowMetrics("pools", row(POOLS_1_7, ["shop", "app", 3, 1, 1, 4, 0, 0, 0, 7, "session"])),
  );
  assert.equal(m7["pgbouncer.pools.clientConnectionsCancelReq"], undefined);
  assert.equal(Object.keys(m7).length, 9);
});

Deno.test("pools of PgBouncer 1.18 and 1.24: the four cancel columns map; load_balance_hosts is ignored", () => {
  const v18 = ["shop", "app", 3, 1, 5, 6, 2, 8, 9, 4, 0, 0, 0, 7, 12, "transaction"];
  const m18 = pgbouncerRowMetrics("pools", row(POOLS_1_18, v18));
  assert.deepEqual(m18.map((x) => [x.name, x.value]), [
    ["pgbouncer.pools.user", "app"],
    ["pgbouncer.pools.clientConnectionsActive", 3],
    ["pgbouncer.pools.clientConnectionsWaiting", 1],
    ["pgbouncer.pools.clientConnectionsWaitingCancelReq", 6],
    ["pgbouncer.pools.clientConnectionsActiveCancelReq", 5],
    ["pgbouncer.pools.serverConnectionsActiveCancel", 8],
    ["pgbouncer.pools.serverConnectionsBeingCancel", 9],
    ["pgbouncer.pools.serverConnectionsActive", 2],
    ["pgbouncer.pools.serverConnectionsIdle", 4],
    ["pgbouncer.pools.serverConnectionsUsed", 0],
    ["pgbouncer.pools.serverConnectionsTested", 0],
    ["pgbouncer.pools.serverConnectionsLogin", 0],
    ["pgbouncer.pools.maxwaitInMilliseconds", 7],
  ]);
  const m24 = pgbouncerRowMetrics("pools", row(POOLS_1_24, [...v18, "0"]));
  assert.deepEqual(m24, m18);
});

Deno.test("a missing, NULL or non-numeric column leaves only its own metric out", () => {
  const base = row(STATS_1_8, [
    "shop",
    "10",
    "25",
    "1100",
    "4400",
    "7000",
    "6500",
    "900",
    "1",
    "2",
    "36",
    "146",
    "700",
    "260",
    "90",
  ]);
  const full = byName(pgbouncerRowMetrics("stats", base));
  const { total_xact_count: _dropped, ...withoutXact } = base;
  const cases: [string, ConsoleRow][] = [
    ["missing", withoutXact],
    ["NULL", { ...base, total_xact_count: null }],
    ["not a number", { ...base, total_xact_count: "n/a" }],
  ];
  for (const [what, r] of cases) {
    const m = byName(pgbouncerRowMetrics("stats", r));
    const { "pgbouncer.stats.transactionsPerSecond": _x, ...rest } = full;
    assert.deepEqual(m, rest, what);
  }
  // avg_query_time wins over avg_query; a NULL avg_query_time falls back to avg_query.
  assert.equal(
    byName(
      pgbouncerRowMetrics("stats", { ...base, avg_query: "5" }),
    )["pgbouncer.stats.avgQueryDurationInMilliseconds"],
    260,
  );
  assert.equal(
    byName(pgbouncerRowMetrics("stats", { ...base, avg_query_time: null, avg_query: "5" }))[
      "pgbouncer.stats.avgQueryDurationInMilliseconds"
    ],
    5,
  );
  // Large int8 values as strings and bigint both become numbers.
  assert.equal(
    byName(
      pgbouncerRowMetrics("stats", { ...base, total_sent: 123456789012n }),
    )["pgbouncer.stats.bytesOutPerSecond"],
    123456789012,
  );
});

Deno.test("pgbouncerSamples: one sample per row on its pgbouncer entity, naming attributes first", () => {
  const rows = [
    row(POOLS_1_18, ["pgbouncer", "pgbouncer", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "statement"]),
    row(POOLS_1_18, ["shop", "app", 3, 1, 0, 0, 2, 0, 0, 4, 0, 0, 0, 0, 0, "transaction"]),
    row(POOLS_1_18, ["shop", "report", 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, "transaction"]),
    row(POOLS_1_18, ["", "nobody", 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, "transaction"]),
  ];
  const samples = pgbouncerSamples("pools", rows, "bouncer.example", "6432");
  assert.equal(samples.length, 3, "the row without a database name is skipped");
  assert.deepEqual(samples.map((s) => [s.entity.name, s.entity.type]), [
    ["pgbouncer", "pgbouncer"],
    ["shop", "pgbouncer"],
    ["shop", "pgbouncer"],
  ]);
  assert.deepEqual(samples[1].entity.idAttributes, [
    { key: "host", value: "bouncer.example" },
    { key: "port", value: "6432" },
  ]);
  const users = ["pgbouncer", "app", "report"];
  samples.forEach((s, i) => {
    assert.equal(s.eventType, "PgBouncerSample");
    assert.deepEqual(s.metrics.slice(0, 4).map((m) => [m.name, m.sourceType, m.value]), [
      ["displayName", "attribute", s.entity.name],
      ["entityName", "attribute", `pgbouncer:${s.entity.name}`],
      ["host", "attribute", "bouncer.example"],
      ["pgbouncer.pools.user", "attribute", users[i]],
    ]);
  });
  assert.equal(byName(samples[1].metrics)["pgbouncer.pools.serverConnectionsIdle"], 4);
  assert.throws(() => pgbouncerSamples("stats", [], "", "6432"), /host must not be empty/);
  assert.throws(() => pgbouncerSamples("stats", [], "h", ""), /port must not be empty/);
});
