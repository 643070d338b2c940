/**
 * Benchmark: start-up time to the first NRI document, and peak RSS, of one-shot NRI runs.
 *
 * Every configuration runs as its own process, started as `deno task start` starts the collector
 * (the same `deno` and the start task's flags, clean environment), under GNU time:
 *
 * - floor: the runtime starting a program that prints one line (bench/lib/floor_main.ts) under the
 *   same flags — what no collector code can remove;
 * - base: one-shot NRI, query monitoring off, default collection (metrics and inventory);
 * - full: one-shot NRI with `ENABLE_QUERY_MONITORING=true` (the five QPM event types) and the
 *   extended features at their defaults;
 * - compiled: the binary of `deno task compile` with the full configuration, when `DENORT_BIN`
 *   names a denort runtime and the task succeeds; otherwise the report says why it is missing;
 * - base, cold state dir: the base configuration with a fresh `TEMP_DIR` each round, so the native
 *   pieces are extracted again and no rate state exists; compared with base (warm `TEMP_DIR`).
 *
 * Time to first document is measured by the benchmark from spawn to the first byte on stdout while
 * it streams; wall time from spawn to exit; peak RSS from GNU time, CPU (user+sys) from bash's
 * `times` (bench/lib/collector_process.ts). After
 * one warm-up run of each, the configurations run in interleaved rounds (the order rotates each
 * round); figures are medians with min–max, ratios against the floor measured in the same rounds.
 *
 * Runs on a throwaway Debian PostgreSQL 15 cluster with pg_stat_statements and pg_wait_sampling, a
 * small schema with slow statements, a held row lock and background sessions that wait, so every
 * QPM event type has rows. The cluster is removed at the end.
 *
 * @module
 */

import { join } from "node:path";
import { defaultConfig } from "../src/config/mod.ts";
import { startCluster } from "../tests/support/cluster.ts";
import { clusterEnv, metricSetsByType } from "../tests/support/collector.ts";
import { testStateDir } from "../tests/support/state_root.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  startBackgroundWaits,
} from "../tests/support/workload.ts";
import { runTimedCommand, type TimedCollectorRun } from "./lib/collector_process.ts";
import { buildCompiledBinary, type CompiledBinary } from "./lib/compiled_binary.ts";
import { FLOOR_LINE } from "./lib/floor_main.ts";
import { type Benchmark, type BenchReport, formatRatio, type ReportRow } from "./lib/report.ts";
import { formatSpread, medianRatio, type Spread, spread } from "./lib/spread.ts";
import { floorCommand, startTaskCommand } from "./lib/start_commands.ts";
import { ratio } from "./lib/stats.ts";

/** Settings of the benchmark. */
export interface StartupOptions {
  /** Measured rounds (after one warm-up run of each configuration). */
  rounds: number;
  /** Executions of each workload slow statement before the runs. */
  slowStatementRuns: number;
  /** Longest a single run may take, in milliseconds. */
  timeoutMs: number;
  /** The denort runtime for `deno task compile` (the value of `DENORT_BIN`); none when unset or empty. */
  denortBin?: string;
}

/** The settings `deno task bench` uses (plus `DENORT_BIN` from the environment). */
export const DEFAULT_OPTIONS: Readonly<StartupOptions> = {
  rounds: 7,
  slowStatementRuns: 3,
  timeoutMs: 120_000,
};

/** The measured configurations. */
export type StartupConfigId = "floor" | "base" | "full" | "compiled" | "base_cold";

/** Figures of one run. */
export interface StartupSample {
  /** Spawn to the first byte on stdout, ms. */
  firstDocumentMs: number;
  /** Spawn to exit, ms. */
  wallMs: number;
  /** Peak resident set, MiB. */
  peakRssMiB: number;
  /** User plus system CPU time, ms. */
  cpuMs: number;
}

/** The figures a sample holds. */
export type StartupMeasure = keyof StartupSample;

/** Every measure, in report order. */
export const MEASURES: readonly StartupMeasure[] = ["firstDocumentMs", "wallMs", "peakRssMiB", "cpuMs"];

/** Runs of one configuration and their spread. */
export interface ConfigFigures {
  /** Which configuration. */
  id: StartupConfigId;
  /** How the report names it. */
  label: string;
  /** One sample per round. */
  samples: StartupSample[];
  /** Median, min and max of each measure over the rounds. */
  spread: Record<StartupMeasure, Spread>;
}

/** What {@link measureStartup} found. */
export interface StartupResult {
  /** The settings it ran with. */
  options: StartupOptions;
  /** The server, e.g. `PostgreSQL 15 (debian15)`. */
  server: string;
  /** Every measured configuration, the floor first. */
  configs: ConfigFigures[];
  /** Median of each configuration's measure divided by the floor's (undefined without a ratio). */
  ratiosToFloor: Partial<Record<StartupConfigId, Record<StartupMeasure, number | undefined>>>;
  /** Event types in the full configuration's output of the last round. */
  fullEventTypes: string[];
  /** The compiled binary, or why it was not measured. */
  compiled: CompiledBinary;
  /** Duration of the whole benchmark, ms. */
  totalMs: number;
}

/** The five QPM event types the full configuration must produce. */
export const QPM_EVENT_TYPES: readonly string[] = [
  "PostgresWaitEvents",
  "PostgresBlockingSessions",
  "PostgresSlowQueries",
  "PostgresIndividualQueries",
  "PostgresExecutionPlanMetrics",
];

const DATABASE = "shop";
const ROLE = "bench_startup";
const ROLE_PASSWORD = "startup-bench-secret";
const KIB_PER_MIB = 1024;
/** Background waits outlive any single run; they are stopped right after it. */
const BACKGROUND_MS = 30_000;

const LABELS: Record<StartupConfigId, string> = {
  floor: "floor (runtime, trivial script)",
  base: "base one-shot NRI",
  full: "full one-shot NRI (QPM on)",
  compiled: "compiled binary, full one-shot NRI",
  base_cold: "base one-shot NRI, cold state dir",
};

const MEASURE_NAMES: Record<StartupMeasure, string> = {
  firstDocumentMs: "time to first document",
  wallMs: "wall time to exit",
  peakRssMiB: "peak RSS",
  cpuMs: "CPU (user+sys)",
};

/**
 * Checks `opts`.
 *
 * @throws Error naming the option when one is not a positive integer, or `denortBin` not a string.
 */
export function checkStartupOptions(opts: StartupOptions): void {
  for (const key of ["rounds", "slowStatementRuns", "timeoutMs"] as const) {
    const value = opts[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`startup: option ${key} must be a positive integer, got ${value}`);
    }
  }
  if (opts.denortBin !== undefined && typeof opts.denortBin !== "string") {
    throw new Error(`startup: option denortBin must be a path or undefined, got ${opts.denortBin}`);
  }
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** The sample of a run, after checking that it did what its configuration must do. */
function sampleOf(id: StartupConfigId, run: TimedCollectorRun): StartupSample {
  const what = LABELS[id];
  if (run.code !== 0) throw new Error(`${what}: exited with ${run.code}:\n${tail(run.stderr)}`);
  if (/^\[ERROR\]/m.test(run.stderr)) throw new Error(`${what}: logged errors:\n${tail(run.stderr)}`);
  if (run.firstStdoutMs === undefined) {
    throw new Error(`${what}: wrote nothing to stdout:\n${tail(run.stderr)}`);
  }
  if (id === "floor") {
    if (run.stdout !== `${FLOOR_LINE}\n`) throw new Error(`${what}: printed ${JSON.stringify(run.stdout)}`);
  } else {
    const types = metricSetsByType(run.stdout);
    if (!types.has("PostgresqlInstanceSample")) {
      throw new Error(`${what}: no PostgresqlInstanceSample in its output:\n${tail(run.stderr)}`);
    }
    const qpm = QPM_EVENT_TYPES.filter((t) => types.has(t));
    const wanted = id === "full" || id === "compiled" ? QPM_EVENT_TYPES : [];
    if (qpm.join() !== wanted.join()) {
      throw new Error(
        `${what}: QPM event types ${JSON.stringify(qpm)}, expected ${JSON.stringify(wanted)}:\n${
          tail(run.stderr)
        }`,
      );
    }
  }
  return {
    firstDocumentMs: run.firstStdoutMs,
    wallMs: run.wallMs,
    peakRssMiB: run.usage.maxRssKb / KIB_PER_MIB,
    cpuMs: run.usage.cpuMs,
  };
}

/** One configuration: how to run it once. */
interface Config {
  id: StartupConfigId;
  run(): Promise<TimedCollectorRun>;
}

/** How many files the collector extracted below `<tempDir>/native/`. */
function nativeFiles(tempDir: string): number {
  let n = 0;
  try {
    for (const version of Deno.readDirSync(join(tempDir, "native"))) {
      if (!version.isDirectory) continue;
      for (const f of Deno.readDirSync(join(tempDir, "native", version.name))) if (f.isFile) n++;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/** `items` rotated left by `by` places. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Figures of a configuration from its samples. */
function figures(id: StartupConfigId, samples: StartupSample[]): ConfigFigures {
  const s = Object.fromEntries(MEASURES.map((m) => [m, spread(samples.map((x) => x[m]))])) as Record<
    StartupMeasure,
    Spread
  >;
  return { id, label: LABELS[id], samples, spread: s };
}

/** Runs the configurations against a throwaway cluster and returns their figures. */
export async function measureStartup(opts: StartupOptions = DEFAULT_OPTIONS): Promise<StartupResult> {
  checkStartupOptions(opts);
  const started = performance.now();
  await using cluster = await startCluster({
    name: "bench-startup",
    preload: ["pg_stat_statements", "pg_wait_sampling"],
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createExtension("postgres", "pg_wait_sampling");
  await cluster.createDatabase(DATABASE);
  await setupWorkloadSchema(cluster, DATABASE);
  await cluster.createRole(ROLE, ROLE_PASSWORD, { grants: ["pg_monitor"] });
  await runSlowStatements(cluster, DATABASE, { count: opts.slowStatementRuns });
  const lock = await holdRowLock(cluster, DATABASE);
  await using baseDir = await testStateDir("bench-startup-base");
  await using fullDir = await testStateDir("bench-startup-full");
  await using compiledDir = await testStateDir("bench-startup-compiled");
  const buildDir = await Deno.makeTempDir({ prefix: "pgquerylens-bench-startup-" });
  try {
    const baseEnv = {
      ...clusterEnv(cluster, ROLE, ROLE_PASSWORD),
      COLLECTION_LIST: JSON.stringify([DATABASE]),
      ENABLE_QUERY_MONITORING: "false",
    };
    const fullEnv = { ...baseEnv, ENABLE_QUERY_MONITORING: "true" };
    const timed = { timeoutMs: opts.timeoutMs };
    const compiled = await buildCompiledBinary(opts.denortBin, join(buildDir, "pgquerylens-collector"));
    const configs: Config[] = [
      { id: "floor", run: () => runTimedCommand(floorCommand(), {}, timed) },
      {
        id: "base",
        run: () => runTimedCommand(startTaskCommand(), { ...baseEnv, TEMP_DIR: baseDir.path }, timed),
      },
      {
        id: "full",
        run: () => runTimedCommand(startTaskCommand(), { ...fullEnv, TEMP_DIR: fullDir.path }, timed),
      },
    ];
    if ("path" in compiled) {
      const binary = compiled.path;
      configs.push({
        id: "compiled",
        run: () => runTimedCommand([binary], { ...fullEnv, TEMP_DIR: compiledDir.path }, timed),
      });
    }
    configs.push({
      id: "base_cold",
      run: async () => {
        await using cold = await testStateDir("bench-startup-cold");
        const run = await runTimedCommand(startTaskCommand(), { ...baseEnv, TEMP_DIR: cold.path }, timed);
        if (run.code === 0 && nativeFiles(cold.path) === 0) {
          throw new Error(`${LABELS.base_cold}: no native pieces were extracted into ${cold.path}`);
        }
        return run;
      },
    });

    /** One run with the background sessions waiting meanwhile, as in every other run. */
    const once = async (config: Config): Promise<{ sample: StartupSample; run: TimedCollectorRun }> => {
      const waits = await startBackgroundWaits(cluster, DATABASE, { durationMs: BACKGROUND_MS });
      try {
        const run = await config.run();
        return { sample: sampleOf(config.id, run), run };
      } finally {
        await waits.stop();
      }
    };

    for (const config of configs) await once(config); // warm-up: caches, state dirs
    const samples = new Map<StartupConfigId, StartupSample[]>(configs.map((c) => [c.id, []]));
    let lastFull: TimedCollectorRun | undefined;
    for (let round = 0; round < opts.rounds; round++) {
      for (const config of rotate(configs, round)) {
        const { sample, run } = await once(config);
        samples.get(config.id)!.push(sample);
        if (config.id === "full") lastFull = run;
      }
    }
    await lock.release();

    const all = configs.map((c) => figures(c.id, samples.get(c.id)!));
    const floor = all[0];
    const ratiosToFloor: StartupResult["ratiosToFloor"] = {};
    for (const f of all.slice(1)) {
      ratiosToFloor[f.id] = Object.fromEntries(
        MEASURES.map((m) => [m, ratio(f.spread[m].median, floor.spread[m].median)]),
      ) as Record<StartupMeasure, number | undefined>;
    }
    return {
      options: opts,
      server: `PostgreSQL ${cluster.major} (${cluster.server.id})`,
      configs: all,
      ratiosToFloor,
      fullEventTypes: [...metricSetsByType(lastFull!.stdout).keys()],
      compiled,
      totalMs: performance.now() - started,
    };
  } finally {
    await lock.release().catch(() => {});
    await Deno.remove(buildDir, { recursive: true }).catch(() => {});
  }
}

const UNITS: Record<StartupMeasure, ReportRow["unit"]> = {
  firstDocumentMs: "ms",
  wallMs: "ms",
  peakRssMiB: "MiB",
  cpuMs: "ms",
};

/** Rows of one configuration, each against the same measure of `baseline` when given. */
function configRows(f: ConfigFigures, baseline?: ConfigFigures, baselineLabel?: string): ReportRow[] {
  return MEASURES.map((m) => {
    const row: ReportRow = {
      metric: `${f.label}: ${MEASURE_NAMES[m]}`,
      value: f.spread[m].median,
      unit: UNITS[m],
    };
    if (baseline) row.baseline = { value: baseline.spread[m].median, label: baselineLabel ?? baseline.label };
    return row;
  });
}

/** The report of a {@link measureStartup} result. */
export function startupReport(result: StartupResult): BenchReport {
  const by = (id: StartupConfigId) => result.configs.find((c) => c.id === id);
  const floor = by("floor")!;
  const base = by("base")!;
  const rows: ReportRow[] = [...configRows(floor)];
  for (const id of ["base", "full", "compiled"] as const) {
    const f = by(id);
    if (f) rows.push(...configRows(f, floor, "floor"));
  }
  const cold = by("base_cold");
  if (cold) rows.push(...configRows(cold, base, "base, warm state dir"));

  const above = (id: StartupConfigId) => {
    const f = by(id);
    return f
      ? `${f.label} ${Math.round(f.spread.firstDocumentMs.median - floor.spread.firstDocumentMs.median)} ms`
      : "";
  };
  const paired = (f: ConfigFigures, baseline: ConfigFigures) =>
    `${f.label} ${
      MEASURES.map((m) =>
        formatRatio(medianRatio(f.samples.map((s) => s[m]), baseline.samples.map((s) => s[m])))
      ).join(" / ")
    }`;
  const pairs = [
    ...(["base", "full", "compiled"] as const).flatMap((id) => by(id) ? [paired(by(id)!, floor)] : []),
    ...(cold ? [`${paired(cold, base)} (against base, warm)`] : []),
  ];
  const ranges = result.configs.map((f) =>
    `Median (min–max), ${f.label}: first document ${formatSpread(f.spread.firstDocumentMs)} ms, wall ${
      formatSpread(f.spread.wallMs)
    } ms, peak RSS ${formatSpread(f.spread.peakRssMiB, 1)} MiB, CPU ${formatSpread(f.spread.cpuMs)} ms.`
  );
  const defaults = defaultConfig();
  const compiledNote = "path" in result.compiled
    ? `Compiled binary: built by deno task compile on DENORT_BIN=${result.options.denortBin} in ${
      (result.compiled.buildMs / 1000).toFixed(1)
    } s, run with the full configuration and its own warm TEMP_DIR.`
    : `The compiled binary was not measured: ${result.compiled.reason}.`;
  const notes = [
    `${result.server} with pg_stat_statements and pg_wait_sampling; database "${DATABASE}" with the test ` +
    `workload schema, each slow statement run ${result.options.slowStatementRuns} times, a row lock held ` +
    `by an idle transaction with an update blocked on it, and background sessions sleeping and waiting on ` +
    `a lock during every run. Role "${ROLE}" (pg_monitor); COLLECTION_LIST=["${DATABASE}"].`,
    `Each configuration is started as deno task start starts the collector: deno ${
      startTaskCommand().slice(1).join(" ")
    } with a clean environment (the floor runs bench/lib/floor_main.ts, which prints one line, under ` +
    `the same flags). Base: ENABLE_QUERY_MONITORING=false, metrics and inventory. Full: ` +
    `ENABLE_QUERY_MONITORING=true, extended features at their defaults; its output held ` +
    `${result.fullEventTypes.filter((t) => QPM_EVENT_TYPES.includes(t)).join(", ")}.`,
    `A full one-shot run waits for its sampling windows by design: active session history takes ` +
    `${defaults.ash.oneshotSamples} samples ${defaults.ash.intervalMs} ms apart, QPM ` +
    `${defaults.activitySampling.samples} activity samples ${defaults.activitySampling.intervalMs} ms apart, ` +
    `OS metrics a ${defaults.os.oneshotIntervalMs} ms interval; its CPU time shows the work done.`,
    `Time to first document: spawn to the first byte on stdout, from the benchmark's clock while it ` +
    `reads; wall: spawn to exit; peak RSS from GNU time; CPU (user+sys) from bash's times (to the ` +
    `millisecond). Median over ` +
    `${result.options.rounds} interleaved rounds (order rotating each round) after one warm-up run ` +
    `of each; ratio = configuration / floor.`,
    `Above the floor (time to first document): ${
      (["base", "full", "compiled"] as const).map(above).filter((s) => s !== "").join("; ")
    }.`,
    `Cold state dir: a fresh TEMP_DIR below /tmp/pgquerylens each round, so the native pieces are ` +
    `extracted again (and no rate state exists); compared with base runs reusing their TEMP_DIR.`,
    `Median of the per-round ratios (first document / wall / peak RSS / CPU), against the floor unless ` +
    `said: ${pairs.join("; ")}.`,
    compiledNote,
    ...ranges,
    `Total benchmark time ${(result.totalMs / 1000).toFixed(1)} s.`,
  ];
  return {
    title: `One-shot NRI start-up: time to first document and peak RSS vs the runtime floor`,
    rows,
    notes,
  };
}

/** Runs the benchmark with `opts` and returns its report. */
export async function runStartup(opts: StartupOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  return startupReport(await measureStartup(opts));
}

/** The benchmark as `bench/run.ts` runs it. */
export const benchmark: Benchmark = {
  name: "startup",
  description:
    "one-shot NRI start-up: time to first document, wall, peak RSS and CPU of base and full runs vs the runtime floor",
  run: () => runStartup({ ...DEFAULT_OPTIONS, denortBin: Deno.env.get("DENORT_BIN") }),
};
