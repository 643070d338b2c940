import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { readRecords, startQueryLensCluster } from "../../../tests/support/querylens.ts";
import { CapabilityCache } from "../../query_engine/capabilities.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { planShapeId } from "../qpm/plan_shape.ts";
import { explainKey, PlanCapture } from "./capture.ts";
import { EXPLAIN_PLANID_FUNCTION } from "./link.ts";

await initSqlParser();

const EXPLAIN = { timeoutMs: 2000, maxPerCycle: 10, cacheTtlSeconds: 60 };
const TABLE = `CREATE TABLE items (id int PRIMARY KEY, x int NOT NULL, v text);
  INSERT INTO items SELECT g, g % 50, md5(g::text) FROM generate_series(1, 5000) g;
  CREATE INDEX items_x_idx ON items (x); ANALYZE items;`;
const BY_X = "SELECT id FROM items WHERE x = $1";

Deno.test("without pg_querylens a plan's id is its shape hash", async () => {
  await using cluster = await startCluster({ name: "capshape" });
  await cluster.sql().unsafe(TABLE);
  const conns = clusterConnections(cluster);
  const capture = new PlanCapture(conns, new CapabilityCache(), EXPLAIN);
  capture.beginCycle();
  try {
    const r = await capture.planFor("postgres", BY_X);
    assert.ok(r.ok, !r.ok ? r.reason : "");
    assert.equal(r.linked, false);
    assert.equal(r.planId, r.shapeId);
    assert.equal(r.planId, planShapeId(r.root));
    assert.equal(capture.linkOf("postgres")?.kind, "absent");
    await capture.planFor("postgres", "SELECT v FROM items WHERE id = 3");
    await capture.planFor("postgres", "SELECT v FROM items WHERE id = $1", undefined, true);
    assert.deepEqual(
      capture.takePreparedExplains(),
      new Map([[explainKey("postgres", BY_X), 1], [
        explainKey("postgres", "SELECT v FROM items WHERE id = $1"),
        1,
      ]]),
      "PostgreSQL 15: parameterized texts go through PREPARE + EXPLAIN EXECUTE, literal ones do not",
    );
    assert.deepEqual(capture.takePreparedExplains(), new Map(), "taken once");
  } finally {
    await conns.close();
  }
});

Deno.test("with pg_querylens a captured plan carries the planid its executions carry", async (t) => {
  await using cluster = await startQueryLensCluster({ name: "caplink" });
  const admin = cluster.sql();
  await admin.unsafe(TABLE);
  const app = cluster.sql();
  const [{ pid }] = await app.unsafe("SELECT pg_backend_pid() AS pid");
  await readRecords(admin, "caplink");
  const conns = clusterConnections(cluster);
  const capture = new PlanCapture(conns, new CapabilityCache(), EXPLAIN);
  try {
    await t.step("a parameterized text: the generic plan's planid", async () => {
      await app.unsafe("SET plan_cache_mode = force_generic_plan");
      await app.unsafe(`PREPARE by_x(int) AS ${BY_X}`);
      await app.unsafe("EXECUTE by_x(7)");
      await app.unsafe("DEALLOCATE by_x");
      await app.unsafe("RESET plan_cache_mode");
      const executed = (await readRecords(admin, "caplink", { pid })).filter((r) => r.rows === 100);
      assert.equal(executed.length, 1, "one execution returning 100 rows");
      capture.beginCycle();
      const r = await capture.planFor("postgres", BY_X);
      assert.ok(r.ok, !r.ok ? r.reason : "");
      assert.equal(r.linked, true);
      assert.equal(r.planId, executed[0].planId.toString());
      assert.equal(r.shapeId, planShapeId(r.root));
      assert.notEqual(r.planId, r.shapeId, "the extension's id, not the shape hash");
      assert.deepEqual(capture.linkOf("postgres"), {
        kind: "linked",
        fn: `"public".${EXPLAIN_PLANID_FUNCTION}`,
      });
    });

    await t.step("a literal text: the planid of the literal's execution", async () => {
      await app.unsafe("SELECT v FROM items WHERE id = 42").simple();
      const executed = (await readRecords(admin, "caplink", { pid })).filter((r) => r.rows === 1);
      assert.equal(executed.length, 1);
      const r = await capture.planFor("postgres", "SELECT v FROM items WHERE id = 42");
      assert.ok(r.ok && r.linked);
      assert.equal(r.planId, executed[0].planId.toString());
    });

    await t.step("refresh captures a cached plan again while the budget lasts", async () => {
      capture.beginCycle();
      const explains = capture.explains;
      const cached = await capture.planFor("postgres", BY_X);
      assert.equal(capture.explains, explains, "from the cache");
      await admin.unsafe("DROP INDEX items_x_idx");
      const stale = await capture.planFor("postgres", BY_X);
      assert.ok(stale.ok && cached.ok && stale.planId === cached.planId, "the cache still has the old plan");
      const fresh = await capture.planFor("postgres", BY_X, undefined, true);
      assert.equal(capture.explains, explains + 1);
      assert.ok(fresh.ok && fresh.planId !== cached.planId, "the sequential scan, another planid");
      assert.equal(fresh.ok && fresh.root["Node Type"], "Seq Scan");
      const again = await capture.planFor("postgres", BY_X);
      assert.ok(again.ok && again.planId === fresh.planId, "the new plan replaced the cached one");
      for (let i = capture.explains; i < explains + EXPLAIN.maxPerCycle; i++) {
        await capture.planFor("postgres", `SELECT ${i}`);
      }
      const spent = await capture.planFor("postgres", BY_X, undefined, true);
      assert.ok(spent.ok && spent.planId === fresh.planId, "budget spent: the cached plan, not an error");
    });

    await t.step("a planid function that fails leaves the plan with its shape hash", async () => {
      await admin.unsafe(`ALTER EXTENSION pg_querylens DROP FUNCTION ${EXPLAIN_PLANID_FUNCTION}()`);
      await admin.unsafe(`DROP FUNCTION ${EXPLAIN_PLANID_FUNCTION}()`);
      await admin.unsafe(
        `CREATE FUNCTION ${EXPLAIN_PLANID_FUNCTION}() RETURNS bigint LANGUAGE sql AS 'SELECT 1 / 0'`,
      );
      await admin.unsafe("GRANT EXECUTE ON FUNCTION pg_querylens_explain_planid() TO PUBLIC");
      const fresh = new PlanCapture(conns, new CapabilityCache(), EXPLAIN);
      fresh.beginCycle();
      const r = await fresh.planFor("postgres", "SELECT v FROM items WHERE id = 9");
      assert.ok(r.ok, !r.ok ? r.reason : "");
      assert.equal(r.linked, false);
      assert.equal(r.planId, r.shapeId);
      const link = fresh.linkOf("postgres");
      assert.equal(link?.kind, "failed");
      assert.match(link?.kind === "failed" ? link.reason : "", /division by zero/);
    });
  } finally {
    await conns.close();
  }
});
