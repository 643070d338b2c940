/**
 * The QPM pipeline on every server of the matrix (PostgreSQL 13–18 from the embedded builds and
 * Debian's 15): with only pg_stat_statements (no pg_wait_sampling, no pg_stat_monitor), all five
 * event types still appear — waits and individual executions come from pg_stat_activity samples —
 * and every document validates.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { matrixServers } from "./support/servers.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  startBackgroundWaits,
} from "./support/workload.ts";

const TYPES = [
  "PostgresWaitEvents",
  "PostgresBlockingSessions",
  "PostgresSlowQueries",
  "PostgresIndividualQueries",
  "PostgresExecutionPlanMetrics",
];

Deno.test("QPM on the version matrix with pg_stat_statements only", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async () => {
      await using cluster = await startCluster({
        name: `qpm-${server.id}`,
        server,
        preload: ["pg_stat_statements"],
      });
      await cluster.createExtension("postgres", "pg_stat_statements");
      await cluster.createDatabase("shop");
      await setupWorkloadSchema(cluster, "shop");
      await cluster.createRole("monitor", "pw-monitor", { grants: ["pg_read_all_stats"] });
      const waits = await startBackgroundWaits(cluster, "shop", { durationMs: 25_000 });
      await runSlowStatements(cluster, "shop", { count: 2 });
      const lock = await holdRowLock(cluster, "shop");
      try {
        const run = await runCollectorProcess([], {
          ...clusterEnv(cluster, "monitor", "pw-monitor"),
          ENABLE_QUERY_MONITORING: "true",
          COLLECTION_LIST: '["shop"]',
        });
        assert.equal(run.code, 0, run.stderr);
        assertValidDocuments(run.stdout);
        const sets = metricSetsByType(run.stdout);
        for (const type of TYPES) {
          assert.ok(sets.get(type)?.length, `${server.id}: no ${type}\n${run.stderr}`);
        }
        const blocking = sets.get("PostgresBlockingSessions")!;
        const row = blocking.find((b) => b.blocked_pid === lock.blockedPid);
        assert.ok(row, `${server.id}: blocked pid ${lock.blockedPid} missing`);
        assert.equal(
          "blocked_query_id" in row,
          cluster.major >= 14,
          "query ids only where pg_stat_activity has them",
        );
        assert.ok(sets.get("PostgresWaitEvents")!.some((w) => w.wait_category === "Locks"));
      } finally {
        await lock.release();
        await waits.stop();
      }
    });
  }
});
