import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { restartServer } from "./pg_server.ts";
import { initPgbench } from "./pgbench.ts";
import { measureSelfTiming, readSelfTiming } from "./self_timing.ts";

Deno.test("measureSelfTiming reads what pg_querylens's hooks cost per prepared statement", async () => {
  await using cluster = await startCluster({
    name: "bench-selftiming",
    preload: ["pg_querylens"],
    settings: { "pg_querylens.sample_period": "0" },
  });
  await initPgbench(cluster, "postgres", 1);
  await cluster.createExtension("postgres", "pg_querylens");
  const sql = cluster.sql();
  try {
    const st = await measureSelfTiming(sql, { executions: 2000, scale: 1, batch: 100 });
    assert.equal(st.executions, 2000);
    assert.ok(st.hooks.length > 0);
    assert.ok(st.hooks.some((h) => h.calls >= 2000), JSON.stringify(st.hooks));
    for (const h of st.hooks) {
      assert.ok(h.calls > 0 && h.totalNs > 0, JSON.stringify(h));
      assert.ok(Math.abs(h.meanNs - h.totalNs / h.calls) <= 0.01 * h.meanNs + 1, JSON.stringify(h));
    }
    const total = st.hooks.reduce((s, h) => s + h.totalNs, 0);
    assert.equal(st.nsPerExecution, total / 2000);
    assert.ok(st.nsPerExecution > 0 && st.nsPerExecution < 1_000_000, `${st.nsPerExecution} ns`);

    // A reset starts from nothing: the read right after it counts at most the statements around it.
    await sql`SELECT pg_querylens_self_timing_reset()`;
    const after = await readSelfTiming(sql);
    assert.ok(after.every((h) => h.calls <= 2), JSON.stringify(after));
    await assert.rejects(
      measureSelfTiming(sql, { executions: 0, scale: 1 }),
      /executions must be a positive integer/,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("measureSelfTiming fails when pg_querylens is not loaded", async () => {
  await using cluster = await startCluster({ name: "bench-selftiming-off", preload: ["pg_querylens"] });
  await initPgbench(cluster, "postgres", 1);
  await cluster.createExtension("postgres", "pg_querylens");
  await restartServer(cluster, { shared_preload_libraries: "" });
  const sql = cluster.sql();
  try {
    await assert.rejects(measureSelfTiming(sql, { executions: 100, scale: 1 }), /pg_querylens/);
  } finally {
    await sql.end();
  }
});
