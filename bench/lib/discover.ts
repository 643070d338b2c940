/**
 * Finding the benchmarks: every `.ts` module directly in the bench directory, except the runner
 * (`run.ts`) and tests (`*_test.ts`), exports a {@link Benchmark} as `benchmark`.
 *
 * @module
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Benchmark } from "./report.ts";

/** File names of the benchmark modules in `dir`, sorted. */
export function benchmarkFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ts") && e.name !== "run.ts" && !e.name.endsWith("_test.ts"))
    .map((e) => e.name)
    .sort();
}

function isBenchmark(value: unknown): value is Benchmark {
  const b = value as Partial<Benchmark> | undefined;
  return typeof b === "object" && b !== null && typeof b.name === "string" && b.name !== "" &&
    typeof b.description === "string" && typeof b.run === "function";
}

/**
 * Imports the benchmark module at `path` and returns its `benchmark` export.
 *
 * @throws Error naming the file when it exports no valid benchmark.
 */
export async function loadBenchmark(path: string): Promise<Benchmark> {
  const mod = await import(pathToFileURL(path).href);
  if (!isBenchmark(mod.benchmark)) {
    throw new Error(
      `${path} exports no benchmark: export const benchmark: Benchmark = { name, description, run }`,
    );
  }
  return mod.benchmark;
}

/**
 * Loads the benchmarks of `dir`; with `names`, only those (in the order given).
 *
 * @throws Error when a name matches no benchmark (the message lists the known ones).
 */
export async function loadBenchmarks(dir: string, names: string[] = []): Promise<Benchmark[]> {
  const all: Benchmark[] = [];
  for (const file of benchmarkFiles(dir)) all.push(await loadBenchmark(join(dir, file)));
  if (names.length === 0) return all;
  return names.map((name) => {
    const found = all.find((b) => b.name === name);
    if (!found) {
      throw new Error(`no benchmark named "${name}"; known: ${all.map((b) => b.name).join(", ")}`);
    }
    return found;
  });
}
