import assert from "node:assert/strict";
import postgres from "postgres";
import { type Cluster, startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { matrixServers } from "../../../tests/support/servers.ts";
import { waitUntil } from "../../../tests/support/workload.ts";
import { parseCollectionList } from "../../config/validate.ts";
import type { BaseSample, CollectionIssue } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import type { ConnectionManager, Session } from "../../query_engine/connection.ts";
import { discoverCollection } from "./discovery.ts";
import { collectIndexSamples } from "./index_sample.ts";
import type { DatabaseObjects } from "./relations.ts";
import { collectTableSamples } from "./table.ts";
import { RELATION_SPEC } from "../../../tests/support/relation_spec.ts";

const HOST = "db1.example";

/** Every statistics metric with its source type, in specification order. */
const STATS = RELATION_SPEC.table;
const BLOAT = RELATION_SPEC.bloat.map(([name]) => name);
const SIZES = ["table.totalSizeInBytes", "table.indexSizeInBytes"];
const INDEX_COUNTERS = [
  "table.indexBlocksReadPerSecond",
  "table.indexBlocksHitPerSecond",
  "table.indexScansPerSecond",
  "table.indexScanRowsFetchedPerSecond",
];
const TOAST_COUNTERS = ["table.indexToastBlocksReadPerSecond", "table.indexToastBlocksHitPerSecond"];
const AUTO = ["table.lastAutoVacuum", "table.lastAutoAnalyze"];

/** The statistics metric names, in specification order, without `absent`. */
function statsWithout(...absent: string[][]): string[] {
  const out = new Set(absent.flat());
  return STATS.map(([name]) => name).filter((name) => !out.has(name));
}

/**
 * Statistics metric names of a partitioned table: its sizes (0) and, from 14 where
 * pg_stat_all_tables lists partitioned tables, its row counters and analyze time.
 */
function partitionedStats(major: number): string[] {
  if (major < 14) return SIZES;
  return statsWithout(INDEX_COUNTERS.slice(0, 2), TOAST_COUNTERS, AUTO, ["table.lastVacuum"]);
}

/** The shared test schema of database `shop`; autovacuum is off in the test clusters. */
const SCHEMA = `
  CREATE SCHEMA archive;
  CREATE TABLE public.orders (id int PRIMARY KEY, customer int NOT NULL, note text);
  CREATE INDEX orders_customer_idx ON public.orders (customer);
  INSERT INTO public.orders SELECT g, g % 50, 'note ' || g FROM generate_series(1, 1000) g;
  CREATE TABLE public.plain (a int, b bigint);
  INSERT INTO public.plain SELECT g, g FROM generate_series(1, 10) g;
  CREATE TABLE public.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
  CREATE INDEX events_at_idx ON public.events (at);
  CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  INSERT INTO public.events SELECT DATE '2024-01-01' + g % 300, 'kind' FROM generate_series(1, 500) g;
  CREATE TABLE public.docs (id int PRIMARY KEY, body text);
  INSERT INTO public.docs
    SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 100) i)
    FROM generate_series(1, 20) g;
  CREATE TABLE archive.orders (id int PRIMARY KEY, closed date);
  INSERT INTO archive.orders SELECT g, DATE '2024-01-01' + g FROM generate_series(1, 30) g;
  CREATE TABLE public.doomed (v int);
  CREATE TABLE public.fresh (id int, note text);
  CREATE TABLE public.bloated (id int, note text);
  INSERT INTO public.fresh SELECT g, md5(g::text) FROM generate_series(1, 10000) g;
  INSERT INTO public.bloated SELECT * FROM public.fresh;
  DELETE FROM public.bloated WHERE id % 10 <> 0;
`;

/** Runs `work` in a session of its own that then ends, so its statistics are flushed. */
async function inOwnSession(
  cluster: Cluster,
  database: string,
  work: (sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  const sql = postgres({
    host: cluster.host,
    port: cluster.port,
    user: cluster.superuser,
    password: cluster.password,
    database,
    max: 1,
    onnotice: () => {},
  });
  try {
    await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Rows the test schema inserts into tables of `public` and `archive`. */
const SCHEMA_INSERTS = 1000 + 10 + 500 + 20 + 30 + 10000 + 10000;

/**
 * Creates database `shop` with the test schema, vacuums `public.orders` and analyzes everything,
 * in sessions that end, then waits until the statistics show all of it, so that later counter
 * deltas only see the tests' own work. Returns the Unix seconds just before and after the VACUUM.
 */
async function setUpShop(cluster: Cluster): Promise<{ vacuumedFrom: number; vacuumedTo: number }> {
  await cluster.createDatabase("shop");
  await inOwnSession(cluster, "shop", async (s) => {
    await s.unsafe(SCHEMA);
  });
  const vacuumedFrom = Math.floor(Date.now() / 1000);
  await inOwnSession(cluster, "shop", async (s) => {
    await s.unsafe("VACUUM public.orders");
  });
  const vacuumedTo = Math.ceil(Date.now() / 1000);
  await inOwnSession(cluster, "shop", async (s) => {
    await s.unsafe("ANALYZE");
  });
  const observer = cluster.sql("shop");
  await waitUntil("the set-up's statistics", async () => {
    const [row] = await observer.unsafe(`
      SELECT sum(n_tup_ins)::int AS inserted,
        count(*) FILTER (WHERE last_analyze IS NULL AND relid::regclass::text <> 'events')::int AS unanalyzed,
        count(*) FILTER (WHERE relid = 'public.orders'::regclass AND last_vacuum IS NOT NULL)::int AS vacuumed
      FROM pg_stat_all_tables WHERE schemaname IN ('public', 'archive')`);
    return row.inserted === SCHEMA_INSERTS && row.unanalyzed === 0 && row.vacuumed === 1;
  });
  return { vacuumedFrom, vacuumedTo };
}

/** The discovered objects of `shop`, found the way the collector finds them. */
async function discoverShop(cm: ConnectionManager): Promise<DatabaseObjects> {
  const { databases, issues } = await discoverCollection(parseCollectionList('["shop"]'), {
    connections: cm,
    mainDatabase: "postgres",
    ignoreDatabases: [],
    ignoreTables: [],
    includeSystemSchemas: false,
  });
  assert.deepEqual(issues, []);
  const tree = databases.get("shop");
  assert.ok(tree);
  return tree;
}

/** `name → value` of one sample's metrics. */
function valuesOf(sample: BaseSample): Map<string, number | string> {
  return new Map(sample.metrics.map((m) => [m.name, m.value]));
}

/** The statistics sample (the last one) of `schema.table`. */
function statsOf(samples: BaseSample[], schema: string, table: string): BaseSample {
  const own = samples.filter((s) =>
    s.entity.name === table && s.entity.idAttributes.some((a) => a.key === "pg-schema" && a.value === schema)
  );
  const last = own.at(-1);
  assert.ok(last && !valuesOf(last).has("table.bloatRatio"), `${schema}.${table}: no statistics sample`);
  return last;
}

/** Metric `name` of `sample`, which must be a number. */
function num(sample: BaseSample, name: string): number {
  const v = valuesOf(sample).get(name);
  assert.equal(typeof v, "number", `${sample.entity.name}: ${name} is ${v}`);
  return v as number;
}

/** A session that counts the statements run through it. */
function counting(inner: Session): Session & { count: number } {
  const wrapper = {
    count: 0,
    unsafe(text: string, params?: unknown[], options?: unknown) {
      wrapper.count++;
      return inner.unsafe(text, params, options);
    },
  };
  return wrapper;
}

Deno.test("collectTableSamples against a real server", async (t) => {
  await using cluster = await startCluster({ name: "base-table", settings: { autovacuum: "off" } });
  const { vacuumedFrom, vacuumedTo } = await setUpShop(cluster);
  const admin = cluster.sql("shop");
  const cm = clusterConnections(cluster);
  const sql = cm.sql("shop");
  const caps = await probeCapabilities(sql);
  const tree = await discoverShop(cm);
  await admin.unsafe("DROP TABLE public.doomed");
  const collect = (objects: DatabaseObjects = tree, bloat = true, session: Session = sql) =>
    collectTableSamples(session, caps, "shop", objects, HOST, cluster.port, { bloat });

  try {
    await t.step("per table the bloat sample, then the statistics sample, named and attributed", async () => {
      const samples = await collect();
      const order = samples.map((s) => {
        const schema = s.entity.idAttributes.find((a) => a.key === "pg-schema")?.value;
        return `${schema}.${s.entity.name}:${valuesOf(s).has("table.bloatRatio") ? "bloat" : "stats"}`;
      });
      assert.deepEqual(order, [
        "archive.orders:bloat",
        "archive.orders:stats",
        "public.bloated:bloat",
        "public.bloated:stats",
        "public.docs:bloat",
        "public.docs:stats",
        "public.events:stats",
        "public.events_2024:bloat",
        "public.events_2024:stats",
        "public.fresh:bloat",
        "public.fresh:stats",
        "public.orders:bloat",
        "public.orders:stats",
        "public.plain:bloat",
        "public.plain:stats",
      ], "doomed, dropped after discovery, is absent; events is partitioned: no bloat");
      for (const s of samples) {
        const schema = s.entity.idAttributes.find((a) => a.key === "pg-schema")!.value;
        assert.equal(s.eventType, "PostgresqlTableSample");
        assert.deepEqual(s.entity, {
          name: s.entity.name,
          type: "pg-table",
          idAttributes: [
            { key: "host", value: HOST },
            { key: "pg-database", value: "shop" },
            { key: "pg-schema", value: schema },
            { key: "port", value: String(cluster.port) },
          ],
        });
        assert.deepEqual(s.metrics.slice(0, 4), [
          { name: "displayName", sourceType: "attribute", value: s.entity.name },
          { name: "entityName", sourceType: "attribute", value: `table:${s.entity.name}` },
          { name: "database", sourceType: "attribute", value: "shop" },
          { name: "schema", sourceType: "attribute", value: schema },
        ]);
        for (const m of s.metrics.slice(4)) {
          const spec = STATS.find(([name]) => name === m.name)?.[1] ?? (BLOAT.includes(m.name) && "gauge");
          assert.equal(m.sourceType, spec, m.name);
          assert.ok(typeof m.value === "number" && m.value >= 0, `${m.name} = ${m.value}`);
          if (m.name !== "table.bloatRatio") assert.ok(Number.isInteger(m.value), `${m.name} = ${m.value}`);
        }
        if (valuesOf(s).has("table.bloatRatio")) {
          assert.deepEqual(s.metrics.slice(4).map((m) => m.name), BLOAT);
        }
      }
      const names = (schema: string, table: string) =>
        statsOf(samples, schema, table).metrics.slice(4).map((m) => m.name);
      assert.deepEqual(names("public", "orders"), statsWithout(AUTO), "vacuumed, analyzed, indexed, TOAST");
      assert.deepEqual(names("public", "docs"), statsWithout(AUTO, ["table.lastVacuum"]));
      assert.deepEqual(names("archive", "orders"), statsWithout(AUTO, ["table.lastVacuum"], TOAST_COUNTERS));
      assert.deepEqual(
        names("public", "plain"),
        statsWithout(AUTO, ["table.lastVacuum"], TOAST_COUNTERS, INDEX_COUNTERS),
        "no index and no TOAST table: their counters are NULL",
      );
      assert.deepEqual(names("public", "events"), partitionedStats(cluster.major));
    });

    await t.step("values are those of the server", async () => {
      const samples = await collect(tree, false);
      for (const [schema, tables] of tree) {
        for (const table of tables.keys()) {
          if (table === "doomed") continue;
          const s = statsOf(samples, schema, table);
          const [sizes] = await admin.unsafe(
            `SELECT pg_total_relation_size(c.oid) AS total, pg_indexes_size(c.oid) AS idx
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
            [schema, table],
          );
          assert.equal(num(s, "table.totalSizeInBytes"), Number(sizes.total), `${schema}.${table}`);
          assert.equal(num(s, "table.indexSizeInBytes"), Number(sizes.idx), `${schema}.${table}`);
        }
      }
      const orders = statsOf(samples, "public", "orders");
      assert.ok(num(orders, "table.indexSizeInBytes") > 0);
      assert.equal(num(statsOf(samples, "public", "events"), "table.totalSizeInBytes"), 0, "no storage");
      const vacuumed = num(orders, "table.lastVacuum");
      assert.ok(vacuumed >= vacuumedFrom && vacuumed <= vacuumedTo, `lastVacuum ${vacuumed}`);
      const analyzed = num(orders, "table.lastAnalyze");
      assert.ok(analyzed >= vacuumed && analyzed <= Math.ceil(Date.now() / 1000), `lastAnalyze ${analyzed}`);
      // ANALYZE reads every row of a small table: live rows are exact, dead rows none.
      assert.equal(num(orders, "table.liveRows"), 1000);
      assert.equal(num(statsOf(samples, "archive", "orders"), "table.liveRows"), 30);
      assert.equal(num(statsOf(samples, "public", "bloated"), "table.deadRows"), 9000);
      assert.equal(num(statsOf(samples, "public", "bloated"), "table.liveRows"), 1000);
    });

    await t.step(
      "the deliberately bloated table shows a much higher bloat ratio than a fresh one",
      async () => {
        const samples = await collect();
        const ratio = (table: string) => {
          const bloat = samples.find((s) => s.entity.name === table && valuesOf(s).has("table.bloatRatio"));
          assert.ok(bloat, `${table}: no bloat sample`);
          return num(bloat, "table.bloatRatio");
        };
        assert.ok(ratio("fresh") < 2, `fresh ${ratio("fresh")}`);
        assert.ok(ratio("bloated") > 80, `bloated ${ratio("bloated")}`);
      },
    );

    await t.step("counters move by the work done", async () => {
      const before = await collect(tree, false);
      await inOwnSession(cluster, "shop", async (s) => {
        await s.unsafe("INSERT INTO public.plain SELECT g, g FROM generate_series(11, 110) g");
        for (let i = 0; i < 3; i++) await s.unsafe("SELECT count(*) FROM public.plain");
        await s.unsafe("UPDATE public.plain SET b = b + 1 WHERE a <= 7");
        await s.unsafe("DELETE FROM public.plain WHERE a > 105");
        await s.unsafe("SET enable_seqscan = off");
        await s.unsafe("SET enable_bitmapscan = off");
        for (const id of [3, 30, 300, 999]) {
          await s.unsafe("SELECT note FROM public.orders WHERE id = $1", [id]);
        }
        await s.unsafe("SELECT sum(length(body)) FROM public.docs");
      });
      let after = before;
      const delta = (schema: string, table: string, name: string) =>
        num(statsOf(after, schema, table), name) - num(statsOf(before, schema, table), name);
      const toastBlocks = (samples: BaseSample[]) =>
        TOAST_COUNTERS.reduce((sum, name) => sum + num(statsOf(samples, "public", "docs"), name), 0);
      await waitUntil("the session's statistics", async () => {
        after = await collect(tree, false);
        return delta("public", "plain", "table.rowsDeletedPerSecond") > 0 &&
          delta("public", "orders", "table.indexScansPerSecond") > 0 &&
          toastBlocks(after) > toastBlocks(before);
      });
      assert.equal(delta("public", "plain", "table.rowsInsertedPerSecond"), 100);
      assert.equal(delta("public", "plain", "table.rowsUpdatedPerSecond"), 7);
      assert.equal(delta("public", "plain", "table.rowsDeletedPerSecond"), 5);
      assert.equal(
        delta("public", "plain", "table.sequentialScansPerSecond"),
        5,
        "3 counts, 1 update, 1 delete",
      );
      assert.ok(delta("public", "plain", "table.sequentialScanRowsFetchedPerSecond") >= 3 * 110);
      assert.equal(delta("public", "orders", "table.indexScansPerSecond"), 4);
      assert.equal(delta("public", "orders", "table.indexScanRowsFetchedPerSecond"), 4);
      assert.equal(delta("public", "orders", "table.sequentialScansPerSecond"), 0);
      const indexBlocks = (samples: BaseSample[]) =>
        num(statsOf(samples, "public", "orders"), "table.indexBlocksHitPerSecond") +
        num(statsOf(samples, "public", "orders"), "table.indexBlocksReadPerSecond");
      assert.ok(indexBlocks(after) >= indexBlocks(before) + 4, "each index scan reads index blocks");
      assert.equal(delta("archive", "orders", "table.rowsInsertedPerSecond"), 0);
      assert.equal(delta("archive", "orders", "table.sequentialScansPerSecond"), 0);
    });

    await t.step("a system table named explicitly gets its statistics (pg_stat_all_tables)", async () => {
      const [{ n }] = await admin.unsafe(
        "SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE schemaname = 'pg_catalog'",
      );
      assert.equal(n, 0, "the _user_ views leave catalogs out");
      const samples = await collect(new Map([["pg_catalog", new Map([["pg_class", []]])]]), false);
      assert.equal(samples.length, 1);
      assert.equal(valuesOf(samples[0]).get("schema"), "pg_catalog");
      assert.ok(num(samples[0], "table.indexScansPerSecond") > 0, "catalog lookups use its indexes");
      assert.ok(num(samples[0], "table.liveRows") >= 0);
    });

    await t.step("missing tables, views and unknown schemas give no sample and no error", async () => {
      await admin.unsafe("CREATE VIEW public.order_view AS SELECT * FROM public.orders");
      const objects = new Map([
        ["public", new Map([["doomed", []], ["order_view", []], ["nothing", []]])],
        ["nowhere", new Map([["orders", []]])],
      ]);
      assert.deepEqual(await collect(objects), []);
      assert.deepEqual(await collect(new Map()), []);
    });

    await t.step("two statements per database with bloat, one without, however many tables", async () => {
      await admin.unsafe(`CREATE SCHEMA bulk;
        DO $$ BEGIN
          FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE bulk.t%s (id int PRIMARY KEY, v text)', i); END LOOP;
        END $$`);
      const all = (await discoverShop(cm)).get("bulk")!;
      assert.equal(all.size, 300);
      const few = new Map([...all].slice(0, 3));
      for (const [tables, expected] of [[few, 3], [all, 300]] as const) {
        const objects = new Map([["bulk", tables]]);
        const withBloat = counting(sql);
        const samples = await collect(objects, true, withBloat);
        assert.equal(withBloat.count, 2, `${expected} tables with bloat`);
        // Empty, never analyzed tables: statistics, and a zero bloat estimate.
        assert.equal(samples.length, 2 * expected);
        const without = counting(sql);
        assert.equal((await collect(objects, false, without)).length, expected);
        assert.equal(without.count, 1, `${expected} tables without bloat`);
        const indexes = counting(sql);
        assert.equal(
          (await collectIndexSamples(indexes, caps, "shop", objects, HOST, cluster.port)).length,
          expected,
        );
        assert.equal(indexes.count, 1, `${expected} tables' indexes`);
      }
      assert.equal(counting(sql).count, 0);
      const none = counting(sql);
      await collect(new Map(), true, none);
      assert.equal(none.count, 0, "no table, no statement");
    });

    await t.step(
      "locked tables lose their sizes for the cycle, nothing else, and nothing waits",
      async () => {
        const table = cm.sql("shop", "lock-table");
        const index = cm.sql("shop", "lock-index");
        await table.unsafe("BEGIN");
        await index.unsafe("BEGIN");
        try {
          await table.unsafe("LOCK TABLE public.plain IN ACCESS EXCLUSIVE MODE");
          // REINDEX holds an AccessExclusiveLock on the index (and a ShareLock on its table).
          await index.unsafe("REINDEX INDEX public.orders_customer_idx");
          const started = Date.now();
          const samples = await collect();
          const indexSamples = await collectIndexSamples(sql, caps, "shop", tree, HOST, cluster.port);
          assert.ok(Date.now() - started < 1000, "answered before lock_timeout");
          for (const name of ["plain", "orders"]) {
            const s = statsOf(samples, "public", name);
            for (const size of SIZES) assert.ok(!valuesOf(s).has(size), `${name}: ${size}`);
            assert.ok(valuesOf(s).has("table.liveRows"), `${name}: statistics kept`);
          }
          assert.ok(samples.some((s) => s.entity.name === "plain" && valuesOf(s).has("table.bloatRatio")));
          num(statsOf(samples, "public", "docs"), "table.totalSizeInBytes");
          num(statsOf(samples, "archive", "orders"), "table.totalSizeInBytes");
          const idx = (name: string) => valuesOf(indexSamples.find((s) => s.entity.name === name)!);
          assert.ok(!idx("orders_customer_idx").has("index.sizeInBytes"));
          assert.ok(idx("orders_customer_idx").has("index.rowsReadPerSecond"));
          assert.ok(idx("orders_pkey").has("index.sizeInBytes"));
        } finally {
          await table.unsafe("ROLLBACK");
          await index.unsafe("ROLLBACK");
        }
        const released = await collect(tree, false);
        num(statsOf(released, "public", "plain"), "table.totalSizeInBytes");
      },
    );

    await t.step("a failing query is reported and the other query's samples are kept", async () => {
      await cluster.createRole("watcher", "watch-pass");
      await admin.unsafe("REVOKE SELECT ON pg_catalog.pg_stats FROM PUBLIC");
      const watcher = clusterConnections(cluster, { username: "watcher", password: "watch-pass" });
      try {
        const session = watcher.sql("shop");
        const issues: CollectionIssue[] = [];
        const samples = await collectTableSamples(session, caps, "shop", tree, HOST, cluster.port, {
          bloat: true,
          report: (issue) => issues.push(issue),
        });
        assert.equal(issues.length, 1);
        assert.equal(issues[0].component, "base.table.bloat");
        assert.equal(issues[0].severity, "error");
        assert.match(issues[0].message, /^table bloat of database "shop" not collected: permission denied/);
        assert.equal(samples.length, 8, "every table's statistics sample");
        assert.ok(samples.every((s) => valuesOf(s).has("table.totalSizeInBytes")));
        await assert.rejects(
          collectTableSamples(session, caps, "shop", tree, HOST, cluster.port, { bloat: true }),
          /permission denied/,
        );
      } finally {
        await admin.unsafe("GRANT SELECT ON pg_catalog.pg_stats TO PUBLIC");
        await watcher.close();
      }
    });
  } finally {
    await cm.close();
  }
});

Deno.test("table and index samples on the version matrix", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async () => {
      await using cluster = await startCluster({
        name: `base-rel-${server.id}`,
        server,
        settings: { autovacuum: "off" },
      });
      await setUpShop(cluster);
      const cm = clusterConnections(cluster);
      try {
        const sql = cm.sql("shop");
        const caps = await probeCapabilities(sql);
        assert.equal(caps.version.major, server.major);
        const tree = await discoverShop(cm);
        const collect = () =>
          collectTableSamples(sql, caps, "shop", tree, HOST, cluster.port, { bloat: true });
        const samples = await collect();
        const names = (schema: string, table: string) =>
          statsOf(samples, schema, table).metrics.slice(4).map((m) => m.name);
        assert.deepEqual(names("public", "orders"), statsWithout(AUTO));
        assert.deepEqual(
          names("archive", "orders"),
          statsWithout(AUTO, ["table.lastVacuum"], TOAST_COUNTERS),
        );
        assert.deepEqual(
          names("public", "plain"),
          statsWithout(AUTO, ["table.lastVacuum"], TOAST_COUNTERS, INDEX_COUNTERS),
        );
        assert.deepEqual(names("public", "events"), partitionedStats(server.major));
        const bloat = (table: string) => {
          const s = samples.find((x) => x.entity.name === table && valuesOf(x).has("table.bloatRatio"));
          assert.ok(s, `${table}: no bloat sample`);
          assert.deepEqual(s.metrics.slice(4).map((m) => m.name), BLOAT);
          return num(s, "table.bloatRatio");
        };
        assert.ok(bloat("fresh") < 2 && bloat("bloated") > 80, `${bloat("fresh")} vs ${bloat("bloated")}`);
        assert.equal(samples.filter((s) => s.entity.name === "events").length, 1, "partitioned: no bloat");

        const indexes = await collectIndexSamples(sql, caps, "shop", tree, HOST, cluster.port);
        assert.deepEqual(indexes.map((s) => s.entity.name), [
          "orders_pkey",
          "docs_pkey",
          "events_at_idx",
          "events_2024_at_idx",
          "orders_customer_idx",
          "orders_pkey",
        ]);
        for (const s of indexes) {
          const metrics = s.metrics.slice(5).map((m) => [m.name, m.sourceType]);
          assert.deepEqual(
            metrics,
            s.entity.name === "events_at_idx" ? [["index.sizeInBytes", "gauge"]] : [
              ["index.sizeInBytes", "gauge"],
              ["index.rowsReadPerSecond", "rate"],
              ["index.rowsFetchedPerSecond", "rate"],
            ],
            s.entity.name,
          );
        }

        await inOwnSession(cluster, "shop", async (s) => {
          await s.unsafe("INSERT INTO public.plain SELECT g, g FROM generate_series(11, 110) g");
        });
        let after = samples;
        const inserted = () =>
          num(statsOf(after, "public", "plain"), "table.rowsInsertedPerSecond") -
          num(statsOf(samples, "public", "plain"), "table.rowsInsertedPerSecond");
        await waitUntil("100 inserted rows counted", async () => {
          after = await collect();
          return inserted() > 0;
        });
        assert.equal(inserted(), 100);
      } finally {
        await cm.close();
      }
    });
  }
});
