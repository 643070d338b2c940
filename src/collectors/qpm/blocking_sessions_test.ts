import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections, qpmContext } from "../../../tests/support/qpm.ts";
import { serverById, type ServerId } from "../../../tests/support/servers.ts";
import { holdRowLock, setupWorkloadSchema, workloadMarker } from "../../../tests/support/workload.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { collectBlockingSessions } from "./blocking_sessions.ts";

await initSqlParser();

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;
const WAITER = `${workloadMarker("lock_waiter")} UPDATE orders SET amount = amount + 1 WHERE id = 1`;

for (const id of ["pg13", "debian15"] as ServerId[]) {
  Deno.test(`collectBlockingSessions on ${id}`, async (t) => {
    const server = serverById(id);
    await using cluster = await startCluster({
      name: `block-${id}`,
      server,
      preload: ["pg_stat_statements"],
    });
    await cluster.createExtension("postgres", "pg_stat_statements");
    await cluster.createDatabase("shop");
    await setupWorkloadSchema(cluster, "shop");
    await cluster.sql("shop").unsafe(WAITER);
    const [known] = await cluster.sql()`SELECT queryid::text AS id, query FROM pg_stat_statements
      WHERE query LIKE '%lock_waiter%'`;
    const cm = clusterConnections(cluster);
    const { ctx } = await qpmContext(cm, "postgres", {
      report: (i) => assert.fail(`unexpected issue ${JSON.stringify(i)}`),
    });
    const lock = await holdRowLock(cluster, "shop");
    try {
      await t.step("the blocked update and its idle-in-transaction holder", async () => {
        const t0 = Date.now();
        const rows = await collectBlockingSessions(ctx);
        assert.equal(rows.length, 1, JSON.stringify(rows));
        const [row] = rows;
        assert.equal(row.blockedPid, lock.blockedPid);
        assert.equal(row.blockingPid, lock.blockingPid);
        assert.equal(row.databaseName, "shop");
        assert.match(row.blockedQueryStart, RFC3339);
        assert.match(row.blockingQueryStart, RFC3339);
        assert.ok(Date.parse(row.blockingQueryStart) <= Date.parse(row.blockedQueryStart));
        assert.ok(t0 - Date.parse(row.blockedQueryStart) < 30_000, row.blockedQueryStart);
        assert.ok(!/'x'|\+ 1|= 1/.test(row.blockedQuery + row.blockingQuery), "no literal survives");
        assert.match(row.blockingQuery, /UPDATE orders SET note = .* WHERE id = /);
        if (server.major >= 14) {
          assert.equal(row.blockedQueryId, known.id);
          assert.equal(row.blockedQuery, known.query, "the normalized text from pg_stat_statements");
          assert.match(row.blockingQueryId ?? "", /^-?\d+$/);
        } else {
          assert.equal(row.blockedQueryId, undefined);
          assert.equal(row.blockingQueryId, undefined);
          assert.equal(
            row.blockedQuery,
            `${workloadMarker("lock_waiter")} UPDATE orders SET amount = amount + ? WHERE id = ?`,
          );
        }
      });

      await t.step("nothing when N is 0 or the database is not collected", async () => {
        assert.deepEqual(await collectBlockingSessions({ ...ctx, countThreshold: 0 }), []);
        assert.deepEqual(await collectBlockingSessions({ ...ctx, databases: ["postgres"] }), []);
        assert.deepEqual(await collectBlockingSessions({ ...ctx, databases: [] }), []);
      });

      await t.step("nothing once the lock is released", async () => {
        await lock.release();
        assert.deepEqual(await collectBlockingSessions(ctx), []);
      });
    } finally {
      await lock.release();
      await cm.close();
    }
  });
}
