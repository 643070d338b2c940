/**
 * The server in single-user mode (`postgres --single`): one backend, no postmaster, no clients and
 * no background processes, reading one statement per line from standard input. A fixed script of
 * pgbench-style SELECTs run this way does the same work every time, which makes it the workload
 * for deterministic measures (valgrind instruction counts) and for CPU time per statement.
 *
 * Single-user mode refuses to start while the cluster's server runs; stop it first.
 *
 * @module
 */

import type { Cluster } from "../../tests/support/cluster.ts";
import {
  asServerUser,
  type ProgramRun,
  runProgram,
  serverProgram,
  type ServerSettings,
  settingArgs,
} from "./pg_server.ts";
import { parseTimeReport, type ProcessUsage, TIME_BINARY, TIME_FORMAT } from "./time_report.ts";

/** Accounts per unit of pgbench scale. */
export const ACCOUNTS_PER_SCALE = 100_000;

/** A run of the server in single-user mode. */
export interface SingleUserRun {
  /** Database to connect to. */
  database: string;
  /** Settings given on the command line (shared_preload_libraries and the rest). */
  settings: ServerSettings;
  /** Statements, one per line. */
  input: string;
}

/**
 * `count` pgbench `-S` statements (`SELECT abalance FROM pgbench_accounts WHERE aid = N;`), one per
 * line, with account ids drawn uniformly from the accounts of `scale` by a generator seeded with
 * `seed`: the same arguments give the same script, and a longer script starts with a shorter one.
 *
 * @throws Error when count or scale is not a positive integer.
 */
export function selectScript(count: number, scale: number, seed = 1): string {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`statement count must be a positive integer: ${count}`);
  }
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(`pgbench scale must be a positive integer: ${scale}`);
  }
  const accounts = scale * ACCOUNTS_PER_SCALE;
  let state = seed >>> 0;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    lines.push(`SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + Math.floor(r * accounts)};`);
  }
  return lines.join("\n") + "\n";
}

/** `postgres --single` with the run's data directory, settings and database (no wrapper). */
export function singleUserArgs(cluster: Cluster, run: SingleUserRun): string[] {
  return ["--single", "-D", cluster.dataDir, ...settingArgs(run.settings), run.database];
}

/**
 * Fails with the output's tail when a single-user run exited non-zero or reported an error (a
 * failing statement does not end single-user mode, so its exit code alone would hide it).
 */
export function checkSingleUserRun(what: string, res: ProgramRun): void {
  const failed = res.code !== 0 || /\b(ERROR|FATAL|PANIC): {2}/.test(res.stderr);
  if (failed) {
    const tail = res.stderr.trimEnd().split("\n").slice(-15).join("\n");
    throw new Error(`${what} failed (exit ${res.code}):\n${tail}`);
  }
}

/**
 * Runs the script in single-user mode wrapped by `wrapper` (a program and its arguments, run as
 * the server's OS user, e.g. valgrind), discarding the query results.
 *
 * @throws Error when the server exits non-zero or a statement fails.
 */
export async function runSingleUser(
  cluster: Cluster,
  run: SingleUserRun,
  wrapper: string[] = [],
): Promise<void> {
  const postgres = serverProgram(cluster, "postgres");
  const [exe, ...args] = [...wrapper, postgres, ...singleUserArgs(cluster, run)];
  const res = await runProgram(asServerUser(cluster, exe, args), { stdin: run.input, stdout: "null" });
  checkSingleUserRun(`single-user ${wrapper.length > 0 ? `${wrapper[0]} ` : ""}run`, res);
}

/**
 * Runs the script in single-user mode under GNU time and returns the process's resource usage
 * (CPU time at 10 ms resolution; it includes the server's start-up and shutdown).
 *
 * @throws Error when the server exits non-zero or a statement fails.
 */
export async function timeSingleUser(cluster: Cluster, run: SingleUserRun): Promise<ProcessUsage> {
  const usageFile = await Deno.makeTempFile({ prefix: "pgquerylens-bench-single-" });
  try {
    const argv = [
      TIME_BINARY,
      "-o",
      usageFile,
      "-f",
      TIME_FORMAT,
      ...asServerUser(cluster, serverProgram(cluster, "postgres"), singleUserArgs(cluster, run)),
    ];
    const res = await runProgram(argv, { stdin: run.input, stdout: "null" });
    checkSingleUserRun("timed single-user run", res);
    return parseTimeReport(await Deno.readTextFile(usageFile));
  } finally {
    await Deno.remove(usageFile).catch(() => {});
  }
}
