import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections, qpmContext } from "../../../tests/support/qpm.ts";
import {
  runSlowStatements,
  setupWorkloadSchema,
  SLOW_STATEMENT_MIN_MS,
} from "../../../tests/support/workload.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import type { QpmContext } from "./context.ts";
import { collectSlowQueries } from "./slow_queries.ts";

await initSqlParser();

/** This file's QPM contexts collect up to 30 rows. */
const N30: Partial<QpmContext> = { countThreshold: 30 };

Deno.test("collectSlowQueries on PostgreSQL 15", async (t) => {
  await using cluster = await startCluster({
    name: "slowq",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track_planning": "on" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await cluster.createDatabase("bare");
  await setupWorkloadSchema(cluster, "shop");
  await runSlowStatements(cluster, "shop", { count: 2 });
  const shop = cluster.sql("shop");
  await shop.unsafe(`${MARKER} SELECT pg_sleep(0.05), 'own slow statement'`);
  // A statement that is planned but fails while executing leaves an entry with calls = 0.
  await assert.rejects(
    shop.unsafe("/* planned_only */ SELECT id / (SELECT count(*) - count(*) FROM orders) FROM customers"),
  );
  await cluster.sql().unsafe("/* another_database */ SELECT pg_sleep(0.05)");
  const cm = clusterConnections(cluster);
  const now = new Date(Date.UTC(2025, 4, 6, 7, 8, 9, 500));
  try {
    await t.step("workload statements, slowest first, with their counters", async () => {
      const { ctx, issues } = await qpmContext(cm, "postgres", N30);
      const [{ n }] = await cluster.sql()`SELECT count(*)::int AS n FROM pg_stat_statements s
        JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'shop' AND s.calls = 0`;
      assert.ok(n >= 1, "precondition: a planning-only entry exists");
      const rows = await collectSlowQueries(ctx, now);
      assert.deepEqual(issues, []);
      const workload = rows.filter((r) => r.queryText.includes("pgql_workload:"));
      assert.equal(workload.length, 6, JSON.stringify(rows.map((r) => r.queryText)));
      const avgs = rows.map((r) => r.avgElapsedTimeMs);
      assert.deepEqual(avgs, [...avgs].sort((a, b) => b - a));
      for (const r of workload) {
        assert.equal(r.databaseName, "shop");
        assert.equal(r.executionCount, 2);
        assert.ok(r.avgElapsedTimeMs >= SLOW_STATEMENT_MIN_MS, `${r.avgElapsedTimeMs} ms: ${r.queryText}`);
        assert.equal(r.collectionTimestamp, "2025-05-06T07:08:09Z");
        assert.equal(r.schemaName, "public");
        assert.match(r.queryId, /^-?\d+$/);
        assert.ok(Math.abs(r.totalExecTimeMs! - r.avgElapsedTimeMs * 2) < 0.01);
      }
      const types = new Map(
        workload.map((r) => [/pgql_workload:(\w+)/.exec(r.queryText)![1], r.statementType]),
      );
      assert.equal(types.get("insert_order"), "INSERT");
      assert.equal(types.get("update_customer_orders"), "UPDATE");
      assert.equal(types.get("delete_workload_order"), "DELETE");
      assert.equal(types.get("region_join"), "SELECT");
      assert.ok(
        rows.every((r) => !r.queryText.includes("planned_only") && !r.queryText.includes("another_database")),
      );
    });

    await t.step("the collector's own statements are left out and remembered", async () => {
      const { ctx } = await qpmContext(cm, "postgres", N30);
      const rows = await collectSlowQueries(ctx, now);
      assert.ok(rows.every((r) => !r.queryText.includes("pgquerylens")), JSON.stringify(rows));
      assert.ok(ctx.texts.ownQueryIds().length >= 1, "the own slow statement was seen and recognised");
      const again = await collectSlowQueries(ctx, now);
      assert.deepEqual(again.map((r) => r.queryId), rows.map((r) => r.queryId));
    });

    await t.step("count threshold keeps the N slowest", async () => {
      const all = await collectSlowQueries((await qpmContext(cm, "postgres", N30)).ctx, now);
      const { ctx } = await qpmContext(cm, "postgres", { countThreshold: 2 });
      const top = await collectSlowQueries(ctx, now);
      assert.deepEqual(top.map((r) => r.queryId), all.slice(0, 2).map((r) => r.queryId));
      assert.deepEqual(await collectSlowQueries({ ...ctx, countThreshold: 0 }, now), []);
      assert.deepEqual(await collectSlowQueries({ ...ctx, databases: [] }, now), []);
    });

    await t.step("only the listed databases", async () => {
      const { ctx } = await qpmContext(cm, "postgres", { ...N30, databases: ["postgres"] });
      const rows = await collectSlowQueries(ctx, now);
      assert.ok(rows.some((r) => r.queryText.includes("another_database")), JSON.stringify(rows));
      assert.ok(rows.every((r) => r.databaseName === "postgres"));
    });

    await t.step("without pg_stat_statements in the main database: one warning, no rows", async () => {
      const { ctx, issues } = await qpmContext(cm, "bare", N30);
      assert.deepEqual(await collectSlowQueries(ctx, now), []);
      assert.equal(issues.length, 1);
      assert.equal(issues[0].cause, "no_pg_stat_statements");
      assert.equal(issues[0].severity, "warning");
      assert.match(issues[0].message, /CREATE EXTENSION pg_stat_statements/);
    });
  } finally {
    await cm.close();
  }
});
