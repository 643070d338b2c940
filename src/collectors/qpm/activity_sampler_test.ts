import assert from "node:assert/strict";
import postgres from "postgres";
import { type Cluster, startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { serverById } from "../../../tests/support/servers.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { initSqlParser } from "../../query_engine/sql_text.ts";
import { linkExecutions, sampleActivity } from "./activity_sampler.ts";

await initSqlParser();

const APP = "pgql-sampler-test";

/** The collector's connections, under the application name {@link APP}. */
const manager = (cluster: Cluster) =>
  clusterConnections(cluster, {
    session: { applicationName: APP, statementTimeoutMs: 5000, lockTimeoutMs: 1000 },
  });

/** Starts `text` on a new session named `app` in `database`; resolves once it has finished. */
function runInBackground(cluster: Cluster, text: string, app = "worker", database = "postgres") {
  const sql = postgres({
    host: cluster.host,
    port: cluster.port,
    username: "postgres",
    password: cluster.password,
    database,
    max: 1,
    connection: { application_name: app },
    onnotice: () => {},
  });
  return sql.unsafe(text).then(() => sql.end(), async (e) => {
    await sql.end();
    throw e;
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("sampleActivity on PostgreSQL 15 sees running statements with their waits", async () => {
  await using cluster = await startCluster({ name: "sampler15", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("other");
  const cm = manager(cluster);
  try {
    const sql = cm.sql("postgres");
    const caps = await probeCapabilities(sql);
    const t0 = Date.now();
    const background = Promise.all([
      runInBackground(cluster, "SELECT pg_sleep(1.5), 'sampled' AS probe"),
      runInBackground(cluster, "SELECT pg_sleep(1.5), 'same app' AS probe", APP),
      runInBackground(cluster, `${MARKER} SELECT pg_sleep(1.5)`),
      runInBackground(cluster, "SELECT pg_sleep(1.5), 'elsewhere' AS probe", "worker", "other"),
    ]);
    await pause(150);
    const activity = await sampleActivity(cm.sql("postgres", "sampler"), caps, ["postgres"], APP, 4, 100);
    const sampledFor = Date.now() - t0;
    await background;
    assert.equal(activity.samples, 4);
    assert.equal(activity.intervalMs, 100);
    assert.equal(activity.executions.length, 1, JSON.stringify(activity.executions.map((e) => e.text)));
    const [e] = activity.executions;
    assert.equal(e.text, "SELECT pg_sleep(1.5), 'sampled' AS probe");
    assert.equal(e.databaseName, "postgres");
    assert.equal(e.samples, 4);
    assert.equal(e.waits.get("Timeout:PgSleep"), 4);
    assert.equal(e.truncated, false);
    assert.ok(e.runningMs >= 250 && e.runningMs <= sampledFor + 50, `${e.runningMs} ms of ${sampledFor}`);
    assert.ok(Math.abs(e.startMs - t0) < 1000, `${e.startMs} vs ${t0}`);
    const [pgss] = await cluster.sql()`SELECT queryid::text AS id FROM pg_stat_statements
      WHERE query LIKE 'SELECT pg_sleep($1), $2 AS probe'`;
    assert.equal(e.queryId, pgss.id);
    assert.equal(
      linkExecutions(activity, [{ queryId: "1", databaseName: "postgres", queryText: "SELECT 1" }]),
      0,
    );
    assert.equal(e.queryId, pgss.id, "linking leaves executions that have an id alone");

    const idle = await sampleActivity(cm.sql("postgres", "sampler"), caps, ["postgres", "other"], APP, 2, 10);
    assert.deepEqual(idle.executions, [], "idle sessions are not executions");
  } finally {
    await cm.close();
  }
});

Deno.test("sampleActivity and linkExecutions on PostgreSQL 13 (no query ids)", async () => {
  await using cluster = await startCluster({
    name: "sampler13",
    server: serverById("pg13"),
    preload: ["pg_stat_statements"],
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  const admin = cluster.sql();
  await admin.unsafe("SELECT pg_sleep(0.01), 'first run' AS link_probe");
  const [known] =
    await admin`SELECT queryid::text AS id, query FROM pg_stat_statements WHERE query LIKE '%link_probe%'`;
  assert.equal(known.query, "SELECT pg_sleep($1), $2 AS link_probe");
  const cm = manager(cluster);
  try {
    const caps = await probeCapabilities(cm.sql("postgres"));
    const long = `SELECT pg_sleep(1.0), '${"x".repeat(caps.trackActivityQuerySize)}' AS link_probe`;
    const background = Promise.all([
      runInBackground(cluster, "SELECT pg_sleep(1.0), 'second run' AS link_probe"),
      runInBackground(cluster, long),
    ]);
    await pause(150);
    const activity = await sampleActivity(cm.sql("postgres", "sampler"), caps, ["postgres"], APP, 2, 100);
    await background;
    assert.equal(activity.executions.length, 2);
    assert.ok(activity.executions.every((e) => e.queryId === undefined));
    const full = activity.executions.find((e) => !e.truncated)!;
    const cut = activity.executions.find((e) => e.truncated)!;
    assert.equal(full.text, "SELECT pg_sleep(1.0), 'second run' AS link_probe");
    assert.ok(cut && long.startsWith(cut.text) && cut.text.length < long.length, "the long text is cut");

    const elsewhere = [{ queryId: known.id, databaseName: "other", queryText: known.query }];
    assert.equal(linkExecutions(activity, elsewhere), 0, "texts match only within a database");
    assert.equal(full.queryId, undefined);
    const linked = linkExecutions(activity, [{
      queryId: known.id,
      databaseName: "postgres",
      queryText: known.query,
    }]);
    assert.equal(linked, 1);
    assert.equal(full.queryId, known.id);
    assert.equal(cut.queryId, undefined, "truncated texts are never linked");
    assert.equal(
      linkExecutions(activity, [{ queryId: "9", databaseName: "postgres", queryText: known.query }]),
      0,
    );
    assert.equal(full.queryId, known.id, "an execution is linked once");
  } finally {
    await cm.close();
  }
});
