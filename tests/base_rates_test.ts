/**
 * Rates across one-shot runs, as the infrastructure agent runs the collector: the first run
 * publishes 0, and a second process, started after a known workload, publishes per-second rates
 * from the state the first one left in TEMP_DIR.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";

const COMMITS = 200;
const INSERTS = 1000;

function databaseSample(stdout: string, name: string) {
  const sets = metricSetsByType(stdout).get("PostgresqlDatabaseSample") ?? [];
  return Object.assign({}, ...sets.filter((s) => s.displayName === name)) as Record<string, number>;
}

Deno.test("per-second rates from state kept between one-shot runs", async () => {
  await using cluster = await startCluster({ name: "rates" });
  await cluster.createDatabase("shop");
  await cluster.sql("shop").unsafe("CREATE TABLE t (id int)");
  await cluster.createRole("monitor", "pw-rates", { grants: ["pg_monitor"] });
  const tempDir = `/tmp/pgquerylens/test-rates-${crypto.randomUUID()}`;
  const env = {
    ...clusterEnv(cluster, "monitor", "pw-rates"),
    COLLECTION_LIST: '["shop"]',
    TEMP_DIR: tempDir,
  };
  try {
    const t1 = Date.now();
    const first = await runCollectorProcess([], env);
    assert.equal(first.code, 0, first.stderr);
    assertValidDocuments(first.stdout);
    const s1 = databaseSample(first.stdout, "shop");
    assert.equal(s1["db.commitsPerSecond"], 0, "first observation is 0");
    assert.equal(s1["db.rowsInsertedPerSecond"], 0);

    const work = postgres({
      host: cluster.host,
      port: cluster.port,
      username: "postgres",
      password: cluster.password,
      database: "shop",
      max: 1,
    });
    for (let i = 0; i < COMMITS; i++) {
      await work.unsafe("INSERT INTO t SELECT g FROM generate_series(1, $1) g", [INSERTS / COMMITS]);
    }
    await work.end();
    await new Promise((r) => setTimeout(r, 1500));

    const t2 = Date.now();
    const second = await runCollectorProcess([], env);
    assert.equal(second.code, 0, second.stderr);
    assertValidDocuments(second.stdout);
    const s2 = databaseSample(second.stdout, "shop");
    const elapsed = (t2 - t1) / 1000;
    const inserted = s2["db.rowsInsertedPerSecond"] * elapsed;
    assert.ok(
      inserted > INSERTS * 0.75 && inserted < INSERTS * 1.35,
      `rows inserted ≈ ${inserted} (rate ${s2["db.rowsInsertedPerSecond"]}/s over ~${elapsed}s)`,
    );
    const commits = s2["db.commitsPerSecond"] * elapsed;
    assert.ok(commits > COMMITS * 0.75 && commits < COMMITS * 1.5, `commits ≈ ${commits}`);

    const fresh = await runCollectorProcess([], { ...env, TEMP_DIR: `${tempDir}-other` });
    assert.equal(databaseSample(fresh.stdout, "shop")["db.commitsPerSecond"], 0, "no state, no rate");
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    await Deno.remove(`${tempDir}-other`, { recursive: true }).catch(() => {});
  }
});
