import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { matrixServers } from "../../../tests/support/servers.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../../core/model.ts";
import { CapabilityCache, probeCapabilities } from "../../query_engine/capabilities.ts";
import type { ConnectionManager } from "../../query_engine/connection.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { StatementTextCache } from "../qpm/statement_texts.ts";
import { PlanCapture } from "./capture.ts";
import { planKey } from "./dictionary.ts";
import { PlanTracker } from "./mod.ts";
import { planStateName } from "./store.ts";

await initSqlParser();

const QUERY = "SELECT count(*) FROM items WHERE x = $1";

/** A tracker and what it runs on, as the collector keeps them across cycles. */
interface Rig {
  tracker: PlanTracker;
  capture: PlanCapture;
  conns: ConnectionManager;
}

function rig(cluster: Cluster, config: Config): Rig {
  const conns = clusterConnections(cluster);
  const capture = new PlanCapture(conns, new CapabilityCache(), config.explain);
  return {
    tracker: new PlanTracker({ config, plans: capture, texts: new StatementTextCache() }),
    capture,
    conns,
  };
}

/** One cycle of `r`: the EXPLAIN budget is reset as QPM does, then plans are tracked. */
async function cycle(r: Rig): Promise<{ snap: UnifiedMetrics; issues: CollectionIssue[] }> {
  const snap = emptySnapshot({
    host: "h",
    port: "1",
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
  const issues: CollectionIssue[] = [];
  const sql = r.conns.sql("postgres");
  r.capture.beginCycle();
  await r.tracker.collect({
    sql,
    caps: await probeCapabilities(sql),
    databases: ["shop"],
    report: (i) => issues.push(i),
  }, snap);
  return { snap, issues };
}

async function setup(cluster: Cluster): Promise<void> {
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await cluster.sql("shop").unsafe(`CREATE TABLE items (id int PRIMARY KEY, x int NOT NULL, pad text);
    INSERT INTO items SELECT g, g % 1000, repeat('p', 40) FROM generate_series(1, 300000) g;
    CREATE INDEX items_x_idx ON items (x); ANALYZE items;`);
}

async function runQuery(cluster: Cluster, times: number): Promise<void> {
  const app = cluster.sql("shop");
  for (let i = 0; i < times; i++) await app.unsafe(QUERY, [i % 1000]);
}

Deno.test("a slower plan after DROP INDEX is found within the cache TTL and judged once; a restart knows both plans", async () => {
  await using cluster = await startCluster({ name: "plantrack", preload: ["pg_stat_statements"] });
  await setup(cluster);
  const tempDir = await Deno.makeTempDir();
  const config: Config = { ...defaultConfig(), tempDir, hostname: "h", port: "1" };
  let first: Rig | undefined = rig(cluster, config);
  try {
    await runQuery(cluster, 30);
    const one = await cycle(first);
    assert.deepEqual(one.issues.filter((i) => i.severity !== "debug"), []);
    assert.deepEqual(one.snap.planChanges, []);
    const tracked = one.snap.planDictionary?.find((e) => e.current && e.executionCount === 30);
    assert.ok(tracked, JSON.stringify(one.snap.planDictionary));
    assert.equal(tracked.databaseName, "shop");
    assert.ok(tracked.totalCost! > 0 && tracked.nodeCount! >= 1);
    assert.ok((await Deno.stat(join(tempDir, planStateName("h", "1")))).isFile, "saved after the cycle");

    await cluster.sql("shop").unsafe("DROP INDEX items_x_idx");
    await runQuery(cluster, 8);
    const explains = first.capture.explains;
    const two = await cycle(first);
    assert.ok(first.capture.explains > explains, "the slower query is EXPLAINed again despite the cache");
    assert.equal(two.snap.planChanges?.length, 1, JSON.stringify(two.snap.planChanges));
    const change = two.snap.planChanges![0];
    assert.equal(change.queryId, tracked.queryId);
    assert.equal(change.previousPlanId, tracked.planId);
    assert.notEqual(change.planId, tracked.planId);
    assert.equal(change.executionsBefore, 30);
    assert.equal(change.executionsAfter, 8);
    assert.equal(change.isRegression, true, JSON.stringify(change));
    assert.ok(change.avgDurationAfterMs! >= 1.5 * change.avgDurationBeforeMs!);
    assert.ok(change.totalCost! > change.previousTotalCost!, "a sequential scan costs more");

    await runQuery(cluster, 3);
    assert.deepEqual((await cycle(first)).snap.planChanges, [], "the same plan again: nothing new");
    await first.conns.close();
    first = undefined;

    const restarted = rig(cluster, config);
    try {
      const three = await cycle(restarted);
      assert.deepEqual(three.snap.planChanges, []);
      const dict = restarted.tracker.dictionary!;
      const old = dict.plans.get(planKey("shop", change.queryId, change.previousPlanId));
      const now = dict.plans.get(planKey("shop", change.queryId, change.planId));
      assert.equal(old?.executionCount, 30);
      assert.equal(now?.executionCount, 11);
    } finally {
      await restarted.conns.close();
    }
  } finally {
    await first?.conns.close();
    await Deno.remove(tempDir, { recursive: true });
  }
});

Deno.test("plan_top_queries = 0 turns tracking off; without pg_stat_statements nothing is tracked", async () => {
  await using cluster = await startCluster({ name: "plantrack0" });
  const tempDir = await Deno.makeTempDir();
  try {
    const off = rig(cluster, {
      ...defaultConfig(),
      tempDir,
      plans: { ...defaultConfig().plans, topQueries: 0 },
    });
    const on = rig(cluster, { ...defaultConfig(), tempDir });
    try {
      assert.equal(off.tracker.enabled(), false);
      const a = await cycle(off);
      assert.equal(a.snap.planChanges, undefined);
      assert.deepEqual(a.issues, []);
      const b = await cycle(on);
      assert.equal(b.snap.planChanges, undefined);
      assert.deepEqual(b.issues.map((i) => [i.cause, i.severity]), [["no_pg_stat_statements", "debug"]]);
      assert.deepEqual([...Deno.readDirSync(tempDir)], [], "no dictionary file");
    } finally {
      await off.conns.close();
      await on.conns.close();
    }
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
});

Deno.test("an unusable state directory is an error; the dictionary lives in memory", async () => {
  await using cluster = await startCluster({ name: "plantrack1", preload: ["pg_stat_statements"] });
  await setup(cluster);
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    const r = rig(cluster, { ...defaultConfig(), tempDir: file });
    try {
      await runQuery(cluster, 3);
      const { snap, issues } = await cycle(r);
      const errors = issues.filter((i) => i.severity === "error");
      assert.equal(errors.length, 1);
      assert.match(
        errors[0].message,
        /plan dictionary directory .*file exists but is not a directory: the plan dictionary is kept in memory only/,
      );
      assert.ok((snap.planDictionary ?? []).length > 0, "plans are still tracked");
      assert.ok(r.tracker.dictionary!.plans.size > 0);
    } finally {
      await r.conns.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plan tracking on every server of the matrix: a plan, then one regression after DROP INDEX", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async () => {
      await using cluster = await startCluster({
        name: `plans-${server.id}`,
        server,
        preload: ["pg_stat_statements"],
      });
      await setup(cluster);
      const tempDir = await Deno.makeTempDir();
      const r = rig(cluster, { ...defaultConfig(), tempDir });
      try {
        await runQuery(cluster, 10);
        const one = await cycle(r);
        assert.deepEqual(one.issues.filter((i) => i.severity !== "debug"), [], server.id);
        const plan = one.snap.planDictionary?.find((e) => e.current && e.executionCount === 10);
        assert.ok(plan, `${server.id}: ${JSON.stringify(one.snap.planDictionary)}`);
        await cluster.sql("shop").unsafe("DROP INDEX items_x_idx");
        await runQuery(cluster, 6);
        const two = await cycle(r);
        assert.deepEqual(
          two.snap.planChanges?.map((c) => [c.queryId, c.previousPlanId, c.executionsAfter, c.isRegression]),
          [[plan.queryId, plan.planId, 6, true]],
          server.id,
        );
      } finally {
        await r.conns.close();
        await Deno.remove(tempDir, { recursive: true });
      }
    });
  }
});
