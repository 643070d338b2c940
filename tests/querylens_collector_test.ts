/**
 * The collector reading pg_querylens end to end: a real PostgreSQL 15 with the extension preloaded,
 * the collector run as a process under the `collector` permission set (one-shot, as `deno task
 * start`), reading the rings through the ffi/ library or over SQL, with NRI output validated
 * against the schemas and OTLP output sent to a real receiver.
 */

import assert from "node:assert/strict";
import { startQueryLensCluster } from "./support/querylens.ts";
import { clusterEnv, type MetricSet, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { startReceiver } from "./support/oteltest.ts";

const SLOW_SQL = "SELECT count(*) FROM ql_items a JOIN ql_items b ON a.grp = b.grp WHERE a.id <= $1";
const SLOW_RUNS = 3;

function sets(stdout: string, type: string): MetricSet[] {
  return metricSetsByType(stdout).get(type) ?? [];
}

Deno.test("collector reads pg_querylens: executions, plan aggregates, individual queries, OTLP", async (t) => {
  await using cluster = await startQueryLensCluster({ name: "qlcollector", before: ["pg_stat_statements"] });
  await cluster.createDatabase("shop");
  await cluster.createExtension("shop", "pg_stat_statements");
  await cluster.createExtension("shop", "pg_querylens");
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  const app = cluster.sql("shop");
  await app.unsafe(`CREATE TABLE ql_items (id int PRIMARY KEY, grp int NOT NULL, v text)`);
  await app.unsafe(
    `INSERT INTO ql_items SELECT g, g % 20, md5(g::text) FROM generate_series(1, 20000) g`,
  );
  await app.unsafe("ANALYZE ql_items");
  const [{ pid: appPid }] = await app.unsafe("SELECT pg_backend_pid() AS pid");

  /** The application's workload: slow joins (extended protocol) and fast lookups. */
  const workload = async () => {
    for (let i = 0; i < SLOW_RUNS; i++) await app.unsafe(SLOW_SQL, [4000]);
    for (let i = 0; i < 50; i++) await app.unsafe("SELECT v FROM ql_items WHERE id = $1", [i + 1]);
  };
  await workload();
  const [{ queryid: slowQueryId }] = await app.unsafe(
    `SELECT queryid::text AS queryid FROM pg_stat_statements WHERE query = $1`,
    [SLOW_SQL],
  );
  // Last on this connection: postgres.js keeps the rows a failed statement streamed before its error.
  await assert.rejects(
    () => app.unsafe("SELECT 1 / (id - 5) FROM ql_items WHERE id < 10"),
    /division by zero/,
  );

  const base = {
    ...clusterEnv(cluster, "monitor", "monitor-pw"),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["shop"]',
    QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "20",
    TEMP_DIR: `/tmp/pgquerylens/test-querylens-${crypto.randomUUID()}`,
  };
  const first = await runCollectorProcess([], base);
  assert.equal(first.code, 0, first.stderr);

  await t.step("NRI output validates, with both pg_querylens event types", () => {
    // Read from shared memory (under the collector permission set), not over SQL.
    assert.doesNotMatch(first.stderr, /cannot read the pg_querylens rings/);
    assertValidDocuments(first.stdout);
    assert.ok(sets(first.stdout, "PostgresQueryExecutions").length > 0, first.stderr);
    assert.ok(sets(first.stdout, "PostgresQueryPlanAggregates").length > 0, first.stderr);
  });

  await t.step("the slow and the failed executions are exported", () => {
    const execs = sets(first.stdout, "PostgresQueryExecutions");
    const slow = execs.filter((e) => e.query_id === slowQueryId);
    assert.equal(slow.length, SLOW_RUNS, JSON.stringify(execs.map((e) => [e.query_id, e.duration_ms])));
    for (const e of slow) {
      assert.equal(e.sample_reason, "slow");
      assert.equal(e.database_name, "shop");
      assert.equal(e.pid, appPid);
      assert.equal(e.rows, 1);
      assert.ok(Number(e.duration_ms) > 20);
      assert.equal(e.command, "SELECT");
    }
    const failed = execs.filter((e) => e.failed === 1);
    assert.equal(failed.length, 1);
    assert.equal(failed[0].sqlstate, "22012");
    assert.equal(failed[0].sample_reason, "error");
  });

  await t.step("the collector's own statements are never exported", () => {
    const users = new Set(sets(first.stdout, "PostgresQueryExecutions").map((e) => e.user_name));
    assert.ok(users.has("postgres"));
    assert.ok(!users.has("monitor"), "the collector runs as monitor: none of its executions is exported");
  });

  await t.step("plan aggregates count every execution of the slow query's plan", () => {
    const aggs = sets(first.stdout, "PostgresQueryPlanAggregates").filter((a) => a.query_id === slowQueryId);
    assert.equal(aggs.length, 1);
    assert.equal(aggs[0].calls, SLOW_RUNS);
    assert.equal(aggs[0].database_name, "shop");
    const lookups = sets(first.stdout, "PostgresQueryPlanAggregates").find((a) => a.calls === 50);
    assert.ok(lookups, "the 50 lookups form one aggregate");
    assert.ok(Number(lookups.total_duration_ms) >= Number(lookups.max_duration_ms));
  });

  await t.step("PostgresIndividualQueries come from the ring: executions that ended before the run", () => {
    const individual = sets(first.stdout, "PostgresIndividualQueries").filter((i) =>
      i.query_id === slowQueryId
    );
    assert.equal(individual.length, SLOW_RUNS);
    for (const i of individual) assert.ok(Number(i.exec_time_ms) > 20);
  });

  await t.step("a second one-shot run resumes: the same executions are not exported twice", async () => {
    await app.unsafe(SLOW_SQL, [4000]);
    const second = await runCollectorProcess(["-verbose"], base);
    assert.equal(second.code, 0, second.stderr);
    // -verbose says where the records came from and what the sampler did with them.
    assert.match(second.stderr, /querylens: ffi; \d+ records read, 0 lost; kept [^;]*slow 1/);
    const slow = sets(second.stdout, "PostgresQueryExecutions").filter((e) => e.query_id === slowQueryId);
    assert.equal(slow.length, 1);
    const before = new Set(
      sets(first.stdout, "PostgresQueryExecutions").map((e) => `${e.pid}:${e.exec_seq}`),
    );
    assert.ok(!before.has(`${slow[0].pid}:${slow[0].exec_seq}`));
  });

  await t.step("over SQL (querylens_source = sql) the same executions arrive", async () => {
    await app.unsafe(SLOW_SQL, [4000]);
    const env = { ...base, TEMP_DIR: `${base.TEMP_DIR}-sql` };
    const run = await runCollectorProcess(["-querylens_source", "sql"], env);
    assert.equal(run.code, 0, run.stderr);
    assertValidDocuments(run.stdout);
    // The SQL consumer starts with everything the rings still hold.
    const slow = sets(run.stdout, "PostgresQueryExecutions").filter((e) => e.query_id === slowQueryId);
    assert.equal(slow.length, SLOW_RUNS + 2);
    assert.ok(slow.every((e) => e.database_name === "shop"));
  });

  await t.step("otel mode: execution log records and plan metrics reach a real receiver", async () => {
    await using rx = await startReceiver();
    await app.unsafe(SLOW_SQL, [4000]);
    const run = await runCollectorProcess(["--mode=otel"], {
      ...base,
      TEMP_DIR: `${base.TEMP_DIR}-otel`,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.httpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    });
    assert.equal(run.code, 0, run.stderr);
    const got = await rx.received();
    const records = got.logs.flatMap((r) =>
      (r.request.resourceLogs as { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[])
        .flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords))
    );
    const executions = records.filter((r) => r.eventName === "pgquerylens.query.execution");
    assert.ok(executions.length >= 1, JSON.stringify(records.map((r) => r.eventName)));
    const names = new Set(
      got.metrics.flatMap((r) =>
        (r.request.resourceMetrics as { scopeMetrics: { metrics: { name: string }[] }[] }[])
          .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)))
      ),
    );
    for (
      const n of ["pgquerylens.plan.calls", "pgquerylens.plan.duration", "pgquerylens.querylens.sampled"]
    ) {
      assert.ok(names.has(n), `${n} in ${[...names].filter((x) => x.startsWith("pgquerylens")).join(", ")}`);
    }
  });
});
