/**
 * The main job. With a server configured (HOSTNAME, `-hostname`, `--config` or
 * PGQUERYLENS_CONFIG), the collector runs against it with the given arguments. Otherwise an
 * embedded throwaway PostgreSQL 15 (pg_stat_statements and pg_wait_sampling preloaded) is started,
 * a small workload runs (slow statements, a row lock blocking an update, sleeps), and the
 * collector's NRI documents for it are printed on stdout. The collector always runs as its own
 * process under the collector permission set, as `deno task start` runs it.
 *
 * @module
 */

import { startTaskArgs } from "./start_task.ts";
import { startCluster } from "../tests/support/cluster.ts";
import { clusterEnv, runCollectorProcess } from "../tests/support/collector.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  startBackgroundWaits,
} from "../tests/support/workload.ts";

const CONFIGURED_BY = ["HOSTNAME", "PGQUERYLENS_CONFIG"];
const CONFIG_FLAGS = /^--?(hostname|config)(=|$)/;

/** Whether the arguments or environment name a server to monitor. */
export function serverConfigured(args: string[], env: (name: string) => string | undefined): boolean {
  return args.some((a) => CONFIG_FLAGS.test(a)) || CONFIGURED_BY.some((n) => !!env(n));
}

async function passThrough(args: string[]): Promise<number> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs(), ...args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  return (await cmd.output()).code;
}

async function demo(args: string[]): Promise<number> {
  console.error("[INFO] no server configured: starting an embedded throwaway PostgreSQL 15 with a workload");
  await using cluster = await startCluster({
    name: "demo",
    preload: ["pg_stat_statements", "pg_wait_sampling"],
  });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createExtension("postgres", "pg_wait_sampling");
  await cluster.createDatabase("shop");
  await setupWorkloadSchema(cluster, "shop");
  // pg_read_all_data (PostgreSQL 14+) lets pg_stats show column statistics: the bloat estimate needs them.
  await cluster.createRole("newrelic", "demo-password", { grants: ["pg_monitor", "pg_read_all_data"] });
  await runSlowStatements(cluster, "shop", { count: 3 });
  const waits = await startBackgroundWaits(cluster, "shop", { durationMs: 15_000 });
  const lock = await holdRowLock(cluster, "shop");
  try {
    const run = await runCollectorProcess(args, {
      ...clusterEnv(cluster, "newrelic", "demo-password"),
      ENABLE_QUERY_MONITORING: "true",
      COLLECTION_LIST: '["shop"]',
    });
    await Deno.stdout.write(new TextEncoder().encode(run.stdout));
    if (run.stderr) console.error(run.stderr.trimEnd());
    return run.code;
  } finally {
    await lock.release();
    await waits.stop();
  }
}

if (import.meta.main) {
  const args = Deno.args;
  Deno.exit(serverConfigured(args, (n) => Deno.env.get(n)) ? await passThrough(args) : await demo(args));
}
