/**
 * Entry of `deno task bench`: runs every benchmark in bench/ (or those named as arguments, e.g.
 * `deno task bench qpm_cycle`) one after the other and prints their reports. Exits 1 when a
 * benchmark fails.
 *
 * @module
 */

import { loadBenchmarks } from "./lib/discover.ts";
import { formatReport } from "./lib/report.ts";

/** Runs the benchmarks named in `names` (all when empty); resolves to the exit code. */
export async function main(names: string[]): Promise<number> {
  const dir = import.meta.dirname;
  if (!dir) throw new Error("bench/run.ts must be run from a local file");
  const benchmarks = await loadBenchmarks(dir, names);
  let failed = 0;
  for (const b of benchmarks) {
    console.error(`running ${b.name}: ${b.description}`);
    try {
      console.log(formatReport(await b.run()));
      console.log();
    } catch (e) {
      failed++;
      console.error(`benchmark ${b.name} failed: ${(e as Error).stack ?? e}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
