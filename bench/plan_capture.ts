/**
 * Benchmark: what plan capture and plan tracking cost a collection cycle.
 *
 * Two collectors run side by side in this process (daemon mode, after one throwaway cycle of each
 * kind so that neither pays for compiling the code) against one throwaway Debian PostgreSQL 15
 * cluster, each with its own sessions and caches: one with plan capture (the defaults: the top 20
 * queries' plans tracked, up to 50 EXPLAINs per cycle, plans cached an hour), one without
 * (`plan_top_queries = 0`, `explain.max_per_cycle = 0`, so QPM captures no plan either). Before
 * each cycle the application runs its statements again, so the tracked queries have executions in
 * every cycle. Cycles alternate between the two collectors:
 *
 * - the first cycle is cold: the plan cache is empty and every tracked query is EXPLAINed (what
 *   every one-shot run pays);
 * - the later cycles are cached: plans come from the cache.
 *
 * Per cycle: wall time, the collector's CPU (this process's threads, from /proc, while it ran) and
 * the EXPLAINs the server counted (pg_stat_statements calls of the collector's role whose text
 * starts with the marker and `EXPLAIN`).
 *
 * @module
 */

import type postgres from "postgres";
import { defaultConfig } from "../src/config/defaults.ts";
import type { Config } from "../src/config/types.ts";
import { Collector } from "../src/collectors/cycle.ts";
import { createLogger, IssueReporter } from "../src/core/log.ts";
import { MARKER } from "../src/query_engine/marker.ts";
import { initSqlParser } from "../src/query_engine/sql_text.ts";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { cpuDeltaMs, readCpu, settledCpu } from "./lib/proc_usage.ts";
import type { Benchmark, BenchReport, ReportRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

/** Sizes of the benchmark. */
export interface PlanCaptureOptions {
  /** Distinct application statements (each a query the collector may track). */
  queries: number;
  /** Tables they spread over. */
  tables: number;
  /** Rows per table. */
  rowsPerTable: number;
  /** Executions of each statement before each cycle. */
  callsPerCycle: number;
  /** Cached cycles per collector after the cold one (at least 1). */
  cachedCycles: number;
}

/** The sizes `deno task bench` uses. */
export const DEFAULT_OPTIONS: Readonly<PlanCaptureOptions> = {
  queries: 20,
  tables: 5,
  rowsPerTable: 20_000,
  callsPerCycle: 3,
  cachedCycles: 6,
};

const DATABASE = "bench";
const ROLE = "monitor";
const ROLE_PASSWORD = "monitor-bench-secret";

/** The statement shapes of each table, parameterized, all distinct query ids. */
const SHAPES: readonly ((table: string) => { text: string; params: (i: number) => number[] })[] = [
  (t) => ({ text: `SELECT count(*) FROM ${t} WHERE grp = $1`, params: (i) => [i % 100] }),
  (t) => ({ text: `SELECT max(v) FROM ${t} WHERE grp = $1 AND v > $2`, params: (i) => [i % 100, i] }),
  (t) => ({ text: `SELECT id, v FROM ${t} WHERE id = $1`, params: (i) => [i + 1] }),
  (t) => ({ text: `SELECT grp, count(*) FROM ${t} WHERE v < $1 GROUP BY grp`, params: (i) => [i * 10] }),
];

/**
 * The application statements: `queries` distinct ones, shape by shape over the tables.
 *
 * @throws RangeError when there are more queries than tables × shapes
 */
export function benchStatements(
  queries: number,
  tables: number,
): { text: string; params: (i: number) => number[] }[] {
  if (queries > tables * SHAPES.length) {
    throw new RangeError(
      `plan_capture: ${queries} distinct queries need at least ${Math.ceil(queries / SHAPES.length)} tables`,
    );
  }
  return Array.from({ length: queries }, (_, i) => SHAPES[Math.floor(i / tables)](`pc_${(i % tables) + 1}`));
}

/** The SQL creating the tables: an indexed group column and a value column. */
export function benchSchemaSql(tables: number, rows: number): string {
  return Array.from({ length: tables }, (_, k) => {
    const t = `pc_${k + 1}`;
    return `CREATE TABLE ${t} (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
      INSERT INTO ${t} SELECT g, g % 100, (g * 7919) % ${rows} FROM generate_series(1, ${rows}) g;
      CREATE INDEX ${t}_grp ON ${t} (grp); ANALYZE ${t};`;
  }).join("\n");
}

/** EXPLAINs the server counted for `role`: calls of its statements starting with the marker and EXPLAIN. */
export async function explainCalls(sql: postgres.Sql, role: string): Promise<number> {
  const [row] = await sql`
    SELECT coalesce(sum(s.calls), 0)::float8 AS n
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname = ${role} AND s.query LIKE ${`${MARKER} EXPLAIN%`}`;
  return row.n;
}

/** One measured cycle. */
interface CycleFigures {
  wallMs: number;
  cpuMs: number;
  explains: number;
  tracked: number;
}

function checkOptions(opts: PlanCaptureOptions): void {
  for (const [key, value] of Object.entries(opts)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`plan_capture: option ${key} must be a positive integer, got ${value}`);
    }
  }
  benchStatements(opts.queries, opts.tables);
}

function collectorConfig(cluster: Cluster, tempDir: string, capture: boolean): Config {
  const base = defaultConfig();
  return {
    ...base,
    intervalSeconds: 1,
    username: ROLE,
    password: ROLE_PASSWORD,
    hostname: cluster.host,
    port: String(cluster.port),
    collectionList: JSON.stringify([DATABASE]),
    enableQueryMonitoring: true,
    tempDir,
    activitySampling: { ...base.activitySampling, samples: 1 },
    explain: capture ? base.explain : { ...base.explain, maxPerCycle: 0 },
    plans: capture ? base.plans : { ...base.plans, topQueries: 0 },
  };
}

async function measured(collector: Collector, admin: postgres.Sql): Promise<CycleFigures> {
  const explainsBefore = await explainCalls(admin, ROLE);
  const cpuBefore = readCpu(Deno.pid);
  const started = performance.now();
  const snap = await collector.collect();
  const wallMs = performance.now() - started;
  const cpuMs = cpuDeltaMs(cpuBefore, await settledCpu(Deno.pid));
  const errors = snap.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(`collector errors: ${errors.map((e) => e.message).join("; ")}`);
  return {
    wallMs,
    cpuMs,
    explains: (await explainCalls(admin, ROLE)) - explainsBefore,
    tracked: (snap.planDictionary ?? []).filter((e) => e.current).length,
  };
}

/** Runs the benchmark with `opts` and returns its report. */
export async function runPlanCapture(opts: PlanCaptureOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  checkOptions(opts);
  const started = performance.now();
  await initSqlParser();
  await using cluster = await startCluster({ name: "bench-plans", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase(DATABASE);
  await cluster.createRole(ROLE, ROLE_PASSWORD, { grants: ["pg_read_all_stats"] });
  const app = cluster.sql(DATABASE);
  await app.unsafe(benchSchemaSql(opts.tables, opts.rowsPerTable)).simple();
  await app.unsafe(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${ROLE}`);
  const admin = cluster.sql();
  await admin`SELECT pg_stat_statements_reset()`;
  const statements = benchStatements(opts.queries, opts.tables);
  let round = 0;
  const workload = async () => {
    for (let c = 0; c < opts.callsPerCycle; c++, round++) {
      for (const s of statements) await app.unsafe(s.text, s.params(round));
    }
  };

  const tempDir = await Deno.makeTempDir({ prefix: "bench-plans-" });
  const issues = new IssueReporter(createLogger("error"));
  // One throwaway cycle of each kind first, so neither measured collector pays for compiling the code.
  for (const capture of [true, false]) {
    const warm = new Collector(
      collectorConfig(cluster, await Deno.makeTempDir({ dir: tempDir }), capture),
      issues,
    );
    try {
      await workload();
      await warm.collect();
    } finally {
      await warm.close();
    }
  }
  const withPlans = new Collector(collectorConfig(cluster, tempDir, true), issues);
  const without = new Collector(collectorConfig(cluster, tempDir, false), issues);
  const a: CycleFigures[] = [];
  const b: CycleFigures[] = [];
  try {
    for (let i = 0; i <= opts.cachedCycles; i++) {
      await workload();
      a.push(await measured(withPlans, admin));
      await workload();
      b.push(await measured(without, admin));
    }
  } finally {
    await withPlans.close();
    await without.close();
    await Deno.remove(tempDir, { recursive: true });
  }
  const expected = Math.min(opts.queries, defaultConfig().plans.topQueries);
  if (a[0].tracked < expected) {
    throw new Error(`the cold cycle tracked ${a[0].tracked} queries, expected ${expected}`);
  }
  if (b.some((f) => f.explains !== 0 || f.tracked !== 0)) {
    throw new Error("the collector without plan capture ran EXPLAINs or tracked plans");
  }
  const cached = (f: CycleFigures[], pick: (c: CycleFigures) => number) => median(f.slice(1).map(pick));
  const cold = "cycle without plan capture (cold)";
  const warm = "cycle without plan capture (median)";
  const rows: ReportRow[] = [
    { metric: "cold cycle (empty plan cache): EXPLAINs run", value: a[0].explains, unit: "count" },
    { metric: "cold cycle: plans tracked", value: a[0].tracked, unit: "count" },
    {
      metric: "cold cycle: wall time",
      value: a[0].wallMs,
      unit: "ms",
      baseline: { value: b[0].wallMs, label: cold },
    },
    {
      metric: "cold cycle: collector CPU",
      value: a[0].cpuMs,
      unit: "ms",
      baseline: { value: b[0].cpuMs, label: cold },
    },
    { metric: "cached cycle: EXPLAINs run (median)", value: cached(a, (f) => f.explains), unit: "count" },
    {
      metric: "cached cycle: wall time (median)",
      value: cached(a, (f) => f.wallMs),
      unit: "ms",
      baseline: { value: cached(b, (f) => f.wallMs), label: warm },
    },
    {
      metric: "cached cycle: collector CPU (median)",
      value: cached(a, (f) => f.cpuMs),
      unit: "ms",
      baseline: { value: cached(b, (f) => f.cpuMs), label: warm },
    },
  ];
  const notes = [
    `PostgreSQL ${cluster.major} (${cluster.server.id}); ${statements.length} application statements over ` +
    `${opts.tables} tables of ${opts.rowsPerTable} rows, each run ${opts.callsPerCycle} times before every cycle.`,
    `Both collectors run in this process in daemon mode, cycles alternating (with, without), ` +
    `${opts.cachedCycles + 1} each, after a warm-up cycle of each; pg_stat_activity sampled once per cycle ` +
    `(QPM's individual queries, whose literal texts also get plans). CPU: this process's threads while the ` +
    `cycle ran (/proc); wall time includes the cycle's waits (active session sampling runs between cycles). ` +
    `EXPLAINs: pg_stat_statements calls of role "${ROLE}" starting with "${MARKER} EXPLAIN".`,
    `EXPLAINs per cycle: ${a.map((f) => f.explains).join(", ")}; CPU ms with plan capture: ${
      a.map((f) => Math.round(f.cpuMs)).join(", ")
    }; without: ${b.map((f) => Math.round(f.cpuMs)).join(", ")}.`,
    `Total benchmark time ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  ];
  return {
    title: `Plan capture: ${statements.length} tracked queries per cycle, cold and cached`,
    rows,
    notes,
  };
}

/** The benchmark as `bench/run.ts` runs it. */
export const benchmark: Benchmark = {
  name: "plan_capture",
  description: "what plan capture and plan tracking cost a collection cycle, cold and cached",
  run: () => runPlanCapture(DEFAULT_OPTIONS),
};
