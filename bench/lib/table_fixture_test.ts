import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { waitUntil } from "../../tests/support/workload.ts";
import { createTableFixture, fixtureSql } from "./table_fixture.ts";

Deno.test("fixtureSql builds one DO block with the extra indexes and the row count", () => {
  const sql = fixtureSql({ databases: 1, tables: 7, indexesPerTable: 3, rowsPerTable: 11 });
  assert.match(sql, /FOR i IN 1\.\.7 LOOP/);
  assert.match(sql, /CREATE INDEX t_%s_i2 /);
  assert.match(sql, /CREATE INDEX t_%s_i3 /);
  assert.doesNotMatch(sql, /_i4 /);
  assert.match(sql, /generate_series\(1, 11\)/);
  assert.doesNotMatch(
    fixtureSql({ databases: 1, tables: 1, indexesPerTable: 1, rowsPerTable: 1 }),
    /CREATE INDEX/,
  );
});

Deno.test("createTableFixture rejects sizes and prefixes it cannot use", async () => {
  await using cluster = await startCluster({ name: "fixture-bad" });
  await assert.rejects(
    createTableFixture(cluster, { databases: 1, tables: 0, indexesPerTable: 2, rowsPerTable: 1 }),
    /tables must be a positive integer, got 0/,
  );
  await assert.rejects(
    createTableFixture(cluster, { databases: 1, tables: 1, indexesPerTable: 2.5, rowsPerTable: 1 }),
    /indexesPerTable must be a positive integer, got 2.5/,
  );
  await assert.rejects(
    createTableFixture(cluster, {
      databases: 1,
      tables: 1,
      indexesPerTable: 1,
      rowsPerTable: 1,
      prefix: "a;b",
    }),
    /prefix "a;b" must be letters, digits or _/,
  );
});

Deno.test("createTableFixture fills every database with analyzed, scanned tables and their indexes", async () => {
  await using cluster = await startCluster({ name: "fixture" });
  const names = await createTableFixture(cluster, {
    databases: 2,
    tables: 4,
    indexesPerTable: 3,
    rowsPerTable: 6,
    prefix: "fx",
  });
  assert.deepEqual(names, ["fx_1", "fx_2"]);
  for (const name of names) {
    const sql = cluster.sql(name);
    const [rel] = await sql`
      SELECT count(*) FILTER (WHERE c.relkind = 'r')::int AS tables,
             count(*) FILTER (WHERE c.relkind = 'i')::int AS indexes,
             min(c.reltuples) FILTER (WHERE c.relkind = 'r')::int AS min_tuples,
             max(c.reltuples) FILTER (WHERE c.relkind = 'r')::int AS max_tuples
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`;
    assert.deepEqual(rel, { tables: 4, indexes: 12, min_tuples: 6, max_tuples: 6 });
    await waitUntil(`scan counts in ${name}`, async () => {
      const [s] = await sql`
        SELECT count(*)::int AS n, min(seq_scan)::int AS seq, min(idx_scan)::int AS idx, min(n_live_tup)::int AS live
        FROM pg_stat_user_tables`;
      return s.n === 4 && s.seq >= 1 && s.idx >= 1 && s.live === 6;
    });
    const [idx] = await sql`SELECT count(*)::int AS n FROM pg_stat_user_indexes`;
    assert.equal(idx.n, 12);
  }
});
