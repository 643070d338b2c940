/**
 * The spread of benchmark samples: median with minimum and maximum, and how it is printed.
 *
 * @module
 */

import { median } from "./stats.ts";

/** Median, minimum and maximum of some samples. */
export interface Spread {
  /** The median. */
  median: number;
  /** The smallest sample. */
  min: number;
  /** The largest sample. */
  max: number;
}

/**
 * The spread of `samples`.
 *
 * @throws Error when there are no samples or one is not a finite number.
 */
export function spread(samples: readonly number[]): Spread {
  const med = median(samples);
  return { median: med, min: Math.min(...samples), max: Math.max(...samples) };
}

/** `s` as `median (min–max)`, each with `digits` decimals. */
export function formatSpread(s: Spread, digits = 0): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/**
 * The median of the ratios `values[i] / baselines[i]`: samples taken side by side in the same round,
 * so a drift of the machine between rounds cancels out.
 *
 * @throws Error when the lists differ in length or are empty, or a ratio is not a finite number
 * (a baseline of zero).
 */
export function medianRatio(values: readonly number[], baselines: readonly number[]): number {
  if (values.length !== baselines.length) {
    throw new Error(`medianRatio: ${values.length} values but ${baselines.length} baselines`);
  }
  return median(values.map((v, i) => v / baselines[i]));
}
