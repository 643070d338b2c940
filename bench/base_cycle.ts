/**
 * Benchmark: one base cycle (no query monitoring) over 3 databases × 300 tables × 2 indexes, against
 * Debian's prometheus-postgres-exporter scraping the same databases in the same run.
 *
 * Collector side: the collector as its own process (`deno run -P=collector main.ts`, as
 * `deno task start`), one-shot, `COLLECTION_LIST=ALL`, `ENABLE_QUERY_MONITORING=false`, other
 * settings at their defaults; CPU (user+sys) and peak RSS from GNU time, wall time from spawn to exit.
 *
 * Exporter side: one scrape of `/metrics` is one cycle. The exporter runs with
 * `--auto-discover-databases` and a queries file reading the same per-table and per-index
 * statistics as the collector's table and index samples (bench/lib/exporter.ts). It is measured
 * two ways, each printed as a baseline: a long-running exporter scraped once per round (its usual
 * deployment), and a fresh exporter process started, scraped once and stopped (the counterpart of
 * the collector's one-shot process). CPU comes from /proc deltas, peak RSS from VmHWM.
 *
 * Both sides log in as their own role, so connections (server log, `log_connections`) and
 * statements (pg_stat_statements, `track = top`) are counted per side. After one warm-up of each,
 * the rounds interleave: collector startup-only run (`-show_version`), collector cycle, scrape of
 * the running exporter, fresh exporter. Figures are medians over the rounds; ratios are
 * collector / exporter. The report also counts what each side produced (samples per kind, series
 * per query, tables and indexes covered), so the scope of the comparison is visible.
 *
 * Runs on a throwaway Debian PostgreSQL 15 cluster, removed at the end.
 *
 * @module
 */

import { join } from "node:path";
import type postgres from "postgres";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { clusterEnv } from "../tests/support/collector.ts";
import { runTimedCollector, type TimedCollectorRun } from "./lib/collector_process.ts";
import {
  checkScrape,
  EXPORTER_QUERY_NAMESPACES,
  exporterQueriesYaml,
  exporterVersion,
  INDEX_LABELS,
  type RunningExporter,
  type Scrape,
  startExporter,
  TABLE_LABELS,
} from "./lib/exporter.ts";
import { countNri, type NriCounts } from "./lib/nri_counts.ts";
import { countConnections, logOffset, logSince, statementCalls } from "./lib/pg_counters.ts";
import { countByPrefix, distinctLabelSets, type Series } from "./lib/prom_text.ts";
import { settledCpu } from "./lib/proc_usage.ts";
import type { Benchmark, BenchReport, ReportRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { createTableFixture } from "./lib/table_fixture.ts";

/** Sizes of the benchmark. */
export interface BaseCycleOptions {
  /** Databases besides `postgres`. */
  databases: number;
  /** Tables per database. */
  tables: number;
  /** Indexes per table, counting the primary key. */
  indexesPerTable: number;
  /** Rows per table. */
  rowsPerTable: number;
  /** Measured rounds (after one warm-up of each side). */
  rounds: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: Readonly<BaseCycleOptions> = {
  databases: 3,
  tables: 300,
  indexesPerTable: 2,
  rowsPerTable: 5,
  rounds: 5,
};

/** Role of the collector. */
export const COLLECTOR_ROLE = "bench_collector";
/** Role of the exporter. */
export const EXPORTER_ROLE = "bench_exporter";
const COLLECTOR_PASSWORD = "collector-bench-secret";
const EXPORTER_PASSWORD = "exporterbenchsecret";
const KIB_PER_MIB = 1024;
/** Event types whose counts are always printed, so that missing kinds show as 0. */
const SAMPLE_KINDS = [
  "PostgresqlInstanceSample",
  "PostgresqlDatabaseSample",
  "PostgresqlTableSample",
  "PostgresqlIndexSample",
];

/** What the server counted for one role while something ran. */
interface ServerCounts {
  /** Connections the role opened (server log). */
  connections: number;
  /** Statements the role executed (pg_stat_statements calls). */
  statements: number;
}

/** One measured cycle of either side. */
interface Cycle extends ServerCounts {
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
}

/** A collector cycle with its output. */
interface CollectorCycle extends Cycle {
  run: TimedCollectorRun;
}

/** An exporter cycle with its scrape. */
interface ExporterCycle extends Cycle {
  scrape: Scrape;
}

/** Runs `fn`, counting the connections and statements of `role` meanwhile. */
async function counted<T>(
  cluster: Cluster,
  admin: postgres.Sql,
  role: string,
  fn: () => Promise<T>,
): Promise<{ result: T } & ServerCounts> {
  const before = await statementCalls(admin, role);
  const offset = logOffset(cluster.logFile);
  const result = await fn();
  const after = await statementCalls(admin, role);
  return {
    result,
    connections: countConnections(logSince(cluster.logFile, offset), role),
    statements: after.byRole - before.byRole,
  };
}

function checkOptions(opts: BaseCycleOptions): void {
  for (const [key, value] of Object.entries(opts)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`base_cycle: option ${key} must be a positive integer, got ${value}`);
    }
  }
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Fails loudly when a collector run did not do a full base cycle over every database. */
function checkCollectorRun(what: string, run: TimedCollectorRun, databases: number): NriCounts {
  if (run.code !== 0) throw new Error(`${what}: collector exited with ${run.code}:\n${tail(run.stderr)}`);
  if (/^\[ERROR\]/m.test(run.stderr)) {
    throw new Error(`${what}: collector logged errors:\n${tail(run.stderr)}`);
  }
  const counts = countNri(run.stdout);
  const dbEntities = counts.entitiesByType.get("pg-database") ?? 0;
  if ((counts.samplesByType.get("PostgresqlInstanceSample") ?? 0) !== 1 || dbEntities !== databases) {
    throw new Error(
      `${what}: expected 1 instance sample and ${databases} pg-database entities, got ` +
        `${counts.samplesByType.get("PostgresqlInstanceSample") ?? 0} and ${dbEntities}:\n${
          tail(run.stderr)
        }`,
    );
  }
  return counts;
}

/** Fails loudly when a scrape missed something or did not cover every fixture table and index. */
function checkExporterScrape(
  exporter: RunningExporter,
  scrape: Scrape,
  tables: number,
  indexes: number,
): void {
  checkScrape(scrape.series, exporter.log());
  const seenTables = distinctLabelSets(scrape.series, "pg_stat_user_tables_", TABLE_LABELS);
  const seenIndexes = distinctLabelSets(scrape.series, "pg_stat_user_indexes_", INDEX_LABELS);
  if (seenTables !== tables || seenIndexes !== indexes) {
    throw new Error(
      `exporter scrape covers ${seenTables} tables and ${seenIndexes} indexes, expected ${tables} and ${indexes}`,
    );
  }
}

/** One one-shot collector cycle. */
async function collectorCycle(
  cluster: Cluster,
  admin: postgres.Sql,
  env: Record<string, string>,
): Promise<CollectorCycle> {
  const c = await counted(cluster, admin, COLLECTOR_ROLE, () => runTimedCollector([], env));
  const run = c.result;
  return {
    run,
    wallMs: run.wallMs,
    cpuMs: run.usage.cpuMs,
    peakRssKb: run.usage.maxRssKb,
    connections: c.connections,
    statements: c.statements,
  };
}

/** One scrape of the long-running exporter. */
async function warmScrape(
  cluster: Cluster,
  admin: postgres.Sql,
  exporter: RunningExporter,
): Promise<ExporterCycle> {
  const c = await counted(cluster, admin, EXPORTER_ROLE, () => exporter.scrape());
  const scrape = c.result;
  return {
    scrape,
    wallMs: scrape.wallMs,
    cpuMs: scrape.cpuMs,
    peakRssKb: exporter.peakRssKb(),
    connections: c.connections,
    statements: c.statements,
  };
}

/** A fresh exporter: start, one scrape, stop; CPU and wall time include its start. */
async function coldExporter(
  cluster: Cluster,
  admin: postgres.Sql,
  start: () => Promise<RunningExporter>,
): Promise<ExporterCycle & { readyMs: number }> {
  const c = await counted(cluster, admin, EXPORTER_ROLE, async () => {
    await using exporter = await start();
    const scrape = await exporter.scrape();
    const wallMs = performance.now() - exporter.spawnedAt;
    await settledCpu(exporter.pid);
    return { scrape, wallMs, cpuMs: exporter.totalCpuMs(), peakRssKb: exporter.peakRssKb(), exporter };
  });
  const { scrape, wallMs, cpuMs, peakRssKb, exporter } = c.result;
  checkScrape(scrape.series, exporter.log());
  return {
    scrape,
    wallMs,
    cpuMs,
    peakRssKb,
    readyMs: exporter.readyMs,
    connections: c.connections,
    statements: c.statements,
  };
}

/** Rows comparing collector cycles with the cycles of one exporter baseline. */
function comparisonRows(
  collector: Cycle[],
  exporter: Cycle[],
  label: string,
  peakRssKb = median(exporter.map((e) => e.peakRssKb)),
): ReportRow[] {
  const med = (cycles: Cycle[], f: (c: Cycle) => number) => median(cycles.map(f));
  const row = (metric: string, unit: ReportRow["unit"], f: (c: Cycle) => number, scale = 1): ReportRow => ({
    metric,
    value: med(collector, f) / scale,
    unit,
    baseline: { value: med(exporter, f) / scale, label },
  });
  return [
    row("CPU per cycle (user+sys)", "ms", (c) => c.cpuMs),
    row("wall time per cycle", "ms", (c) => c.wallMs),
    {
      metric: "peak RSS",
      value: med(collector, (c) => c.peakRssKb) / KIB_PER_MIB,
      unit: "MiB",
      baseline: { value: peakRssKb / KIB_PER_MIB, label },
    },
    row("connections opened per cycle", "count", (c) => c.connections),
    row("statements executed per cycle", "count", (c) => c.statements),
  ];
}

/** Rows counting what each side produced. */
function scopeRows(counts: NriCounts, series: Series[]): ReportRow[] {
  const exporterLabel = "exporter series";
  const kinds = [...new Set([...SAMPLE_KINDS, ...counts.samplesByType.keys()])];
  const byPrefix = countByPrefix(series, EXPORTER_QUERY_NAMESPACES.map((n) => `${n}_`));
  const rows: ReportRow[] = [
    {
      metric: "metric values per cycle",
      value: counts.metricValues,
      unit: "count",
      baseline: { value: series.length, label: exporterLabel },
    },
    {
      metric: "tables covered",
      value: counts.entitiesByType.get("pg-table") ?? 0,
      unit: "count",
      baseline: {
        value: distinctLabelSets(series, "pg_stat_user_tables_", TABLE_LABELS),
        label: "exporter, distinct tables",
      },
    },
    {
      metric: "indexes covered",
      value: counts.entitiesByType.get("pg-index") ?? 0,
      unit: "count",
      baseline: {
        value: distinctLabelSets(series, "pg_stat_user_indexes_", INDEX_LABELS),
        label: "exporter, distinct indexes",
      },
    },
    ...kinds.map((kind) => ({
      metric: `  collector samples: ${kind}`,
      value: counts.samplesByType.get(kind) ?? 0,
      unit: "count" as const,
    })),
    ...[...byPrefix].map(([prefix, n]) => ({
      metric: `  exporter series: ${prefix === "other" ? "other (default metrics)" : `${prefix}*`}`,
      value: n,
      unit: "count" as const,
    })),
  ];
  return rows;
}

/** Runs the benchmark with `opts` and returns its report. */
export async function runBaseCycle(opts: BaseCycleOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  checkOptions(opts);
  const started = performance.now();
  const version = await exporterVersion();
  await using cluster = await startCluster({
    name: "bench-base",
    preload: ["pg_stat_statements"],
    settings: { "pg_stat_statements.track": "top", log_connections: "on" },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  const fillStarted = performance.now();
  const names = await createTableFixture(cluster, {
    databases: opts.databases,
    tables: opts.tables,
    indexesPerTable: opts.indexesPerTable,
    rowsPerTable: opts.rowsPerTable,
  });
  const fillMs = performance.now() - fillStarted;
  await cluster.createRole(COLLECTOR_ROLE, COLLECTOR_PASSWORD, { grants: ["pg_monitor"] });
  await cluster.createRole(EXPORTER_ROLE, EXPORTER_PASSWORD, { grants: ["pg_monitor"] });
  const admin = cluster.sql();

  const tmp = await Deno.makeTempDir({ prefix: "pgquerylens-bench-base-" });
  try {
    const queriesFile = join(tmp, "queries.yaml");
    await Deno.writeTextFile(queriesFile, exporterQueriesYaml());
    const startOne = () =>
      startExporter({
        queriesFile,
        target: { host: cluster.host, port: cluster.port, user: EXPORTER_ROLE, password: EXPORTER_PASSWORD },
      });
    const env = {
      ...clusterEnv(cluster, COLLECTOR_ROLE, COLLECTOR_PASSWORD),
      COLLECTION_LIST: "ALL",
      ENABLE_QUERY_MONITORING: "false",
    };
    const allDatabases = names.length + 1; // and postgres
    const tables = opts.databases * opts.tables;
    const indexes = tables * opts.indexesPerTable;

    await using exporter = await startOne();
    // Warm-up: the running exporter opens its connections, the collector's files are cached.
    const firstScrape = await warmScrape(cluster, admin, exporter);
    checkExporterScrape(exporter, firstScrape.scrape, tables, indexes);
    checkCollectorRun("warm-up run", (await collectorCycle(cluster, admin, env)).run, allDatabases);
    await coldExporter(cluster, admin, startOne);

    const startups: TimedCollectorRun[] = [];
    const collector: CollectorCycle[] = [];
    const warm: ExporterCycle[] = [];
    const cold: (ExporterCycle & { readyMs: number })[] = [];
    let counts: NriCounts | undefined;
    for (let round = 1; round <= opts.rounds; round++) {
      const startup = await runTimedCollector(["-show_version"], {});
      if (startup.code !== 0) {
        throw new Error(`-show_version run exited with ${startup.code}: ${startup.stderr}`);
      }
      startups.push(startup);
      const cycle = await collectorCycle(cluster, admin, env);
      counts = checkCollectorRun(`round ${round}`, cycle.run, allDatabases);
      collector.push(cycle);
      const scrape = await warmScrape(cluster, admin, exporter);
      checkExporterScrape(exporter, scrape.scrape, tables, indexes);
      warm.push(scrape);
      cold.push(await coldExporter(cluster, admin, startOne));
    }
    const lastScrape = warm[warm.length - 1].scrape;
    const exporterPeakKb = exporter.peakRssKb();

    const running = "exporter scrape (running exporter)";
    const fresh = "exporter start + first scrape";
    const startupCpu = median(startups.map((s) => s.usage.cpuMs));
    const rows: ReportRow[] = [
      ...comparisonRows(collector, warm, running, exporterPeakKb),
      {
        metric: "CPU per cycle less process startup",
        value: median(collector.map((c) => c.cpuMs)) - startupCpu,
        unit: "ms",
        baseline: { value: median(warm.map((c) => c.cpuMs)), label: running },
      },
      ...comparisonRows(collector, cold, fresh),
      ...scopeRows(counts!, lastScrape.series),
    ];
    const per = (cycles: Cycle[], f: (c: Cycle) => number) => cycles.map((c) => Math.round(f(c))).join(", ");
    const outputBytes = collector[collector.length - 1].run.stdout.length;
    const notes = [
      `PostgreSQL ${cluster.major} (${cluster.server.id}); ${opts.databases} databases (${
        names.join(", ")
      }) ` +
      `of ${opts.tables} tables × ${opts.indexesPerTable} indexes (primary key included), ` +
      `${opts.rowsPerTable} rows each, analyzed, plus "postgres"; created in ${Math.round(fillMs)} ms.`,
      `Collector: one-shot \`deno run -P=collector main.ts\` as role "${COLLECTOR_ROLE}" (pg_monitor), ` +
      `COLLECTION_LIST=ALL, ENABLE_QUERY_MONITORING=false, other settings default (bloat query on); ` +
      `CPU and peak RSS from GNU time (rusage), wall from spawn to exit. -show_version (startup only) ` +
      `CPU median ${Math.round(startupCpu)} ms.`,
      `Exporter: prometheus-postgres-exporter ${version} as role "${EXPORTER_ROLE}" (pg_monitor), ` +
      `--auto-discover-databases, default metrics on, --extend.query-path with the benchmark's queries ` +
      `(${
        EXPORTER_QUERY_NAMESPACES.join(", ")
      }; no bloat estimate). Scraped with Accept-Encoding: identity. ` +
      `CPU: /proc per-thread run time (schedstat) before the request and once the exporter is idle again; ` +
      `a fresh exporter's CPU is its whole life (utime+stime, 10 ms ticks), its wall time spawn to end of ` +
      `scrape (listening after ${Math.round(median(cold.map((c) => c.readyMs)))} ms). Peak RSS: VmHWM.`,
      `Connections: "connection authorized" lines of each role in the server log; statements: ` +
      `pg_stat_statements calls of each role (track = top). The running exporter opened ` +
      `${firstScrape.connections} connections on its first scrape and keeps them.`,
      `Per round (collector / running exporter / fresh exporter), CPU ms: ${
        per(collector, (c) => c.cpuMs)
      } / ` +
      `${per(warm, (c) => c.cpuMs)} / ${per(cold, (c) => c.cpuMs)}; wall ms: ${
        per(collector, (c) => c.wallMs)
      } / ` +
      `${per(warm, (c) => c.wallMs)} / ${per(cold, (c) => c.wallMs)}.`,
      `Output per cycle: collector ${outputBytes} bytes of NRI JSON, exporter ${lastScrape.body.length} bytes ` +
      `of Prometheus text.`,
      `${opts.rounds} interleaved rounds after one warm-up each, medians; ratio = collector / exporter. ` +
      `Total benchmark time ${((performance.now() - started) / 1000).toFixed(1)} s.`,
    ];
    return {
      title:
        `Base cycle on ${opts.databases} databases × ${opts.tables} tables × ${opts.indexesPerTable} indexes: ` +
        `collector vs prometheus-postgres-exporter ${version}`,
      rows,
      notes,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** The benchmark as `bench/run.ts` runs it. */
export const benchmark: Benchmark = {
  name: "base_cycle",
  description:
    "one base cycle on 3 databases × 300 tables × 2 indexes vs prometheus-postgres-exporter scraping them",
  run: () => runBaseCycle(DEFAULT_OPTIONS),
};
