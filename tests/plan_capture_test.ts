/**
 * Plan capture never executes what it explains and never runs a second statement, whatever text it
 * is given; parameterized texts get a generic plan on every supported path.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { clusterConnections } from "./support/qpm.ts";
import { matrixServers } from "./support/servers.ts";
import { CapabilityCache } from "../src/query_engine/capabilities.ts";
import { initSqlParser } from "../src/query_engine/sql_text.ts";
import { PlanCapture, runExplain } from "../src/collectors/qpm/plan_capture.ts";

await initSqlParser();

const HOSTILE = [
  "select 1; drop table t",
  "drop table t",
  "select * from t; delete from t",
  "delete from t; select 1",
  "truncate t",
  "select 1 /* ; drop table t */; drop table t",
  "do $$ begin execute 'drop table t'; end $$",
  "select * into t_copy from t",
  "copy t to stdout",
  "with d as (delete from t returning *) select 1; drop table t",
];

Deno.test("hostile texts are refused or explained without effect", async () => {
  await using cluster = await startCluster({ name: "plancap" });
  const admin = cluster.sql();
  await admin.unsafe(`CREATE TABLE t (id int primary key, v text);
    INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;
    CREATE TABLE side_effects (n int);
    CREATE FUNCTION bump() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO side_effects VALUES (1) RETURNING 1';`);
  const conns = clusterConnections(cluster);
  const capture = new PlanCapture(conns, new CapabilityCache(), {
    timeoutMs: 2000,
    maxPerCycle: 100,
    cacheTtlSeconds: 60,
  });
  capture.beginCycle();
  try {
    for (const text of HOSTILE) {
      const r = await capture.planFor("postgres", text);
      assert.equal(r.ok, false, `must refuse: ${text}`);
    }
    for (
      const text of [
        "delete from t",
        "update t set v = 'x'",
        "insert into t values (1000, 'n')",
        "select bump() from t",
      ]
    ) {
      const r = await capture.planFor("postgres", text);
      assert.ok(r.ok, `${text}: ${!r.ok && r.reason}`);
    }
    const [{ n }] = await admin`SELECT count(*)::int AS n FROM t`;
    assert.equal(n, 100);
    const [{ v }] = await admin`SELECT count(*)::int AS v FROM t WHERE v = 'x'`;
    assert.equal(v, 0);
    const [{ s }] = await admin`SELECT count(*)::int AS s FROM side_effects`;
    assert.equal(s, 0);
  } finally {
    await conns.close();
  }
});

Deno.test("the extended protocol refuses a second statement even past the parser check", async () => {
  await using cluster = await startCluster({ name: "plancap2" });
  const admin = cluster.sql();
  await admin.unsafe("CREATE TABLE t (id int)");
  const conns = clusterConnections(cluster);
  try {
    await assert.rejects(
      () => runExplain(conns.sql("postgres"), "select 1; drop table t", 0, 15, 2000),
      /multiple commands|cannot insert/,
    );
    const [{ ok }] = await admin`SELECT to_regclass('t') IS NOT NULL AS ok`;
    assert.equal(ok, true);
  } finally {
    await conns.close();
  }
});

Deno.test("parameterized texts get a generic plan on every server of the matrix", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async () => {
      await using cluster = await startCluster({ name: `generic-${server.id}`, server });
      await cluster.sql().unsafe(`CREATE TABLE t (id int primary key, v text);
        INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1000) g; ANALYZE t;`);
      const conns = clusterConnections(cluster);
      const capture = new PlanCapture(conns, new CapabilityCache(), {
        timeoutMs: 2000,
        maxPerCycle: 10,
        cacheTtlSeconds: 60,
      });
      capture.beginCycle();
      try {
        const r = await capture.planFor("postgres", "SELECT v FROM t WHERE id = $1 AND v <> $2");
        assert.ok(r.ok, !r.ok ? r.reason : "");
        assert.equal(r.root["Node Type"], "Index Scan");
        const again = await capture.planFor("postgres", "SELECT v FROM t WHERE id = 7 AND v <> 'z'");
        assert.ok(again.ok && again.planId === r.planId, "literal and generic forms share the plan shape");
        const [{ n }] = await conns.sql("postgres").unsafe(
          "SELECT count(*)::int AS n FROM pg_prepared_statements",
        );
        assert.equal(n, 0);
      } finally {
        await conns.close();
      }
    });
  }
});

Deno.test("failures are cached and the per-cycle budget is enforced", async () => {
  await using cluster = await startCluster({ name: "plancap3" });
  const conns = clusterConnections(cluster);
  const capture = new PlanCapture(conns, new CapabilityCache(), {
    timeoutMs: 2000,
    maxPerCycle: 2,
    cacheTtlSeconds: 60,
  });
  capture.beginCycle();
  try {
    const a = await capture.planFor("postgres", "select * from missing_table");
    assert.equal(a.ok, false);
    const explainsAfterFirst = capture.explains;
    const b = await capture.planFor("postgres", "select * from missing_table");
    assert.equal(b.ok, false);
    assert.equal(capture.explains, explainsAfterFirst, "a cached failure is not retried");
    await capture.planFor("postgres", "select 1");
    const c = await capture.planFor("postgres", "select 2");
    assert.equal(c.ok, false);
    assert.equal(capture.overBudget, 1);
  } finally {
    await conns.close();
  }
});
