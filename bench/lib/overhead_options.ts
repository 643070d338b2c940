/**
 * Sizes and durations of the pg_querylens overhead benchmark, its defaults and their validation.
 *
 * @module
 */

import { type ConfigId, configuration, CONFIGURATIONS } from "./querylens_configs.ts";

/** Sizes and durations of the benchmark. */
export interface QuerylensOverheadOptions {
  /** Configurations to measure, in visiting order; must include `none`. */
  configurations: ConfigId[];
  /** pgbench scale (100,000 accounts each). */
  scale: number;
  /** Interleaved pgbench rounds. */
  rounds: number;
  /** pgbench `-S` warm-up after each restart, seconds. */
  warmupSeconds: number;
  /** Measured pgbench `-S -c 2 -j 2` run per visit, seconds. */
  pgbenchSeconds: number;
  /** `SELECT 1` run with `-c 1 -j 1` per visit, seconds; 0 skips it. */
  selectOneSeconds: number;
  /** Prepared statements executed for self-timing. */
  selfTimingExecutions: number;
  /** Statements of the two callgrind runs (N₁ < N₂). */
  callgrindStatements: [number, number];
  /** Statements of the long native run that measures CPU time per statement (more than N₁). */
  rateStatements: number;
  /** Native runs of each length (medians are used). */
  rateRepeats: number;
}

/** What `deno task bench querylens_overhead` runs. */
export const DEFAULT_OPTIONS: Readonly<QuerylensOverheadOptions> = {
  configurations: CONFIGURATIONS.map((c) => c.id),
  scale: 10,
  rounds: 5,
  warmupSeconds: 4,
  pgbenchSeconds: 10,
  selectOneSeconds: 5,
  selfTimingExecutions: 20_000,
  callgrindStatements: [1000, 3000],
  rateStatements: 50_000,
  rateRepeats: 3,
};

/**
 * Checks the options.
 *
 * @throws Error naming the first option that is out of range.
 */
export function validateOptions(opts: QuerylensOverheadOptions): void {
  const positive = [
    "scale",
    "rounds",
    "warmupSeconds",
    "pgbenchSeconds",
    "selfTimingExecutions",
    "rateStatements",
    "rateRepeats",
  ] as const;
  for (const key of positive) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      throw new Error(`option ${key} must be a positive integer, got ${opts[key]}`);
    }
  }
  if (!Number.isInteger(opts.selectOneSeconds) || opts.selectOneSeconds < 0) {
    throw new Error(`option selectOneSeconds must be a non-negative integer, got ${opts.selectOneSeconds}`);
  }
  const [n1, n2] = opts.callgrindStatements;
  if (!Number.isInteger(n1) || !Number.isInteger(n2) || n1 < 1 || n2 <= n1) {
    throw new Error(`option callgrindStatements must be two integers 1 ≤ N1 < N2, got ${n1}, ${n2}`);
  }
  if (opts.rateStatements <= n1) {
    throw new Error(`option rateStatements must exceed N1 (${n1}), got ${opts.rateStatements}`);
  }
  opts.configurations.forEach(configuration);
  if (!opts.configurations.includes("none")) {
    throw new Error("option configurations must include none, the baseline");
  }
  if (new Set(opts.configurations).size !== opts.configurations.length) {
    throw new Error(`option configurations lists a configuration twice: ${opts.configurations.join(", ")}`);
  }
}
