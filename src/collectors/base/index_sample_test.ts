import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { waitUntil } from "../../../tests/support/workload.ts";
import { parseCollectionList } from "../../config/validate.ts";
import type { BaseSample } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import type { Session } from "../../query_engine/connection.ts";
import { discoverCollection } from "./discovery.ts";
import { collectIndexSamples, indexStatement } from "./index_sample.ts";
import { relationMetricsFor } from "../../core/relation_catalog.ts";

const HOST = "db2.example";
const METRICS = [
  { name: "index.sizeInBytes", sourceType: "gauge" },
  { name: "index.rowsReadPerSecond", sourceType: "rate" },
  { name: "index.rowsFetchedPerSecond", sourceType: "rate" },
];

/** `name → value` of one sample's metrics. */
function valuesOf(sample: BaseSample): Map<string, number | string> {
  return new Map(sample.metrics.map((m) => [m.name, m.value]));
}

/** The sample of index `index` of `schema`. */
function sampleOf(samples: BaseSample[], schema: string, index: string): BaseSample {
  const s = samples.find((x) =>
    x.entity.name === index && x.entity.idAttributes.some((a) => a.key === "pg-schema" && a.value === schema)
  );
  assert.ok(s, `${schema}.${index}: no sample`);
  return s;
}

/** Metric `name` of the sample of `schema.index`, which must be a number. */
function num(samples: BaseSample[], schema: string, index: string, name: string): number {
  const v = valuesOf(sampleOf(samples, schema, index)).get(name);
  assert.equal(typeof v, "number", `${schema}.${index}: ${name} is ${v}`);
  return v as number;
}

Deno.test("indexStatement binds three parallel arrays and reads the catalog's expressions", () => {
  const text = indexStatement(relationMetricsFor(16, "index"));
  assert.match(text, /^\/\* pgquerylens \*\/ /);
  assert.match(text, /unnest\(\$1::text\[\], \$2::text\[\], \$3::text\[\]\) WITH ORDINALITY/);
  assert.match(text, /\(pg_relation_size\(R\.sized\)\)::float8 AS m0, \(S\.idx_tup_read\)::float8 AS m1/);
});

Deno.test("collectIndexSamples against a real server", async (t) => {
  await using cluster = await startCluster({ name: "base-index", settings: { autovacuum: "off" } });
  await cluster.createDatabase("shop");
  const admin = cluster.sql("shop");
  await admin.unsafe(`
    CREATE SCHEMA archive;
    CREATE TABLE public.orders (id int PRIMARY KEY, customer int NOT NULL, note text);
    CREATE INDEX orders_customer_idx ON public.orders (customer);
    INSERT INTO public.orders SELECT g, g % 50, 'note ' || g FROM generate_series(1, 2000) g;
    CREATE TABLE public.plain (v int);
    CREATE TABLE public.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
    CREATE INDEX events_at_idx ON public.events (at);
    CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    INSERT INTO public.events SELECT DATE '2024-01-01' + g % 300, 'kind' FROM generate_series(1, 500) g;
    CREATE TABLE archive.orders (id int PRIMARY KEY, closed date);
    CREATE INDEX doomed_idx ON archive.orders (closed);
  `);
  const cm = clusterConnections(cluster);
  const sql = cm.sql("shop");
  const caps = await probeCapabilities(sql);
  const { databases } = await discoverCollection(parseCollectionList('["shop"]'), {
    connections: cm,
    mainDatabase: "postgres",
    ignoreDatabases: [],
    ignoreTables: [],
    includeSystemSchemas: false,
  });
  const tree = databases.get("shop")!;
  await admin.unsafe("DROP INDEX archive.doomed_idx");
  const collect = (objects = tree, session: Session = sql) =>
    collectIndexSamples(session, caps, "shop", objects, HOST, cluster.port);

  try {
    await t.step("one sample per existing index, in the tree's order, named and attributed", async () => {
      const samples = await collect();
      assert.deepEqual(
        samples.map((s) =>
          `${s.entity.idAttributes.find((a) => a.key === "pg-schema")?.value}.${s.entity.name}`
        ),
        [
          "archive.orders_pkey",
          "public.events_at_idx",
          "public.events_2024_at_idx",
          "public.orders_customer_idx",
          "public.orders_pkey",
        ],
        "doomed_idx, dropped after discovery, is absent",
      );
      for (const s of samples) {
        const ids = Object.fromEntries(s.entity.idAttributes.map((a) => [a.key, a.value]));
        assert.equal(s.eventType, "PostgresqlIndexSample");
        assert.deepEqual(s.entity.idAttributes.map((a) => a.key), [
          "host",
          "pg-database",
          "pg-schema",
          "pg-table",
          "port",
        ]);
        assert.equal(s.entity.type, "pg-index");
        assert.equal(ids.host, HOST);
        assert.equal(ids.port, String(cluster.port));
        assert.equal(ids["pg-database"], "shop");
        assert.deepEqual(s.metrics.slice(0, 5), [
          { name: "displayName", sourceType: "attribute", value: s.entity.name },
          { name: "entityName", sourceType: "attribute", value: `index:${s.entity.name}` },
          { name: "database", sourceType: "attribute", value: "shop" },
          { name: "schema", sourceType: "attribute", value: ids["pg-schema"] },
          { name: "table", sourceType: "attribute", value: ids["pg-table"] },
        ]);
        const [{ size }] = await admin.unsafe(
          `SELECT pg_relation_size(c.oid) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname = $2`,
          [ids["pg-schema"], s.entity.name],
        );
        assert.equal(valuesOf(s).get("index.sizeInBytes"), Number(size), s.entity.name);
        const metrics = s.metrics.slice(5).map(({ name, sourceType }) => ({ name, sourceType }));
        if (s.entity.name === "events_at_idx") {
          assert.deepEqual(metrics, METRICS.slice(0, 1), "a partitioned index: size 0, no scan counters");
          assert.equal(valuesOf(s).get("index.sizeInBytes"), 0);
        } else {
          assert.deepEqual(metrics, METRICS, s.entity.name);
        }
      }
      assert.equal(valuesOf(sampleOf(samples, "public", "orders_pkey")).get("table"), "orders");
      assert.equal(valuesOf(sampleOf(samples, "public", "events_2024_at_idx")).get("table"), "events_2024");
      assert.ok(num(samples, "public", "orders_customer_idx", "index.sizeInBytes") > 8192);
    });

    await t.step("scan counters move by the rows the index returned and fetched", async () => {
      const before = await collect();
      const own = postgres({
        host: cluster.host,
        port: cluster.port,
        user: cluster.superuser,
        password: cluster.password,
        database: "shop",
        max: 1,
        onnotice: () => {},
      });
      try {
        await own.unsafe("SET enable_seqscan = off");
        await own.unsafe("SET enable_bitmapscan = off");
        // customer = 7: 40 of the 2000 rows, read through orders_customer_idx.
        await own.unsafe("SELECT note FROM public.orders WHERE customer = 7");
        for (const id of [1, 2, 3]) await own.unsafe("SELECT note FROM public.orders WHERE id = $1", [id]);
      } finally {
        await own.end({ timeout: 5 });
      }
      let after = before;
      const delta = (index: string, name: string) =>
        num(after, "public", index, name) - num(before, "public", index, name);
      await waitUntil("the index scans counted", async () => {
        after = await collect();
        return delta("orders_customer_idx", "index.rowsReadPerSecond") > 0 &&
          delta("orders_pkey", "index.rowsReadPerSecond") > 0;
      });
      assert.equal(delta("orders_customer_idx", "index.rowsReadPerSecond"), 40);
      assert.equal(delta("orders_customer_idx", "index.rowsFetchedPerSecond"), 40);
      assert.equal(delta("orders_pkey", "index.rowsReadPerSecond"), 3);
      assert.equal(delta("orders_pkey", "index.rowsFetchedPerSecond"), 3);
      const untouched = (samples: BaseSample[]) =>
        num(samples, "archive", "orders_pkey", "index.rowsReadPerSecond");
      assert.equal(untouched(after), untouched(before));
    });

    await t.step(
      "indexes listed under another table, missing or of unknown schemas give nothing",
      async () => {
        const objects = new Map([
          ["public", new Map([["plain", ["orders_pkey", "nothing_idx"]], ["nothing", ["orders_pkey"]]])],
          ["nowhere", new Map([["orders", ["orders_pkey"]]])],
        ]);
        assert.deepEqual(await collect(objects), []);
        assert.deepEqual(await collect(new Map()), []);
        const none = { count: 0, unsafe: () => Promise.reject(new Error("no statement expected")) };
        assert.deepEqual(await collect(new Map([["public", new Map([["plain", []]])]]), none), []);
      },
    );

    await t.step("an index under REINDEX is not sized, and nothing waits for its lock", async () => {
      const holder = cm.sql("shop", "holder");
      await holder.unsafe("BEGIN");
      try {
        await holder.unsafe("REINDEX INDEX public.orders_customer_idx");
        const started = Date.now();
        const samples = await collect();
        assert.ok(Date.now() - started < 1000, "answered before lock_timeout");
        const locked = valuesOf(sampleOf(samples, "public", "orders_customer_idx"));
        assert.deepEqual([...locked.keys()].slice(5), [
          "index.rowsReadPerSecond",
          "index.rowsFetchedPerSecond",
        ]);
        num(samples, "public", "orders_pkey", "index.sizeInBytes");
      } finally {
        await holder.unsafe("ROLLBACK");
      }
      num(await collect(), "public", "orders_customer_idx", "index.sizeInBytes");
    });
  } finally {
    await cm.close();
  }
});
