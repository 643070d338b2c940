/**
 * The procfs tier on real clusters: a CPU-bound statement is on a CPU (or waiting for one), cold
 * random reads wait on block I/O and read bytes from storage, an update blocked by a row lock is off
 * CPU for as long as it waits; and, with the collector run as a process under its own permission
 * set, the tier's output, its messages when it cannot measure, and the other collectors' output
 * left unchanged.
 *
 * The tests run as root (they set `kernel.task_delayacct` and drop the page cache, restoring the
 * switch afterwards); the servers run as the `postgres` OS user.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, startCluster } from "./support/cluster.ts";
import {
  clusterEnv,
  type CollectorRun,
  type MetricSet,
  metricSetsByType,
  runCollectorFor,
  runCollectorProcess,
} from "./support/collector.ts";
import { clusterConnections } from "./support/qpm.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { repoRoot } from "./support/servers.ts";
import { startTaskArgs } from "../scripts/start_task.ts";
import { holdRowLock, setupWorkloadSchema, waitUntil } from "./support/workload.ts";
import { defaultConfig } from "../src/config/defaults.ts";
import type { Config } from "../src/config/types.ts";
import { type CollectionIssue, emptySnapshot, type KernelMetrics } from "../src/core/model.ts";
import { probeCapabilities } from "../src/query_engine/capabilities.ts";
import { ConnectionManager } from "../src/query_engine/connection.ts";
import { OsCollector } from "../src/collectors/os/collect.ts";

const DELAYACCT = "/proc/sys/kernel/task_delayacct";
const AS_ROOT = Deno.uid() === 0;

/** Runs `fn` with `kernel.task_delayacct` set to `value`, then restores what it was. */
async function withDelayAccounting<T>(value: 0 | 1, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.readTextFileSync(DELAYACCT).trim();
  Deno.writeTextFileSync(DELAYACCT, `${value}\n`);
  try {
    return await fn();
  } finally {
    Deno.writeTextFileSync(DELAYACCT, `${saved}\n`);
  }
}

function configFor(cluster: Cluster, oneshotIntervalMs: number): Config {
  const c = defaultConfig();
  c.hostname = cluster.host;
  c.port = String(cluster.port);
  c.username = cluster.superuser;
  c.password = cluster.password;
  c.database = "shop";
  c.os = { mode: "on", oneshotIntervalMs };
  return c;
}

/** An OS collector on `cluster` (daemon or one-shot) and the issues its cycles report. */
async function osCollector(cluster: Cluster, oneshotIntervalMs: number, daemon = false) {
  const config = configFor(cluster, oneshotIntervalMs);
  const cm = new ConnectionManager(config);
  const caps = await probeCapabilities(cm.sql("shop"));
  const os = new OsCollector(config, cm, daemon);
  const issues: CollectionIssue[] = [];
  return {
    issues,
    async cycle(): Promise<KernelMetrics> {
      const snap = emptySnapshot({
        host: "h",
        port: "1",
        serverVersionNum: 0,
        majorVersion: 0,
        serverVersion: "",
      });
      await os.collect({ caps, databases: ["shop"], report: (i) => issues.push(i) }, snap);
      assert.ok(snap.kernelMetrics, `no OS metrics: ${JSON.stringify(issues)}`);
      return snap.kernelMetrics;
    },
    async [Symbol.asyncDispose]() {
      os.close();
      await cm.close();
    },
  };
}

async function waitForActivity(cluster: Cluster, what: string, sqlText: string): Promise<void> {
  const observer = cluster.sql();
  try {
    await waitUntil(what, async () => (await observer.unsafe(sqlText)).length > 0, 20_000);
  } finally {
    await observer.end();
  }
}

const backendPid = async (sql: ReturnType<Cluster["sql"]>) =>
  Number((await sql`SELECT pg_backend_pid() AS pid`)[0].pid);

Deno.test({
  name: "procfs tier: a CPU-bound statement is on a CPU for its pid and query id; workers sum into it",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({ name: "oscpu", settings: { compute_query_id: "on" } });
    await cluster.createDatabase("shop");
    const setup = cluster.sql("shop");
    await setup.unsafe(`
      CREATE FUNCTION burn(n int) RETURNS float8 LANGUAGE plpgsql PARALLEL SAFE AS $$
        DECLARE x float8 := 0; BEGIN FOR i IN 1..n LOOP x := x + sqrt(i); END LOOP; RETURN x; END $$;
      CREATE TABLE p AS SELECT g FROM generate_series(1, 20000) g;
      ANALYZE p;`);
    await using os = await osCollector(cluster, 1000);

    // A PL/pgSQL loop that runs on the CPU for 2.5 s, waiting on nothing.
    const busy = cluster.sql("shop");
    const busyPid = await backendPid(busy);
    const loop = busy.unsafe(`DO $$ DECLARE t timestamptz := clock_timestamp(); x float8 := 0;
      BEGIN WHILE clock_timestamp() < t + interval '2.5 s' LOOP x := x + sqrt(random()); END LOOP; END $$`)
      .execute();
    await waitForActivity(
      cluster,
      "the loop",
      `SELECT 1 FROM pg_stat_activity WHERE pid = ${busyPid} AND state = 'active'`,
    );
    const k = await os.cycle();
    await loop;
    const row = k.perBackend.find((r) => r.pid === busyPid);
    assert.ok(row, "the busy backend is reported");
    // It wants a CPU all the time: it runs, or (on a busy host) waits in the run queue for its turn.
    const wanted = row.onCpuMs + row.runQueueMs;
    assert.ok(wanted >= 0.85 * row.intervalMs, `on CPU or waiting for one: ${JSON.stringify(row)}`);
    assert.ok(row.onCpuMs > 0 && row.cpuUserMs > 0, JSON.stringify(row));
    const ticks = row.cpuUserMs + row.cpuSysMs;
    assert.ok(
      Math.abs(ticks - row.onCpuMs) <= Math.max(30, 0.2 * row.onCpuMs),
      `user + system time (ticks) agrees with scheduler on-CPU time: ${JSON.stringify(row)}`,
    );
    assert.ok(row.cpuUserMs > row.cpuSysMs, "a PL/pgSQL loop runs in user mode");
    assert.ok(row.offCpuMs <= 0.15 * row.intervalMs, `hardly ever off CPU: ${JSON.stringify(row)}`);
    assert.equal(row.waitEventType, undefined);
    assert.ok(row.involuntaryCtxSwitches >= row.voluntaryCtxSwitches, "preempted, not blocking");
    assert.match(row.queryId ?? "", /^-?\d+$/);
    const q = k.perQuery.find((r) => r.queryId === row.queryId);
    assert.ok(q, "the statement's query id has a sum");
    assert.deepEqual([q.backends, q.parallelWorkers, q.onCpuMs], [1, 0, row.onCpuMs]);

    // A parallel aggregate: the leader and its workers sum into one query row.
    const par = cluster.sql("shop");
    const leaderPid = await backendPid(par);
    await par.unsafe(`SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0;
      SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0`);
    const parallel = par.unsafe("SELECT sum(burn(8000)) FROM p").execute();
    await waitForActivity(
      cluster,
      "parallel workers",
      `SELECT 1 FROM pg_stat_activity WHERE leader_pid = ${leaderPid} AND pid <> ${leaderPid}`,
    );
    const kp = await os.cycle();
    await parallel;
    const workers = kp.perBackend.filter((r) => r.leaderPid === leaderPid);
    assert.ok(workers.length >= 1, `the workers are reported: ${JSON.stringify(kp.perBackend)}`);
    const leader = kp.perBackend.find((r) => r.pid === leaderPid)!;
    for (const w of workers) {
      assert.equal(w.backendType, "parallel worker");
      assert.equal(w.queryId, leader.queryId, "a worker counts for its leader's query");
      assert.ok(w.onCpuMs + w.runQueueMs >= 0.5 * w.intervalMs, JSON.stringify(w));
    }
    const pq = kp.perQuery.find((r) => r.queryId === leader.queryId)!;
    assert.equal(pq.backends, workers.length + 1);
    assert.equal(pq.parallelWorkers, workers.length);
    const summed = [leader, ...workers].reduce((s, r) => s + r.onCpuMs, 0);
    assert.ok(Math.abs(pq.onCpuMs - summed) < 0.01, `${pq.onCpuMs} vs ${summed}`);
    const groupWanted = pq.onCpuMs + pq.runQueueMs;
    assert.ok(
      groupWanted >= 0.7 * pq.backends * pq.intervalMs,
      `every process of the query wanted a CPU, more than one process can use: ${JSON.stringify(pq)}`,
    );
  },
});

/**
 * The `read_ahead_kb` file of the block device holding `path`.
 *
 * @throws Error when `path` is not on a block device (e.g. tmpfs), where reads never wait on storage
 */
function readaheadFileOf(path: string): string {
  const dev = Deno.statSync(path).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  for (
    const candidate of [`/sys/dev/block/${major}:${minor}/queue`, `/sys/dev/block/${major}:${minor}/../queue`]
  ) {
    try {
      Deno.statSync(`${candidate}/read_ahead_kb`);
      return `${candidate}/read_ahead_kb`;
    } catch {
      // A partition has its queue on the parent device.
    }
  }
  throw new Error(`${path} is not on a block device (${major}:${minor}): its reads never wait on storage`);
}

/** Runs `fn` with read-ahead off on `file` (a `read_ahead_kb`), then restores it. */
async function withoutReadahead<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.readTextFileSync(file).trim();
  Deno.writeTextFileSync(file, "0\n");
  try {
    return await fn();
  } finally {
    Deno.writeTextFileSync(file, `${saved}\n`);
  }
}

Deno.test({
  name: "procfs tier: cold random reads wait on block I/O (task_delayacct=1) and read from storage",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({
      name: "osio",
      settings: { compute_query_id: "on", shared_buffers: "16MB" },
    });
    await cluster.createDatabase("shop");
    const setup = cluster.sql("shop");
    // 1,500,000 rows (about 130 MB with its index): far more than the 16 MB of shared buffers.
    await setup.unsafe(`CREATE TABLE big AS SELECT g, md5(g::text) s FROM generate_series(1, 1500000) g;
      CREATE INDEX big_g ON big (g)`);
    await setup.unsafe("VACUUM ANALYZE big");
    await setup.unsafe("CHECKPOINT");
    await using os = await osCollector(cluster, 1000);
    // Read-ahead off: each lookup reads its own pages, as it would from a table larger than memory.
    await withoutReadahead(readaheadFileOf(cluster.dataDir), () =>
      withDelayAccounting(1, async () => {
        const reader = cluster.sql("shop");
        const readerPid = await backendPid(reader);
        await reader.unsafe("SET enable_seqscan = off; SET enable_bitmapscan = off");
        // Only the page cache holds the table now; dropping it sends every lookup to storage.
        await new Deno.Command("sync").output();
        Deno.writeTextFileSync("/proc/sys/vm/drop_caches", "3\n");
        const lookups = reader.unsafe(`DO $$ DECLARE t timestamptz := clock_timestamp(); v text;
          BEGIN WHILE clock_timestamp() < t + interval '3 s' LOOP
            SELECT s INTO v FROM big WHERE g = 1 + (random() * 1499999)::int;
          END LOOP; END $$`).execute();
        await waitForActivity(
          cluster,
          "the lookups",
          `SELECT 1 FROM pg_stat_activity WHERE pid = ${readerPid} AND state = 'active'`,
        );
        const k = await os.cycle();
        await lookups;
        assert.equal(k.delayAccounting, true);
        const row = k.perBackend.find((r) => r.pid === readerPid);
        assert.ok(row, "the reading backend is reported");
        assert.ok(
          row.blkioDelayMs !== undefined && row.blkioDelayMs > 0,
          `waited on block I/O: ${JSON.stringify(row)}`,
        );
        assert.ok(
          row.readBytes !== undefined && row.readBytes > 0,
          `read from storage: ${JSON.stringify(row)}`,
        );
        assert.ok(row.voluntaryCtxSwitches > 10, `it blocked on its reads: ${JSON.stringify(row)}`);
        assert.ok(row.offCpuMs >= row.blkioDelayMs - 10, "block-I/O waits are off-CPU time");
        const q = k.perQuery.find((r) => r.queryId === row.queryId)!;
        assert.equal(q.blkioDelayMs, row.blkioDelayMs);
        assert.equal(q.readBytes, row.readBytes);
        assert.ok(row.queryBlkioDelayMs !== undefined && row.queryBlkioDelayMs >= row.blkioDelayMs);
      }));
  },
});

Deno.test({
  name: "procfs tier: an update blocked by a held row lock is off CPU for the time it waits",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({ name: "oslock", settings: { compute_query_id: "on" } });
    await cluster.createDatabase("shop");
    await setupWorkloadSchema(cluster, "shop");
    await using os = await osCollector(cluster, 300, true);
    const lock = await holdRowLock(cluster, "shop");
    try {
      const first = await os.cycle();
      await new Promise((r) => setTimeout(r, 1200));
      const second = await os.cycle();
      for (const k of [first, second]) {
        const row = k.perBackend.find((r) => r.pid === lock.blockedPid);
        assert.ok(row, "the blocked backend is reported: it runs a statement");
        assert.equal(row.state, "active");
        assert.equal(row.waitEventType, "Lock");
        assert.ok(row.onCpuMs < 0.05 * row.intervalMs, `hardly any CPU: ${JSON.stringify(row)}`);
        assert.ok(row.offCpuMs >= 0.9 * row.intervalMs, `asleep on the lock: ${JSON.stringify(row)}`);
        assert.ok(row.voluntaryCtxSwitches <= 5, "it sleeps: few wake-ups");
        assert.equal(row.involuntaryCtxSwitches <= 2, true);
      }
      const blocked = second.perBackend.find((r) => r.pid === lock.blockedPid)!;
      // The statement is followed from the first cycle's first reading to the second cycle's reading.
      const covered = second.intervalEndUnixMs - first.intervalStartUnixMs;
      assert.ok(
        Math.abs(blocked.queryObservedMs! - covered) < 50,
        `${blocked.queryObservedMs} vs ${covered}`,
      );
      assert.ok(blocked.queryElapsedMs! >= blocked.queryObservedMs!);
      assert.ok(
        blocked.queryOffCpuMs! >= 0.9 * blocked.queryObservedMs!,
        `wall time less on-CPU and run-queue time is the wait: ${JSON.stringify(blocked)}`,
      );
      // The holder is idle in its transaction: it is reported only for what little it did.
      const holder = second.perBackend.find((r) => r.pid === lock.blockingPid);
      if (holder !== undefined) {
        assert.equal(holder.state, "idle in transaction");
        assert.ok(holder.onCpuMs < 0.05 * holder.intervalMs, JSON.stringify(holder));
      }
    } finally {
      await lock.release();
    }
  },
});

/** Starts a CPU loop in `shop` for `seconds` and returns its pid once it runs. */
async function startLoop(cluster: Cluster, seconds: number) {
  const busy = cluster.sql("shop");
  const pid = await backendPid(busy);
  const done = busy.unsafe(`DO $$ DECLARE t timestamptz := clock_timestamp(); x float8 := 0;
    BEGIN WHILE clock_timestamp() < t + interval '${seconds} s' LOOP x := x + sqrt(random()); END LOOP; END $$`)
    .execute();
  await waitForActivity(
    cluster,
    "the loop",
    `SELECT 1 FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`,
  );
  return { pid, done };
}

const kernelSets = (run: CollectorRun): MetricSet[] =>
  metricSetsByType(run.stdout).get("PostgresKernelMetrics") ?? [];

Deno.test({
  name:
    "collector process: PostgresKernelMetrics under the collector's permissions; no delay without accounting",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({ name: "osproc", settings: { compute_query_id: "on" } });
    await cluster.createDatabase("shop");
    const env = {
      ...clusterEnv(cluster, cluster.superuser, cluster.password),
      COLLECTION_LIST: '["shop"]',
      PGQUERYLENS_OS_METRICS: "on",
      PGQUERYLENS_OS_ONESHOT_INTERVAL_MS: "500",
    };
    const { pid, done } = await startLoop(cluster, 4);
    const run = await withDelayAccounting(0, () => runCollectorProcess(["-verbose"], env));
    await done;
    assert.equal(run.code, 0, run.stderr);
    assertValidDocuments(run.stdout);
    // The runtime refuses /proc/<pid> to this permission set: these values came through libc.
    assert.ok(!run.stderr.includes("os.procfs"), `a tier that measures is silent: ${run.stderr}`);
    const sets = kernelSets(run);
    const host = sets.filter((s) => s.scope === "host");
    assert.equal(host.length, 1);
    assert.equal(host[0].delay_accounting, 0);
    assert.equal(host[0].io_readable, 1, "root reads every io file");
    assert.ok(Number(host[0].interval_ms) >= 500);
    assert.equal(typeof host[0].cpu_some_avg10, "number");
    const busy = sets.find((s) => s.scope === "backend" && s.pid === pid);
    assert.ok(busy, "the busy backend is in the output");
    assert.equal(busy.database_name, "shop");
    assert.ok(Number(busy.on_cpu_ms) + Number(busy.run_queue_ms) >= 0.8 * Number(busy.interval_ms));
    assert.equal(typeof busy.read_bytes, "number");
    for (const s of sets) assert.ok(!("blkio_delay_ms" in s), "unavailable without delay accounting");
    const q = sets.find((s) => s.scope === "query" && s.query_id === busy.query_id);
    assert.ok(q && q.backends === 1);
  },
});

const NOBODY_STATE_ROOT = "/var/lib/pgquerylens";
const NOBODY_UID = 65534;
const NOBODY_GID = 65534;

/** Runs the collector as the OS user `nobody` for `ms` in daemon mode (`-interval=1s`). */
async function runAsNobodyFor(env: Record<string, string>, ms: number): Promise<CollectorRun> {
  const dir = await Deno.makeTempDir({ prefix: "pgql-nobody-" });
  // temp_dir (where the native libraries are extracted) must be below a state root the permission
  // set allows and belong to the collector's user.
  await Deno.mkdir(NOBODY_STATE_ROOT, { recursive: true, mode: 0o711 });
  const tempDir = join(NOBODY_STATE_ROOT, `test-nobody-${crypto.randomUUID()}`);
  await Deno.mkdir(tempDir, { mode: 0o700 });
  try {
    await Deno.chmod(dir, 0o777);
    await Deno.chown(tempDir, NOBODY_UID, NOBODY_GID);
    const vars = {
      ...env,
      TEMP_DIR: tempDir,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      DENO_DIR: join(dir, "deno"),
    };
    // setpriv executes Deno in its own place, so SIGTERM reaches the collector itself.
    const child = new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--",
        "env",
        "-i",
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        Deno.execPath(),
        ...startTaskArgs(),
        "-interval=1s",
        "-verbose",
      ],
      cwd: repoRoot(),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGTERM"), ms);
    try {
      const out = await child.output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(tempDir, { recursive: true });
  }
}

Deno.test({
  name:
    "collector process as another OS user: io files refused, said once, bytes left out, the rest measured",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({ name: "osnobody", settings: { compute_query_id: "on" } });
    await cluster.createDatabase("shop");
    const { pid, done } = await startLoop(cluster, 8);
    const run = await runAsNobodyFor({
      ...clusterEnv(cluster, cluster.superuser, cluster.password),
      COLLECTION_LIST: '["shop"]',
      PGQUERYLENS_OS_METRICS: "on",
    }, 5000);
    await done;
    assert.equal(run.code, 0, run.stderr);
    assertValidDocuments(run.stdout);
    const warnings = run.stderr.split("\n").filter((l) => l.includes("os.procfs: I/O bytes"));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(
      warnings[0],
      /^\[WARN\] os\.procfs: I\/O bytes of the server's processes are left out: \/proc\/<pid>\/io is readable only by the server's OS user, root or a process with CAP_SYS_PTRACE/,
    );
    const sets = kernelSets(run);
    const hosts = sets.filter((s) => s.scope === "host");
    assert.ok(hosts.length >= 2, `several cycles: ${hosts.length}`);
    for (const h of hosts) assert.equal(h.io_readable, 0);
    for (const s of sets) assert.ok(!("read_bytes" in s) && !("write_bytes" in s), JSON.stringify(s));
    const busy = sets.filter((s) => s.scope === "backend" && s.pid === pid);
    assert.ok(busy.length >= 2, "the busy backend is measured every cycle");
    assert.ok(busy.some((s) => Number(s.interval_ms) >= 900), "later cycles cover the time between cycles");
    for (const s of busy) {
      assert.ok(Number(s.on_cpu_ms) + Number(s.run_queue_ms) >= 0.8 * Number(s.interval_ms));
    }
  },
});

/** What a run's output is made of, values aside: entity, event type and keys of every metric set. */
function shape(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split("\n").filter((l) => l.trim() !== "")) {
    const doc = JSON.parse(line);
    for (const item of doc.data ?? []) {
      for (const m of item.metrics ?? []) {
        if (m.event_type === "PostgresKernelMetrics") continue;
        out.push(`${item.entity?.name ?? ""}|${m.event_type}|${Object.keys(m).sort().join(",")}`);
      }
    }
  }
  return out.sort();
}

Deno.test({
  name:
    "collector process, a host name that is not local: one message, every other collector's output unchanged",
  ignore: !AS_ROOT,
  async fn() {
    await using cluster = await startCluster({ name: "osremote", settings: { compute_query_id: "on" } });
    await cluster.createDatabase("shop");
    // This machine's own name reaches the server, but only localhost, a loopback address or a
    // socket directory count as this host.
    const host = Deno.hostname();
    const byName = clusterConnections(cluster, { hostname: host });
    try {
      const reach = await byName.sql("shop").unsafe("SELECT 1 AS one").catch((e) => {
        throw new Error(`this test needs the host name ${host} to reach 127.0.0.1: ${e.message}`);
      });
      assert.equal(reach[0].one, 1);
    } finally {
      await byName.close();
    }
    const env = {
      ...clusterEnv(cluster, cluster.superuser, cluster.password),
      HOSTNAME: host,
      COLLECTION_LIST: '["shop"]',
      PGQUERYLENS_OS_METRICS: "on",
      ENABLE_QUERY_MONITORING: "true",
    };
    const on = await runCollectorFor(["-interval=1s", "-os_metrics=on"], env, 3500);
    const off = await runCollectorFor(["-interval=1s", "-os_metrics=off"], env, 3500);
    for (const run of [on, off]) {
      assert.equal(run.code, 0, run.stderr);
      assertValidDocuments(run.stdout);
      assert.deepEqual(kernelSets(run), []);
    }
    const said = on.stderr.split("\n").filter((l) => l.includes("os.procfs"));
    assert.deepEqual(said, [
      `[WARN] os.procfs: OS metrics are not collected: the server ${host} is not known to be this host (only ` +
      "localhost, a loopback address or a socket directory is); run the collector on the database host and " +
      "point it at localhost, or set os_metrics=off",
    ]);
    assert.ok(!off.stderr.includes("os.procfs"));
    // Same documents from every other collector, cycle for cycle (values aside).
    const cycles = (run: CollectorRun) =>
      run.stdout.split("\n").filter((l) => l.includes("PostgresqlInstanceSample")).length;
    const n = Math.min(cycles(on), cycles(off));
    assert.ok(n >= 2, `${cycles(on)} and ${cycles(off)} cycles`);
    const firstCycles = (run: CollectorRun) => {
      const lines = run.stdout.split("\n").filter((l) => l.trim() !== "");
      const starts = lines.flatMap((l, i) => (l.includes("PostgresqlInstanceSample") ? [i] : []));
      return lines.slice(0, starts[n] ?? lines.length).join("\n");
    };
    assert.deepEqual(shape(firstCycles(on)), shape(firstCycles(off)));
    assert.ok(shape(firstCycles(on)).some((s) => s.includes("PostgresqlDatabaseSample")));
  },
});
