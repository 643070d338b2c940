/**
 * The eBPF tier end to end, as root: a real PostgreSQL 15 run from a private copy of Debian's
 * binaries (so the probes never touch other clusters), with pg_querylens preloaded, tracefs mounted
 * by the test when it is not, and the collector run as a process under the `collector` permission
 * set in daemon mode while a workload runs:
 *
 * - a CPU-bound query shows its time on CPU (simple and extended protocol);
 * - cold random reads (the table dropped from the page cache) show I/O wait, warm ones do not;
 * - an UPDATE blocked by a held row lock shows sleep for as long as it was blocked;
 * - a failed query is closed by the transaction abort and flagged;
 * - the rows are joined to the pg_querylens executions of the same queries;
 * - after the collector exits, the kernel holds none of the tier's programs.
 *
 * And a run where loading BPF is not permitted (root without capabilities): one clear message, and
 * every other event type exactly as in the same run with the tier off.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type postgres from "postgres";
import { type Cluster, startCluster } from "./support/cluster.ts";
import { clusterEnv, collectorCommand, type MetricSet, metricSetsByType } from "./support/collector.ts";
import {
  evictFromPageCache,
  loadedPrograms,
  mountTracefs,
  privateInstall,
  TIER_PROGRAM_NAMES,
  withoutCapabilities,
} from "./support/ebpf.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { repoRoot } from "./support/servers.ts";
import { startTaskArgs } from "../scripts/start_task.ts";
import { waitUntil } from "./support/workload.ts";

if (Deno.uid() !== 0) throw new Error("tests/os_ebpf_test.ts loads BPF programs: run it as root");

const DB = "shop";
const ROWS = 1_000_000;
const LOOKUPS = 20_000;
const CPU_SQL = "SELECT count(*) FROM generate_series(1, 4000000) g WHERE g % 7 = 3";
const CPU_SQL_EXTENDED = "SELECT count(*) FROM generate_series(1, $1::int) g WHERE g % 7 = 3";
const FAIL_SQL =
  "SELECT count(CASE WHEN g < 3000000 THEN g ELSE 1 / (g - g) END) FROM generate_series(1, 3000000) g";
const RANDOM_READS = `DO $$ DECLARE k int; BEGIN FOR i IN 1..${LOOKUPS} LOOP
  k := 1 + (random() * ${ROWS - 1})::int; PERFORM s FROM reads WHERE g = k; END LOOP; END $$`;
const BLOCKED_SQL = "UPDATE accounts SET balance = balance + $1 WHERE id = 1";
const BLOCK_MS = 1500;

function sets(stdout: string, type: string): MetricSet[] {
  return metricSetsByType(stdout).get(type) ?? [];
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

/** Collects a byte stream into text as it arrives. */
function drain(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  const dec = new TextDecoder();
  let text = "";
  const done = (async () => {
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/**
 * The collector in daemon mode, from when it has attached the eBPF tier until `work` is done and two
 * more cycles ran; its output and the tier's programs the kernel held meanwhile.
 */
async function collectWhile(
  env: Record<string, string>,
  work: () => Promise<void>,
): Promise<{ code: number; stdout: string; stderr: string; programsWhileRunning: string[] }> {
  const child = collectorCommand(["-interval", "1s"], { ...env, VERBOSE: "true" }).spawn();
  const stdout = drain(child.stdout);
  const stderr = drain(child.stderr);
  let programsWhileRunning: string[] = [];
  try {
    await waitUntil("the collector to attach the eBPF tier", () => {
      return Promise.resolve(/eBPF tier attached|eBPF tier (unavailable|not permitted)/.test(stderr.text()));
    }, 60_000);
    programsWhileRunning = (await loadedPrograms()).map((p) => p.name).sort();
    await work();
    await new Promise((r) => setTimeout(r, 2500));
  } catch (e) {
    child.kill("SIGKILL");
    await Promise.all([child.status, stdout.done, stderr.done]);
    throw new Error(`${(e as Error).message}\n--- collector stderr ---\n${stderr.text()}`);
  }
  child.kill("SIGTERM");
  const status = await child.status;
  await Promise.all([stdout.done, stderr.done]);
  return { code: status.code, stdout: stdout.text(), stderr: stderr.text(), programsWhileRunning };
}

async function relationFiles(cluster: Cluster, sql: postgres.Sql, relations: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const rel of relations) {
    const [{ path }] = await sql`SELECT pg_relation_filepath(${rel}::regclass) AS path`;
    const base = join(cluster.dataDir, path as string);
    for (let seg = 0;; seg++) {
      const file = seg === 0 ? base : `${base}.${seg}`;
      try {
        await Deno.stat(file);
      } catch {
        break;
      }
      files.push(file);
    }
  }
  return files;
}

Deno.test("eBPF tier: per-query on-CPU, I/O wait and lock sleep on a real cluster", async (t) => {
  await using _tracefs = await mountTracefs();
  await using install = await privateInstall();
  await using cluster = await startCluster({
    server: install.server,
    name: "ebpf",
    preload: ["pg_querylens"],
    settings: { shared_buffers: "16MB", "pg_querylens.ring_slots": "4096" },
  });
  await cluster.createDatabase(DB);
  await cluster.createExtension(DB, "pg_querylens");
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  const app = cluster.sql(DB);
  const locker = cluster.sql(DB);
  await app.unsafe(`CREATE TABLE reads AS SELECT g, md5(g::text) AS s FROM generate_series(1, ${ROWS}) g`);
  await app.unsafe("CREATE INDEX ON reads (g)");
  await app.unsafe("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)");
  await app.unsafe("INSERT INTO accounts VALUES (1, 0)");
  await app.unsafe("VACUUM ANALYZE reads");
  await app.unsafe("SET enable_seqscan = off; SET enable_bitmapscan = off");
  const [{ pid: appPid }] = await app`SELECT pg_backend_pid() AS pid`;
  const [{ pid: lockerPid }] = await locker`SELECT pg_backend_pid() AS pid`;
  const readFiles = await relationFiles(cluster, app, ["reads", "reads_g_idx"]);

  const client: Record<string, number> = {};
  const env = {
    ...clusterEnv(cluster, "monitor", "monitor-pw"),
    DATABASE: DB,
    COLLECTION_LIST: JSON.stringify([DB]),
    ENABLE_QUERY_MONITORING: "true",
    QUERY_MONITORING_RESPONSE_TIME_THRESHOLD: "100",
    PGQUERYLENS_EBPF: "true",
    PGQUERYLENS_EBPF_THRESHOLD_MS: "100",
    TEMP_DIR: `/tmp/pgquerylens/test-ebpf-${crypto.randomUUID()}`,
  };
  const run = await collectWhile(env, async () => {
    client.cpuSimple = (await timed(() => app.unsafe(CPU_SQL))).ms;
    client.cpuExtended = (await timed(() => app.unsafe(CPU_SQL_EXTENDED, [4_000_000]))).ms;
    await evictFromPageCache(readFiles);
    client.cold = (await timed(() => app.unsafe(RANDOM_READS))).ms;
    client.warm = (await timed(() => app.unsafe(RANDOM_READS))).ms;
    await locker.unsafe("BEGIN");
    await locker.unsafe("UPDATE accounts SET balance = balance - 1 WHERE id = 1");
    const blocked = timed(() => app.unsafe(BLOCKED_SQL, [1]));
    await new Promise((r) => setTimeout(r, BLOCK_MS));
    await locker.unsafe("COMMIT");
    client.blocked = (await blocked).ms;
    const failed = await timed(() =>
      app.unsafe(FAIL_SQL).then(() => "no error", (e) => (e as Error).message)
    );
    assert.match(failed.value, /division by zero/);
    client.failed = failed.ms;
  });
  const rows = sets(run.stdout, "PostgresQueryOsDelays");
  const byText = (re: RegExp) => rows.filter((r) => re.test(String(r.query_text ?? "")));
  const one = (re: RegExp) => {
    const found = byText(re);
    assert.equal(found.length, 1, `${re}: ${JSON.stringify(rows.map((r) => r.query_text))}\n${run.stderr}`);
    return found[0];
  };
  const n = (v: unknown) => Number(v);

  await t.step("the collector attached every program, exited cleanly, and its output validates", () => {
    assert.deepEqual(run.programsWhileRunning, [...TIER_PROGRAM_NAMES].sort());
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /eBPF tier attached to .*\/bin\/postgres \(postmaster \d+\): 5 USDT probes, 3 scheduler hooks/,
    );
    assert.doesNotMatch(run.stderr, /eBPF tier (unavailable|not permitted)/);
    assertValidDocuments(run.stdout);
  });

  await t.step("no program outlives the collector", async () => {
    assert.deepEqual(await loadedPrograms(), []);
  });

  await t.step("the times of every row add up to its duration; only the application's queries", () => {
    assert.ok(rows.length >= 6, JSON.stringify(rows));
    for (const r of rows) {
      const parts = n(r.on_cpu_ms) + n(r.run_queue_ms) + n(r.io_wait_ms) + n(r.sleep_ms);
      assert.ok(Math.abs(parts - n(r.duration_ms)) < 0.01, JSON.stringify(r));
      assert.ok(n(r.duration_ms) >= 100, "the threshold holds");
      assert.ok(
        r.pid === appPid || r.pid === lockerPid,
        `only the application's backends: ${JSON.stringify(r)}`,
      );
      assert.equal(r.database_name, DB);
      assert.equal(r.user_name, "postgres");
      assert.doesNotMatch(String(r.query_text ?? ""), /pgquerylens/);
    }
  });

  await t.step("a CPU-bound query is on CPU (or runnable) for its duration, in both protocols", () => {
    const simple = one(/^SELECT count\(\*\) FROM generate_series\(\?, \?\) g WHERE g % \? = \?$/);
    const extended = one(/^SELECT count\(\*\) FROM generate_series\(\?, \$1::int\)/);
    assert.equal(simple.protocol, "simple");
    assert.equal(extended.protocol, "extended");
    for (const [r, ms] of [[simple, client.cpuSimple], [extended, client.cpuExtended]] as const) {
      const d = n(r.duration_ms);
      assert.ok(d <= ms + 1 && d >= ms * 0.7, `duration ${d} against the client's ${ms} ms`);
      assert.ok(n(r.on_cpu_ms) + n(r.run_queue_ms) >= 0.95 * d, JSON.stringify(r));
      assert.ok(n(r.on_cpu_ms) >= 0.3 * d, JSON.stringify(r));
      assert.equal(r.aborted, 0);
    }
  });

  await t.step("cold random reads wait for the disk; the same reads warm do not", () => {
    const [cold, warm] = byText(/^DO \?$/).sort((a, b) =>
      String(a.start_time) < String(b.start_time) ? -1 : 1
    );
    assert.ok(cold && warm, JSON.stringify(rows));
    assert.equal(cold.protocol, "simple");
    assert.ok(n(cold.io_wait_ms) >= 20, `cold reads: ${JSON.stringify(cold)}`);
    assert.ok(
      n(cold.io_wait_ms) >= 4 * n(warm.io_wait_ms) + 10,
      `cold ${cold.io_wait_ms}, warm ${warm.io_wait_ms}`,
    );
    assert.ok(n(cold.sleep_ms) < 0.1 * n(cold.duration_ms), JSON.stringify(cold));
  });

  await t.step("an UPDATE blocked by a held row lock sleeps while it is blocked", () => {
    const r = one(/^UPDATE accounts SET balance = balance \+ \$1 WHERE id = \?$/);
    assert.equal(r.protocol, "extended");
    assert.equal(r.pid, appPid);
    assert.ok(
      n(r.duration_ms) >= BLOCK_MS * 0.9 && n(r.duration_ms) <= client.blocked + 1,
      JSON.stringify(r),
    );
    assert.ok(n(r.sleep_ms) >= BLOCK_MS * 0.8, JSON.stringify(r));
    assert.ok(n(r.on_cpu_ms) < 0.1 * n(r.duration_ms), JSON.stringify(r));
    assert.equal(r.aborted, 0);
  });

  await t.step("a failed query is closed by the transaction abort", () => {
    const r = one(/^SELECT count\(CASE WHEN g < \? THEN g ELSE \? \/ \(g - g\) END\)/);
    assert.equal(r.aborted, 1);
    assert.equal(r.protocol, "simple");
    assert.ok(
      n(r.duration_ms) <= client.failed + 1 && n(r.duration_ms) >= 0.7 * client.failed,
      JSON.stringify(r),
    );
  });

  await t.step("rows are joined to the pg_querylens executions of the same queries", () => {
    const execs = sets(run.stdout, "PostgresQueryExecutions");
    const cpu = one(/^SELECT count\(\*\) FROM generate_series\(\?, \$1::int\)/);
    assert.ok(
      cpu.query_id !== undefined && cpu.exec_seq !== undefined,
      `${JSON.stringify(cpu)}\n${JSON.stringify(execs.filter((e) => e.pid === cpu.pid))}`,
    );
    const match = execs.filter((e) => e.pid === cpu.pid && e.exec_seq === cpu.exec_seq);
    assert.equal(match.length, 1, JSON.stringify(execs.map((e) => [e.pid, e.exec_seq, e.duration_ms])));
    assert.equal(match[0].query_id, cpu.query_id);
    assert.equal(match[0].plan_id, cpu.plan_id);
    assert.ok(Math.abs(n(match[0].duration_ms) - n(cpu.duration_ms)) < 0.1 * n(cpu.duration_ms));
    const blocked = one(/^UPDATE accounts/);
    const update = execs.find((e) => e.pid === blocked.pid && e.exec_seq === blocked.exec_seq);
    assert.equal(update?.command, "UPDATE", JSON.stringify(blocked));
  });
});

Deno.test("eBPF tier not permitted: one clear message, every other event type unchanged", async () => {
  await using cluster = await startCluster({ name: "ebpf-noperm" });
  await cluster.createDatabase(DB);
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  await cluster.sql(DB).unsafe("CREATE TABLE items (id int PRIMARY KEY, v text)");
  const env = {
    ...clusterEnv(cluster, "monitor", "monitor-pw"),
    COLLECTION_LIST: JSON.stringify([DB]),
    TEMP_DIR: `/tmp/pgquerylens/test-ebpf-noperm-${crypto.randomUUID()}`,
  };
  /** One-shot run as root without any capability, as `deno task start` runs it. */
  const runWithoutCaps = async (extra: Record<string, string>) => {
    const [cmd, args] = withoutCapabilities(Deno.execPath(), startTaskArgs());
    const out = await new Deno.Command(cmd, {
      args,
      cwd: repoRoot(),
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/root",
        ...env,
        ...extra,
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const off = await runWithoutCaps({});
  const on = await runWithoutCaps({ PGQUERYLENS_EBPF: "true" });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(on.code, 0, on.stderr);
  const messages = on.stderr.split("\n").filter((l) => l.includes("eBPF"));
  assert.equal(messages.length, 1, on.stderr);
  assert.match(
    messages[0],
    /eBPF tier not permitted: not permitted: loading BPF programs needs root, or CAP_BPF and CAP_PERFMON \(this process has effective capabilities 0x0\); per-query OS delay \(PostgresQueryOsDelays\) is not collected, everything else is/,
  );
  assert.doesNotMatch(off.stderr, /eBPF/);
  assertValidDocuments(on.stdout);
  const shape = (stdout: string) =>
    [...metricSetsByType(stdout)].map((
      [type, list],
    ) => [type, list.length, [...new Set(list.flatMap((m) => Object.keys(m)))].sort()])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  assert.deepEqual(shape(on.stdout), shape(off.stdout));
  assert.ok(shape(off.stdout).length > 0);
  assert.ok(!metricSetsByType(on.stdout).has("PostgresQueryOsDelays"));
  assert.deepEqual(await loadedPrograms(), []);
});
