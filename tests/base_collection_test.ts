/**
 * COLLECTION_LIST end to end, on Debian's PostgreSQL 15 through the collector process: the three
 * forms with both ignore lists, system schemas only on request, and a database the role cannot
 * connect to costing only its own table and index samples.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster } from "./support/cluster.ts";
import { clusterEnv, type MetricSet, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";

/** `database.schema.table` of every table sample (once per table). */
function tablesOf(sets: Map<string, MetricSet[]>): string[] {
  return [
    ...new Set(
      (sets.get("PostgresqlTableSample") ?? []).map((s) => `${s.database}.${s.schema}.${s.displayName}`),
    ),
  ]
    .sort();
}

/** `database.schema.table.index` of every index sample. */
function indexesOf(sets: Map<string, MetricSet[]>): string[] {
  return (sets.get("PostgresqlIndexSample") ?? []).map((s) =>
    `${s.database}.${s.schema}.${s.table}.${s.displayName}`
  )
    .sort();
}

/** Database names of the database samples (once each). */
function databasesOf(sets: Map<string, MetricSet[]>): string[] {
  return [...new Set((sets.get("PostgresqlDatabaseSample") ?? []).map((s) => String(s.displayName)))].sort();
}

async function prepare(cluster: Cluster): Promise<void> {
  for (const db of ["shop", "archive", "locked"]) {
    await cluster.createDatabase(db);
    await cluster.sql(db).unsafe(`
      CREATE TABLE orders (id int PRIMARY KEY, customer int);
      CREATE INDEX orders_customer ON orders (customer);
      CREATE TABLE audit_log (at timestamptz);
      INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;`);
  }
  await cluster.createRole("monitor", "pw-monitor", { grants: ["pg_monitor"] });
  await cluster.sql().unsafe("REVOKE CONNECT ON DATABASE locked FROM PUBLIC");
}

Deno.test("COLLECTION_LIST forms, ignore lists, system schemas and an unreachable database", async (t) => {
  await using cluster = await startCluster({ name: "collection" });
  await prepare(cluster);
  const stateDir = `/tmp/pgquerylens/test-collection-${crypto.randomUUID()}`;
  const run = async (env: Record<string, string>) => {
    const out = await runCollectorProcess(["-metrics"], {
      ...clusterEnv(cluster, "monitor", "pw-monitor"),
      TEMP_DIR: stateDir,
      ...env,
    });
    assert.equal(out.code, 0, out.stderr);
    assertValidDocuments(out.stdout);
    return { ...out, sets: metricSetsByType(out.stdout) };
  };
  try {
    await t.step("ALL with both ignore lists: the unreachable database costs only its tables", async () => {
      const out = await run({
        COLLECTION_LIST: "ALL",
        COLLECTION_IGNORE_DATABASE_LIST: '["archive"]',
        COLLECTION_IGNORE_TABLE_LIST: '["audit_log"]',
      });
      assert.deepEqual(databasesOf(out.sets), ["locked", "postgres", "shop"]);
      assert.deepEqual(tablesOf(out.sets), ["shop.public.orders"]);
      assert.deepEqual(indexesOf(out.sets), [
        "shop.public.orders.orders_customer",
        "shop.public.orders.orders_pkey",
      ]);
      const warnings = out.stderr.split("\n").filter((l) => l.includes("locked"));
      assert.equal(warnings.length, 1, out.stderr);
      assert.match(warnings[0], /permission denied for database "?locked"?/);
      assert.ok(out.sets.get("PostgresqlInstanceSample")?.length, "the instance is still sampled");
      // pg_monitor may not read the tables, so pg_stats hides their statistics: said once, no bloat sample.
      assert.equal(
        out.stderr.match(/database \\?"shop\\?": no bloat estimate for 1 table\(s\) \(public.orders\)/g)
          ?.length,
        1,
        out.stderr,
      );
      assert.ok((out.sets.get("PostgresqlTableSample") ?? []).every((s) => !("table.bloatRatio" in s)));
    });

    await t.step("a JSON array limits discovery to those databases", async () => {
      const out = await run({ COLLECTION_LIST: '["archive", "shop"]' });
      assert.deepEqual(databasesOf(out.sets), ["archive", "shop"]);
      assert.deepEqual(tablesOf(out.sets), [
        "archive.public.audit_log",
        "archive.public.orders",
        "shop.public.audit_log",
        "shop.public.orders",
      ]);
      assert.equal(out.stderr.includes("locked"), false, out.stderr);
    });

    await t.step("a JSON object is taken literally; only the database ignore list applies", async () => {
      const out = await run({
        COLLECTION_LIST: JSON.stringify({
          shop: { public: { orders: ["orders_pkey"], audit_log: [] } },
          archive: { public: { orders: [] } },
        }),
        COLLECTION_IGNORE_DATABASE_LIST: '["archive"]',
        COLLECTION_IGNORE_TABLE_LIST: '["audit_log"]',
      });
      assert.deepEqual(databasesOf(out.sets), ["shop"]);
      assert.deepEqual(tablesOf(out.sets), ["shop.public.audit_log", "shop.public.orders"]);
      assert.deepEqual(indexesOf(out.sets), ["shop.public.orders.orders_pkey"]);
    });

    await t.step("system schemas only with COLLECT_SYSTEM_SCHEMAS", async () => {
      const out = await run({ COLLECTION_LIST: '["shop"]', COLLECT_SYSTEM_SCHEMAS: "true" });
      const schemas = new Set((out.sets.get("PostgresqlTableSample") ?? []).map((s) => s.schema));
      assert.ok(schemas.has("pg_catalog") && schemas.has("information_schema"), [...schemas].join(","));
      const pgClass = (out.sets.get("PostgresqlTableSample") ?? []).filter((s) =>
        s.displayName === "pg_class"
      );
      assert.ok(pgClass.some((s) => typeof s["table.liveRows"] === "number"), "catalog tables get stats");
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});
