import assert from "node:assert/strict";
import { defaultConfig } from "../config/defaults.ts";
import { type Cluster, startCluster } from "../../tests/support/cluster.ts";
import { serverById } from "../../tests/support/servers.ts";
import { backendPid, CapabilityCache, probeCapabilities } from "./capabilities.ts";
import { ConnectionManager } from "./connection.ts";

function manager(cluster: Cluster, username = "postgres", password = cluster.password): ConnectionManager {
  return new ConnectionManager({
    ...defaultConfig(),
    username,
    password,
    hostname: cluster.host,
    port: String(cluster.port),
  });
}

/** What the server itself says, read on an independent superuser session. */
async function serverFacts(cluster: Cluster) {
  const [r] = await cluster.sql()`SELECT current_setting('server_version') AS sv,
    current_setting('server_version_num')::int AS num`;
  return { sv: r.sv as string, num: r.num as number };
}

Deno.test("probeCapabilities on PostgreSQL 15: roles, extensions, settings", async (t) => {
  await using cluster = await startCluster({
    name: "caps15",
    preload: ["pg_stat_statements"],
    settings: { track_activity_query_size: "3kB" },
  });
  const pgssVersion = await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("bare");
  await cluster.createDatabase("elsewhere");
  await cluster.sql("elsewhere").unsafe(
    'CREATE SCHEMA "odd ""stats"""; CREATE EXTENSION pg_stat_statements SCHEMA "odd ""stats"""',
  );
  await cluster.createRole("plain", "pw-plain");
  await cluster.createRole("reader", "pw-reader", { grants: ["pg_read_all_stats"] });
  const facts = await serverFacts(cluster);
  const cm = manager(cluster);
  try {
    await t.step("superuser with pg_stat_statements created", async () => {
      const caps = await probeCapabilities(cm.sql("postgres"));
      assert.equal(caps.serverVersion, facts.sv);
      assert.equal(caps.version.num, facts.num);
      assert.equal(caps.version.major, Math.floor(facts.num / 10000));
      assert.equal(caps.version.minor, facts.num % 10000);
      assert.equal(caps.superuser, true);
      assert.equal(caps.readAllStats, true);
      assert.equal(caps.role, "postgres");
      assert.deepEqual(caps.preloaded, ["pg_stat_statements"]);
      assert.deepEqual(caps.extensions.get("pg_stat_statements"), { version: pgssVersion, schema: "public" });
      assert.ok(caps.extensions.has("plpgsql"));
      assert.equal(caps.pgssTotalTimeColumn, "total_exec_time");
      assert.equal(caps.computeQueryId, "on");
      assert.equal(caps.activityHasQueryId, true);
      assert.equal(caps.currentSchema, "public");
      assert.equal(caps.trackActivityQuerySize, 3072);
      assert.equal(caps.backendPid, await backendPid(cm.sql("postgres")));
    });

    await t.step("without pg_stat_statements created in the database", async () => {
      const caps = await probeCapabilities(cm.sql("bare"));
      assert.equal(caps.extensions.has("pg_stat_statements"), false);
      assert.deepEqual(caps.preloaded, ["pg_stat_statements"], "preloading is server-wide");
    });

    await t.step("extension schema is read from the catalog, however it is spelled", async () => {
      const caps = await probeCapabilities(cm.sql("elsewhere"));
      assert.equal(caps.extensions.get("pg_stat_statements")?.schema, 'odd "stats"');
      assert.equal(caps.pgssTotalTimeColumn, "total_exec_time");
    });

    await t.step("plain role: no error, no stats privilege, preload list unknown", async () => {
      const plain = manager(cluster, "plain", "pw-plain");
      try {
        const caps = await probeCapabilities(plain.sql("postgres"));
        assert.equal(caps.role, "plain");
        assert.equal(caps.superuser, false);
        assert.equal(caps.readAllStats, false);
        assert.equal(caps.preloaded, undefined);
        assert.equal(caps.version.num, facts.num);
        assert.equal(caps.extensions.get("pg_stat_statements")?.schema, "public");
      } finally {
        await plain.close();
      }
    });

    await t.step("member of pg_read_all_stats reads all stats without being superuser", async () => {
      const reader = manager(cluster, "reader", "pw-reader");
      try {
        const caps = await probeCapabilities(reader.sql("postgres"));
        assert.equal(caps.superuser, false);
        assert.equal(caps.readAllStats, true);
      } finally {
        await reader.close();
      }
    });

    await t.step("CapabilityCache re-probes only after a reconnect", async () => {
      const cache = new CapabilityCache();
      const sql = cm.sql("postgres", "cache");
      const first = await cache.get("postgres", sql);
      assert.equal(first.reprobed, true);
      await cluster.sql().unsafe("CREATE EXTENSION IF NOT EXISTS pg_trgm");
      const second = await cache.get("postgres", sql);
      assert.equal(second.reprobed, false);
      assert.equal(second.caps, first.caps);
      assert.equal(second.caps.extensions.has("pg_trgm"), false, "same session: cached capabilities");

      const other = await cache.get("bare", cm.sql("bare", "cache"));
      assert.equal(other.reprobed, true, "each database has its own entry");
      assert.equal(other.caps.extensions.has("pg_stat_statements"), false);

      const admin = cluster.sql();
      await admin`SELECT pg_terminate_backend(${first.caps.backendPid})`;
      for (
        let i = 0;
        (await admin`SELECT 1 FROM pg_stat_activity WHERE pid = ${first.caps.backendPid}`).length;
        i++
      ) {
        assert.ok(i < 100, "backend did not go away");
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      const third = await cache.get("postgres", sql);
      assert.equal(third.reprobed, true);
      assert.notEqual(third.caps.backendPid, first.caps.backendPid);
      assert.equal(third.caps.extensions.has("pg_trgm"), true, "the re-probe sees the new extension");
      assert.equal((await cache.get("postgres", sql)).reprobed, false);
    });
  } finally {
    await cm.close();
  }
});

Deno.test("probeCapabilities on PostgreSQL 13: no query ids in pg_stat_activity", async () => {
  await using cluster = await startCluster({
    name: "caps13",
    server: serverById("pg13"),
    preload: ["pg_stat_statements"],
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  const facts = await serverFacts(cluster);
  const cm = manager(cluster);
  try {
    const caps = await probeCapabilities(cm.sql("postgres"));
    assert.equal(caps.version.major, 13);
    assert.equal(caps.version.num, facts.num);
    assert.equal(caps.serverVersion, facts.sv);
    assert.equal(caps.computeQueryId, undefined);
    assert.equal(caps.activityHasQueryId, false);
    assert.equal(caps.pgssTotalTimeColumn, "total_exec_time");
    assert.deepEqual(caps.preloaded, ["pg_stat_statements"]);
  } finally {
    await cm.close();
  }
});

Deno.test("capabilities are probed again once they are older than the maximum age", async () => {
  await using cluster = await startCluster({ name: "capsage", preload: ["pg_stat_statements"] });
  const sql = cluster.sql();
  const cache = new CapabilityCache(60_000);
  const t0 = Date.now();
  const first = await cache.get("postgres", sql, t0);
  assert.equal(first.caps.extensions.has("pg_stat_statements"), false);
  await cluster.createExtension("postgres", "pg_stat_statements");
  const young = await cache.get("postgres", sql, t0 + 1_000);
  assert.equal(young.reprobed, false);
  assert.equal(young.caps.extensions.has("pg_stat_statements"), false);
  const old = await cache.get("postgres", sql, t0 + 61_000);
  assert.equal(old.reprobed, true);
  assert.equal(old.caps.extensions.has("pg_stat_statements"), true);
});
