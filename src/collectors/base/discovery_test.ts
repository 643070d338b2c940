import assert from "node:assert/strict";
import { defaultConfig } from "../../config/defaults.ts";
import { parseCollectionList } from "../../config/validate.ts";
import { ConnectionManager } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { startCluster } from "../../../tests/support/cluster.ts";
import {
  discoverCollection,
  type DiscoveredObjects,
  type DiscoveryOptions,
  isSystemSchema,
} from "./discovery.ts";

/** Plain-object form of a discovery result, for deep comparison. */
function plain(tree: DiscoveredObjects): Record<string, Record<string, Record<string, string[]>>> {
  return Object.fromEntries(
    [...tree].map(([db, schemas]) => [
      db,
      Object.fromEntries([...schemas].map(([schema, tables]) => [schema, Object.fromEntries(tables)])),
    ]),
  );
}

/** Whether every level of `tree` lists its names in sorted order. */
function isSorted(tree: DiscoveredObjects): boolean {
  const sorted = (names: string[]) => names.every((n, i) => i === 0 || names[i - 1] < n);
  return sorted([...tree.keys()]) &&
    [...tree.values()].every((schemas) =>
      sorted([...schemas.keys()]) &&
      [...schemas.values()].every((tables) =>
        sorted([...tables.keys()]) && [...tables.values()].every(sorted)
      )
    );
}

Deno.test("discoverCollection against a real server", async (t) => {
  await using cluster = await startCluster({
    name: "discovery",
    settings: { log_statement: "all", log_line_prefix: "%u@%d " },
  });
  for (const db of ["app_b", "app_a", "locked", "skipme"]) await cluster.createDatabase(db);
  await cluster.createRole("discoverer", "disc-pass");
  const admin = cluster.sql();
  await admin.unsafe(`REVOKE CONNECT ON DATABASE locked FROM PUBLIC`);

  const a = cluster.sql("app_a");
  await a.unsafe(`
    CREATE SCHEMA s1;
    CREATE SCHEMA s2;
    CREATE TABLE s1.orders (id int PRIMARY KEY, customer int, total numeric);
    CREATE INDEX orders_total_idx ON s1.orders (total);
    CREATE INDEX orders_customer_idx ON s1.orders (customer);
    CREATE TABLE s2.orders (id int PRIMARY KEY, placed date);
    CREATE INDEX orders_placed_idx ON s2.orders (placed);
    CREATE TABLE s1.events (at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at);
    CREATE INDEX events_at_idx ON s1.events (at);
    CREATE TABLE s1.events_2024 PARTITION OF s1.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE public.zeta (v int);
    CREATE TABLE public.alpha (v int UNIQUE);
    CREATE TABLE public.audit_log (v int);
    CREATE TABLE s2.audit_log (v int);
    CREATE VIEW public.order_view AS SELECT * FROM s1.orders;
    CREATE MATERIALIZED VIEW public.order_mv AS SELECT * FROM s1.orders;
    CREATE SEQUENCE public.some_seq;
  `);
  // A temporary table lives in a pg_temp_N schema while this session stays open.
  await a.unsafe(`CREATE TEMP TABLE scratch (v int PRIMARY KEY)`);
  await cluster.sql("app_b").unsafe(`
    CREATE TABLE public.items (id int PRIMARY KEY, sku text);
    CREATE INDEX items_sku_idx ON public.items (sku);
    CREATE TABLE public.audit_log (v int);
  `);
  await cluster.sql("skipme").unsafe(`CREATE TABLE public.hidden (v int)`);

  const cm = new ConnectionManager({
    ...defaultConfig(),
    username: "discoverer",
    password: "disc-pass",
    hostname: cluster.host,
    port: String(cluster.port),
    timeout: 5,
  });
  const opts = (overrides: Partial<DiscoveryOptions> = {}): DiscoveryOptions => ({
    connections: cm,
    mainDatabase: "postgres",
    ignoreDatabases: ["skipme"],
    ignoreTables: ["audit_log"],
    includeSystemSchemas: false,
    ...overrides,
  });

  const APP_A = {
    public: { alpha: ["alpha_v_key"], zeta: [] },
    s1: {
      events: ["events_at_idx"],
      events_2024: ["events_2024_at_idx"],
      orders: ["orders_customer_idx", "orders_pkey", "orders_total_idx"],
    },
    s2: { orders: ["orders_pkey", "orders_placed_idx"] },
  };
  const APP_B = { public: { items: ["items_pkey", "items_sku_idx"] } };

  try {
    await t.step(
      "ALL: every table and index, sorted; unreachable database reported, others kept",
      async () => {
        const { databases, issues } = await discoverCollection(parseCollectionList("all"), opts());
        assert.deepEqual([...databases.keys()], ["app_a", "app_b", "postgres"]);
        assert.deepEqual(plain(databases).app_a, APP_A);
        assert.deepEqual(plain(databases).app_b, APP_B);
        assert.deepEqual(plain(databases).postgres, {}, "postgres holds no user table");
        assert.ok(isSorted(databases));
        assert.equal(issues.length, 1);
        assert.equal(issues[0].database, "locked");
        assert.match(issues[0].message, /permission denied for database "?locked"?.*\(SQLSTATE 42501\)/);
      },
    );

    await t.step("discovered indexes match pg_indexes, all of them per table", async () => {
      const expected = await a.unsafe(
        `SELECT schemaname, tablename, indexname FROM pg_indexes
         WHERE schemaname IN ('public', 's1', 's2') AND tablename <> 'audit_log'`,
      );
      const { databases } = await discoverCollection({ kind: "databases", names: ["app_a"] }, opts());
      const found = [...databases.get("app_a")!].flatMap(([schema, tables]) =>
        [...tables].flatMap(([table, indexes]) => indexes.map((i) => `${schema}.${table}.${i}`))
      );
      assert.deepEqual(
        found.sort(),
        expected.map((r) => `${r.schemaname}.${r.tablename}.${r.indexname}`).sort(),
      );
      assert.equal(expected.length, 8, "precondition: the fixture's eight indexes");
    });

    await t.step("without the table ignore list, same-named tables in each schema are kept", async () => {
      const { databases } = await discoverCollection(
        parseCollectionList('["app_a"]'),
        opts({ ignoreTables: [] }),
      );
      const a1 = plain(databases).app_a;
      assert.deepEqual(a1.public.audit_log, []);
      assert.deepEqual(a1.s2.audit_log, []);
      assert.deepEqual(a1.s1.orders, APP_A.s1.orders);
      assert.deepEqual(a1.s2.orders, APP_A.s2.orders);
    });

    await t.step("array form: only those databases; missing and locked ones reported", async () => {
      const { databases, issues } = await discoverCollection(
        parseCollectionList('["nosuchdb", "app_b", "locked", "skipme", "app_b"]'),
        opts(),
      );
      assert.deepEqual(plain(databases), { app_b: APP_B });
      assert.deepEqual(issues.map((i) => i.database), ["locked", "nosuchdb"]);
      assert.match(issues[1].message, /database "?nosuchdb"? does not exist.*\(SQLSTATE 3D000\)/);
    });

    await t.step("resolved databases are taken as given: pg_database is not read again", async () => {
      const { databases } = await discoverCollection(
        { kind: "all" },
        opts({ resolved: ["app_b"], mainDatabase: "nosuchdb" }),
      );
      assert.deepEqual(plain(databases), { app_b: APP_B });
    });

    await t.step("database ignore list applies to the ALL form", async () => {
      const { databases, issues } = await discoverCollection(
        { kind: "all" },
        opts({ ignoreDatabases: ["locked", "postgres", "app_a"] }),
      );
      assert.deepEqual(plain(databases), { app_b: APP_B, skipme: { public: { hidden: [] } } });
      assert.deepEqual(issues, []);
    });

    await t.step("object form: taken literally, sorted; only the database ignore list applies", async () => {
      const list = parseCollectionList(JSON.stringify({
        nosuchdb: { zz: { t: ["i2", "i1", "i2"] }, aa: { audit_log: [] } },
        skipme: { public: { hidden: [] } },
        app_a: { s1: { orders: ["orders_pkey"] } },
        locked: null,
      }));
      const { databases, issues } = await discoverCollection(list, opts());
      assert.deepEqual(plain(databases), {
        app_a: { s1: { orders: ["orders_pkey"] } },
        locked: {},
        nosuchdb: { aa: { audit_log: [] }, zz: { t: ["i1", "i2"] } },
      });
      assert.deepEqual([...databases.keys()], ["app_a", "locked", "nosuchdb"]);
      assert.deepEqual([...databases.get("nosuchdb")!.keys()], ["aa", "zz"]);
      assert.deepEqual(issues, []);
    });

    await t.step("system schemas: absent by default, present with the option", async () => {
      const temp = await a.unsafe(`SELECT pg_my_temp_schema()::regnamespace::text AS nsp`);
      assert.match(temp[0].nsp, /^pg_temp_\d+$/, "precondition: the temp table's schema");

      const without = await discoverCollection({ kind: "databases", names: ["app_a"] }, opts());
      assert.deepEqual([...without.databases.get("app_a")!.keys()].filter(isSystemSchema), []);

      const { databases } = await discoverCollection(
        { kind: "databases", names: ["app_a"] },
        opts({ includeSystemSchemas: true }),
      );
      const schemas = databases.get("app_a")!;
      assert.deepEqual(
        schemas.get("pg_catalog")!.get("pg_class"),
        ["pg_class_oid_index", "pg_class_relname_nsp_index", "pg_class_tblspc_relfilenode_index"],
      );
      assert.deepEqual(schemas.get(temp[0].nsp)!.get("scratch"), ["scratch_pkey"]);
      // pg_catalog's tables are exactly its base tables as information_schema lists them (read
      // here as the superuser, who sees every table there).
      const base = await a.unsafe(
        `SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'pg_catalog' AND table_type = 'BASE TABLE'`,
      );
      assert.ok(base.length > 40, "precondition: the catalog has its base tables");
      assert.deepEqual(
        [...schemas.get("pg_catalog")!.keys()],
        base.map((r) => r.table_name as string).sort(),
      );
      assert.ok(schemas.has("information_schema"));
      assert.deepEqual(plain(databases).app_a.s1, APP_A.s1, "user schemas unchanged by the option");
      assert.ok(isSorted(databases));
    });

    await t.step("ALL needs pg_database from the main database; its failure is thrown", async () => {
      await assert.rejects(
        discoverCollection({ kind: "all" }, opts({ mainDatabase: "locked" })),
        /permission denied for database/,
      );
    });

    await t.step("a table created later is found by the next discovery", async () => {
      await cluster.sql("app_b").unsafe(`CREATE TABLE public.later (id int PRIMARY KEY)`);
      const { databases } = await discoverCollection({ kind: "databases", names: ["app_b"] }, opts());
      assert.deepEqual(plain(databases).app_b.public.later, ["later_pkey"]);
    });

    await t.step("every statement discovery sent carries the marker", () => {
      const sent = cluster.logTail(100_000).split("\n")
        .map((l) => /^discoverer@\S+ LOG: {2}(?:statement|execute [^:]*): (.*)$/.exec(l)?.[1])
        .filter((s) => s !== undefined);
      assert.ok(sent.length >= 10, `precondition: the log holds the role's statements (${sent.length})`);
      assert.deepEqual(sent.filter((s) => !s.startsWith(MARKER)), []);
    });
  } finally {
    await cm.close();
  }
});

Deno.test("isSystemSchema: the catalog, information_schema, toast and temporary schemas", () => {
  for (const s of ["pg_catalog", "information_schema", "pg_toast", "pg_temp_3", "pg_toast_temp_12"]) {
    assert.equal(isSystemSchema(s), true, s);
  }
  for (const s of ["public", "pg_stuff", "pgcatalog", "my_pg_temp_1", "Information_Schema"]) {
    assert.equal(isSystemSchema(s), false, s);
  }
});
