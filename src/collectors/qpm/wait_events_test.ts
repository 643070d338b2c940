import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections, qpmContext } from "../../../tests/support/qpm.ts";
import { holdRowLock, setupWorkloadSchema, workloadMarker } from "../../../tests/support/workload.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { sampleActivity } from "./activity_sampler.ts";
import { collectWaitEvents, waitCategory } from "./wait_events.ts";

await initSqlParser();

Deno.test("waitCategory maps wait event types as nri-postgresql does", () => {
  const table: [string, string][] = [
    ["Lock", "Locks"],
    ["LWLock", "Locks"],
    ["IO", "Disk IO"],
    ["CPU", "CPU"],
    ["Timeout", "Other"],
    ["Client", "Other"],
    ["Activity", "Other"],
    ["IPC", "Other"],
    ["BufferPin", "Other"],
    ["Extension", "Other"],
    ["lock", "Other"],
    ["", "Other"],
  ];
  for (const [type, category] of table) assert.equal(waitCategory(type), category, type);
});

Deno.test("collectWaitEvents on PostgreSQL 15", async (t) => {
  await using cluster = await startCluster({
    name: "waits",
    preload: ["pg_stat_statements", "pg_wait_sampling"],
    settings: { "pg_wait_sampling.history_size": "100000" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("ws");
  await cluster.createExtension("ws", "pg_stat_statements");
  await cluster.createExtension("ws", "pg_wait_sampling");
  await cluster.createDatabase("shop");
  await setupWorkloadSchema(cluster, "shop");
  const shop = cluster.sql("shop");
  // The blocked statement has run once before, so pg_stat_statements knows its text.
  await shop.unsafe(`${workloadMarker("lock_waiter")} UPDATE orders SET amount = amount + 1 WHERE id = 1`);
  const cm = clusterConnections(cluster);
  const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 600));
  try {
    await t.step("without pg_wait_sampling, waits come from activity samples", async () => {
      const { ctx, issues } = await qpmContext(cm, "postgres");
      assert.equal(ctx.caps.extensions.has("pg_wait_sampling"), false);
      const lock = await holdRowLock(cluster, "shop");
      let activity;
      try {
        activity = await sampleActivity(
          cm.sql("postgres", "sampler"),
          ctx.caps,
          ["shop"],
          "pgquerylens",
          4,
          50,
        );
      } finally {
        await lock.release();
      }
      const blocked = activity.executions.find((e) => e.pid === lock.blockedPid);
      assert.ok(blocked?.queryId, JSON.stringify(activity.executions));
      const lockSamples = blocked.waits.get("Lock:transactionid") ?? 0;
      assert.ok(lockSamples >= 1, JSON.stringify([...blocked.waits]));
      const rows = await collectWaitEvents(ctx, now, activity);
      assert.deepEqual(issues, []);
      const row = rows.find((r) => r.queryId === blocked.queryId && r.waitEventName === "Lock:transactionid");
      assert.ok(row, JSON.stringify(rows));
      assert.equal(row.waitCategory, "Locks");
      assert.equal(row.databaseName, "shop");
      assert.equal(row.totalWaitTimeMs, lockSamples * 50);
      assert.equal(row.collectionTimestamp, "2025-01-02T03:04:05Z");
      assert.match(row.queryText, /UPDATE orders SET amount = amount \+ \$1 WHERE id = \$2/);
      const totals = rows.map((r) => r.totalWaitTimeMs ?? 0);
      assert.deepEqual(totals, [...totals].sort((a, b) => b - a));

      assert.deepEqual(await collectWaitEvents(ctx, now, undefined), [], "no samples, no rows");
      assert.deepEqual(await collectWaitEvents({ ...ctx, countThreshold: 0 }, now, activity), []);
      assert.deepEqual(await collectWaitEvents({ ...ctx, databases: ["postgres"] }, now, activity), []);
      assert.equal((await collectWaitEvents({ ...ctx, countThreshold: 1 }, now, activity)).length, 1);
    });

    await t.step("with pg_wait_sampling, waits come from its history, own statements left out", async () => {
      await shop.unsafe("/* ws_sleep */ SELECT pg_sleep(0.4)");
      await shop.unsafe(`${MARKER} SELECT pg_sleep(0.3), 'own'`);
      const { ctx, issues } = await qpmContext(cm, "ws");
      assert.ok(ctx.caps.extensions.has("pg_wait_sampling"));
      const rows = await collectWaitEvents(ctx, now, undefined);
      assert.deepEqual(issues, []);
      const sleep = rows.find((r) => r.queryText.includes("ws_sleep"));
      assert.ok(sleep, JSON.stringify(rows));
      assert.equal(sleep.waitEventName, "Timeout:PgSleep");
      assert.equal(sleep.waitCategory, "Other");
      assert.equal(sleep.databaseName, "shop");
      assert.ok(sleep.totalWaitTimeMs! > 250 && sleep.totalWaitTimeMs! < 700, `${sleep.totalWaitTimeMs} ms`);
      assert.ok(rows.every((r) => !r.queryText.includes("pgquerylens")), JSON.stringify(rows));
      assert.ok(rows.every((r) => r.databaseName === "shop"));
      assert.ok(ctx.texts.ownQueryIds().length >= 1, "the own statement's id was learnt");
      const again = await collectWaitEvents(ctx, now, undefined);
      assert.ok(again.some((r) => r.queryText.includes("ws_sleep")));
      assert.ok(again.every((r) => !r.queryText.includes("pgquerylens")));
    });

    await t.step("statement texts are read once, not every cycle, with several databases", async () => {
      for (const databases of [["shop"], ["shop", "postgres"]]) {
        // The session records the query ids of every text read. pg_wait_sampling may sample new
        // statements between cycles (this test's own included), so the check is that no query id
        // is ever asked for twice, not that the second cycle reads nothing.
        const main = cm.sql("ws");
        const asked: string[] = [];
        const sql = {
          // deno-lint-ignore no-explicit-any
          unsafe: (text: string, params?: any[], options?: any) => {
            if (text.includes("s.query\n") && params) {
              asked.push(...String(params[0]).slice(1, -1).split(","));
            }
            return main.unsafe(text, params, options);
          },
        };
        const { ctx } = await qpmContext(cm, "ws", { databases, sql });
        const first = await collectWaitEvents(ctx, now, undefined);
        assert.ok(first.some((r) => r.queryText.includes("ws_sleep")));
        assert.ok(asked.length >= 1, "the first cycle read texts");
        await collectWaitEvents(ctx, now, undefined);
        await collectWaitEvents(ctx, now, undefined);
        const twice = asked.filter((id, i) => asked.indexOf(id) !== i);
        assert.deepEqual(twice, [], `databases ${databases}: query ids read again: ${asked}`);
      }
    });

    await t.step("without pg_stat_statements in the main database: no rows", async () => {
      await cluster.createDatabase("bare");
      const { ctx } = await qpmContext(cm, "bare");
      assert.deepEqual(await collectWaitEvents(ctx, now, undefined), []);
    });
  } finally {
    await cm.close();
  }
});
