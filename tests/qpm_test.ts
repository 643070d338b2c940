/**
 * End to end on Debian's PostgreSQL 15 with pg_stat_statements and pg_wait_sampling: a scripted
 * workload (slow statements, a held row lock blocking an update, sleeps) makes every QPM event type
 * appear in the collector's output, and every document validates against the schemas.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  startBackgroundWaits,
} from "./support/workload.ts";

const QPM_TYPES = [
  "PostgresWaitEvents",
  "PostgresBlockingSessions",
  "PostgresSlowQueries",
  "PostgresIndividualQueries",
  "PostgresExecutionPlanMetrics",
];

Deno.test("QPM on PostgreSQL 15 with pg_stat_statements and pg_wait_sampling", async (t) => {
  await using cluster = await startCluster({
    name: "qpm15",
    preload: ["pg_stat_statements", "pg_wait_sampling"],
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createExtension("postgres", "pg_wait_sampling");
  await cluster.createDatabase("shop");
  await setupWorkloadSchema(cluster, "shop");
  await cluster.createRole("monitor", "monitor-secret", { grants: ["pg_read_all_stats"] });
  await runSlowStatements(cluster, "shop", { count: 3 });
  const waits = await startBackgroundWaits(cluster, "shop", { durationMs: 30_000 });
  const lock = await holdRowLock(cluster, "shop");
  const env = {
    ...clusterEnv(cluster, "monitor", "monitor-secret"),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["shop"]',
  };
  try {
    const first = await runCollectorProcess([], env);
    assert.equal(first.code, 0, first.stderr);
    const docs = assertValidDocuments(first.stdout);
    assert.ok(docs.length >= 5);
    const sets = metricSetsByType(first.stdout);

    await t.step("every QPM type appears, in the default pipeline's order", () => {
      const order = first.stdout.trim().split("\n").map((l) => JSON.parse(l).data[0].metrics[0].event_type);
      assert.deepEqual([...new Set(order)].filter((e) => QPM_TYPES.includes(e)), QPM_TYPES);
    });

    await t.step("the blocked update and its blocker are reported", () => {
      const rows = sets.get("PostgresBlockingSessions")!;
      const row = rows.find((r) => r.blocked_pid === lock.blockedPid);
      assert.ok(row, JSON.stringify(rows));
      assert.equal(row.blocking_pid, lock.blockingPid);
      assert.equal(row.database_name, "shop");
      assert.match(
        String(row.blocked_query),
        /UPDATE orders SET amount = amount \+ \$1 WHERE id = \$2|UPDATE orders/i,
      );
      assert.match(String(row.blocked_query_start), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(!String(row.blocked_query).includes("amount+1"), "literals must not leak");
    });

    await t.step("slow queries come from the workload, never from the collector itself", () => {
      const rows = sets.get("PostgresSlowQueries")!;
      assert.ok(
        rows.some((r) => String(r.query_text).includes("pgql_workload:")),
        JSON.stringify(rows.slice(0, 3)),
      );
      for (const r of rows) {
        assert.ok(!String(r.query_text).includes("pgquerylens"), String(r.query_text));
        assert.equal(r.database_name, "shop");
        assert.match(String(r.collection_timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.ok((r.execution_count as number) >= 1);
      }
      const sorted = rows.map((r) => r.avg_elapsed_time_ms as number);
      assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a));
    });

    await t.step("wait events include the lock wait of the blocked update", () => {
      const rows = sets.get("PostgresWaitEvents")!;
      assert.ok(
        rows.some((r) => r.wait_category === "Locks" && String(r.wait_event_name).startsWith("Lock:")),
        JSON.stringify(rows),
      );
    });

    await t.step("individual queries and their plans share plan ids", () => {
      const iq = sets.get("PostgresIndividualQueries")!;
      const plans = sets.get("PostgresExecutionPlanMetrics")!;
      for (const p of plans) {
        assert.ok(iq.some((i) => i.plan_id === p.plan_id && i.query_id === p.query_id), JSON.stringify(p));
      }
      const roots = plans.filter((p) => p.level_id === 0);
      assert.ok(roots.length >= 1);
      assert.ok(iq.every((i) => (i.exec_time_ms as number) > 1));
    });

    await t.step("plan ids are stable across runs", async () => {
      const second = await runCollectorProcess([], env);
      assert.equal(second.code, 0, second.stderr);
      const again = metricSetsByType(second.stdout).get("PostgresIndividualQueries") ?? [];
      const before = new Map(sets.get("PostgresIndividualQueries")!.map((i) => [i.query_id, i.plan_id]));
      const common = again.filter((i) => before.has(i.query_id));
      assert.ok(common.length >= 1);
      for (const i of common) assert.equal(i.plan_id, before.get(i.query_id));
    });

    await t.step(
      "IS_RDS pipeline: slow queries seen running, one individual row each, RDS order",
      async () => {
        const rds = await runCollectorProcess([], { ...env, IS_RDS: "true" });
        assert.equal(rds.code, 0, rds.stderr);
        assertValidDocuments(rds.stdout);
        const order = rds.stdout.trim().split("\n").map((l) =>
          JSON.parse(l).data[0].metrics[0].event_type as string
        );
        const rdsOrder = [
          "PostgresSlowQueries",
          "PostgresIndividualQueries",
          "PostgresExecutionPlanMetrics",
          "PostgresWaitEvents",
          "PostgresBlockingSessions",
        ];
        const present = [...new Set(order)].filter((e) => rdsOrder.includes(e));
        assert.deepEqual(present, rdsOrder.filter((e) => present.includes(e)));
        const rsets = metricSetsByType(rds.stdout);
        const slowIds = new Set((rsets.get("PostgresSlowQueries") ?? []).map((r) => r.query_id));
        const iqIds = (rsets.get("PostgresIndividualQueries") ?? []).map((r) => r.query_id);
        assert.ok(slowIds.size >= 1, rds.stderr);
        assert.deepEqual(new Set(iqIds), slowIds);
        assert.equal(iqIds.length, slowIds.size);
        for (const r of rsets.get("PostgresIndividualQueries") ?? []) {
          assert.equal(typeof r.exec_time_ms, "number");
        }
      },
    );

    await t.step("-nri_protocol=4 carries the same rows in the v4 envelope", async () => {
      const v4 = await runCollectorProcess(["-nri_protocol=4"], env);
      assert.equal(v4.code, 0, v4.stderr);
      const docs = assertValidDocuments(v4.stdout);
      assert.ok(docs.length >= 5);
      const types = new Set(
        v4.stdout.trim().split("\n").flatMap((l) =>
          JSON.parse(l).data.flatMap((d: { events: { attributes: { event_type: string } }[] }) =>
            d.events.map((e) => e.attributes.event_type)
          )
        ),
      );
      for (const type of QPM_TYPES) assert.ok(types.has(type), type);
    });

    await t.step("every statement the collector ran carries its marker", async () => {
      const rows = await cluster
        .sql()`SELECT s.query FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
        WHERE r.rolname = 'monitor' AND s.query NOT LIKE '/* pgquerylens */%'`;
      assert.deepEqual(rows.map((r) => r.query), []);
    });

    await t.step(
      "without COLLECTION_LIST only the base document is published, and the reason is logged",
      async () => {
        const none = await runCollectorProcess([], { ...env, COLLECTION_LIST: "" });
        assert.equal(none.code, 0, none.stderr);
        const docs = assertValidDocuments(none.stdout);
        assert.equal(docs.length, 1);
        const types = [...metricSetsByType(none.stdout).keys()];
        assert.deepEqual(types, ["PostgresqlInstanceSample"]);
        assert.match(none.stderr, /No databases found/);
      },
    );
  } finally {
    await lock.release();
    await waits.stop();
  }
});
