/**
 * `deno task compile`: builds `dist/pgquerylens-collector` with `deno compile`.
 *
 * - The binary embeds the permission flags of `deno task start` (one permission set for both) and
 *   the native pieces (imported as bytes by src/extensions/native_assets.ts), which it extracts at
 *   start.
 * - `deno compile` needs the `denort` runtime of the same Deno release and downloads it unless
 *   `DENORT_BIN` names it. Without `DENORT_BIN` this task stops and says how to provide it.
 * - `-show_version` of the binary reports the commit (with `-dirty` for uncommitted changes) and
 *   the build date, written into src/build_info.json for the build and restored afterwards.
 * - The binary is run once with `-show_version`; a runtime that cannot run it (the deno CLI, or a
 *   denort of another release) fails the task and leaves no binary behind.
 *
 * Usage: `DENORT_BIN=/path/to/denort deno task compile [--output <path>]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, isAbsolute, join } from "node:path";
import { REPO_ROOT, startTaskPermissionFlags } from "./start_task.ts";
import { NATIVE_ASSET_NAMES, NATIVE_ASSETS } from "../src/extensions/native_assets.ts";
import { VERSION } from "../src/version.ts";

/** Where the binary goes unless `--output` says otherwise (relative to the repository). */
export const DEFAULT_OUTPUT = "dist/pgquerylens-collector";

/** The message when `DENORT_BIN` is not set: what is missing and how to provide it. */
export function missingDenortMessage(denoVersion = Deno.version.deno, target = Deno.build.target): string {
  const zip = `denort-${target}.zip`;
  return [
    `DENORT_BIN is not set. deno compile builds the binary on the denort runtime of the same Deno ` +
    `release (${denoVersion}, ${target}) and would download it from dl.deno.land, which is not reachable ` +
    `from here.`,
    `Fetch https://dl.deno.land/release/v${denoVersion}/${zip} on a machine that can, unzip it, and run:`,
    `  DENORT_BIN=/path/to/denort deno task compile`,
  ].join("\n");
}

/**
 * Why `path` (the value of `DENORT_BIN`) cannot be the runtime; undefined when it may be. The deno
 * CLI itself is refused: a binary built on it starts the CLI, not the collector.
 */
export async function denortProblem(path: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    return `DENORT_BIN=${path}: ${(e as Error).message}`;
  }
  if (!info.isFile) return `DENORT_BIN=${path} is not a file`;
  if (((info.mode ?? 0) & 0o111) === 0) return `DENORT_BIN=${path} is not executable`;
  const out = await new Deno.Command(path, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(10_000),
  }).output().catch(() => undefined);
  const text = out ? new TextDecoder().decode(out.stdout) : "";
  if (/^deno \d+\.\d+\.\d+/.test(text)) {
    return `DENORT_BIN=${path} is the deno CLI (${text.split("\n")[0]}), not the denort runtime that ` +
      `deno compile needs`;
  }
  return undefined;
}

/** Native pieces that are not built, with what builds each; empty when all are there. */
export async function missingNativePieces(): Promise<string[]> {
  const missing: string[] = [];
  for (const asset of NATIVE_ASSET_NAMES) {
    const spec = NATIVE_ASSETS[asset];
    try {
      await Deno.stat(join(REPO_ROOT, spec.sourcePath));
    } catch {
      missing.push(
        `${spec.sourcePath} is missing: build it with "${spec.buildHint}" (bash scripts/setup.sh builds all)`,
      );
    }
  }
  return missing;
}

/** The `deno` arguments that compile main.ts into `output` with the start task's permission flags. */
export function compileArgs(output: string): string[] {
  return ["compile", ...startTaskPermissionFlags(), "--output", output, "main.ts"];
}

async function git(...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd: REPO_ROOT, stdout: "piped", stderr: "null" })
    .output()
    .catch(() => undefined);
  return out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
}

/** The commit of the working tree, `-dirty` when it has uncommitted changes; "unknown" outside git. */
export async function buildCommit(): Promise<string> {
  const head = await git("rev-parse", "--short=12", "HEAD");
  if (head === "") return "unknown";
  return (await git("status", "--porcelain", "--untracked-files=no")) === "" ? head : `${head}-dirty`;
}

/** Runs `deno compile` with `args` in the repository with `DENORT_BIN` set; resolves to its output. */
export async function runDenoCompile(args: string[], denort: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: { DENORT_BIN: denort },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

const BUILD_INFO = join(REPO_ROOT, "src", "build_info.json");

/** Compiles with the build identity written into src/build_info.json, then restores that file. */
async function compileWithBuildInfo(
  output: string,
  denort: string,
  commit: string,
): Promise<Deno.CommandOutput> {
  const original = await Deno.readTextFile(BUILD_INFO);
  const info = { version: VERSION, commit, buildDate: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
  await Deno.writeTextFile(BUILD_INFO, JSON.stringify(info) + "\n");
  try {
    return await runDenoCompile(compileArgs(output), denort);
  } finally {
    await Deno.writeTextFile(BUILD_INFO, original);
  }
}

/** Runs the built binary with `-show_version`; the problem when it does not print the version line. */
async function smokeProblem(output: string, commit: string): Promise<string | undefined> {
  const out = await new Deno.Command(output, {
    args: ["-show_version"],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    clearEnv: true,
    signal: AbortSignal.timeout(30_000),
  }).output().catch((e) => e as Error);
  if (out instanceof Error) return out.message;
  const text = new TextDecoder().decode(out.stdout);
  const expected = `pgquerylens-collector Version: ${VERSION},`;
  if (out.success && text.startsWith(expected) && text.includes(`GitCommit: ${commit},`)) return undefined;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
  return `exit ${out.code}, printed ${JSON.stringify(text.slice(0, 200))} ${err}`.trim();
}

/** The task; resolves to its exit code. */
export async function compile(argv: string[], env: (name: string) => string | undefined): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { output: { type: "string" } } });
  const output = values.output === undefined
    ? join(REPO_ROOT, DEFAULT_OUTPUT)
    : isAbsolute(values.output)
    ? values.output
    : join(Deno.cwd(), values.output);
  const denort = env("DENORT_BIN");
  if (denort === undefined || denort === "") {
    console.error(`[ERROR] ${missingDenortMessage()}`);
    return 1;
  }
  const problem = await denortProblem(denort);
  if (problem !== undefined) {
    console.error(`[ERROR] ${problem}\n${missingDenortMessage().split("\n").slice(1).join("\n")}`);
    return 1;
  }
  const missing = await missingNativePieces();
  if (missing.length > 0) {
    for (const m of missing) console.error(`[ERROR] ${m}`);
    return 1;
  }
  await Deno.mkdir(dirname(output), { recursive: true });
  const commit = await buildCommit();
  const out = await compileWithBuildInfo(output, denort, commit);
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr));
    console.error(`[ERROR] deno compile failed (exit ${out.code})`);
    return 1;
  }
  const smoke = await smokeProblem(output, commit);
  if (smoke !== undefined) {
    await Deno.remove(output).catch(() => {});
    console.error(
      `[ERROR] the binary built on DENORT_BIN=${denort} does not run (${smoke}); DENORT_BIN must be the ` +
        `denort runtime of Deno ${Deno.version.deno} for ${Deno.build.target}`,
    );
    return 1;
  }
  console.error(`[INFO] built ${output} (${commit})`);
  return 0;
}

if (import.meta.main) Deno.exit(await compile(Deno.args, (n) => Deno.env.get(n)));
