import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  workloadMarker,
} from "../../../tests/support/workload.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../../core/model.ts";
import { CapabilityCache } from "../../query_engine/capabilities.ts";
import { ConnectionManager } from "../../query_engine/connection.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { collectQpm } from "./mod.ts";
import { PlanCapture } from "./plan_capture.ts";
import { StatementTextCache } from "./statement_texts.ts";

await initSqlParser();

const WAITER = `${workloadMarker("lock_waiter")} UPDATE orders SET amount = amount + 1 WHERE id = 1`;

/** One QPM cycle with fresh sessions and caches; returns the snapshot and the issues. */
async function cycle(config: Config): Promise<{ snap: UnifiedMetrics; issues: CollectionIssue[] }> {
  const connections = new ConnectionManager(config);
  const capabilities = new CapabilityCache();
  const issues: CollectionIssue[] = [];
  const snap = emptySnapshot({
    host: config.hostname,
    port: config.port,
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
  try {
    await collectQpm(
      {
        config,
        connections,
        capabilities,
        plans: new PlanCapture(connections, capabilities, config.explain),
        texts: new StatementTextCache(),
        report: (i) => issues.push(i),
      },
      snap,
      ["shop"],
    );
  } finally {
    await connections.close();
  }
  return { snap, issues };
}

const errors = (issues: CollectionIssue[]) => issues.filter((i) => i.severity === "error");

Deno.test("collectQpm on PostgreSQL 15", async (t) => {
  await using cluster = await startCluster({ name: "qpmmod", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await setupWorkloadSchema(cluster, "shop");
  await cluster.createRole("monitor", "pw-monitor", { grants: ["pg_read_all_stats"] });
  await cluster.createRole("plain", "pw-plain");
  await cluster.sql("shop").unsafe("GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA public TO monitor, plain");
  await runSlowStatements(cluster, "shop", { count: 2 });
  await cluster.sql("shop").unsafe(WAITER);
  const config = (username: string, password: string, over: Partial<Config> = {}): Config => ({
    ...defaultConfig(),
    username,
    password,
    hostname: cluster.host,
    port: String(cluster.port),
    enableQueryMonitoring: true,
    activitySampling: { samples: 3, intervalMs: 100 },
    ...over,
  });
  const monitor = config("monitor", "pw-monitor");
  const lock = await holdRowLock(cluster, "shop");
  try {
    await t.step("every collector delivers; the missing pg_wait_sampling is a warning", async () => {
      const { snap, issues } = await cycle(monitor);
      assert.deepEqual(errors(issues), []);
      assert.deepEqual(issues.filter((i) => i.severity === "warning").map((i) => i.cause), [
        "no_pg_wait_sampling",
      ]);
      assert.ok(snap.slowQueries.some((s) => s.queryText.includes("pgql_workload:aggregate_by_customer")));
      const blocked = snap.blockingSessions.find((b) => b.blockedPid === lock.blockedPid);
      assert.equal(blocked?.blockingPid, lock.blockingPid);
      const wait = snap.waitEvents.find((w) => w.waitEventName.startsWith("Lock:"));
      assert.ok(wait?.queryText.includes("lock_waiter"), JSON.stringify(snap.waitEvents));
      const iq = snap.individualQueries.find((i) => i.rawText === WAITER);
      assert.ok(iq, JSON.stringify(snap.individualQueries));
      assert.notEqual(iq.planId, "");
      assert.ok(
        snap.executionPlans.some((p) =>
          p.planId === iq.planId && p.queryId === iq.queryId && p.levelId === 0
        ),
      );
    });

    await t.step("a collector that fails reports an error while the others still deliver", async () => {
      await cluster.sql().unsafe("REVOKE EXECUTE ON FUNCTION pg_blocking_pids(integer) FROM PUBLIC");
      try {
        const { snap, issues } = await cycle(monitor);
        const failed = errors(issues);
        assert.equal(failed.length, 1, JSON.stringify(issues));
        assert.equal(failed[0].component, "qpm.blocking_sessions");
        assert.match(failed[0].message, /permission denied for function pg_blocking_pids/);
        assert.deepEqual(snap.blockingSessions, []);
        assert.ok(snap.slowQueries.length > 0);
        assert.ok(snap.waitEvents.some((w) => w.waitEventName.startsWith("Lock:")));
        assert.ok(snap.individualQueries.some((i) => i.rawText === WAITER));
      } finally {
        await cluster.sql().unsafe("GRANT EXECUTE ON FUNCTION pg_blocking_pids(integer) TO PUBLIC");
      }
    });

    await t.step("a role without pg_read_all_stats gets one warning naming the grant", async () => {
      const { issues } = await cycle(config("plain", "pw-plain"));
      assert.deepEqual(errors(issues), []);
      const w = issues.find((i) => i.cause === "no_pg_read_all_stats");
      assert.match(w?.message ?? "", /GRANT pg_read_all_stats TO "plain"/);
    });

    await t.step("IS_RDS: only slow queries seen running, one individual row each", async () => {
      const { snap, issues } = await cycle({ ...monitor, isRds: true });
      assert.deepEqual(errors(issues), []);
      const ids = snap.slowQueries.map((s) => s.queryId);
      assert.ok(snap.slowQueries.some((s) => s.queryText.includes("lock_waiter")), JSON.stringify(ids));
      assert.ok(!snap.slowQueries.some((s) => s.queryText.includes("aggregate_by_customer")));
      assert.deepEqual(snap.individualQueries.map((i) => i.queryId).sort(), [...ids].sort());
      assert.ok(snap.waitEvents.every((w) => ids.includes(w.queryId)));
    });

    await t.step("count threshold 0: no rows and no errors", async () => {
      const { snap, issues } = await cycle({ ...monitor, queryMonitoringCountThreshold: 0 });
      assert.deepEqual(errors(issues), []);
      assert.deepEqual(
        [
          snap.slowQueries,
          snap.blockingSessions,
          snap.waitEvents,
          snap.individualQueries,
          snap.executionPlans,
        ],
        [[], [], [], [], []],
      );
    });
  } finally {
    await lock.release();
  }
});
