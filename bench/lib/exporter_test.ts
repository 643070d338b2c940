import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { startCluster } from "../../tests/support/cluster.ts";
import { waitUntil } from "../../tests/support/workload.ts";
import {
  checkScrape,
  EXPORTER_QUERY_NAMESPACES,
  exporterDsn,
  exporterQueriesYaml,
  exporterVersion,
  INDEX_LABELS,
  startExporter,
  TABLE_LABELS,
} from "./exporter.ts";
import { countConnections, logOffset, logSince } from "./pg_counters.ts";
import { distinctLabelSets, parsePromText, type Series } from "./prom_text.ts";
import { createTableFixture } from "./table_fixture.ts";

Deno.test("exporterQueriesYaml has one per-database query per namespace, labels first", () => {
  const doc = parse(exporterQueriesYaml()) as Record<string, {
    query: string;
    master: boolean;
    cache_seconds: number;
    metrics: Record<string, { usage: string; description: string }>[];
  }>;
  assert.deepEqual(Object.keys(doc), [...EXPORTER_QUERY_NAMESPACES]);
  for (const [namespace, q] of Object.entries(doc)) {
    assert.equal(q.master, false, namespace);
    assert.equal(q.cache_seconds, 0, namespace);
    assert.match(q.query, new RegExp(`^SELECT current_database\\(\\) AS datname[\\s\\S]*FROM ${namespace}$`));
    const columns = q.metrics.map((m) => Object.keys(m)[0]);
    const labels = namespace === "pg_stat_user_indexes" ? INDEX_LABELS : TABLE_LABELS;
    assert.deepEqual(columns.slice(0, labels.length), [...labels], namespace);
    for (const m of q.metrics) {
      const [[column, spec]] = Object.entries(m);
      assert.equal(
        spec.usage === "LABEL",
        (labels as readonly string[]).includes(column),
        `${namespace}.${column}`,
      );
      assert.ok(q.query.includes(column), `${namespace} selects ${column}`);
      assert.ok(spec.description.length > 0);
    }
  }
});

Deno.test("exporterDsn is a URI with escaped credentials, TLS off and an application name", () => {
  const dsn = exporterDsn({ host: "127.0.0.1", port: 5433, user: "ex porter", password: "p@ss:w/rd" });
  assert.equal(
    dsn,
    "postgresql://ex%20porter:p%40ss%3Aw%2Frd@127.0.0.1:5433/postgres?sslmode=disable&application_name=postgres_exporter",
  );
  const url = new URL(
    exporterDsn({ host: "h", port: 1, user: "u", password: "p", database: "db", applicationName: "x" }),
  );
  assert.equal(url.pathname, "/db");
  assert.equal(url.searchParams.get("application_name"), "x");
});

Deno.test("exporterVersion reads the installed exporter's version", async () => {
  assert.match(await exporterVersion(), /^\d+\.\d+\.\d+/);
  await assert.rejects(exporterVersion("/bin/false"), /--version failed or printed no version/);
});

Deno.test("checkScrape names each failed check", () => {
  const series = parsePromText(
    'pg_up 0\npg_exporter_last_scrape_error 1\npg_scrape_collector_success{collector="bgwriter"} 0\n',
  );
  assert.throws(
    () => checkScrape(series, "the log"),
    (e: Error) =>
      /pg_up\{\} = 0, want 1/.test(e.message) &&
      /pg_exporter_last_scrape_error\{\} = 1, want 0/.test(e.message) &&
      /no pg_exporter_user_queries_load_error series/.test(e.message) &&
      /collector bgwriter failed/.test(e.message) &&
      /the log/.test(e.message),
  );
  checkScrape(
    parsePromText("pg_up 1\npg_exporter_last_scrape_error 0\npg_exporter_user_queries_load_error 0\n"),
  );
});

Deno.test("startExporter fails with the exporter's log when the binary exits at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      startExporter({
        binary: "/bin/false",
        queriesFile: join(dir, "q.yaml"),
        target: { host: "127.0.0.1", port: 1, user: "u", password: "p" },
      }),
      /exporter exited with 1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const value = (series: Series[], name: string, labels: Record<string, string>) =>
  series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

Deno.test("the exporter scrapes every table and index of every database through the queries file", async () => {
  await using cluster = await startCluster({ name: "exporter", settings: { log_connections: "on" } });
  const names = await createTableFixture(cluster, {
    databases: 2,
    tables: 3,
    indexesPerTable: 2,
    rowsPerTable: 4,
  });
  await cluster.createRole("scraper", "scraperpw", { grants: ["pg_monitor"] });
  for (const db of names) {
    await waitUntil(`statistics of ${db}`, async () => {
      const [s] = await cluster.sql(
        db,
      )`SELECT min(n_live_tup)::int AS live, count(*)::int AS n FROM pg_stat_user_tables`;
      return s.n === 3 && s.live === 4;
    });
  }
  const dir = await Deno.makeTempDir();
  try {
    const queriesFile = join(dir, "queries.yaml");
    await Deno.writeTextFile(queriesFile, exporterQueriesYaml());
    await using exporter = await startExporter({
      queriesFile,
      target: { host: cluster.host, port: cluster.port, user: "scraper", password: "scraperpw" },
    });
    assert.equal(exporter.url, new URL(exporter.url).href);
    assert.ok(exporter.readyMs > 0);

    const offset = logOffset(cluster.logFile);
    const first = await exporter.scrape();
    const firstConnections = countConnections(logSince(cluster.logFile, offset), "scraper");
    checkScrape(first.series, exporter.log());
    assert.equal(distinctLabelSets(first.series, "pg_stat_user_tables_", TABLE_LABELS), 6);
    assert.equal(distinctLabelSets(first.series, "pg_statio_user_tables_", TABLE_LABELS), 6);
    assert.equal(distinctLabelSets(first.series, "pg_stat_user_indexes_", INDEX_LABELS), 12);
    const t1 = { datname: names[1], schemaname: "public", relname: "t_1" };
    assert.equal(value(first.series, "pg_stat_user_tables_n_live_tup", t1), 4);
    assert.ok(value(first.series, "pg_stat_user_tables_seq_scan", t1)! >= 1);
    assert.ok(value(first.series, "pg_stat_user_tables_last_analyze", t1)! > 1.6e9, "analyzed: Unix seconds");
    const [size] = await cluster.sql(names[1])`SELECT pg_relation_size('public.t_1_pkey')::int AS bytes`;
    assert.equal(
      value(first.series, "pg_stat_user_indexes_size_bytes", { ...t1, indexrelname: "t_1_pkey" }),
      size.bytes,
    );
    assert.ok(firstConnections >= 3, `${firstConnections} connections: one per database and the main one`);

    // Later scrapes reuse the connections; CPU by thread run time agrees with the tick clock.
    const offset2 = logOffset(cluster.logFile);
    const statBefore = exporter.totalCpuMs();
    const second = await exporter.scrape();
    const statUsed = exporter.totalCpuMs() - statBefore;
    assert.equal(countConnections(logSince(cluster.logFile, offset2), "scraper"), 0);
    assert.ok(second.cpuMs > 0 && second.wallMs > 0, `cpu ${second.cpuMs} ms, wall ${second.wallMs} ms`);
    assert.ok(
      Math.abs(second.cpuMs - statUsed) <= 25,
      `thread clock ${second.cpuMs} ms, tick clock ${statUsed} ms`,
    );
    assert.ok(exporter.peakRssKb() > 5 * 1024, `peak RSS ${exporter.peakRssKb()} kB`);
    assert.ok(second.body.includes("pg_stat_user_indexes_idx_tup_read{"));

    await exporter.stop();
    assert.throws(() => exporter.totalCpuMs(), /is not running/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a scrape with a wrong password fails checkScrape on pg_up", async () => {
  await using cluster = await startCluster({ name: "exporter-auth" });
  await cluster.createRole("scraper", "right");
  const dir = await Deno.makeTempDir();
  try {
    const queriesFile = join(dir, "queries.yaml");
    await Deno.writeTextFile(queriesFile, exporterQueriesYaml());
    await using exporter = await startExporter({
      queriesFile,
      target: { host: cluster.host, port: cluster.port, user: "scraper", password: "wrong" },
    });
    const scrape = await exporter.scrape();
    assert.throws(() => checkScrape(scrape.series, exporter.log()), /pg_up\{\} = 0, want 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
