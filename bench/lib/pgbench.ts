/**
 * pgbench against a throwaway cluster: initializing its tables and running it over the cluster's
 * Unix socket (local connections are trusted), with the figures of its summary parsed.
 *
 * @module
 */

import type { Cluster } from "../../tests/support/cluster.ts";
import { runProgram, serverProgram } from "./pg_server.ts";

/** The figures of one pgbench run's summary. */
export interface PgbenchResult {
  /** Transactions per second, without the initial connection time. */
  tps: number;
  /** Transactions processed. */
  transactions: number;
  /** Transactions that failed. */
  failed: number;
  /** Average latency, milliseconds. */
  latencyMs: number;
}

function field(text: string, pattern: RegExp, what: string): number {
  const m = pattern.exec(text);
  if (!m) throw new Error(`pgbench output has no ${what}: ${JSON.stringify(text.slice(-300))}`);
  return Number(m[1]);
}

/**
 * Reads the summary pgbench prints at the end of a run (PostgreSQL 13 or later).
 *
 * @throws Error naming the missing line when the text is not a pgbench summary.
 */
export function parsePgbenchOutput(text: string): PgbenchResult {
  const failedMatch = /^number of failed transactions: (\d+)/m.exec(text);
  return {
    tps: field(text, /^tps = ([\d.]+) \(without initial connection time\)/m, "tps line"),
    transactions: field(text, /^number of transactions actually processed: (\d+)/m, "transaction count"),
    failed: failedMatch ? Number(failedMatch[1]) : 0,
    latencyMs: field(text, /^latency average = ([\d.]+) ms/m, "latency average"),
  };
}

/** The connection arguments of pgbench for the cluster: socket directory, port, superuser. */
export function connectionArgs(cluster: Cluster): string[] {
  return ["-h", cluster.socketDir, "-p", String(cluster.port), "-U", cluster.superuser];
}

/** Options of {@link runPgbench}. */
export interface PgbenchOptions {
  /** Run pgbench on these CPUs only (a `taskset` list such as `0`); any CPU by default. */
  cpus?: string;
}

async function pgbench(cluster: Cluster, database: string, args: string[], opts: PgbenchOptions = {}) {
  const pin = opts.cpus === undefined ? [] : ["taskset", "-c", opts.cpus];
  const argv = [...pin, serverProgram(cluster, "pgbench"), ...args, ...connectionArgs(cluster), database];
  const res = await runProgram(argv);
  if (res.code !== 0) {
    throw new Error(`pgbench ${args.join(" ")} failed (${res.code}): ${res.stderr.trim().slice(-1000)}`);
  }
  return res;
}

/**
 * `pgbench -i -s <scale>` in `database`: creates and fills the pgbench tables (100,000 accounts per
 * unit of scale), vacuumed, with primary keys.
 *
 * @throws Error with pgbench's messages when it fails.
 */
export async function initPgbench(cluster: Cluster, database: string, scale: number): Promise<void> {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new Error(`pgbench scale must be a positive integer: ${scale}`);
  }
  await pgbench(cluster, database, ["-i", "-q", "-s", String(scale)]);
}

/**
 * Runs pgbench with `args` (e.g. `["-S", "-M", "prepared", "-c", "2", "-j", "2", "-T", "10"]`)
 * in `database` and returns its summary.
 *
 * @throws Error when pgbench fails or any transaction failed.
 */
export async function runPgbench(
  cluster: Cluster,
  database: string,
  args: string[],
  opts: PgbenchOptions = {},
): Promise<PgbenchResult> {
  const res = await pgbench(cluster, database, args, opts);
  const result = parsePgbenchOutput(res.stdout);
  if (result.failed > 0) throw new Error(`pgbench ${args.join(" ")}: ${result.failed} transactions failed`);
  return result;
}
