/**
 * Databases full of small tables, for benchmarks that scale with the number of tables and indexes:
 * each database gets `tables` tables in schema `public`, each with a primary key and
 * `indexesPerTable - 1` further indexes, a few rows, one sequential scan and one index lookup (so
 * the statistics views have non-zero counters), and is analyzed.
 *
 * Each database is filled by one DO block, so even thousands of tables take seconds.
 *
 * @module
 */

import type { Cluster } from "../../tests/support/cluster.ts";

/** Sizes of the fixture. */
export interface TableFixture {
  /** Databases to create, named `<prefix>_1` … `<prefix>_<databases>`. */
  databases: number;
  /** Tables per database, named `t_1` … `t_<tables>`. */
  tables: number;
  /** Indexes per table, counting the primary key (at least 1). */
  indexesPerTable: number;
  /** Rows per table. */
  rowsPerTable: number;
  /** Prefix of the database names (letters, digits, `_`); `bench` by default. */
  prefix?: string;
}

/** The DO block that creates and fills the tables of one database. */
export function fixtureSql(f: TableFixture): string {
  const extra = Array.from(
    { length: f.indexesPerTable - 1 },
    (_, k) => `EXECUTE format('CREATE INDEX t_%s_i${k + 2} ON public.t_%s (v, id)', i, i);`,
  ).join("\n    ");
  return `DO $fixture$
BEGIN
  FOR i IN 1..${f.tables} LOOP
    EXECUTE format('CREATE TABLE public.t_%s (id int PRIMARY KEY, v int NOT NULL, note text)', i);
    ${extra}
    EXECUTE format('INSERT INTO public.t_%s SELECT g, g %% 7, md5(g::text) FROM generate_series(1, ${f.rowsPerTable}) g', i);
    EXECUTE format('SELECT count(*) FROM public.t_%s', i);
    PERFORM set_config('enable_seqscan', 'off', true);
    EXECUTE format('SELECT count(*) FROM public.t_%s WHERE id = 1', i);
    PERFORM set_config('enable_seqscan', 'on', true);
  END LOOP;
END
$fixture$;
ANALYZE;`;
}

function checkFixture(f: TableFixture): void {
  for (const key of ["databases", "tables", "indexesPerTable", "rowsPerTable"] as const) {
    const value = f[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`table fixture: ${key} must be a positive integer, got ${value}`);
    }
  }
  if (f.prefix !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(f.prefix)) {
    throw new Error(`table fixture: prefix "${f.prefix}" must be letters, digits or _ (at most 41)`);
  }
}

/**
 * Creates the fixture's databases on `cluster` and fills them; resolves to the database names.
 *
 * @throws Error when a size is not a positive integer or the prefix is not a plain name.
 */
export async function createTableFixture(cluster: Cluster, f: TableFixture): Promise<string[]> {
  checkFixture(f);
  const names = Array.from({ length: f.databases }, (_, i) => `${f.prefix ?? "bench"}_${i + 1}`);
  const sql = fixtureSql(f);
  for (const name of names) {
    await cluster.createDatabase(name);
    const db = cluster.sql(name);
    try {
      await db.unsafe(sql).simple();
    } finally {
      await db.end(); // ending the session also flushes its statistics
    }
  }
  return names;
}
