import assert from "node:assert/strict";
import type postgres from "postgres";
import { type Cluster, startCluster } from "./cluster.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  SLOW_STATEMENT_MIN_MS,
  SLOW_STATEMENTS,
  startBackgroundWaits,
  WORKLOAD_CUSTOMERS,
  WORKLOAD_ORDERS,
  workloadMarker,
} from "./workload.ts";

const DB = "shop";

/** One Debian-15 cluster with pg_stat_statements and pg_wait_sampling, shared by the steps below. */
async function withWorkloadCluster(
  fn: (cluster: Cluster, sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  await using cluster = await startCluster({
    name: "workload",
    preload: ["pg_stat_statements", "pg_wait_sampling"],
  });
  await cluster.createDatabase(DB);
  await cluster.createExtension(DB, "pg_stat_statements");
  await cluster.createExtension(DB, "pg_wait_sampling");
  await setupWorkloadSchema(cluster, DB);
  await fn(cluster, cluster.sql(DB));
}

/** Polls a query until it returns at least one row, or fails after the timeout. */
async function eventually(
  what: string,
  query: () => PromiseLike<readonly unknown[]>,
  timeoutMs = 5000,
): Promise<readonly unknown[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await query();
    if (rows.length > 0) return rows;
    if (Date.now() > deadline) throw new Error(`no rows after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("workload: schema, slow statements, row lock and background waits show up in the views", async (t) => {
  await withWorkloadCluster(async (cluster, sql) => {
    await t.step("schema has the documented rows and index", async () => {
      const [counts] = await sql`
        SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM orders)::int AS orders,
               (SELECT count(DISTINCT region) FROM customers)::int AS regions`;
      assert.deepEqual({ ...counts }, { customers: WORKLOAD_CUSTOMERS, orders: WORKLOAD_ORDERS, regions: 4 });
      const idx =
        await sql`SELECT indexdef FROM pg_indexes WHERE tablename = 'orders' AND indexdef LIKE '%(customer_id)'`;
      assert.equal(idx.length, 1);
    });

    await t.step(
      "slow statements are normalized in pg_stat_statements with mean time above 5 ms",
      async () => {
        await sql`SELECT pg_stat_statements_reset()`;
        const runs = await runSlowStatements(cluster, DB, { count: 3 });
        assert.deepEqual(runs.map((r) => r.statement.name), SLOW_STATEMENTS.map((s) => s.name));
        for (const run of runs) {
          assert.equal(run.executions, 3);
          assert.ok(
            run.minClientMs >= SLOW_STATEMENT_MIN_MS,
            `${run.statement.name} took ${run.minClientMs} ms`,
          );
          const rows = await sql`
          SELECT s.query, s.calls::int AS calls, s.mean_exec_time AS mean
          FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = ${DB} AND s.query LIKE ${"%" + workloadMarker(run.statement.name) + "%"}`;
          assert.equal(
            rows.length,
            1,
            `one normalized entry for ${run.statement.name}: ${JSON.stringify(rows)}`,
          );
          const [row] = rows;
          assert.ok(row.calls >= 3, `${run.statement.name}: calls ${row.calls}`);
          assert.ok(row.mean > 5, `${run.statement.name}: mean ${row.mean} ms`);
          assert.match(row.query, /\$1/, `${run.statement.name} should be normalized: ${row.query}`);
          assert.ok(row.query.startsWith(workloadMarker(run.statement.name)), row.query);
          assert.ok(row.query.toUpperCase().includes(run.statement.command), row.query);
        }
        const [{ orders }] = await sql`SELECT count(*)::int AS orders FROM orders`;
        assert.equal(orders, WORKLOAD_ORDERS, "each DELETE removed one row an INSERT added");
        const touched = await sql`SELECT count(*)::int AS n FROM orders WHERE note LIKE 'touched %'`;
        assert.ok(touched[0].n > 0, "the UPDATE statements changed rows");
        const protocols = new Set(SLOW_STATEMENTS.map((s) => s.protocol));
        assert.deepEqual([...protocols].sort(), ["extended", "simple"]);
        const commands = new Set(SLOW_STATEMENTS.map((s) => s.command));
        assert.deepEqual([...commands].sort(), ["DELETE", "INSERT", "SELECT", "UPDATE"]);
        await assert.rejects(
          runSlowStatements(cluster, DB, { count: 0 }),
          /count must be a positive integer/,
        );
      },
    );

    await t.step("a held row lock blocks a second session until released", async () => {
      const [before] = await sql`SELECT amount FROM orders WHERE id = 1`;
      const lock = await holdRowLock(cluster, DB);
      let released = false;
      try {
        assert.notEqual(lock.blockedPid, lock.blockingPid);
        const [blocking] = await sql`SELECT pg_blocking_pids(${lock.blockedPid}::int) AS pids`;
        assert.deepEqual(blocking.pids, [lock.blockingPid]);
        const [holder] = await sql`SELECT state FROM pg_stat_activity WHERE pid = ${lock.blockingPid}`;
        assert.equal(holder.state, "idle in transaction");
        await eventually(
          "a Lock wait of the blocked pid in pg_wait_sampling_history",
          () =>
            sql`SELECT event FROM pg_wait_sampling_history WHERE pid = ${lock.blockedPid} AND event_type = 'Lock'`,
        );
        const [still] = await sql`SELECT amount FROM orders WHERE id = 1`;
        assert.equal(still.amount, before.amount);
        await lock.release();
        released = true;
        await lock.release(); // a second release is harmless
        const [after] = await sql`SELECT amount, note FROM orders WHERE id = 1`;
        assert.equal(Number(after.amount), Number(before.amount) + 1);
        assert.notEqual(after.note, "x"); // the holder rolled back
        const gone =
          await sql`SELECT pid FROM pg_stat_activity WHERE pid IN (${lock.blockedPid}, ${lock.blockingPid})`;
        assert.equal(gone.length, 0);
      } finally {
        if (!released) await lock.release();
      }
    });

    await t.step("background waits produce PgSleep and Lock samples and stop on time", async () => {
      await assert.rejects(
        startBackgroundWaits(cluster, DB, { durationMs: 0 }),
        /durationMs must be between/,
      );
      const started = Date.now();
      const waits = await startBackgroundWaits(cluster, DB, { durationMs: 20_000 });
      try {
        await eventually(
          "a Timeout/PgSleep sample of the sleeper",
          () =>
            sql`SELECT 1 FROM pg_wait_sampling_history
                WHERE pid = ${waits.pids.sleeper} AND event_type = 'Timeout' AND event = 'PgSleep'`,
        );
        await eventually(
          "a Lock sample of the waiter",
          () =>
            sql`SELECT 1 FROM pg_wait_sampling_history WHERE pid = ${waits.pids.waiter} AND event_type = 'Lock'`,
        );
        const blockers = await eventually(
          "the waiter blocked by the holder in pg_stat_activity",
          () =>
            sql`SELECT 1 FROM pg_stat_activity
                WHERE pid = ${waits.pids.waiter} AND ${waits.pids.holder}::int = ANY (pg_blocking_pids(pid))`,
        );
        assert.equal(blockers.length, 1);
      } finally {
        await waits.stop();
      }
      assert.ok(Date.now() - started < 15_000, "stop() ends the loops well before durationMs");
      const left = await sql`
        SELECT pid FROM pg_stat_activity WHERE pid IN (${waits.pids.sleeper}, ${waits.pids.holder}, ${waits.pids.waiter})`;
      assert.equal(left.length, 0);
    });

    await t.step("background waits end by themselves after durationMs", async () => {
      const waits = await startBackgroundWaits(cluster, DB, { durationMs: 300 });
      await new Promise((r) => setTimeout(r, 600));
      const t0 = Date.now();
      await waits.stop();
      assert.ok(Date.now() - t0 < 200, `stop after the deadline took ${Date.now() - t0} ms`);
    });
  });
});
