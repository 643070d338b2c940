/**
 * A role without pg_read_all_stats, on a server without pg_wait_sampling: one clear warning per
 * missing capability over several cycles (not one per cycle), and the data the role can see —
 * its own statements — still flows.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, metricSetsByType, runCollectorFor } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { setupWorkloadSchema } from "./support/workload.ts";

Deno.test("missing capabilities are reported once each and other data flows", async () => {
  await using cluster = await startCluster({ name: "qpmpriv", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await setupWorkloadSchema(cluster, "shop");
  await cluster.createRole("plain", "pw-plain");
  await cluster.sql("shop").unsafe("GRANT SELECT ON orders TO plain");
  const own = postgres({
    host: cluster.host,
    port: cluster.port,
    username: "plain",
    password: "pw-plain",
    database: "shop",
  });
  try {
    for (let i = 0; i < 3; i++) {
      await own.unsafe(
        `/* plain_role_statement */ SELECT count(*) FROM orders CROSS JOIN pg_sleep(0.01) WHERE amount > ${i}`,
      );
    }
  } finally {
    await own.end();
  }
  const run = await runCollectorFor(["-interval=1"], {
    ...clusterEnv(cluster, "plain", "pw-plain"),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["shop"]',
  }, 4_500);
  assert.equal(run.code, 0, `clean exit on SIGTERM\n${run.stderr}`);
  const docs = assertValidDocuments(run.stdout);
  const slow = metricSetsByType(run.stdout).get("PostgresSlowQueries") ?? [];
  const cycles = new Set(slow.map((s) => s.collection_timestamp)).size;
  assert.ok(cycles >= 2, `expected several cycles, got ${cycles} (${docs.length} documents)`);
  assert.ok(slow.some((s) => String(s.query_text).includes("plain_role_statement")), JSON.stringify(slow));
  const lines = run.stderr.split("\n");
  const readAll = lines.filter((l) => l.includes("pg_read_all_stats"));
  assert.equal(readAll.length, 1, run.stderr);
  assert.match(readAll[0], /^\[WARN\] .*role "plain" is not a member of pg_read_all_stats/);
  assert.equal(lines.filter((l) => l.includes("pg_wait_sampling")).length, 1, run.stderr);
  assert.ok(!run.stderr.includes("pw-plain"), "the password never appears in logs");
});
