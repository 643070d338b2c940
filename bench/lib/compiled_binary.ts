/**
 * The compiled collector for benchmarks: built with `deno task compile --output <path>` on the
 * denort runtime that `DENORT_BIN` names. Without one there is no binary, and the benchmark says
 * so instead of measuring something else.
 *
 * @module
 */

import { repoRoot } from "../../tests/support/servers.ts";

/** A built binary, or why there is none. */
export type CompiledBinary =
  | { path: string; buildMs: number }
  | { reason: string };

/** Why no binary is measured when `DENORT_BIN` is not set. */
export const NO_DENORT_REASON =
  "DENORT_BIN is not set, so no denort runtime is available to build the binary with deno task compile";

/** The first `[ERROR]` line of `stderr`, else its last non-empty line. */
function errorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.find((l) => l.startsWith("[ERROR]")) ?? lines.at(-1) ?? "no message";
}

/**
 * Builds the collector into `output` with `deno task compile` on the runtime `denortBin` (the value
 * of `DENORT_BIN`; undefined or empty when it is not set). Resolves to the binary's path and the
 * build time, or to the reason there is no binary: no runtime, or the task failed (its first error
 * line).
 */
export async function buildCompiledBinary(
  denortBin: string | undefined,
  output: string,
): Promise<CompiledBinary> {
  if (denortBin === undefined || denortBin === "") return { reason: NO_DENORT_REASON };
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", "--output", output],
    cwd: repoRoot(),
    env: { DENORT_BIN: denortBin },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = errorLine(new TextDecoder().decode(out.stderr));
    return { reason: `deno task compile with DENORT_BIN=${denortBin} failed (exit ${out.code}): ${why}` };
  }
  return { path: output, buildMs: performance.now() - started };
}
