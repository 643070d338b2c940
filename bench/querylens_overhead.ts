/**
 * Benchmark: what pg_querylens adds to each statement, against no extension and against
 * pg_stat_statements, measured three ways in one run on one Debian PostgreSQL 15 cluster:
 *
 * 1. **pgbench** `-S -M prepared -c 2 -j 2` (and a `SELECT 1` script with `-c 1 -j 1`) in
 *    interleaved rounds: every round visits every configuration in a rotating order, restarting the
 *    server with that configuration and warming it up first. Medians and spreads of TPS, ratios
 *    against no extension, and the time added per transaction from the medians:
 *    (cores ÷ TPS_with − cores ÷ TPS_none). On small shared machines run-to-run noise is larger
 *    than the effect, so these figures are reported but not trusted for the verdicts.
 * 2. **Self-timing**: with `pg_querylens.self_timing = on`, one session executes a fixed number of
 *    pgbench `-S` statements as one prepared statement, then reads `pg_querylens_self_timing()`:
 *    nanoseconds of the extension's own hook code per statement.
 * 3. **callgrind**: the server in single-user mode runs N₁ and N₂ pgbench `-S` statements (the
 *    same account ids) under valgrind; (I₂ − I₁) ÷ (N₂ − N₁) is the instructions per statement,
 *    deterministic. The difference to no extension is converted into time at the rate the same
 *    workload runs natively (instructions per nanosecond of CPU time).
 *
 * Every visit checks that the configuration was in effect (shared_preload_libraries; statements
 * counted by pg_stat_statements; records written and read by pg_querylens, its sampler and CPU mode)
 * and every callgrind run that the library's code executed; the benchmark fails otherwise.
 *
 * @module
 */

import type postgres from "postgres";
import { type Cluster, startCluster } from "../tests/support/cluster.ts";
import { debianServer } from "../tests/support/servers.ts";
import {
  type CallgrindProfile,
  callgrindSingleUser,
  libraryInstructions,
  marginalPerStatement,
  profileDir,
} from "./lib/callgrind.ts";
import { instructionsPerNs, rotation } from "./lib/overhead_math.ts";
import { DEFAULT_OPTIONS, type QuerylensOverheadOptions, validateOptions } from "./lib/overhead_options.ts";
import { overheadReport } from "./lib/overhead_report.ts";
import { computeVerdicts, type OverheadResult, SELECT_ONE_CPU } from "./lib/overhead_result.ts";
import { pinPostmaster, restartServer, type ServerSettings, stopServer } from "./lib/pg_server.ts";
import { initPgbench, type PgbenchResult, runPgbench } from "./lib/pgbench.ts";
import {
  type Configuration,
  configuration,
  CONFIGURATIONS,
  serverSettings,
  usesQuerylens,
} from "./lib/querylens_configs.ts";
import type { Benchmark, BenchReport } from "./lib/report.ts";
import { measureSelfTiming } from "./lib/self_timing.ts";
import { selectScript, type SingleUserRun, timeSingleUser } from "./lib/single_user.ts";
import { median } from "./lib/stats.ts";
import { checkVisit, type VisitCheck } from "./lib/visit_check.ts";

const DATABASE = "postgres";

async function withSession<T>(cluster: Cluster, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = cluster.sql(DATABASE);
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Restarts with the configuration, warms up, runs pgbench, checks the configuration was in effect. */
async function visit(
  cluster: Cluster,
  c: Configuration,
  opts: QuerylensOverheadOptions,
  where: { round: number; position: number },
  selectOneScript: string,
): Promise<{ selectOnly: PgbenchResult; selectOne?: PgbenchResult; check: VisitCheck }> {
  await restartServer(cluster, serverSettings(c));
  await withSession(cluster, async (sql) => {
    if (c.preload.includes("pg_stat_statements")) await sql`SELECT pg_stat_statements_reset()`;
    if (usesQuerylens(c)) await sql`CREATE EXTENSION IF NOT EXISTS pg_querylens`;
  });
  const selectOnly = ["-S", "-M", "prepared", "-c", "2", "-j", "2"];
  const warm = await runPgbench(cluster, DATABASE, [...selectOnly, "-T", String(opts.warmupSeconds)]);
  const measured = await runPgbench(cluster, DATABASE, [...selectOnly, "-T", String(opts.pgbenchSeconds)]);
  let one: PgbenchResult | undefined;
  if (opts.selectOneSeconds > 0) {
    // Backend and client share one CPU: no cross-CPU wake-ups, their times add up on one busy core.
    await pinPostmaster(cluster, SELECT_ONE_CPU);
    one = await runPgbench(cluster, DATABASE, [
      "-f",
      selectOneScript,
      "-M",
      "prepared",
      "-c",
      "1",
      "-j",
      "1",
      "-T",
      String(opts.selectOneSeconds),
    ], { cpus: SELECT_ONE_CPU });
  }
  const check = await withSession(cluster, (sql) =>
    checkVisit(sql, c, {
      config: c.id,
      ...where,
      transactions: warm.transactions + measured.transactions,
    }));
  return { selectOnly: measured, selectOne: one, check };
}

async function pgbenchRounds(
  cluster: Cluster,
  configs: Configuration[],
  opts: QuerylensOverheadOptions,
  result: OverheadResult,
): Promise<void> {
  const script = await Deno.makeTempFile({ prefix: "pgquerylens-bench-select1-", suffix: ".sql" });
  try {
    await Deno.writeTextFile(script, "SELECT 1;\n");
    for (let round = 0; round < opts.rounds; round++) {
      const order = rotation(configs, round);
      for (const [position, c] of order.entries()) {
        const v = await visit(cluster, c, opts, { round, position }, script);
        const runs = result.pgbench[c.id] ??= { selectOnly: [], selectOne: [] };
        runs.selectOnly.push(v.selectOnly);
        if (v.selectOne) runs.selectOne.push(v.selectOne);
        result.checks.push(v.check);
      }
    }
  } finally {
    await Deno.remove(script).catch(() => {});
  }
}

async function selfTimings(
  cluster: Cluster,
  configs: Configuration[],
  opts: QuerylensOverheadOptions,
  result: OverheadResult,
): Promise<void> {
  for (const c of configs.filter((c) => c.selfTiming)) {
    await restartServer(cluster, serverSettings(c));
    result.selfTiming[c.id] = await withSession(
      cluster,
      (sql) => measureSelfTiming(sql, { executions: opts.selfTimingExecutions, scale: opts.scale }),
    );
  }
}

function singleUserRun(cluster: Cluster, c: Configuration, statements: number, scale: number): SingleUserRun {
  const settings: ServerSettings = { ...serverSettings(c), port: String(cluster.port) };
  // Persisting statistics between runs would make the second run's start-up differ from the first's.
  if (c.preload.includes("pg_stat_statements")) settings["pg_stat_statements.save"] = "off";
  return { database: DATABASE, settings, input: selectScript(statements, scale) };
}

/** Every library some configuration preloads. */
const ALL_LIBRARIES = [...new Set(CONFIGURATIONS.flatMap((c) => c.preload))];

function checkProfile(c: Configuration, statements: number, profile: CallgrindProfile): number {
  for (const lib of ALL_LIBRARIES) {
    const ir = libraryInstructions(profile, lib);
    const wanted = c.preload.includes(lib);
    if (wanted && ir === 0) {
      throw new Error(`callgrind ${c.id}, ${statements} statements: no instruction ran in ${lib}.so`);
    }
    if (!wanted && ir > 0) throw new Error(`callgrind ${c.id}: ${lib}.so ran though it is not preloaded`);
  }
  return c.preload.reduce((sum, lib) => sum + libraryInstructions(profile, lib), 0);
}

async function callgrindAll(
  cluster: Cluster,
  configs: Configuration[],
  opts: QuerylensOverheadOptions,
  result: OverheadResult,
): Promise<void> {
  const dir = await profileDir(cluster);
  for (const c of configs.filter((c) => c.callgrind)) {
    const runs = [];
    for (const n of opts.callgrindStatements) {
      const run = singleUserRun(cluster, c, n, opts.scale);
      const profile = await callgrindSingleUser(cluster, run, `${dir}/${c.id}-${n}.out`);
      runs.push({
        statements: n,
        instructions: profile.totalInstructions,
        library: checkProfile(c, n, profile),
      });
    }
    const [a, b] = runs;
    result.callgrind[c.id] = {
      runs: [
        { statements: a.statements, instructions: a.instructions },
        { statements: b.statements, instructions: b.instructions },
      ],
      perStatement: marginalPerStatement(a, b),
      libraryPerStatement: marginalPerStatement(
        { statements: a.statements, instructions: a.library },
        { statements: b.statements, instructions: b.library },
      ),
    };
  }
}

/** CPU ns per statement of the workload without extension, run natively (no valgrind). */
async function nativeRate(
  cluster: Cluster,
  opts: QuerylensOverheadOptions,
  result: OverheadResult,
): Promise<void> {
  const none = configuration("none");
  const n1 = opts.callgrindStatements[0];
  const short = singleUserRun(cluster, none, n1, opts.scale);
  const long = singleUserRun(cluster, none, opts.rateStatements, opts.scale);
  const shortMs: number[] = [];
  const longMs: number[] = [];
  for (let i = 0; i < opts.rateRepeats; i++) {
    shortMs.push((await timeSingleUser(cluster, short)).cpuMs);
    longMs.push((await timeSingleUser(cluster, long)).cpuMs);
  }
  const ns = (median(longMs) - median(shortMs)) * 1e6 / (opts.rateStatements - n1);
  result.nativeCpuNsPerStatement = ns;
  const perStatement = result.callgrind.none?.perStatement;
  if (perStatement !== undefined) result.instructionsPerNs = instructionsPerNs(perStatement, ns);
}

/**
 * Runs the benchmark with `opts` and returns everything it measured.
 *
 * @throws Error when an option is out of range, pg_querylens is wanted but not installed, or a
 * configuration was not in effect when measured.
 */
export async function measureQuerylensOverhead(opts: QuerylensOverheadOptions): Promise<OverheadResult> {
  validateOptions(opts);
  const configs = opts.configurations.map(configuration);
  const server = debianServer();
  for (const lib of new Set(configs.flatMap((c) => c.preload))) {
    if (!server.extensions.includes(lib)) {
      throw new Error(
        `${lib} is not installed into ${server.id} (no ${lib}.so in ${server.pkgLibDir} or no control file in ` +
          `${server.extensionDir})` +
          (lib === "pg_querylens"
            ? `; build it with make -C extension PG_CONFIG=${server.binDir}/pg_config install`
            : ""),
      );
    }
  }
  const result: OverheadResult = {
    options: opts,
    pgbench: {},
    checks: [],
    selfTiming: {},
    callgrind: {},
    verdicts: [],
  };
  await using cluster = await startCluster({ server, name: "bench-qloverhead" });
  await initPgbench(cluster, DATABASE, opts.scale);
  await withSession(cluster, async (sql) => {
    if (configs.some((c) => c.preload.includes("pg_stat_statements"))) {
      await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    }
    await sql`CHECKPOINT`;
  });
  await pgbenchRounds(cluster, configs.filter((c) => c.pgbench), opts, result);
  await selfTimings(cluster, configs, opts, result);
  await stopServer(cluster); // single-user mode needs the data directory to itself
  await callgrindAll(cluster, configs, opts, result);
  await nativeRate(cluster, opts, result);
  result.verdicts = computeVerdicts(result);
  return result;
}

/** Runs the benchmark with `opts` and returns its report. */
export async function runQuerylensOverhead(opts: QuerylensOverheadOptions): Promise<BenchReport> {
  return overheadReport(await measureQuerylensOverhead(opts));
}

/** The benchmark as `deno task bench` runs it. */
export const benchmark: Benchmark = {
  name: "querylens_overhead",
  description:
    "per-statement cost of pg_querylens vs pg_stat_statements vs none: pgbench rounds, self-timing, callgrind",
  run: () =>
    runQuerylensOverhead({ ...DEFAULT_OPTIONS, configurations: [...DEFAULT_OPTIONS.configurations] }),
};
