/**
 * Runs the collector as a separate process exactly as `deno task start` does: `deno run
 * -P=collector main.ts`, i.e. under the permission set the compiled binary gets, with a clean
 * environment holding only what the test passes.
 *
 * @module
 */

import type { Cluster } from "./cluster.ts";
import { repoRoot } from "./servers.ts";
import { startTaskArgs } from "../../scripts/start_task.ts";

/** Outcome of one collector run. */
export interface CollectorRun {
  /** Exit code. */
  code: number;
  /** Standard output (NRI documents). */
  stdout: string;
  /** Standard error (logs). */
  stderr: string;
}

/** The collector command as `deno task start` runs it, with a clean environment plus `env`. */
export function collectorCommand(
  args: string[],
  env: Record<string, string>,
  signal?: AbortSignal,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs(), ...args],
    cwd: repoRoot(),
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal,
  });
}

function decode(out: Deno.CommandOutput): CollectorRun {
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the collector with `args` and environment `env`; fails the run after `timeoutMs`. */
export async function runCollectorProcess(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CollectorRun> {
  return decode(await collectorCommand(args, env, AbortSignal.timeout(timeoutMs)).output());
}

/** Environment variables that point the collector at `cluster` as `user`. */
export function clusterEnv(cluster: Cluster, user: string, password: string): Record<string, string> {
  return { HOSTNAME: cluster.host, PORT: String(cluster.port), USERNAME: user, PASSWORD: password };
}

/** A metric set of an NRI v3 document. */
export type MetricSet = Record<string, string | number>;

/** Every metric set in `stdout`'s documents, grouped by event_type. */
export function metricSetsByType(stdout: string): Map<string, MetricSet[]> {
  const out = new Map<string, MetricSet[]>();
  for (const line of stdout.split("\n").filter((l) => l.trim() !== "")) {
    const doc = JSON.parse(line);
    for (const item of doc.data ?? []) {
      for (const m of item.metrics ?? []) {
        const list = out.get(m.event_type) ?? [];
        list.push(m);
        out.set(m.event_type, list);
      }
    }
  }
  return out;
}

/**
 * Runs the collector in daemon mode for `ms` milliseconds, then sends SIGTERM and waits for it to
 * exit; the exit code shows whether it stopped cleanly.
 */
export async function runCollectorFor(
  args: string[],
  env: Record<string, string>,
  ms: number,
): Promise<CollectorRun> {
  const child = collectorCommand(args, env).spawn();
  const timer = setTimeout(() => child.kill("SIGTERM"), ms);
  const hardStop = setTimeout(() => child.kill("SIGKILL"), ms + 30_000);
  try {
    return decode(await child.output());
  } finally {
    clearTimeout(timer);
    clearTimeout(hardStop);
  }
}
