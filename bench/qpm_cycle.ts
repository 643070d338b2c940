/**
 * Benchmark: one QPM cycle on a database with 5,000 distinct statements in pg_stat_statements.
 *
 * Reports, for the collector run as its own process (`deno run -P=collector main.ts`, as
 * `deno task start`): wall time, CPU (user+sys) and peak RSS of a one-shot cycle, the statements it
 * executed (pg_stat_statements calls of its role) and the connections it opened (server log). Every
 * timing is printed against a baseline measured side by side in the same run:
 *
 * - one-shot figures against `-show_version` runs of the same process (startup, no work), interleaved;
 * - the ranking statement (`pg_stat_statements(false)`) and the cold cycle's ranking plus text fetch
 *   against the naive full-view query (every text read and sorted), interleaved;
 * - the first (cold: empty text cache) daemon cycle against the median of the later ones.
 *
 * Runs on a throwaway Debian PostgreSQL 15 cluster, removed at the end.
 *
 * @module
 */

import type postgres from "postgres";
import { defaultConfig } from "../src/config/mod.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { clusterEnv, metricSetsByType } from "../tests/support/collector.ts";
import { runTimedCollector, type TimedCollectorRun } from "./lib/collector_process.ts";
import {
  callsDelta,
  countConnections,
  logOffset,
  logSince,
  type StatementCalls,
  statementCalls,
  unmarkedStatements,
} from "./lib/pg_counters.ts";
import {
  rankingMatchesCollector,
  runNaive,
  runRanking,
  runRankingWithTexts,
  timeInterleaved,
} from "./lib/ranking.ts";
import type { Benchmark, BenchReport, ReportRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { mixSchemaSql, mixStatements } from "./lib/statement_mix.ts";

/** Sizes of the benchmark. */
export interface QpmCycleOptions {
  /** Distinct statements to put in pg_stat_statements (the benchmark fails if fewer appear). */
  statements: number;
  /** Tables the statements spread over. */
  tables: number;
  /** Rows per table. */
  rowsPerTable: number;
  /** Executions of each statement. */
  calls: number;
  /** One-shot collector runs (each paired with a `-show_version` baseline run). */
  oneShotRuns: number;
  /** Daemon cycles to run before stopping the daemon (at least 2). */
  daemonCycles: number;
  /** Timed rounds of each ranking query. */
  rankingRounds: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: Readonly<QpmCycleOptions> = {
  statements: 5000,
  tables: 40,
  rowsPerTable: 200,
  calls: 3,
  oneShotRuns: 5,
  daemonCycles: 8,
  rankingRounds: 15,
};

const DATABASE = "bench";
const ROLE = "monitor";
const ROLE_PASSWORD = "monitor-bench-secret";
/** Statements sent per simple-protocol round trip while filling pg_stat_statements. */
const BATCH = 100;
const MIB = 1024;

/** One one-shot collector run with what the server counted during it. */
interface CountedRun {
  run: TimedCollectorRun;
  calls: StatementCalls;
  connections: number;
}

/** Runs `fn` and returns its result with what the server counted for the collector's role. */
async function counted(
  cluster: Cluster,
  admin: postgres.Sql,
  fn: () => Promise<TimedCollectorRun>,
): Promise<CountedRun> {
  const before = await statementCalls(admin, ROLE);
  const offset = logOffset(cluster.logFile);
  const run = await fn();
  const after = await statementCalls(admin, ROLE);
  return {
    run,
    calls: callsDelta(before, after),
    connections: countConnections(logSince(cluster.logFile, offset), ROLE),
  };
}

/** Fails loudly when a collector run did not do a real QPM cycle. */
function checkCollectorRun(what: string, run: TimedCollectorRun, cycles = 1): void {
  const tail = () => run.stderr.trimEnd().split("\n").slice(-15).join("\n");
  if (run.code !== 0) throw new Error(`${what}: collector exited with ${run.code}:\n${tail()}`);
  if (/^\[ERROR\]/m.test(run.stderr)) throw new Error(`${what}: collector logged errors:\n${tail()}`);
  const slow = metricSetsByType(run.stdout).get("PostgresSlowQueries") ?? [];
  if (slow.length < cycles) {
    throw new Error(`${what}: ${slow.length} PostgresSlowQueries rows for ${cycles} cycle(s):\n${tail()}`);
  }
}

/** Fills pg_stat_statements with the statement mix; returns the number of mix entries it holds. */
async function fillStatements(
  cluster: Cluster,
  admin: postgres.Sql,
  opts: QpmCycleOptions,
): Promise<{ entries: number; avgLength: number; maxLength: number }> {
  const app = cluster.sql(DATABASE);
  await app.unsafe(mixSchemaSql(opts.tables, opts.rowsPerTable)).simple();
  await admin`SELECT pg_stat_statements_reset()`;
  const statements = mixStatements(opts.statements, opts.tables);
  for (let call = 0; call < opts.calls; call++) {
    for (let i = 0; i < statements.length; i += BATCH) {
      await app.unsafe(statements.slice(i, i + BATCH).map((s) => s.text(call)).join(";\n")).simple();
    }
  }
  await app.end();
  const [row] = await admin`
    SELECT count(*)::int AS entries, count(DISTINCT s.queryid)::int AS ids,
           coalesce(avg(length(s.query)), 0)::int AS avg_length, coalesce(max(length(s.query)), 0) AS max_length
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = ${DATABASE} AND s.query LIKE '/* app=%'`;
  if (row.entries !== statements.length || row.ids !== statements.length) {
    throw new Error(
      `pg_stat_statements holds ${row.entries} entries (${row.ids} query ids) of the ${statements.length} ` +
        `distinct statements run in "${DATABASE}": the mix no longer yields distinct query ids, or entries were evicted`,
    );
  }
  return { entries: row.entries, avgLength: row.avg_length, maxLength: row.max_length };
}

function checkOptions(opts: QpmCycleOptions): void {
  for (const [key, value] of Object.entries(opts)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`qpm_cycle: option ${key} must be a positive integer, got ${value}`);
    }
  }
  if (opts.daemonCycles < 2) {
    throw new Error(`qpm_cycle: daemonCycles must be at least 2, got ${opts.daemonCycles}`);
  }
}

/** Runs the benchmark with `opts` and returns its report. */
export async function runQpmCycle(opts: QpmCycleOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  checkOptions(opts);
  const started = performance.now();
  await using cluster = await startCluster({
    name: "bench-qpm",
    preload: ["pg_stat_statements"],
    settings: {
      "pg_stat_statements.max": String(Math.max(10_000, opts.statements * 2)),
      "pg_stat_statements.track": "top",
      log_connections: "on",
    },
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase(DATABASE);
  await cluster.createRole(ROLE, ROLE_PASSWORD, { grants: ["pg_read_all_stats"] });
  const admin = cluster.sql();

  const fillStarted = performance.now();
  const mix = await fillStatements(cluster, admin, opts);
  const fillMs = performance.now() - fillStarted;
  const [view] = await admin`SELECT count(*)::int AS entries FROM pg_stat_statements`;

  // The QPM cycle alone: active session history, OS metrics and plan tracking have benchmarks of their own
  // (bench/ash.ts, bench/plan_capture.ts) and would blur its statement and CPU counts.
  const env = {
    ...clusterEnv(cluster, ROLE, ROLE_PASSWORD),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: JSON.stringify([DATABASE]),
    PGQUERYLENS_ASH: "off",
    PGQUERYLENS_OS_METRICS: "off",
    PGQUERYLENS_PLAN_TOP_QUERIES: "0",
  };

  // One-shot cycles, each right after a startup-only run of the same process.
  const versions: TimedCollectorRun[] = [];
  const oneShots: CountedRun[] = [];
  for (let i = 0; i < opts.oneShotRuns; i++) {
    const version = await runTimedCollector(["-show_version"], {});
    if (version.code !== 0) {
      throw new Error(`-show_version run exited with ${version.code}: ${version.stderr}`);
    }
    versions.push(version);
    const shot = await counted(cluster, admin, () => runTimedCollector([], env));
    checkCollectorRun(`one-shot run ${i + 1}`, shot.run);
    oneShots.push(shot);
  }

  // Daemon: cold first cycle, then steady cycles with the text cache filled.
  const daemon = await counted(
    cluster,
    admin,
    () =>
      runTimedCollector(["-interval=1", "-verbose"], env, {
        stopAfterCycles: opts.daemonCycles,
        timeoutMs: 60_000 + opts.daemonCycles * 5_000,
      }),
  );
  const cycles = daemon.run.cycleMs;
  checkCollectorRun("daemon run", daemon.run, cycles.length);
  if (cycles.length < 2) throw new Error(`daemon run logged ${cycles.length} cycle(s), need at least 2`);

  // Ranking statement versus the naive full-view query, on the same session, interleaved.
  const limit = defaultConfig().queryMonitoringCountThreshold + 10;
  const dbs = [DATABASE];
  const ranked = await runRanking(admin, dbs, limit);
  const naive = await runNaive(admin, dbs, limit);
  if (ranked.length !== limit || naive.length !== limit) {
    throw new Error(`rankings returned ${ranked.length} and ${naive.length} rows, expected ${limit}`);
  }
  const samples = await timeInterleaved([
    { name: "ranking", run: () => runRanking(admin, dbs, limit) },
    { name: "ranking+texts", run: () => runRankingWithTexts(admin, dbs, limit) },
    { name: "naive", run: () => runNaive(admin, dbs, limit) },
  ], opts.rankingRounds);
  if (!(await rankingMatchesCollector(admin, ROLE))) {
    throw new Error(
      "the benchmark's copy of the ranking statement (bench/lib/ranking.ts) no longer has the query id of " +
        "the collector's (src/collectors/qpm/slow_queries.ts): update the copy",
    );
  }

  const unmarked = await unmarkedStatements(admin, ROLE);
  const first = oneShots[0];
  const shotCpu = median(oneShots.map((s) => s.run.usage.cpuMs));
  const steadyCycles = cycles.length - 1;
  const steadyStatements = (daemon.calls.byRole - first.calls.byRole) / steadyCycles;
  const steadyCpu = (daemon.run.usage.cpuMs - shotCpu) / steadyCycles;
  const naiveMs = median(samples.get("naive")!);
  const startupOnly = "-show_version run (startup only)";
  const rows: ReportRow[] = [
    {
      metric: "one-shot cycle: wall time",
      value: median(oneShots.map((s) => s.run.wallMs)),
      unit: "ms",
      baseline: { value: median(versions.map((v) => v.wallMs)), label: startupOnly },
    },
    {
      metric: "one-shot cycle: collector CPU (user+sys)",
      value: shotCpu,
      unit: "ms",
      baseline: { value: median(versions.map((v) => v.usage.cpuMs)), label: startupOnly },
    },
    {
      metric: "one-shot cycle: peak RSS",
      value: median(oneShots.map((s) => s.run.usage.maxRssKb)) / MIB,
      unit: "MiB",
      baseline: { value: median(versions.map((v) => v.usage.maxRssKb)) / MIB, label: startupOnly },
    },
    { metric: "one-shot cycle: statements executed", value: first.calls.byRole, unit: "count" },
    { metric: "  of which start with the marker", value: first.calls.marked, unit: "count" },
    { metric: "one-shot cycle: connections opened", value: first.connections, unit: "count" },
    {
      metric: "ranking statement, pg_stat_statements(false)",
      value: median(samples.get("ranking")!),
      unit: "ms",
      baseline: { value: naiveMs, label: "naive full-view query with texts" },
    },
    {
      metric: "ranking + text fetch (cold cycle's reads)",
      value: median(samples.get("ranking+texts")!),
      unit: "ms",
      baseline: { value: naiveMs, label: "naive full-view query with texts" },
    },
    {
      metric: "daemon: cold cycle (cycle 1)",
      value: cycles[0],
      unit: "ms",
      baseline: { value: median(cycles.slice(1)), label: `median of steady cycles 2..${cycles.length}` },
    },
    {
      metric: "daemon: statements per steady cycle",
      value: steadyStatements,
      unit: "count",
      baseline: { value: first.calls.byRole, label: "one-shot (cold) cycle" },
    },
    {
      metric: "daemon: CPU per steady cycle (approx.)",
      value: steadyCpu,
      unit: "ms",
      baseline: { value: shotCpu, label: "one-shot process CPU" },
    },
    {
      metric: `daemon: connections opened in ${cycles.length} cycles`,
      value: daemon.connections,
      unit: "count",
      baseline: { value: first.connections, label: "one-shot cycle" },
    },
  ];
  const sampling = defaultConfig().activitySampling;
  const perRun = (f: (s: CountedRun) => number) => oneShots.map(f).join(", ");
  const notes = [
    `PostgreSQL ${cluster.major} (${cluster.server.id}); pg_stat_statements holds ${view.entries} entries, ` +
    `${mix.entries} of them distinct statements of database "${DATABASE}" (${opts.calls} calls each, ` +
    `texts ${mix.avgLength} chars on average, up to ${mix.maxLength}); filled in ${Math.round(fillMs)} ms.`,
    `Statements: pg_stat_statements calls of role "${ROLE}" (track = top, so EXPLAINs count), before vs after; ` +
    `per one-shot run: ${perRun((s) => s.calls.byRole)}. Connections: "connection authorized" lines ` +
    `in the server log (log_connections); per one-shot run: ${perRun((s) => s.connections)}.`,
    unmarked.length === 0
      ? `Every statement of role "${ROLE}" starts with the marker.`
      : `Statements of role "${ROLE}" without the marker, calls over the whole benchmark: ${
        unmarked.map((u) => `"${u.text.slice(0, 60)}${u.text.length > 60 ? "..." : ""}" (${u.calls})`).join(
          "; ",
        )
      }.`,
    `Wall time, CPU and peak RSS: medians of ${opts.oneShotRuns} runs under GNU time, each paired with a ` +
    `-show_version run; CPU and RSS are the collector process's own (rusage).`,
    `Rankings: medians of ${opts.rankingRounds} interleaved client-side timings on one session, ` +
    `top ${limit} in "${DATABASE}"; the ranking's copy has the collector's query id (checked).`,
    `Daemon (-interval=1 -verbose): cycle durations from "cycle took N ms" (${
      cycles.join(", ")
    } ms); each cycle includes ${sampling.samples} pg_stat_activity samples ${sampling.intervalMs} ms apart. ` +
    `Steady figures are (daemon total - one-shot) / ${steadyCycles} steady cycles.`,
    `Total benchmark time ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  ];
  return {
    title: `QPM cycle with ${opts.statements} distinct statements in pg_stat_statements`,
    rows,
    notes,
  };
}

/** The benchmark as `bench/run.ts` runs it. */
export const benchmark: Benchmark = {
  name: "qpm_cycle",
  description: "one QPM cycle on a database with 5,000 distinct statements in pg_stat_statements",
  run: () => runQpmCycle(DEFAULT_OPTIONS),
};
