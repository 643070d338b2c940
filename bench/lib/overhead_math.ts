/**
 * Arithmetic of per-statement overhead benchmarks: the order in which interleaved rounds visit the
 * configurations, spreads, and converting throughput or instruction counts into time per statement.
 *
 * @module
 */

/** Smallest and largest of a set of samples. */
export interface Spread {
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
}

/**
 * The order in which round `round` (0-based) visits `items`: rotated left by `round`, so over
 * `items.length` rounds each item takes every position once and none is always first after the
 * same neighbour.
 *
 * @throws Error when round is not a non-negative integer.
 */
export function rotation<T>(items: readonly T[], round: number): T[] {
  if (!Number.isInteger(round) || round < 0) {
    throw new Error(`round must be a non-negative integer: ${round}`);
  }
  if (items.length === 0) return [];
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The smallest and largest sample.
 *
 * @throws Error when there are no samples.
 */
export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new Error("spread of no samples");
  return { min: Math.min(...samples), max: Math.max(...samples) };
}

/**
 * Time added per transaction, in nanoseconds, when throughput drops from `tpsBaseline` to
 * `tpsWith` on `busyCores` saturated cores: (cores ÷ TPS_with − cores ÷ TPS_baseline) × 10⁹.
 * Negative when the configuration measured faster than the baseline.
 *
 * @throws Error when a throughput is not positive or busyCores is not a positive integer.
 */
export function overheadNsPerTransaction(tpsWith: number, tpsBaseline: number, busyCores: number): number {
  if (!(tpsWith > 0) || !(tpsBaseline > 0)) {
    throw new Error(`throughputs must be positive: ${tpsWith}, ${tpsBaseline}`);
  }
  if (!Number.isInteger(busyCores) || busyCores < 1) {
    throw new Error(`busyCores must be a positive integer: ${busyCores}`);
  }
  return (busyCores / tpsWith - busyCores / tpsBaseline) * 1e9;
}

/**
 * Instructions executed per nanosecond of CPU time by a workload of which one statement executes
 * `instructionsPerStatement` instructions and costs `cpuNsPerStatement` of CPU time; undefined when
 * either is not a positive finite number (e.g. CPU time below the clock's resolution).
 */
export function instructionsPerNs(
  instructionsPerStatement: number,
  cpuNsPerStatement: number,
): number | undefined {
  const ok = (x: number) => Number.isFinite(x) && x > 0;
  return ok(instructionsPerStatement) && ok(cpuNsPerStatement)
    ? instructionsPerStatement / cpuNsPerStatement
    : undefined;
}
