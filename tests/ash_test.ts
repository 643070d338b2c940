/**
 * Active session history end to end: the collector process samples a real server's sessions in
 * known states and exports `PostgresActiveSessionHistory` (and OTLP) whose distribution matches
 * them; sampling goes on while the OTLP receiver is down; per-backend CPU is read from /proc, under
 * the collector's own permission set, when the server's backends are this host's processes, and
 * otherwise left out with one clear message.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, serverUser, startCluster } from "./support/cluster.ts";
import { startSessionStates } from "./support/ash_sessions.ts";
import {
  clusterEnv,
  type MetricSet,
  metricSetsByType,
  runCollectorFor,
  runCollectorProcess,
} from "./support/collector.ts";
import { startReceiver } from "./support/oteltest.ts";
import { assertValidDocuments } from "./support/schema.ts";
import { waitUntil } from "./support/workload.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const ASH = "PostgresActiveSessionHistory";

/** The ASH rows of a run's stdout, by cycle (window end), in cycle order. */
function cyclesOf(stdout: string): MetricSet[][] {
  const rows = metricSetsByType(stdout).get(ASH) ?? [];
  const byEnd = new Map<string, MetricSet[]>();
  for (const r of rows) byEnd.set(String(r.window_end), [...(byEnd.get(String(r.window_end)) ?? []), r]);
  return [...byEnd.keys()].sort().map((k) => byEnd.get(k)!);
}

type Category = "cpu" | "lock" | "idleTx" | "other";

function categoryOf(r: MetricSet): Category {
  if (r.state === "active" && r.wait_event_type === undefined) return "cpu";
  if (r.state === "active" && r.wait_event_type === "Lock") return "lock";
  if (r.state === "idle in transaction") return "idleTx";
  return "other";
}

/** Average active sessions and distinct sessions of one cycle, by category. */
function distribution(rows: MetricSet[]): Record<Category, { aas: number; sessions: number }> {
  const out = {
    cpu: { aas: 0, sessions: 0 },
    lock: { aas: 0, sessions: 0 },
    idleTx: { aas: 0, sessions: 0 },
    other: { aas: 0, sessions: 0 },
  };
  for (const r of rows) {
    const c = out[categoryOf(r)];
    c.aas += Number(r.average_active_sessions);
    c.sessions += Number(r.sessions);
  }
  return out;
}

const count = (text: string, part: string) => text.split(part).length - 1;

/** The CPU of a cycle's rows is on the busy sessions, within what the host's cores can give. */
function assertCpuOnBusySessions(rows: MetricSet[], intervalMs: number): void {
  const windowSeconds = (Number(rows[0].window_samples) * intervalMs) / 1000;
  const cpu = (c: Category) =>
    rows.filter((r) => categoryOf(r) === c).reduce((n, r) => n + Number(r.cpu_seconds ?? 0), 0);
  const measured = rows.filter((r) => categoryOf(r) === "cpu").reduce((n, r) => n + Number(r.cpu_samples), 0);
  assert.ok(measured >= 10, `${measured} busy session-samples with CPU`);
  const cores = navigator.hardwareConcurrency;
  assert.ok(
    cpu("cpu") >= 0.25 * windowSeconds && cpu("cpu") <= cores * windowSeconds * 1.2,
    `busy sessions used ${cpu("cpu")} s of CPU over a ${windowSeconds} s window on ${cores} cores`,
  );
  assert.ok(
    cpu("lock") + cpu("idleTx") <= 0.1 * windowSeconds,
    `waiting sessions: ${cpu("lock") + cpu("idleTx")} s`,
  );
}

Deno.test("ASH: 50 sessions in known states give the expected states, wait events and blockers", async (t) => {
  await using cluster = await startCluster({ name: "ash50" });
  await cluster.createDatabase("shop");
  await using states = await startSessionStates(cluster, "shop", { busy: 10, waiters: 20, idleInTx: 19 });
  const tempDir = `/tmp/pgquerylens/test-ash-${crypto.randomUUID()}`;
  const env = {
    ...clusterEnv(cluster, "postgres", cluster.password),
    COLLECTION_LIST: '["shop"]',
    ENABLE_QUERY_MONITORING: "true",
    TEMP_DIR: tempDir,
  };
  try {
    await t.step(
      "daemon under the collector's permissions: every cycle shows 10 on CPU, 20 blocked, 20 idle in a transaction",
      async () => {
        const run = await runCollectorFor(
          ["-interval", "2s", "-ash_interval_ms", "250", "-verbose"],
          env,
          9_000,
        );
        assert.equal(run.code, 0, run.stderr);
        assertValidDocuments(run.stdout);
        const cycles = cyclesOf(run.stdout);
        assert.ok(cycles.length >= 3, `${cycles.length} cycles`);
        for (const [i, rows] of cycles.entries()) {
          const d = distribution(rows);
          const label = `cycle ${i + 1}: ${JSON.stringify(d)}`;
          assert.deepEqual(
            [d.cpu.sessions, d.lock.sessions, d.idleTx.sessions, d.other.sessions],
            [10, 20, 20, 0],
            label,
          );
          assert.ok(Math.abs(d.cpu.aas - 10) <= 0.5, label);
          assert.ok(Math.abs(d.lock.aas - 20) <= 1, label);
          assert.ok(Math.abs(d.idleTx.aas - 20) <= 1, label);
          const windowSamples = Number(rows[0].window_samples);
          assert.ok(rows.every((r) => r.window_samples === windowSamples && r.sample_interval_ms === 250));
          if (i > 0) {
            assert.ok(windowSamples >= 4 && windowSamples <= 9, `${label}: ${windowSamples} samples in 2 s`);
          }
        }
        const last = cycles.at(-1)!;
        const locks = last.filter((r) => categoryOf(r) === "lock");
        for (const r of locks) {
          assert.ok(["transactionid", "tuple"].includes(String(r.wait_event)), String(r.wait_event));
          assert.equal(r.blocked_samples, r.samples, "every lock wait names its blocker");
        }
        const blockers = new Set(locks.flatMap((r) => String(r.blocking_pids).split(",").map(Number)));
        assert.ok(blockers.has(states.holderPid), `holder ${states.holderPid} among ${[...blockers]}`);
        for (const pid of blockers) {
          assert.ok([states.holderPid, ...states.waiterPids].includes(pid), `${pid}`);
        }
        assert.ok(last.filter((r) => categoryOf(r) !== "lock").every((r) => r.blocked_samples === 0));
        assert.ok(last.every((r) => r.database_name === "shop" && r.user_name === "postgres"));
        assert.ok(last.every((r) => /^-?\d+$/.test(String(r.query_id))), "query ids of the statements");
        // Under its own permission set the collector reads /proc (through libc and its own library):
        // CPU lands on the busy sessions, not on the waiting ones.
        assert.equal(count(run.stderr, "ash: per-backend CPU is read from /proc"), 1, run.stderr);
        assert.equal(count(run.stderr, "without per-backend CPU"), 0, run.stderr);
        for (const rows of cycles.slice(1)) assertCpuOnBusySessions(rows, 250);
      },
    );

    await t.step("one-shot: a burst of ash_oneshot_samples samples during the cycle", async () => {
      const run = await runCollectorProcess(["-ash_oneshot_samples", "4", "-ash_interval_ms", "150"], env);
      assert.equal(run.code, 0, run.stderr);
      const [rows] = cyclesOf(run.stdout);
      assert.ok(rows.every((r) => r.window_samples === 4 && r.sample_interval_ms === 150));
      const d = distribution(rows);
      assert.deepEqual([d.cpu.aas, d.lock.aas, d.idleTx.aas, d.other.aas], [10, 20, 20, 0]);
    });

    await t.step("with ash off nothing is sampled", async () => {
      const run = await runCollectorProcess(["-ash", "off"], env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(metricSetsByType(run.stdout).get(ASH), undefined);
    });

    await t.step(
      "sampling goes on while the OTLP receiver is down: every cycle has its window of samples",
      async () => {
        const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (closed.addr as Deno.NetAddr).port;
        closed.close();
        const run = await runCollectorFor(
          ["-mode", "hybrid", "-interval", "1s", "-ash_interval_ms", "200", "-verbose"],
          { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
          8_000,
        );
        assert.equal(run.code, 0, run.stderr);
        const summaries = run.stderr.split("\n").filter((l) => l.includes("otlp: "));
        assert.ok(
          summaries.length >= 3 && summaries.every((l) => /metrics: 0 sent/.test(l)),
          summaries.join("\n"),
        );
        const cycles = cyclesOf(run.stdout);
        assert.ok(cycles.length >= 4, `${cycles.length} cycles`);
        for (const [i, rows] of cycles.slice(1).entries()) {
          const n = Number(rows[0].window_samples);
          assert.ok(n >= 2 && n <= 7, `cycle ${i + 2}: ${n} samples in 1 s at 200 ms`);
          const d = distribution(rows);
          assert.deepEqual([d.cpu.sessions, d.lock.sessions, d.idleTx.sessions], [10, 20, 20]);
        }
        for (let i = 1; i < cycles.length; i++) {
          const gap = Date.parse(String(cycles[i][0].window_start)) -
            Date.parse(String(cycles[i - 1][0].window_end));
          assert.ok(gap > 0 && gap < 1000, `sampling went on between cycles ${i} and ${i + 1}: ${gap} ms`);
        }
        // Over the whole run the sampler kept its rate (ticks run late when the cycle's work holds the
        // event loop on a CPU-starved host, never stop).
        const taken = cycles.reduce((n, rows) => n + Number(rows[0].window_samples), 0);
        const spanMs = Date.parse(String(cycles.at(-1)![0].window_end)) -
          Date.parse(String(cycles[0][0].window_start));
        assert.ok(taken >= 0.6 * (spanMs / 200), `${taken} samples over ${spanMs} ms at 200 ms`);
      },
    );

    await t.step("OTLP: the group gauges, sample sums and one record per group", async () => {
      await using receiver = await startReceiver();
      const run = await runCollectorProcess(
        ["-mode", "otel", "-ash_oneshot_samples", "2", "-ash_interval_ms", "100"],
        { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpEndpoint },
      );
      assert.equal(run.code, 0, run.stderr);
      const { metrics, logs } = await receiver.received();
      const all: Json[] = metrics.flatMap((r: Json) =>
        r.request.resourceMetrics.flatMap((rm: Json) => rm.scopeMetrics.flatMap((sm: Json) => sm.metrics))
      );
      const attrs = (p: { attributes?: { key: string; value: { stringValue?: string } }[] }) =>
        Object.fromEntries((p.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
      const gauge = all.filter((m) => m.name === "pgquerylens.ash.active_sessions").flatMap((m) =>
        m.gauge.dataPoints
      );
      const byState = (state: string, waitType?: string) =>
        gauge.filter((p) =>
          attrs(p)["postgresql.state"] === state && attrs(p)["postgresql.wait_event_type"] === waitType
        )
          .reduce((n: number, p: { asDouble: number }) => n + p.asDouble, 0);
      // Averages of two samples: a busy session caught in a brief wait moves half a session.
      const near = (got: number, want: number) =>
        assert.ok(Math.abs(got - want) <= 1, `${got}, expected ${want}`);
      near(byState("active"), 10);
      near(byState("active", "Lock"), 20);
      near(byState("idle in transaction", "Client"), 20);
      near(byState("active") + byState("active", "Lock") + byState("idle in transaction", "Client"), 50);
      assert.ok(gauge.every((p) => attrs(p)["db.namespace"] === "shop"));
      const sums = all.filter((m) => m.name === "pgquerylens.ash.samples").flatMap((m) => m.sum.dataPoints);
      assert.equal(sums.reduce((n: number, p: { asInt: string }) => n + Number(p.asInt), 0), 2 * 50);
      const records = logs.flatMap((r: Json) =>
        r.request.resourceLogs.flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords))
      ).filter((r: { eventName?: string }) => r.eventName === "pgquerylens.ash.aggregate");
      assert.equal(records.length, gauge.length, "one record per group");
    });
  } finally {
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
});

/** Host pids of the processes whose parent is `pid`. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return out;
}

/** The first process named `postgres` below `pid` (breadth first), as this host numbers it. */
function postmasterBelow(pid: number): number | undefined {
  const queue = childPids(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    const comm = (() => {
      try {
        return Deno.readTextFileSync(`/proc/${p}/comm`).trim();
      } catch {
        return "";
      }
    })();
    if (comm === "postgres") return p;
    queue.push(...childPids(p));
  }
  return undefined;
}

/**
 * Restarts `cluster`'s server in a PID namespace of its own (as a container runs it): same data
 * directory, port and socket, but its processes are numbered apart from this host's.
 */
async function restartInPidNamespace(cluster: Cluster): Promise<() => Promise<void>> {
  const user = serverUser();
  const asUser = (cmd: string[]) => (user ? ["runuser", "-u", user.name, "--", ...cmd] : cmd);
  const env = cluster.server.libDir ? [`LD_LIBRARY_PATH=${cluster.server.libDir}`] : [];
  const [cmd, ...args] = asUser([
    "env",
    ...env,
    join(cluster.server.binDir, "pg_ctl"),
    "-D",
    cluster.dataDir,
    "-m",
    "fast",
    "-w",
    "stop",
  ]);
  const stopped = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  assert.ok(stopped.success, new TextDecoder().decode(stopped.stderr));
  const server = [join(cluster.server.binDir, "postgres"), "-D", cluster.dataDir, "-p", String(cluster.port)];
  const child = new Deno.Command("unshare", {
    args: ["--pid", "--fork", "--mount-proc", "--kill-child", ...asUser(["env", ...env, ...server])],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitUntil("the server to accept logins in its PID namespace", async () => {
    const sql = cluster.sql();
    try {
      await sql`SELECT 1`;
      return true;
    } catch {
      return false;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 30_000);
  return async () => {
    const pm = postmasterBelow(child.pid);
    if (pm !== undefined) Deno.kill(pm, "SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await child.status;
    clearTimeout(timer);
    // Its pid file names a pid of the other namespace: never let anything signal that pid here.
    await Deno.remove(join(cluster.dataDir, "postmaster.pid")).catch(() => {});
  };
}

Deno.test("ASH: a server on this host whose backends /proc does not show: CPU left out, said once", async () => {
  await using cluster = await startCluster({ name: "ashpidns" });
  const stopServer = await restartInPidNamespace(cluster);
  try {
    await using states = await startSessionStates(cluster, "postgres", { busy: 1, waiters: 1, idleInTx: 1 });
    const run = await runCollectorFor(
      ["-interval", "1s", "-ash", "on", "-ash_interval_ms", "200", "-verbose"],
      { ...clusterEnv(cluster, "postgres", cluster.password), COLLECTION_LIST: '["postgres"]' },
      5_000,
    );
    await states.stop();
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.split("\n").filter((l) => l.includes("without per-backend CPU"));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0], /^\[WARN\] ash: .*another PID namespace/);
    const cycles = cyclesOf(run.stdout);
    assert.ok(cycles.length >= 2);
    for (const rows of cycles) {
      const d = distribution(rows);
      assert.deepEqual([d.cpu.sessions, d.lock.sessions, d.idleTx.sessions], [1, 1, 2]);
      assert.ok(rows.every((r) => r.cpu_seconds === undefined && r.cpu_samples === 0));
    }
  } finally {
    await stopServer();
  }
});
