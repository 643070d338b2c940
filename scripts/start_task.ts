/**
 * The command of `deno task start`, read from deno.json. The compile task embeds its permission
 * flags in the binary, and the tests, benches and demo run the collector with exactly its
 * arguments, so one permission set governs all of them.
 *
 * @module
 */

import { join } from "node:path";

/** The repository root (where deno.json is). */
export const REPO_ROOT: string = join(import.meta.dirname!, "..");

/**
 * The `deno` arguments of a `start` task text: `run`, its flags and `main.ts`.
 *
 * @throws Error when the task is not of the form `deno run <flags> main.ts`
 */
export function parseStartTask(task: unknown): string[] {
  const words = String(task ?? "").trim().split(/\s+/);
  if (words.length < 3 || words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`deno.json tasks.start must be "deno run <flags> main.ts", got ${JSON.stringify(task)}`);
  }
  return words.slice(1);
}

/** The `deno` arguments of deno.json's `start` task (`run`, its flags and `main.ts`). */
export function startTaskArgs(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json")));
  return parseStartTask(config.tasks?.start);
}

/** The permission flags of the `start` task (every flag but `--quiet`): what the binary embeds. */
export function startTaskPermissionFlags(): string[] {
  return startTaskArgs().slice(1, -1).filter((f) => f !== "--quiet");
}
