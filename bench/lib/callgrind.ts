/**
 * Instruction counts from valgrind's callgrind tool: running the server in single-user mode under
 * callgrind and reading the profile it writes.
 *
 * Callgrind counts user-space instructions executed (event `Ir`), the same number on every run of
 * the same work, so the difference between two runs that differ only in the number of statements
 * gives the instructions per statement, free of start-up and shutdown costs and of the machine's
 * load. Time spent in the kernel (system calls) is not counted.
 *
 * @module
 */

import { basename, join } from "node:path";
import { type Cluster, serverUser } from "../../tests/support/cluster.ts";
import { runSingleUser, type SingleUserRun } from "./single_user.ts";

/** Path of valgrind. */
export const VALGRIND_BINARY = "/usr/bin/valgrind";

/** What a callgrind profile says about one run. */
export interface CallgrindProfile {
  /** Instructions executed by the whole process (the `totals:` or `summary:` line). */
  totalInstructions: number;
  /** Instructions executed in each object's own code (self cost), by object path. */
  selfByObject: Map<string, number>;
}

/** One measurement: instructions of a run of `statements` statements. */
export interface InstructionSample {
  /** Statements in the run. */
  statements: number;
  /** Instructions the run executed. */
  instructions: number;
}

/** Reads `name=(id) text`, `name=(id)` or `name=text`, remembering compressed ids in `table`. */
function resolveName(spec: string, table: Map<string, string>): string {
  const m = /^\((\d+)\)(?: (.*))?$/.exec(spec);
  if (!m) return spec;
  if (m[2] !== undefined) table.set(m[1], m[2]);
  const name = table.get(m[1]);
  if (name === undefined) throw new Error(`callgrind profile refers to undefined object id (${m[1]})`);
  return name;
}

/**
 * Parses a callgrind output file: the process's total instructions and each object's self cost
 * (cost lines of its functions, not the inclusive costs of the calls they make).
 *
 * @throws Error when the text has no `events:` header with `Ir` first, or no totals line.
 */
export function parseCallgrindOutput(text: string): CallgrindProfile {
  const lines = text.split("\n");
  const events = lines.find((l) => l.startsWith("events:"));
  if (!events || events.slice("events:".length).trim().split(/\s+/)[0] !== "Ir") {
    throw new Error("not a callgrind profile counting instructions: no `events: Ir` header");
  }
  const positions = lines.find((l) => l.startsWith("positions:"))?.slice("positions:".length).trim()
    .split(/\s+/).length ?? 1;
  const objects = new Map<string, string>();
  const selfByObject = new Map<string, number>();
  let currentObject = "???";
  let functionObject = "???";
  let total: number | undefined;
  let skipNextCost = false;
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    const first = line.charCodeAt(0);
    const isCost = (first >= 48 && first <= 57) || line[0] === "+" || line[0] === "-" || line[0] === "*";
    if (isCost) {
      if (skipNextCost) {
        skipNextCost = false;
        continue;
      }
      const ir = Number(line.trim().split(/\s+/)[positions] ?? 0);
      selfByObject.set(functionObject, (selfByObject.get(functionObject) ?? 0) + ir);
      continue;
    }
    const eq = line.indexOf("=");
    const colon = line.indexOf(":");
    const key = eq > 0 && (colon < 0 || eq < colon) ? line.slice(0, eq) : line.slice(0, colon);
    const value = eq > 0 && (colon < 0 || eq < colon) ? line.slice(eq + 1) : line.slice(colon + 1).trim();
    if (key === "ob") {
      currentObject = resolveName(value, objects);
    } else if (key === "cob") {
      resolveName(value, objects); // may define an id used later
    } else if (key === "fn") {
      functionObject = currentObject;
    } else if (key === "calls") {
      skipNextCost = true;
    } else if (key === "totals" || (key === "summary" && total === undefined)) {
      total = Number(value.split(/\s+/)[0]);
    }
  }
  if (total === undefined || !Number.isFinite(total)) {
    throw new Error("callgrind profile has no totals: or summary: line");
  }
  return { totalInstructions: total, selfByObject };
}

/** Self instructions of the objects whose file name starts with `library` (e.g. `pg_stat_statements`). */
export function libraryInstructions(profile: CallgrindProfile, library: string): number {
  let sum = 0;
  for (const [path, ir] of profile.selfByObject) {
    const name = basename(path);
    if (name === `${library}.so` || name.startsWith(`${library}.so.`)) sum += ir;
  }
  return sum;
}

/**
 * Instructions per statement between two runs: (I₂ − I₁) ÷ (N₂ − N₁).
 *
 * @throws Error when the second run does not have more statements than the first.
 */
export function marginalPerStatement(a: InstructionSample, b: InstructionSample): number {
  if (!(b.statements > a.statements)) {
    throw new Error(
      `the second run must have more statements than the first (${a.statements}, ${b.statements})`,
    );
  }
  return (b.instructions - a.instructions) / (b.statements - a.statements);
}

/**
 * A directory under the cluster's directory that the server's OS user may write, for profiles.
 * It goes away with the cluster.
 */
export async function profileDir(cluster: Cluster): Promise<string> {
  const dir = join(cluster.dir, `callgrind-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(dir, { mode: 0o700 });
  const user = serverUser();
  if (user) await Deno.chown(dir, user.uid, user.gid);
  return dir;
}

/**
 * Runs the single-user script under `valgrind --tool=callgrind` and returns the profile. `outFile`
 * must be in a directory the server's OS user may write (see {@link profileDir}).
 *
 * @throws Error when the run or a statement fails, or the profile cannot be read.
 */
export async function callgrindSingleUser(
  cluster: Cluster,
  run: SingleUserRun,
  outFile: string,
): Promise<CallgrindProfile> {
  await runSingleUser(cluster, run, [VALGRIND_BINARY, "--tool=callgrind", `--callgrind-out-file=${outFile}`]);
  return parseCallgrindOutput(await Deno.readTextFile(outFile));
}
