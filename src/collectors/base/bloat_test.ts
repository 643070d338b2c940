import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import type { RawMetric } from "../../core/model.ts";
import { readBloat, readTableBloat } from "./bloat.ts";

const NAMES = ["table.bloatSizeInBytes", "table.dataSizeInBytes", "table.bloatRatio"];

/** The three bloat values by name, after checking names, order and source types. */
function values(
  metrics: RawMetric[] | undefined,
  what: string,
): { bloat: number; data: number; ratio: number } {
  assert.ok(metrics, `${what}: no bloat estimate`);
  assert.deepEqual(metrics.map((m) => m.name), NAMES, what);
  assert.ok(metrics.every((m) => m.sourceType === "gauge" && typeof m.value === "number"), what);
  const [bloat, data, ratio] = metrics.map((m) => m.value as number);
  return { bloat, data, ratio };
}

Deno.test("table bloat estimate against a real server", async (t) => {
  // Autovacuum off: only the test's own VACUUM and ANALYZE change relpages, reltuples and pg_stats.
  await using cluster = await startCluster({ name: "bloat", settings: { autovacuum: "off" } });
  await cluster.createDatabase("shop");
  await cluster.createRole("watcher", "watch-pass");
  const admin = cluster.sql("shop");
  await admin.unsafe(`
    CREATE TABLE fresh (id int, note text, at timestamptz);
    CREATE TABLE bloated (LIKE fresh);
    CREATE TABLE sparse (LIKE fresh) WITH (fillfactor = 50);
    CREATE TABLE nullable (id int, note text, x bigint, y int);
    CREATE TABLE toasted (id int, body text);
    CREATE TABLE unanalyzed (id int, note text);
    CREATE TABLE empty (id int, note text);
    CREATE TABLE widened (id int);
    CREATE TABLE events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
    CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE VIEW fresh_view AS SELECT * FROM fresh;
    INSERT INTO fresh SELECT g, md5(g::text), now() FROM generate_series(1, 20000) g;
    INSERT INTO bloated SELECT * FROM fresh;
    INSERT INTO sparse SELECT * FROM fresh;
    INSERT INTO nullable
      SELECT g, CASE WHEN g % 2 = 0 THEN md5(g::text) END, g, CASE WHEN g % 3 = 0 THEN g END
      FROM generate_series(1, 20000) g;
    -- 3200 bytes of hex per row: too large for the heap and not compressible enough, so stored in TOAST.
    INSERT INTO toasted
      SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 100) i)
      FROM generate_series(1, 300) g;
    INSERT INTO unanalyzed SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
    INSERT INTO widened SELECT generate_series(1, 5000);
    INSERT INTO events SELECT DATE '2024-01-01' + g % 300, 'kind' FROM generate_series(1, 5000) g;
    DELETE FROM bloated WHERE id % 10 <> 0;
    ANALYZE fresh, bloated, sparse, nullable, toasted, empty, widened, events;
    ALTER TABLE widened ADD COLUMN extra int;
  `);
  const cm = clusterConnections(cluster);
  const sql = cm.sql("shop");
  const major = cluster.major;
  const bloatOf = async (table: string, session = sql) =>
    (await readTableBloat(session, major, [{ schema: "public", table }]))[0];
  const heapBytes = async (table: string) =>
    Number((await admin.unsafe(`SELECT pg_relation_size($1::regclass) AS b`, [table]))[0].b);

  try {
    await t.step("a table with 90% of its rows deleted shows its bloat; fresh tables show none", async () => {
      const fresh = values(await bloatOf("fresh"), "fresh");
      const bloated = values(await bloatOf("bloated"), "bloated");
      assert.ok(fresh.ratio < 2, `fresh ratio ${fresh.ratio}`);
      assert.ok(bloated.ratio > 80, `bloated ratio ${bloated.ratio}`);
      assert.ok(bloated.ratio > fresh.ratio + 75);
      // Without VACUUM the heap keeps its pages: same data size, most of it bloat.
      assert.equal(bloated.data, fresh.data);
      assert.ok(bloated.bloat > 0.8 * bloated.data);
      for (const [table, v] of [["fresh", fresh], ["bloated", bloated]] as const) {
        assert.equal(v.data, await heapBytes(table), `${table}: data size is the heap as of ANALYZE`);
        assert.ok(Math.abs(v.bloat - v.data * v.ratio / 100) < 1, `${table}: bloat size matches its ratio`);
      }
    });

    await t.step("fill factor, NULLs and TOASTed values are not mistaken for bloat", async () => {
      const fresh = values(await bloatOf("fresh"), "fresh");
      const sparse = values(await bloatOf("sparse"), "sparse");
      assert.ok(sparse.data > 1.8 * fresh.data, "fillfactor 50 takes about twice the pages");
      assert.ok(sparse.ratio < 2, `sparse ratio ${sparse.ratio}`);
      const nullable = values(await bloatOf("nullable"), "nullable");
      assert.ok(nullable.ratio < 5, `nullable ratio ${nullable.ratio}`);
      const toasted = values(await bloatOf("toasted"), "toasted");
      assert.ok(toasted.ratio < 5, `toasted ratio ${toasted.ratio}`);
      assert.equal(toasted.data, await heapBytes("toasted"));
      const partition = values(await bloatOf("events_2024"), "events_2024");
      assert.ok(partition.ratio < 5, `partition ratio ${partition.ratio}`);
    });

    await t.step("VACUUM FULL removes the bloat the estimate saw", async () => {
      await admin.unsafe("VACUUM FULL bloated");
      await admin.unsafe("ANALYZE bloated");
      const after = values(await bloatOf("bloated"), "bloated after VACUUM FULL");
      assert.ok(after.ratio < 5, `ratio after VACUUM FULL ${after.ratio}`);
      assert.equal(after.data, await heapBytes("bloated"));
    });

    await t.step("tables that cannot be estimated get no estimate; an empty heap gets zeros", async () => {
      assert.equal(await bloatOf("unanalyzed"), undefined, "never analyzed");
      assert.equal(await bloatOf("widened"), undefined, "a column added since ANALYZE");
      assert.equal(await bloatOf("events"), undefined, "partitioned: not an ordinary table");
      assert.equal(await bloatOf("fresh_view"), undefined, "a view");
      assert.equal(await bloatOf("missing"), undefined, "no such table");
      assert.deepEqual(values(await bloatOf("empty"), "empty"), { bloat: 0, data: 0, ratio: 0 });
      await admin.unsafe("ANALYZE unanalyzed, widened");
      values(await bloatOf("unanalyzed"), "unanalyzed after ANALYZE");
      values(await bloatOf("widened"), "widened after ANALYZE");
    });

    await t.step("one statement answers for many tables, in the order asked", async () => {
      const asked = ["missing", "bloated", "fresh", "events", "empty", "fresh"];
      const got = await readTableBloat(sql, major, asked.map((table) => ({ schema: "public", table })));
      assert.equal(got.length, asked.length);
      assert.deepEqual(got.map((m) => m !== undefined), [false, true, true, false, true, true]);
      assert.deepEqual(got[2], got[5]);
      assert.deepEqual(got[2], await bloatOf("fresh"));
      assert.deepEqual(await readTableBloat(sql, major, []), []);
    });

    await t.step("pg_stats shows only columns the role may read: no estimate without SELECT", async () => {
      const watcher = clusterConnections(cluster, { username: "watcher", password: "watch-pass" });
      try {
        const session = watcher.sql("shop");
        assert.equal(await bloatOf("fresh", session), undefined);
        const fresh = [{ schema: "public", table: "fresh" }];
        assert.deepEqual(
          (await readBloat(session, major, fresh)).unreadable,
          fresh,
          "reported as unreadable",
        );
        assert.deepEqual((await readBloat(sql, major, fresh)).unreadable, [], "the owner reads it");
        await admin.unsafe("GRANT SELECT ON fresh TO watcher");
        assert.deepEqual(await bloatOf("fresh", session), await bloatOf("fresh"));
        assert.deepEqual((await readBloat(session, major, fresh)).unreadable, []);
      } finally {
        await watcher.close();
      }
    });

    await t.step("an exclusively locked table is not sized, and nothing waits for its lock", async () => {
      const holder = cm.sql("shop", "holder");
      await holder.unsafe("BEGIN");
      try {
        await holder.unsafe("LOCK TABLE empty, fresh IN ACCESS EXCLUSIVE MODE");
        const started = Date.now();
        const [fresh, empty] = await readTableBloat(sql, major, [
          { schema: "public", table: "fresh" },
          { schema: "public", table: "empty" },
        ]);
        assert.ok(Date.now() - started < 1000, "answered before lock_timeout");
        values(fresh, "fresh: estimated from the catalogs, no size needed");
        assert.equal(empty, undefined, "empty: its heap would have to be sized");
      } finally {
        await holder.unsafe("ROLLBACK");
      }
      assert.deepEqual(values(await bloatOf("empty"), "empty"), { bloat: 0, data: 0, ratio: 0 });
    });
  } finally {
    await cm.close();
  }
});
