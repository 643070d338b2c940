/**
 * The collector as an operator starts it from a checkout, `deno task start <flags>`: under its
 * `collector` permission set, with the native libraries extracted below its state directory.
 *
 * - One real PostgreSQL 15 (pg_stat_statements, pg_wait_sampling and pg_querylens preloaded, run
 *   from a private copy of its binaries so the eBPF tier's probes touch no other cluster) and a
 *   workload drive a daemon-mode run until every event type the collector publishes in NRI mode has
 *   appeared; a second, one-shot run through PgBouncer adds PgBouncerSample. The list of event types
 *   comes from the catalogs, so a new type without a test here fails.
 * - A refused permission ends the run with a clear message instead of a prompt that would wait for
 *   an answer: shown on a pseudo-terminal, where Deno does prompt without `--no-prompt`.
 *
 * Runs as root (the eBPF tier loads BPF programs; tracefs is mounted when it is not).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster } from "./support/cluster.ts";
import { clusterEnv, type MetricSet, metricSetsByType } from "./support/collector.ts";
import { loadedPrograms, mountTracefs, privateInstall } from "./support/ebpf.ts";
import { startPgBouncer } from "./support/pgbouncer.ts";
import { assertValidDocuments, EXTENDED_SCHEMAS, QPM_SCHEMAS } from "./support/schema.ts";
import { testStateDir } from "./support/state_root.ts";
import { childPids, cmdline, runInPty, spawnStartTask, type TaskOutcome } from "./support/task_process.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  startBackgroundWaits,
  waitUntil,
} from "./support/workload.ts";
import { startTaskArgs } from "../scripts/start_task.ts";
import { defaultConfig } from "../src/config/defaults.ts";
import { nriPublishOrder } from "../src/core/catalog.ts";
import { QUERYLENS_EVENT_TYPES } from "../src/core/querylens_catalog.ts";
import { ASH_EVENT_TYPES } from "../src/core/ash_catalog.ts";
import { PLAN_EVENT_TYPES } from "../src/core/plan_catalog.ts";
import { KERNEL_METRICS_EVENT_TYPE } from "../src/core/kernel_catalog.ts";
import { OS_DELAY_EVENT_TYPES } from "../src/core/os_delay_catalog.ts";
import { DATABASE_SAMPLE, INSTANCE_SAMPLE } from "../src/core/base_catalog.ts";
import { INDEX_SAMPLE, TABLE_SAMPLE } from "../src/core/relation_catalog.ts";
import { PGBOUNCER_SAMPLE } from "../src/collectors/pgbouncer/catalog.ts";
import { CUSTOM_QUERY_SAMPLE } from "../src/collectors/custom/metric_query.ts";
import { DEFAULT_CUSTOM_SAMPLE } from "../src/collectors/custom/config_file.ts";

if (Deno.uid() !== 0) throw new Error("tests/start_task_test.ts loads BPF programs: run it as root");

const DB = "shop";
/** The query whose plan changes when its index is dropped. */
const PLAN_QUERY = "SELECT count(*) FROM items WHERE x = $1";
const PLAN_RUNS_BEFORE = 30;
/** A plan change is exported once the new plan ran this many times (plan_regression_min_executions). */
const MIN_EXECUTIONS = defaultConfig().plans.regressionMinExecutions;
/** Executions of the new plan. */
const PLAN_RUNS_AFTER = 2 * MIN_EXECUTIONS;
/** What a refused permission looks like in Deno's messages or the collector's. */
const PERMISSION_PROBLEM =
  /Requires [a-z]+ access|NotCapable|run again with the --allow-|permission set does not grant|outside the directories the collector may|may write only below|Deno requests/;

/** Every event type the extended catalogs declare (data nri-postgresql does not have). */
const EXTENDED_TYPES: string[] = [
  ...nriPublishOrder(false, true).map((s) => s.eventType).filter((t) => !(t in QPM_SCHEMAS)),
  ...[QUERYLENS_EVENT_TYPES, ASH_EVENT_TYPES, PLAN_EVENT_TYPES, OS_DELAY_EVENT_TYPES].flat().map((s) =>
    s.eventType
  ),
  KERNEL_METRICS_EVENT_TYPE,
];

/**
 * Every event type the collector publishes in NRI mode, from the catalogs: the base samples
 * (PgBouncerSample only from a run pointed at PgBouncer), the custom query samples, the five QPM
 * types and the extended types.
 */
const EVERY_TYPE: string[] = [
  INSTANCE_SAMPLE,
  DATABASE_SAMPLE,
  TABLE_SAMPLE,
  INDEX_SAMPLE,
  CUSTOM_QUERY_SAMPLE,
  DEFAULT_CUSTOM_SAMPLE,
  ...nriPublishOrder(false, true).map((s) => s.eventType).filter((t) => t in QPM_SCHEMAS),
  ...EXTENDED_TYPES,
];

/**
 * The metric sets, by event type, of the complete lines `read()` has given so far; each call parses
 * only the lines added since the previous one.
 */
function setsSoFar(read: () => string): () => Map<string, MetricSet[]> {
  let parsed = 0;
  const sets = new Map<string, MetricSet[]>();
  return () => {
    const text = read();
    const end = text.lastIndexOf("\n") + 1;
    if (end > parsed) {
      for (const [type, list] of metricSetsByType(text.slice(parsed, end))) {
        sets.set(type, [...(sets.get(type) ?? []), ...list]);
      }
      parsed = end;
    }
    return sets;
  };
}

/** Lines of `text` that tell of a refused permission. */
function permissionProblems(text: string): string[] {
  return text.split("\n").filter((l) => PERMISSION_PROBLEM.test(l));
}

/** The items table of the plan change, a role for the collector, and the extensions in `shop`. */
async function prepare(cluster: Cluster): Promise<void> {
  await cluster.createDatabase(DB);
  for (const ext of ["pg_stat_statements", "pg_wait_sampling", "pg_querylens"]) {
    await cluster.createExtension("postgres", ext);
    await cluster.createExtension(DB, ext);
  }
  await setupWorkloadSchema(cluster, DB);
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  const app = cluster.sql(DB);
  try {
    await app.unsafe(`CREATE TABLE items (id int PRIMARY KEY, x int NOT NULL, pad text);
      INSERT INTO items SELECT g, g % 1000, repeat('p', 60) FROM generate_series(1, 100000) g;
      CREATE INDEX items_x_idx ON items (x); ANALYZE items;
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO monitor;`);
  } finally {
    await app.end();
  }
}

Deno.test("the expected event types are the catalogs' own, one per schema of the validator", () => {
  assert.deepEqual([...EXTENDED_TYPES].sort(), Object.keys(EXTENDED_SCHEMAS).sort());
  for (const type of Object.keys(QPM_SCHEMAS)) assert.ok(EVERY_TYPE.includes(type), type);
  assert.equal(new Set(EVERY_TYPE).size, EVERY_TYPE.length);
  assert.ok(!EVERY_TYPE.includes(PGBOUNCER_SAMPLE), "PgBouncerSample comes from the run through PgBouncer");
});

Deno.test("deno task start under the collector permission set: every NRI event type from one real server", async (t) => {
  await using _tracefs = await mountTracefs();
  await using install = await privateInstall();
  await using cluster = await startCluster({
    server: install.server,
    name: "starttask",
    preload: ["pg_stat_statements", "pg_wait_sampling", "pg_querylens"],
    settings: { "pg_querylens.ring_slots": "4096" },
  });
  await prepare(cluster);
  await using state = await testStateDir("test-start-task");
  const customFile = join(state.path, "custom.yaml");
  await Deno.writeTextFile(
    customFile,
    `queries:\n  - query: SELECT count(*) AS orders FROM orders\n    database: ${DB}\n`,
  );
  const env = {
    ...clusterEnv(cluster, "monitor", "monitor-pw"),
    COLLECTION_LIST: JSON.stringify([DB]),
    ENABLE_QUERY_MONITORING: "true",
    QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "5",
    PGQUERYLENS_ASH: "on",
    PGQUERYLENS_OS_METRICS: "on",
    PGQUERYLENS_EBPF: "true",
    PGQUERYLENS_EBPF_THRESHOLD_MS: "20",
    CUSTOM_METRICS_QUERY:
      "SELECT 'start_task.answer' AS metric_name, 'gauge' AS metric_type, 42 AS metric_value",
    CUSTOM_METRICS_CONFIG: customFile,
    TEMP_DIR: state.path,
  };
  const args = ["-interval", "2s", "-verbose"];
  const app = cluster.sql(DB);
  const planRuns = async (n: number) => {
    for (let i = 0; i < n; i++) await app.unsafe(PLAN_QUERY, [i % 1000]);
  };

  let daemon: TaskOutcome;
  let collectorArgs: string[] | undefined;
  let planQueryId = "";
  {
    await using run = spawnStartTask(args, env);
    const seen = setsSoFar(run.stdout);
    const withStderr = (e: unknown) =>
      new Error(`${(e as Error).message}\n--- collector stderr ---\n${run.stderr()}`, { cause: e });
    try {
      await waitUntil("the collector under deno task", () => {
        const pid = childPids(run.pid).find((p) => cmdline(p)?.includes("main.ts"));
        collectorArgs = pid === undefined ? undefined : cmdline(pid);
        return Promise.resolve(collectorArgs !== undefined);
      }, 20_000);
      await waitUntil("the eBPF tier to attach", () => {
        return Promise.resolve(/eBPF tier attached|eBPF tier (unavailable|not permitted)/.test(run.stderr()));
      }, 60_000);
      await runSlowStatements(cluster, DB, { count: 3 });
      const waits = await startBackgroundWaits(cluster, DB, { durationMs: 30_000 });
      const lock = await holdRowLock(cluster, DB);
      try {
        await planRuns(PLAN_RUNS_BEFORE);
        const ids = await app.unsafe(
          "SELECT DISTINCT queryid::text AS id FROM pg_stat_statements WHERE query = $1 AND toplevel",
          [PLAN_QUERY],
        );
        assert.equal(ids.length, 1, JSON.stringify(ids));
        planQueryId = ids[0].id;
        await waitUntil("a cycle to aggregate the query's first plan", () => {
          const aggs = seen().get("PostgresQueryPlanAggregates") ?? [];
          return Promise.resolve(aggs.some((a) => a.query_id === planQueryId));
        }, 30_000);
        await app.unsafe("DROP INDEX items_x_idx");
        await planRuns(PLAN_RUNS_AFTER);
        const missing = () => EVERY_TYPE.filter((type) => !seen().has(type));
        await waitUntil("every event type", () => Promise.resolve(missing().length === 0), 45_000)
          .catch((e) => {
            throw new Error(`${e.message}; missing ${missing().join(", ")}`);
          });
      } finally {
        await lock.release();
        await waits.stop();
      }
      daemon = await run.stop("SIGTERM");
    } catch (e) {
      throw withStderr(e);
    }
  }
  await app.end();

  await t.step("deno task ran exactly the start task's command, with the flags passed through", () => {
    assert.deepEqual(collectorArgs!.slice(1), [...startTaskArgs(), ...args]);
    assert.ok(collectorArgs!.includes("-P=collector") && collectorArgs!.includes("--no-prompt"));
    assert.ok(!collectorArgs!.some((a) => a === "-A" || a.startsWith("--allow-")), collectorArgs!.join(" "));
  });

  await t.step("it stopped cleanly on SIGTERM, its documents validate, and nothing was refused", async () => {
    assert.equal(daemon.code, 0, daemon.stderr);
    assertValidDocuments(daemon.stdout);
    assert.deepEqual(permissionProblems(daemon.stderr), []);
    assert.deepEqual(daemon.stderr.split("\n").filter((l) => l.startsWith("[ERROR]")), []);
    assert.deepEqual(await loadedPrograms(), [], "no BPF program outlives the collector");
  });

  await t.step("the native libraries were extracted below TEMP_DIR and loaded from there", () => {
    const dirs = [...daemon.stderr.matchAll(/native libraries in (\S+)/g)].map((m) => m[1]);
    assert.equal(dirs.length, 1, daemon.stderr);
    assert.ok(dirs[0].startsWith(join(state.path, "native") + "/"), dirs[0]);
    // The rings were read through the extracted library, and the eBPF tier attached with it.
    assert.match(daemon.stderr, /querylens: ffi; \d+ records read/);
    assert.match(daemon.stderr, /eBPF tier attached to .*\/bin\/postgres \(postmaster \d+\)/);
  });

  await t.step("every event type of the catalogs appeared, each with metric sets; no other type", () => {
    const sets = metricSetsByType(daemon.stdout);
    for (const type of EVERY_TYPE) assert.ok((sets.get(type)?.length ?? 0) > 0, `${type}\n${daemon.stderr}`);
    assert.deepEqual([...sets.keys()].filter((type) => !EVERY_TYPE.includes(type)), []);
    // The index dropped between cycles changed the plan of the query, once.
    const changes = sets.get("PostgresPlanChanges")!;
    assert.deepEqual(changes.map((c) => [c.query_id, c.database_name]), [[planQueryId, DB]]);
    assert.equal(changes[0].executions_before, PLAN_RUNS_BEFORE);
    assert.ok(Number(changes[0].executions_after) >= MIN_EXECUTIONS, JSON.stringify(changes[0]));
    assert.notEqual(changes[0].plan_id, changes[0].previous_plan_id);
    const inventory = daemon.stdout.trim().split("\n").flatMap((l) => JSON.parse(l).data ?? [])
      .filter((d: { inventory?: Record<string, unknown> }) => Object.keys(d.inventory ?? {}).length > 0);
    assert.ok(inventory.length > 0, "the inventory items (pg_settings) are published");
  });

  await t.step("one-shot through PgBouncer with PGBOUNCER=true: PgBouncerSample", async () => {
    await using bouncer = await startPgBouncer(cluster, { databases: ["postgres", DB] });
    await using run = spawnStartTask([], {
      ...clusterEnv(cluster, cluster.superuser, cluster.password),
      PORT: String(bouncer.port),
      PGBOUNCER: "true",
      COLLECTION_LIST: JSON.stringify([DB]),
      TEMP_DIR: state.path,
    });
    const out = await run.finished();
    assert.equal(out.code, 0, out.stderr);
    assertValidDocuments(out.stdout);
    assert.deepEqual(permissionProblems(out.stderr), []);
    const bouncerSets: MetricSet[] = metricSetsByType(out.stdout).get(PGBOUNCER_SAMPLE) ?? [];
    assert.ok(bouncerSets.some((b) => b.displayName === DB), out.stdout);
  });
});

Deno.test("a refused permission ends the run with a clear error at once, never a prompt that waits", async (t) => {
  await using state = await testStateDir("test-start-task-refused");
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const env = {
    USERNAME: "monitor",
    PASSWORD: "monitor-pw",
    HOSTNAME: "127.0.0.1",
    PORT: String(port),
    TEMP_DIR: state.path,
  };
  /** The start task's `deno` arguments with `flag` before main.ts; without --no-prompt unless `noPrompt`. */
  const command = (flag: string | undefined, noPrompt = true) => {
    const task = startTaskArgs();
    const flags = task.slice(0, -1).filter((a) => noPrompt || a !== "--no-prompt");
    return [...flags, ...(flag === undefined ? [] : [flag]), task.at(-1)!];
  };
  const connectionErrors = (output: string) =>
    output.split("\n").filter((l) =>
      l.startsWith(`[ERROR] connection: cannot collect from 127.0.0.1:${port}/`)
    );
  const access = `net access to "127\\.0\\.0\\.1:${port}"`;
  /** The runtime's refusal, said to be the permission set's, without advice to pass a flag. */
  const refused = new RegExp(
    `${access} \\(refused: the collector's permission set does not grant this net access\\)$`,
  );
  /** Asserts a one-shot run that ended by itself, as a connection failure does: exit 0, one error. */
  const assertEndedWithOneError = (run: Awaited<ReturnType<typeof runInPty>>, cause: RegExp) => {
    assert.equal(run.timedOut, false, run.output);
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(run.leftover, []);
    assert.doesNotMatch(run.output, /Deno requests/);
    const errors = connectionErrors(run.output);
    assert.equal(errors.length, 1, run.output);
    assert.match(errors[0], cause);
  };

  await t.step(
    "baseline: nothing listening gives exit 0 and one connection error (ECONNREFUSED)",
    async () => {
      const run = await runInPty(Deno.execPath(), command(undefined), env, 30_000);
      assertEndedWithOneError(run, /ECONNREFUSED/);
      assert.doesNotMatch(run.output, PERMISSION_PROBLEM);
    },
  );

  for (
    const [what, flag] of [
      ["denied (--deny-net=127.0.0.1)", "--deny-net=127.0.0.1"],
      ["not granted (net narrowed to --allow-net=127.0.0.2)", "--allow-net=127.0.0.2"],
    ]
  ) {
    await t.step(
      `net ${what}, with the task's --no-prompt: the same exit, naming the refused access`,
      async () => {
        const run = await runInPty(Deno.execPath(), command(flag), env, 30_000);
        assertEndedWithOneError(run, refused);
        assert.doesNotMatch(run.output, /ECONNREFUSED/, "refused by the runtime before any connection");
      },
    );
  }

  await t.step("without --no-prompt an explicit denial still never prompts", async () => {
    const run = await runInPty(Deno.execPath(), command("--deny-net=127.0.0.1", false), env, 30_000);
    assertEndedWithOneError(run, refused);
  });

  await t.step(
    "without --no-prompt an access the set does not grant prompts, and waits until killed",
    async () => {
      const run = await runInPty(Deno.execPath(), command("--allow-net=127.0.0.2", false), env, 5000);
      assert.equal(run.timedOut, true, run.output);
      assert.match(run.output, new RegExp(`Deno requests ${access}`));
      assert.deepEqual(connectionErrors(run.output), []);
      assert.deepEqual(run.leftover, [], "the prompt's process was killed");
    },
  );
});
