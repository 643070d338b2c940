/**
 * The base integration on every server of the matrix (PostgreSQL 13–18 from the embedded builds and
 * Debian's 15): one one-shot run as a pg_monitor role with COLLECTION_LIST=ALL, lock metrics, a
 * custom query and a custom query file. Every document validates against the base schema (each
 * event type's keys required), each sample kind is there with the version's own metrics, system
 * schemas are left out, and the inventory holds exactly one triple per pg_settings row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, type MetricSet, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { matrixServers } from "./support/servers.ts";

const SCHEMA_SQL = `
CREATE SCHEMA sales;
CREATE TABLE public.orders (id int PRIMARY KEY, customer int, note text);
CREATE INDEX orders_customer ON public.orders (customer);
CREATE TABLE public.audit (at timestamptz, what text);
CREATE TABLE sales.items (sku text PRIMARY KEY, price numeric);
INSERT INTO public.orders SELECT g, g % 10, repeat('x', 50) FROM generate_series(1, 500) g;
INSERT INTO sales.items SELECT 'sku' || g, g FROM generate_series(1, 50) g;
ANALYZE;`;

const CUSTOM_YAML = `queries:
  - query: SELECT count(*) AS orders, 'public' AS schema_label FROM public.orders
    database: shop
    sample_name: ShopOrdersSample
  - query: SELECT 1 AS one
`;

/** Every metric set of `type` whose `key` equals `value`. */
function setsWhere(sets: Map<string, MetricSet[]>, type: string, key: string, value: string): MetricSet[] {
  return (sets.get(type) ?? []).filter((s) => s[key] === value);
}

Deno.test("base integration on the version matrix", async (t) => {
  const stateDir = `/tmp/pgquerylens/test-base-matrix-${crypto.randomUUID()}`;
  await Deno.mkdir(stateDir, { recursive: true });
  const customFile = join(stateDir, "custom.yml");
  await Deno.writeTextFile(customFile, CUSTOM_YAML);
  try {
    for (const server of matrixServers()) {
      await t.step(server.id, async () => {
        await using cluster = await startCluster({ name: `base-${server.id}`, server });
        await cluster.createDatabase("shop");
        await cluster.sql("shop").unsafe(SCHEMA_SQL);
        await cluster.createRole("monitor", "pw-monitor", { grants: ["pg_monitor"] });
        // pg_stats shows a table's column statistics only to roles that may read it: the bloat estimate needs them.
        await cluster.sql("shop").unsafe("GRANT SELECT ON ALL TABLES IN SCHEMA public, sales TO monitor");
        const run = await runCollectorProcess([], {
          ...clusterEnv(cluster, "monitor", "pw-monitor"),
          COLLECTION_LIST: "ALL",
          COLLECT_DB_LOCK_METRICS: "true",
          CUSTOM_METRICS_QUERY:
            "SELECT 'orders_total' AS metric_name, 'gauge' AS metric_type, count(*) AS metric_value, 'x' AS label FROM pg_database",
          CUSTOM_METRICS_CONFIG: customFile,
          TEMP_DIR: stateDir,
        });
        assert.equal(run.code, 0, run.stderr);
        const docs = assertValidDocuments(run.stdout);
        assert.ok(docs.every((d) => d.schema === "base.schema.json"), "QPM is off: base documents only");
        assert.doesNotMatch(run.stderr, /"level":"error"/, run.stderr);
        const sets = metricSetsByType(run.stdout);

        const [instance] = sets.get("PostgresqlInstanceSample") ?? [];
        assert.ok(instance, `${server.id}: no instance sample`);
        const since17 = cluster.major >= 17;
        assert.equal("checkpointer.checkpointsScheduledPerSecond" in instance, since17);
        assert.equal("io.buffersWrittenByBackendPerSecond" in instance, since17);
        assert.equal("bgwriter.checkpointsScheduledPerSecond" in instance, !since17);

        for (const db of ["postgres", "shop"]) {
          assert.equal(
            setsWhere(sets, "PostgresqlDatabaseSample", "displayName", db).length,
            3,
            `${db}: 3 sets`,
          );
        }

        const tables = sets.get("PostgresqlTableSample") ?? [];
        assert.deepEqual(
          [...new Set(tables.map((s) => `${s.database}.${s.schema}.${s.displayName}`))].sort(),
          ["shop.public.audit", "shop.public.orders", "shop.sales.items"],
          "user tables of every database, no system schema",
        );
        const orders = tables.filter((s) => s.displayName === "orders");
        assert.equal(orders.length, 2, "bloat and stats");
        assert.ok("table.bloatRatio" in orders[0] && "table.liveRows" in orders[1], "bloat first");
        const indexes = sets.get("PostgresqlIndexSample") ?? [];
        assert.deepEqual(
          indexes.map((s) => `${s.schema}.${s.table}.${s.displayName}`).sort(),
          ["public.orders.orders_customer", "public.orders.orders_pkey", "sales.items.items_pkey"],
        );

        const [custom] = sets.get("PgCustomQuerySample") ?? [];
        assert.equal(custom?.label, "x");
        assert.equal(typeof custom?.orders_total, "number");
        const [shopOrders] = sets.get("ShopOrdersSample") ?? [];
        assert.deepEqual(shopOrders, {
          event_type: "ShopOrdersSample",
          database: "shop",
          orders: 500,
          schema_label: "public",
        });
        assert.equal(sets.get("PostgresqlCustomSample")?.[0]?.one, 1);

        const inventory = docs.flatMap((d) =>
          (d.doc as { data: { inventory: Record<string, unknown> }[] }).data.map((i) => i.inventory)
        ).reduce((all, inv) => ({ ...all, ...inv }), {});
        const names = await cluster.sql().begin(async (tx) => {
          await tx.unsafe("SET LOCAL ROLE monitor");
          return (await tx.unsafe("SELECT name FROM pg_settings")).map((r) => r.name as string);
        });
        assert.ok(names.length > 250, `${names.length} settings`);
        const expected = names.flatMap((n) => [`${n}/setting`, `${n}/boot_val`, `${n}/reset_val`]).sort();
        assert.deepEqual(Object.keys(inventory).sort(), expected);
      });
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
