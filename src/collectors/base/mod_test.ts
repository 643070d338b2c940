import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { waitUntil } from "../../../tests/support/workload.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { DATABASE_SAMPLE, INSTANCE_SAMPLE } from "../../core/base_catalog.ts";
import {
  type BaseSample,
  type CollectionIssue,
  emptySnapshot,
  type UnifiedMetrics,
} from "../../core/model.ts";
import { INDEX_SAMPLE, TABLE_SAMPLE } from "../../core/relation_catalog.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { ConnectionManager } from "../../query_engine/connection.ts";
import { CUSTOM_QUERY_SAMPLE } from "../custom/metric_query.ts";
import { type CustomQueryDef, DEFAULT_CUSTOM_SAMPLE, parseCustomQueries } from "../custom/config_file.ts";
import { collectBase, publishes } from "./mod.ts";

Deno.test("publishes: everything without SDK flags, otherwise only what is set", () => {
  for (const metrics of [false, true]) {
    for (const inventory of [false, true]) {
      for (const events of [false, true]) {
        const none = !metrics && !inventory && !events;
        assert.deepEqual(
          publishes({ metrics, inventory, events }),
          { metrics: none || metrics, inventory: none || inventory },
          JSON.stringify({ metrics, inventory, events }),
        );
      }
    }
  }
  // Spelled out for the cases nri-postgresql users meet: -metrics, -inventory, -events.
  assert.deepEqual(publishes({ metrics: true, inventory: false, events: false }), {
    metrics: true,
    inventory: false,
  });
  assert.deepEqual(publishes({ metrics: false, inventory: true, events: false }), {
    metrics: false,
    inventory: true,
  });
  assert.deepEqual(publishes({ metrics: false, inventory: false, events: true }), {
    metrics: false,
    inventory: false,
  });
});

/** The event types of `samples` in order, consecutive repeats collapsed. */
function typeBlocks(samples: BaseSample[]): string[] {
  const out: string[] = [];
  for (const s of samples) if (out.at(-1) !== s.eventType) out.push(s.eventType);
  return out;
}

const valueOf = (s: BaseSample, name: string) => s.metrics.find((m) => m.name === name)?.value;
const dbOf = (s: BaseSample) => s.entity.idAttributes.find((a) => a.key === "pg-database")?.value;

/** The CUSTOM_METRICS_CONFIG file of the test: a count in `shop`, then a query on DATABASE. */
const CUSTOM_FILE = `queries:
  - query: SELECT count(*)::int AS order_count, 'shop orders' AS label FROM orders
    database: shop
    sample_name: ShopSample
  - query: SELECT current_database() AS here
`;

/** The custom query (CUSTOM_METRICS_QUERY): one gauge, the number of databases, with a tag column. */
const CUSTOM_QUERY = `SELECT 'databases' AS metric_name, 'gauge' AS metric_type,
  (SELECT count(*) FROM pg_database)::int AS metric_value, 'base' AS tag`;

Deno.test("collectBase against a real server", async (t) => {
  await using cluster = await startCluster({ name: "basemod" });
  for (const db of ["shop", "crm"]) {
    await cluster.createDatabase(db);
    const writer = cluster.sql(db);
    await writer.unsafe(`
      CREATE TABLE orders (id int PRIMARY KEY, amount int);
      INSERT INTO orders SELECT g, g FROM generate_series(1, ${db === "shop" ? 25 : 5}) g;
      ANALYZE orders;`);
    await writer.end(); // a backend that exits flushes its statistics at once
  }
  const shop = cluster.sql("shop");
  await waitUntil("the row counts of shop.orders to reach the statistics", async () => {
    const rows = await shop`SELECT n_live_tup::int AS n FROM pg_stat_user_tables WHERE relname = 'orders'`;
    return rows[0]?.n === 25;
  });
  const base: Config = {
    ...defaultConfig(),
    hostname: cluster.host,
    port: String(cluster.port),
    username: cluster.superuser,
    password: cluster.password,
    collectionList: '["crm", "shop"]',
    collectDbLockMetrics: true,
    customMetricsQuery: CUSTOM_QUERY,
  };
  const customQueries = parseCustomQueries(CUSTOM_FILE, "custom.yml");
  const cm = new ConnectionManager(base);
  const sql = cm.sql(base.database);
  const caps = await probeCapabilities(sql);
  const admin = cluster.sql();
  const [{ n: databaseCount }] = await admin`SELECT count(*)::int AS n FROM pg_database`;
  const [{ n: settingCount }] = await admin`SELECT count(*)::int AS n FROM pg_settings`;
  const [{ max_connections: maxConnections }] = await admin`SHOW max_connections`;

  /** Runs collectBase with `over` applied to the configuration. */
  const collect = async (
    over: Partial<Config> = {},
    queries: readonly CustomQueryDef[] = customQueries,
  ): Promise<{ snap: UnifiedMetrics; issues: CollectionIssue[] }> => {
    const config = { ...base, ...over };
    const snap = emptySnapshot({
      host: config.hostname,
      port: config.port,
      serverVersionNum: caps.version.num,
      majorVersion: caps.version.major,
      serverVersion: caps.serverVersion,
    });
    const issues: CollectionIssue[] = [];
    await collectBase({
      sql,
      caps,
      config,
      databases: ["crm", "shop"],
      connections: cm,
      customQueries: queries,
      report: (i) => issues.push(i),
    }, snap);
    return { snap, issues };
  };

  try {
    await t.step("every part, in nri-postgresql's order, and the inventory", async () => {
      const { snap, issues } = await collect();
      assert.deepEqual(issues, []);
      const samples = snap.baseSamples;
      assert.deepEqual(typeBlocks(samples), [
        INSTANCE_SAMPLE,
        DATABASE_SAMPLE,
        TABLE_SAMPLE,
        INDEX_SAMPLE,
        TABLE_SAMPLE,
        INDEX_SAMPLE,
        CUSTOM_QUERY_SAMPLE,
        "ShopSample",
        DEFAULT_CUSTOM_SAMPLE,
      ]);
      assert.equal(samples[0].entity.name, `${cluster.host}:${cluster.port}`);

      // Three database sets per database with COLLECT_DB_LOCK_METRICS: activity, I/O, locks.
      const dbSamples = samples.filter((s) => s.eventType === DATABASE_SAMPLE);
      assert.deepEqual(dbSamples.map((s) => s.entity.name), ["crm", "crm", "crm", "shop", "shop", "shop"]);
      for (const [i, s] of dbSamples.entries()) {
        assert.equal(valueOf(s, "db.locks.accessShareLock") !== undefined, i % 3 === 2, `set ${i}`);
      }

      const relations = samples.filter((s) => s.eventType === TABLE_SAMPLE || s.eventType === INDEX_SAMPLE);
      assert.deepEqual([...new Set(relations.map(dbOf))], ["crm", "shop"]);
      const shopOrders = relations.filter((s) => dbOf(s) === "shop" && s.eventType === TABLE_SAMPLE);
      assert.deepEqual(shopOrders.map((s) => s.entity.name), ["orders", "orders"], "bloat, then statistics");
      assert.equal(valueOf(shopOrders[1], "table.liveRows"), 25);
      assert.deepEqual(
        relations.filter((s) => s.eventType === INDEX_SAMPLE).map((s) => `${dbOf(s)}.${s.entity.name}`),
        ["crm.orders_pkey", "shop.orders_pkey"],
      );

      const [custom] = samples.filter((s) => s.eventType === CUSTOM_QUERY_SAMPLE);
      assert.equal(valueOf(custom, "databases"), databaseCount);
      assert.equal(valueOf(custom, "tag"), "base");

      const [shop] = samples.filter((s) => s.eventType === "ShopSample");
      assert.deepEqual(shop.metrics, [
        { name: "database", sourceType: "attribute", value: "shop" },
        { name: "order_count", sourceType: "gauge", value: 25 },
        { name: "label", sourceType: "attribute", value: "shop orders" },
      ]);
      const [main] = samples.filter((s) => s.eventType === DEFAULT_CUSTOM_SAMPLE);
      assert.equal(valueOf(main, "here"), base.database);

      assert.ok(snap.inventory, "inventory collected");
      assert.equal(snap.inventory.size, settingCount * 3);
      assert.equal(snap.inventory.get("max_connections/setting"), maxConnections);
    });

    await t.step("-inventory: the inventory and no sample", async () => {
      const { snap, issues } = await collect({ inventory: true });
      assert.deepEqual(snap.baseSamples, []);
      assert.equal(snap.inventory?.size, settingCount * 3);
      assert.deepEqual(issues, []);
    });

    await t.step("-metrics: the samples and no inventory", async () => {
      const { snap } = await collect({ metrics: true });
      assert.equal(snap.inventory, undefined);
      assert.equal(snap.baseSamples[0].eventType, INSTANCE_SAMPLE);
      assert.ok(snap.baseSamples.some((s) => s.eventType === "ShopSample"));
    });

    await t.step("-events: neither samples nor inventory", async () => {
      const { snap } = await collect({ events: true });
      assert.deepEqual(snap.baseSamples, []);
      assert.equal(snap.inventory, undefined);
    });

    await t.step("no collected database: no database sample, the rest still collected", async () => {
      const config = { ...base };
      const snap = emptySnapshot({
        host: "h",
        port: "1",
        serverVersionNum: 0,
        majorVersion: 0,
        serverVersion: "",
      });
      const issues: CollectionIssue[] = [];
      await collectBase(
        {
          sql,
          caps,
          config,
          databases: [],
          connections: cm,
          customQueries: [],
          report: (i) => issues.push(i),
        },
        snap,
      );
      assert.deepEqual(typeBlocks(snap.baseSamples), [INSTANCE_SAMPLE, CUSTOM_QUERY_SAMPLE]);
      assert.ok(snap.inventory);
      assert.deepEqual(issues, []);
    });

    await t.step("broken custom queries are reported; every other part is still collected", async () => {
      const queries = parseCustomQueries(
        `queries:
  - query: SELECT * FROM no_such_table
    database: shop
${CUSTOM_FILE.split("\n").slice(1).join("\n")}`,
        "custom.yml",
      );
      const { snap, issues } = await collect(
        { customMetricsQuery: "SELECT * FROM missing_metrics" },
        queries,
      );
      assert.deepEqual(issues.map((i) => [i.component, i.severity]), [
        ["custom.query", "error"],
        ["custom.config", "error"],
      ]);
      assert.match(issues[0].message, /missing_metrics/);
      assert.match(issues[1].message, /queries\[0\].*no_such_table/);
      assert.deepEqual(typeBlocks(snap.baseSamples), [
        INSTANCE_SAMPLE,
        DATABASE_SAMPLE,
        TABLE_SAMPLE,
        INDEX_SAMPLE,
        TABLE_SAMPLE,
        INDEX_SAMPLE,
        "ShopSample",
        DEFAULT_CUSTOM_SAMPLE,
      ]);
      assert.equal(snap.inventory?.size, settingCount * 3);
    });

    await t.step("a failing part costs only its own samples", async () => {
      // An unparsable collection list fails table and index discovery only.
      const { snap, issues } = await collect({ collectionList: "not a list" });
      assert.deepEqual(issues.map((i) => [i.component, i.severity]), [["base.discovery", "error"]]);
      assert.match(issues[0].message, /collection list/);
      assert.deepEqual(typeBlocks(snap.baseSamples), [
        INSTANCE_SAMPLE,
        DATABASE_SAMPLE,
        CUSTOM_QUERY_SAMPLE,
        "ShopSample",
        DEFAULT_CUSTOM_SAMPLE,
      ]);
      assert.ok(snap.inventory);
    });
  } finally {
    await cm.close();
  }
});
