/**
 * Per-cycle durations from the collector's debug log.
 *
 * With `-verbose` the collector logs `[DEBUG] cycle took N ms` on stderr after each cycle; in
 * daemon mode that gives the duration of every cycle of one process.
 *
 * @module
 */

const CYCLE_LINE = /^\[DEBUG\] cycle took (\d+) ms$/;

/** Durations (ms) of the cycles logged in `stderr`, in order. */
export function cycleDurationsMs(stderr: string): number[] {
  const out: number[] = [];
  for (const line of stderr.split("\n")) {
    const m = CYCLE_LINE.exec(line.trimEnd());
    if (m) out.push(Number(m[1]));
  }
  return out;
}
