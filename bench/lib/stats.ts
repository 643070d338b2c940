/**
 * Small statistics for benchmark samples.
 *
 * @module
 */

/**
 * The median of `samples` (mean of the two middle values for an even count).
 *
 * @throws Error when there are no samples or one is not a finite number.
 */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("median of no samples");
  const bad = samples.find((s) => !Number.isFinite(s));
  if (bad !== undefined) throw new Error(`median: sample ${bad} is not a finite number`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `value / baseline`, or undefined when the baseline is zero or not finite. */
export function ratio(value: number, baseline: number): number | undefined {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return undefined;
  return value / baseline;
}
