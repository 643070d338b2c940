import assert from "node:assert/strict";
import type postgres from "postgres";
import { type Cluster, startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { waitUntil } from "../../../tests/support/workload.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import type { BaseSample, CollectionIssue } from "../../core/model.ts";
import { INDEX_SAMPLE, TABLE_SAMPLE } from "../../core/relation_catalog.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import type { ConnectionManager } from "../../query_engine/connection.ts";
import { resolveDatabases } from "../databases.ts";
import { collectRelationSamples, RELATION_CONCURRENCY, type RelationContext } from "./relation_samples.ts";

/** Host and port the samples name (the sessions go to the test cluster). */
const HOST = "db1.example";
const PORT = "6543";
const BLOAT = ["table.bloatSizeInBytes", "table.dataSizeInBytes", "table.bloatRatio"];

/** Identity attribute `key` of a sample's entity. */
function idOf(s: BaseSample, key: string): string | undefined {
  return s.entity.idAttributes.find((a) => a.key === key)?.value;
}

/** `table` or `index`, from the event type. */
function kindOf(s: BaseSample): "table" | "index" {
  if (s.eventType === TABLE_SAMPLE) return "table";
  if (s.eventType === INDEX_SAMPLE) return "index";
  throw new Error(`unexpected event type ${s.eventType}`);
}

/** `database/kind` of each sample, consecutive repeats collapsed: the order of the blocks. */
function blocks(samples: BaseSample[]): string[] {
  const out: string[] = [];
  for (const s of samples) {
    const block = `${idOf(s, "pg-database")}/${kindOf(s)}`;
    if (out.at(-1) !== block) out.push(block);
  }
  return out;
}

/** `schema.table` of table samples, `schema.table.index` of index samples, of one database. */
function objectsOf(samples: BaseSample[], db: string, kind: "table" | "index"): string[] {
  const names = samples
    .filter((s) => idOf(s, "pg-database") === db && kindOf(s) === kind)
    .map((s) =>
      kind === "table"
        ? `${idOf(s, "pg-schema")}.${s.entity.name}`
        : `${idOf(s, "pg-schema")}.${idOf(s, "pg-table")}.${s.entity.name}`
    );
  return [...new Set(names)];
}

const hasMetric = (s: BaseSample, name: string) => s.metrics.some((m) => m.name === name);

/** User tables (`schema.table`) and indexes (`schema.table.index`) of `db`, as the server lists them. */
async function catalogObjects(
  cluster: Cluster,
  db: string,
): Promise<{ tables: string[]; indexes: string[] }> {
  const sql = cluster.sql(db);
  const tables = await sql`SELECT schemaname || '.' || tablename AS n FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename`;
  const indexes = await sql`SELECT schemaname || '.' || tablename || '.' || indexname AS n FROM pg_indexes
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename, indexname`;
  return { tables: tables.map((r) => r.n), indexes: indexes.map((r) => r.n) };
}

/** A context on `cm` for `databases`, with the default configuration and `over` applied. */
async function context(
  cm: ConnectionManager,
  databases: string[],
  over: Partial<Config>,
): Promise<{ ctx: RelationContext; issues: CollectionIssue[] }> {
  const issues: CollectionIssue[] = [];
  const ctx: RelationContext = {
    caps: await probeCapabilities(cm.sql("postgres")),
    config: { ...defaultConfig(), hostname: HOST, port: PORT, ...over },
    databases,
    connections: cm,
    report: (i) => issues.push(i),
  };
  return { ctx, issues };
}

/** The test tables of one database; `sales.orders` only in `beta`. */
function fixture(db: string): string {
  return `
    CREATE TABLE public.items (id int PRIMARY KEY, sku text);
    CREATE INDEX items_sku_idx ON public.items (sku);
    INSERT INTO public.items SELECT g, 'sku-' || g FROM generate_series(1, 300) g;
    CREATE TABLE public.notes (v int);
    INSERT INTO public.notes SELECT generate_series(1, 40);
    ${
    db === "beta"
      ? `CREATE SCHEMA sales;
         CREATE TABLE sales.orders (id int PRIMARY KEY, amount int);
         CREATE INDEX orders_amount_idx ON sales.orders (amount);
         INSERT INTO sales.orders SELECT g, g % 7 FROM generate_series(1, 100) g;`
      : ""
  }
    ANALYZE;
    GRANT USAGE ON SCHEMA public TO reader;
    ${db === "beta" ? "GRANT USAGE ON SCHEMA sales TO reader; GRANT SELECT ON sales.orders TO reader;" : ""}
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
  `;
}

const REACHABLE = ["alpha", "beta", "gamma"];

Deno.test("collectRelationSamples against a real server", async (t) => {
  await using cluster = await startCluster({ name: "relsamples" });
  await cluster.createRole("reader", "reader-pw", { grants: ["pg_monitor"] });
  for (const db of [...REACHABLE, "locked"]) await cluster.createDatabase(db);
  await cluster.sql().unsafe(`REVOKE CONNECT ON DATABASE locked FROM PUBLIC`);
  for (const db of REACHABLE) await cluster.sql(db).unsafe(fixture(db));
  await cluster.sql("locked").unsafe(`CREATE TABLE public.secret (id int PRIMARY KEY)`);
  const expected = new Map<string, { tables: string[]; indexes: string[] }>();
  for (const db of REACHABLE) expected.set(db, await catalogObjects(cluster, db));
  assert.deepEqual(expected.get("beta")!.tables, ["public.items", "public.notes", "sales.orders"]);

  const cm = clusterConnections(cluster, { username: "reader", password: "reader-pw" });
  try {
    const all = await resolveDatabases(cm.sql("postgres"), "all", []);
    assert.deepEqual(all, ["alpha", "beta", "gamma", "locked", "postgres"], "precondition");

    await t.step("ALL: tables then indexes per database, in name order; locked reported once", async () => {
      const { ctx, issues } = await context(cm, all, { collectionList: "ALL" });
      const samples = await collectRelationSamples(ctx);
      assert.deepEqual(blocks(samples), REACHABLE.flatMap((db) => [`${db}/table`, `${db}/index`]));
      for (const db of REACHABLE) {
        assert.deepEqual(objectsOf(samples, db, "table"), expected.get(db)!.tables, db);
        assert.deepEqual(objectsOf(samples, db, "index"), expected.get(db)!.indexes, db);
        // Complete: every table has its bloat sample, then its statistics sample.
        for (const table of expected.get(db)!.tables) {
          const own = samples.filter((s) =>
            idOf(s, "pg-database") === db && `${idOf(s, "pg-schema")}.${s.entity.name}` === table &&
            s.eventType === TABLE_SAMPLE
          );
          assert.deepEqual(
            own.map((s) => [hasMetric(s, "table.bloatSizeInBytes"), hasMetric(s, "table.totalSizeInBytes")]),
            [[true, false], [false, true]],
            `${db}.${table}`,
          );
        }
      }
      assert.ok(!samples.some((s) => idOf(s, "pg-database") === "locked"), "nothing of locked");
      assert.ok(!samples.some((s) => idOf(s, "pg-database") === "postgres"), "postgres has no user table");
      for (const s of samples) {
        assert.equal(idOf(s, "host"), HOST);
        assert.equal(idOf(s, "port"), PORT);
      }
      assert.equal(issues.length, 1, JSON.stringify(issues));
      const [issue] = issues;
      assert.equal(issue.component, "base.discovery");
      assert.equal(issue.cause, "unreachable:locked");
      assert.equal(issue.severity, "warning");
      assert.match(issue.message, /^database "locked": no table or index samples: .*permission denied/);
    });

    await t.step("databases come out in name order whatever order they are given in", async () => {
      const { ctx } = await context(cm, ["gamma", "locked", "alpha", "beta"], { collectionList: "ALL" });
      const samples = await collectRelationSamples(ctx);
      assert.deepEqual(blocks(samples), REACHABLE.flatMap((db) => [`${db}/table`, `${db}/index`]));
    });

    await t.step("array form: the resolved databases only", async () => {
      const { ctx, issues } = await context(cm, ["beta"], { collectionList: '["beta"]' });
      const samples = await collectRelationSamples(ctx);
      assert.deepEqual(blocks(samples), ["beta/table", "beta/index"]);
      assert.deepEqual(issues, []);
    });

    await t.step("system schemas: only with collectSystemSchemas", async () => {
      const isSystem = (s: BaseSample) =>
        ["pg_catalog", "information_schema"].includes(idOf(s, "pg-schema")!);
      const { ctx: plain } = await context(cm, ["alpha"], { collectionList: '["alpha"]' });
      assert.ok(!(await collectRelationSamples(plain)).some(isSystem));

      const { ctx } = await context(cm, ["alpha"], {
        collectionList: '["alpha"]',
        collectSystemSchemas: true,
      });
      const samples = await collectRelationSamples(ctx);
      const tables = objectsOf(samples, "alpha", "table");
      for (const name of ["pg_catalog.pg_class", "pg_catalog.pg_attribute", "public.items"]) {
        assert.ok(tables.includes(name), `${name} in ${tables.join(", ")}`);
      }
      assert.ok(objectsOf(samples, "alpha", "index").includes("pg_catalog.pg_class.pg_class_oid_index"));
      assert.deepEqual(blocks(samples), ["alpha/table", "alpha/index"]);
    });

    await t.step("collectBloatMetrics false: one statistics sample per table, no bloat", async () => {
      const { ctx, issues } = await context(cm, all, { collectionList: "ALL", collectBloatMetrics: false });
      const samples = await collectRelationSamples(ctx);
      assert.ok(!samples.some((s) => s.metrics.some((m) => BLOAT.includes(m.name))));
      for (const db of REACHABLE) {
        const tables = samples.filter((s) => idOf(s, "pg-database") === db && s.eventType === TABLE_SAMPLE);
        assert.equal(tables.length, expected.get(db)!.tables.length, db);
        assert.ok(tables.every((s) => hasMetric(s, "table.totalSizeInBytes")));
      }
      assert.deepEqual(issues.map((i) => i.cause), ["unreachable:locked"]);
    });

    await t.step(
      "object form: taken literally, neither resolved databases nor table ignore list",
      async () => {
        const list = {
          beta: { sales: { orders: ["orders_pkey"] } },
          alpha: { public: { notes: [], ghost: [] } },
        };
        const { ctx, issues } = await context(cm, ["gamma"], {
          collectionList: JSON.stringify(list),
          collectionIgnoreTableList: ["notes"],
        });
        const samples = await collectRelationSamples(ctx);
        assert.deepEqual(blocks(samples), ["alpha/table", "beta/table", "beta/index"]);
        assert.deepEqual(objectsOf(samples, "alpha", "table"), ["public.notes"]);
        assert.deepEqual(objectsOf(samples, "beta", "table"), ["sales.orders"]);
        assert.deepEqual(objectsOf(samples, "beta", "index"), ["sales.orders.orders_pkey"]);
        assert.deepEqual(issues, []);
      },
    );
  } finally {
    await cm.close();
  }
});

/**
 * Holds an AccessExclusiveLock on `pg_catalog.pg_statistic` of `db` in an open transaction. The
 * bloat statement reads `pg_stats`, a view over it, so a collector session of that database waits
 * on the lock (and shows as a Lock wait in pg_stat_activity) until release() is called.
 */
async function lockStatistics(cluster: Cluster, db: string): Promise<{ release(): Promise<void> }> {
  const sql: postgres.Sql = cluster.sql(db);
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => locked = r);
  const tx = sql.begin(async (tx) => {
    await tx.unsafe(`LOCK TABLE pg_catalog.pg_statistic IN ACCESS EXCLUSIVE MODE`);
    locked();
    await released;
  });
  await Promise.race([isLocked, tx]);
  return {
    async release() {
      release();
      await tx;
    },
  };
}

Deno.test("collectRelationSamples reads at most RELATION_CONCURRENCY databases at once", async () => {
  const DATABASES = ["c1", "c2", "c3", "c4", "c5", "c6"];
  assert.ok(DATABASES.length > RELATION_CONCURRENCY, "precondition: more databases than the limit");
  await using cluster = await startCluster({ name: "relconc" });
  const list: Record<string, Record<string, Record<string, string[]>>> = {};
  for (const db of DATABASES) {
    await cluster.createDatabase(db);
    await cluster.sql(db).unsafe(`CREATE TABLE public.t (id int PRIMARY KEY);
      INSERT INTO public.t SELECT generate_series(1, 10); ANALYZE public.t`);
    list[db] = { public: { t: ["t_pkey"] } };
  }
  const app = "pgql_relconc";
  // Long timeouts: the collector's sessions must wait for the locks, not give up after a second.
  const cm = clusterConnections(cluster, {
    session: { applicationName: app, statementTimeoutMs: 60_000, lockTimeoutMs: 60_000 },
  });
  const observer = cluster.sql();
  const sessions = async (where = "") =>
    (await observer.unsafe(
      `SELECT datname FROM pg_stat_activity
       WHERE application_name = $1 AND datname <> 'postgres' ${where} ORDER BY datname`,
      [app],
    )).map((r) => r.datname as string);
  const waiting = () => sessions(`AND wait_event_type = 'Lock'`);
  const locks = new Map<string, { release(): Promise<void> }>();
  try {
    for (const db of DATABASES) locks.set(db, await lockStatistics(cluster, db));
    // The object form reads no catalog before the per-database statements, so every collector
    // session is opened by the worker that reads its database.
    const { ctx, issues } = await context(cm, DATABASES, { collectionList: JSON.stringify(list) });
    const run = collectRelationSamples(ctx);
    let failed: unknown;
    run.catch((e) => failed = e);

    const first = DATABASES.slice(0, RELATION_CONCURRENCY);
    await waitUntil(`${first.join(",")} to wait on the lock`, async () => {
      if (failed) throw failed;
      return (await waiting()).join(",") === first.join(",");
    });
    // While those wait, no other database is touched, however long it takes.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await sessions(), first, "only the first databases have a session");
    }

    // One database finishing lets the next one start: the window slides, it never widens.
    await locks.get("c1")!.release();
    const next = [...DATABASES.slice(1, RELATION_CONCURRENCY + 1)];
    await waitUntil(`${next.join(",")} to wait on the lock`, async () => {
      if (failed) throw failed;
      return (await waiting()).join(",") === next.join(",");
    });
    assert.deepEqual(await sessions(), DATABASES.slice(0, RELATION_CONCURRENCY + 1));

    for (const db of DATABASES.slice(1)) await locks.get(db)!.release();
    const samples = await run;
    assert.deepEqual(blocks(samples), DATABASES.flatMap((db) => [`${db}/table`, `${db}/index`]));
    assert.deepEqual(issues, []);
  } finally {
    for (const lock of locks.values()) await lock.release();
    await cm.close();
  }
});
