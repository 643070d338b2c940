/**
 * Command lines that start a program exactly as `deno task start` starts the collector: the same
 * `deno` executable and the start task's flags, with either main.ts or the start-up floor program.
 *
 * @module
 */

import { relative } from "node:path";
import { startTaskArgs } from "../../scripts/start_task.ts";
import { repoRoot } from "../../tests/support/servers.ts";
import { FLOOR_MAIN } from "./floor_main.ts";

/** `deno` with the start task's arguments (flags and main.ts), then `args`; run it in the repository. */
export function startTaskCommand(args: string[] = []): string[] {
  return [Deno.execPath(), ...startTaskArgs(), ...args];
}

/**
 * `deno` with the start task's flags running the floor program (floor_main.ts) instead of main.ts;
 * run it in the repository.
 */
export function floorCommand(): string[] {
  const flags = startTaskArgs().slice(0, -1);
  return [Deno.execPath(), ...flags, relative(repoRoot(), FLOOR_MAIN)];
}
